/*
 * populate.c - PSHM_PREFAULT: fault a whole mapping in with one system call.
 *
 * madvise(MADV_POPULATE_WRITE) (Linux 5.14) takes the write faults of every
 * page at once, in the kernel, instead of one trap per page on first touch;
 * unlike MAP_POPULATE it applies to a mapping that already exists, so one
 * call serves every backend, SysV included.  Where it is missing: -ENOTSUP
 * (PSHM_PREFAULT, a hint, then does nothing): touching the pages here would
 * only move the faults, and on a file system that is full it would raise
 * SIGBUS where the caller asked for an error code.
 */
#define _DEFAULT_SOURCE /* madvise and its MADV_POPULATE_* advice */
#include "config.h"

#include <errno.h>
#include <sys/mman.h>

#include "os/sys.h"

#if HAVE_DECL_MADV_POPULATE_WRITE /* and MADV_POPULATE_READ, of the same release */
int pshm__populate(void *addr, size_t len, int writable)
{
	int advice = writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
	while (madvise(addr, len, advice) != 0) {
		switch (errno) {
		case EINTR:
			continue;
		case EINVAL: /* a kernel older than the advice */
			return -ENOTSUP;
		case EFAULT: /* a page could not be had: SIGBUS on a touch */
			return -ENOSPC;
		default:
			return -errno;
		}
	}
	return 0;
}
#else
int pshm__populate(void *addr, size_t len, int writable)
{
	(void)addr;
	(void)len;
	(void)writable;
	return -ENOTSUP;
}
#endif
