/*
 * fd-none.c - systems whose segments have no file descriptor (Windows):
 * nothing to seal, nothing to send over a Unix socket.
 */
#include "config.h"

#include <errno.h>

#include "os/sys.h"

int pshm__seal(int fd, unsigned seals)
{
	(void)fd, (void)seals;
	return -ENOTSUP;
}

int pshm__sealed_against_shrinking(int fd)
{
	(void)fd;
	return -ENOTSUP;
}

int pshm__send_fd(int sock, const void *msg, size_t len, int fd)
{
	(void)sock, (void)msg, (void)len, (void)fd;
	return -ENOTSUP;
}

ssize_t pshm__recv_fd(int sock, void *buf, size_t len, int *fd)
{
	(void)sock, (void)buf, (void)len;
	*fd = -1;
	return -ENOTSUP;
}
