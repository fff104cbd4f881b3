/*
 * seal-none.c - systems without file seals (macOS): nothing can be sealed,
 * and nothing received is.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "os/sys.h"

int pshm__seal(int fd, unsigned seals)
{
	(void)fd;
	(void)seals;
	return -ENOTSUP;
}

int pshm__sealed_against_shrinking(int fd)
{
	return fcntl(fd, F_GETFD) < 0 ? pshm__neg_errno() : 0;
}
