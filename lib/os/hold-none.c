/*
 * hold-none.c - systems without flock(2): no handle holds its file, and
 * whether anybody has one attached is not known from a lock.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>

#include "os/sys.h"

int pshm__hold_shared(int fd)
{
	(void)fd;
	return -ENOTSUP;
}

int pshm__held_by_anyone(int fd)
{
	(void)fd;
	return -1;
}
