/*
 * resize.c - segments whose size changes: pshm_resize makes the new size,
 * records it in the header and remaps the caller; the others pick it up
 * with pshm_remap.  One resize at a time (the header's resize lock), so
 * that the size recorded and the file's always agree; readers need no lock.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>

#include "core/handle.h"
#include "sync/sync.h"

/* Whether shm's size can change: a named segment of a backend that
 * resizes. */
static int resizable(const pshm_t *shm)
{
	return shm->ops->resize != NULL && shm->ops->remap != NULL && shm->name[0] != '\0';
}

/* Make the segment of map, whose resize lock the caller holds, size usable
 * bytes in len: one with a heap only grows (its blocks stay where they
 * are, and the heap takes the new bytes at its end), as the backend judges
 * by the size recorded under the lock (another resizer may have grown it
 * while the caller waited). */
static int resize_locked(pshm_t *shm, size_t size, size_t len, unsigned flags)
{
	unsigned how = pshm__make_how(flags) | (shm->managed ? PSHM__MAKE_GROW_ONLY : 0);
	return shm->ops->resize(&shm->map, size, len, how);
}

/* Take the resize lock of the header at hdr: 0 or a negative code.  A
 * resizer that died holding it left the file and the header agreeing
 * (each step keeps them so): the lock is simply taken over. */
static int lock_resizing(struct pshm__header *hdr)
{
	int rc = pshm__lock_owned.lock(hdr->resize_lock, PSHM__LOCK_WAIT, NULL, NULL);
	if (rc == EOWNERDEAD)
		rc = pshm__lock_owned.consistent(hdr->resize_lock);
	return -rc;
}

PSHM_EXTERN int pshm_resize(pshm_t *shm, size_t size, unsigned flags)
{
	if (shm == NULL || size == 0 || (flags & ~PSHM_NORESERVE) ||
	    (shm->managed && (flags & PSHM_NORESERVE))) /* as pshm_create refuses it */
		return -EINVAL;
	size_t len = pshm__mapping_length(size, pshm__page_size());
	if (len == 0)
		return -EINVAL;
	if (shm->rdonly)
		return -EACCES;
	if (!resizable(shm))
		return -ENOTSUP;
	/* The file as it is now, mapped, before its header's lock is touched:
	 * a file cut short (by anyone who can open it) is PSHM_ECORRUPT here,
	 * not SIGBUS there. */
	int rc = shm->ops->remap(&shm->map, 0);
	shm->size = shm->map.usable;
	if (rc == 0)
		rc = lock_resizing(shm->map.addr);
	if (rc < 0)
		return rc;
	rc = resize_locked(shm, size, len, flags);
	/* the mapping may have moved: its header, and the lock, with it */
	int unlocked = -pshm__lock_owned.unlock(((struct pshm__header *)shm->map.addr)->resize_lock);
	shm->size = shm->map.usable; /* what is mapped now, whatever failed */
	if (rc == 0 && unlocked == 0 && shm->managed)
		rc = pshm__heap_follow(shm); /* the heap takes the new bytes now */
	return rc < 0 ? rc : unlocked;
}

PSHM_EXTERN int pshm_remap(pshm_t *shm)
{
	if (shm == NULL)
		return -EINVAL;
	if (shm->ops->remap == NULL || shm->name[0] == '\0')
		return 0;
	size_t size = shm->size;
	void *addr = shm->map.addr;
	int rc = shm->ops->remap(&shm->map, shm->rdonly);
	if (rc < 0)
		return rc;
	shm->size = shm->map.usable;
	return shm->size != size || shm->map.addr != addr;
}
