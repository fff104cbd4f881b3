/*
 * header-lock.c - the lock in every segment's header (pshm_lock and its
 * kin), for what a program keeps in a segment without a mutex of its own.
 *
 * It is made by the first pshm_lock (or trylock, unlock, consistent) of any
 * process, not by pshm_create: writing it would cost an anonymous segment
 * the page fault of its header page, which otherwise nobody writes, and a
 * named one a fault where a pwrite does.  The header's guard decides who
 * makes it; one that dies making it (before the lock is marked made) leaves
 * it to the next, which makes it anew.  Locked and unlocked through the
 * library's own calls, not the exported symbols (whose calls from inside a
 * shared library go through its PLT).
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>

#include "core/handle.h"
#include "sync/sync.h"

/* Apply a mutex call to shm's header lock, which a read-only mapping
 * cannot take; the lock is made by its first use.  While another process
 * makes it, pshm_lock waits (meanwhile 0); the others, which must not
 * sleep, return meanwhile: what they say of a lock somebody else holds. */
static int on_header_lock(pshm_t *shm, int (*call)(pshm_mutex_t *), int meanwhile)
{
	if (shm == NULL)
		return -EINVAL;
	if (shm->rdonly)
		return -EACCES;
	struct pshm__header *hdr = shm->map.addr;
	int rc = call(&hdr->lock);
	if (rc != -EINVAL)
		return rc;
	/* not made yet, or another kind's: the guard lets one process make it */
	rc = pshm__mutex_init_once(&hdr->lock, hdr->lock_guard, meanwhile == 0);
	if (rc == -EBUSY)
		return meanwhile;
	return rc < 0 ? rc : call(&hdr->lock);
}

PSHM_EXTERN int pshm_lock(pshm_t *shm)
{
	return on_header_lock(shm, pshm__mutex_lock, 0);
}

PSHM_EXTERN int pshm_trylock(pshm_t *shm)
{
	return on_header_lock(shm, pshm_mutex_trylock, -EBUSY);
}

PSHM_EXTERN int pshm_unlock(pshm_t *shm)
{
	return on_header_lock(shm, pshm__mutex_unlock, -EPERM);
}

PSHM_EXTERN int pshm_consistent(pshm_t *shm)
{
	return on_header_lock(shm, pshm_mutex_consistent, -EINVAL);
}
