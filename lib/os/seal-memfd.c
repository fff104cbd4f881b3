/*
 * seal-memfd.c - file seals (Linux, FreeBSD): a memfd sealed against
 * shrinking can be handed to another process, which can then never be made
 * to die of SIGBUS by a sender that truncates it.
 */
#define _GNU_SOURCE /* F_ADD_SEALS on glibc */
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "os/sys.h"

int pshm__seal(int fd, unsigned seals)
{
	int add = 0;
	if (seals & PSHM__SEAL_SHRINK)
		add |= F_SEAL_SHRINK;
	if (seals & PSHM__SEAL_GROW)
		add |= F_SEAL_GROW;
	if (fcntl(fd, F_ADD_SEALS, add) == 0)
		return 0;
	/* EINVAL: not a memfd; EPERM: one made without MFD_ALLOW_SEALING, or
	 * whose seals are sealed */
	return errno == EINVAL || errno == EPERM ? -ENOTSUP : pshm__neg_errno();
}

int pshm__sealed_against_shrinking(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0)
		return (seals & F_SEAL_SHRINK) != 0;
	return errno == EINVAL ? 0 : pshm__neg_errno(); /* EINVAL: no seals */
}
