/*
 * heap.c - the public calls of managed segments that allocate and free,
 * and the heap's lock: every call opens the heap from the segment, takes
 * the lock, and repairs the heap first if the lock's last holder died.
 * Offsets and pointers convert here too.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "heap/heap.h"
#include "internal.h"
#include "sync/sync.h"

#define MAX_ALIGN (UINT64_C(1) << 20)

int pshm__heap_enter(pshm_t *shm, struct pshm__heap_view *v)
{
	void *addr = NULL;
	size_t size = 0;
	int managed = 0;
	int rc = pshm__usable_area(shm, &addr, &size, &managed);
	if (rc == 0)
		rc = pshm__heap_open(addr, size, managed, v);
	if (rc != 0)
		return rc;
	rc = pshm__mutex_lock(&v->h->lock);
	int locked = rc == 0 || rc == PSHM_EOWNERDEAD;
	if (rc == PSHM_EOWNERDEAD) {
		rc = pshm__heap_repair(v);
		int consistent = pshm_mutex_consistent(&v->h->lock);
		rc = rc < 0 ? rc : consistent;
	}
	if (rc == 0 && v->h->broken != 0)
		rc = PSHM_ECORRUPT;
	if (rc < 0 && locked)
		pshm__mutex_unlock(&v->h->lock);
	return rc;
}

int pshm__heap_leave(const struct pshm__heap_view *v, int rc)
{
	if (rc == PSHM_ECORRUPT)
		v->h->broken = 1;
	pshm__set_inflight(v, 0);
	int unlocked = pshm__mutex_unlock(&v->h->lock);
	return rc < 0 ? rc : (unlocked < 0 ? unlocked : rc);
}

static int allocate(pshm_t *shm, size_t size, uint64_t align, pshm_off_t *off)
{
	if (size == 0 || off == NULL)
		return -EINVAL;
	uint64_t need = pshm__block_for(size);
	if (need == 0)
		return -ENOMEM;
	struct pshm__heap_view v;
	int rc = pshm__heap_enter(shm, &v);
	if (rc != 0)
		return rc;
	uint64_t at;
	rc = pshm__heap_take(&v, need, align, &at);
	if (rc == 0)
		*off = at;
	return pshm__heap_leave(&v, rc);
}

PSHM_EXTERN int pshm_alloc(pshm_t *shm, size_t size, pshm_off_t *off)
{
	return allocate(shm, size, PSHM__HEAP_GRAIN, off);
}

PSHM_EXTERN int pshm_alloc_aligned(pshm_t *shm, size_t size, size_t align, pshm_off_t *off)
{
	if (align < PSHM__HEAP_GRAIN || align > MAX_ALIGN || (align & (align - 1)) != 0)
		return -EINVAL;
	return allocate(shm, size, align, off);
}

PSHM_EXTERN int pshm_free(pshm_t *shm, pshm_off_t off)
{
	struct pshm__heap_view v;
	int rc = pshm__heap_enter(shm, &v);
	if (rc != 0 || off == PSHM_OFF_NULL)
		return rc != 0 ? rc : pshm__heap_leave(&v, 0);
	return pshm__heap_leave(&v, pshm__heap_give(&v, off, 0));
}

/*
 * Move the block at *off to a new one of need bytes.  The old block stays
 * whole until the new one holds the caller's bytes and *off says so (*off
 * may be in the segment), so that whatever instant the caller dies at, *off
 * leads to a block with the data, and one block at most is lost: take the
 * new block (inflight: a repair frees it); copy; keep it (inflight
 * cleared); point *off at it; free the old one (inflight: a repair frees it).
 */
static int move_block(const struct pshm__heap_view *v, pshm_off_t *off, uint64_t need)
{
	uint64_t to, from = *off;
	int rc = pshm__heap_take(v, need, PSHM__HEAP_GRAIN, &to);
	if (rc < 0)
		return rc;
	uint64_t old = pshm__block_size(v, from, pshm__head(v, from));
	memcpy(v->base + to, v->base + from, (size_t)((old < need ? old : need) - 8));
	pshm__set_inflight(v, 0);
	*off = to; /* before the old block's free says so in inflight (release) */
	return pshm__heap_give(v, from, 0);
}

PSHM_EXTERN int pshm_realloc(pshm_t *shm, pshm_off_t *off, size_t size)
{
	if (off == NULL || size == 0)
		return -EINVAL;
	if (*off == PSHM_OFF_NULL)
		return allocate(shm, size, PSHM__HEAP_GRAIN, off);
	uint64_t need = pshm__block_for(size);
	if (need == 0)
		return -ENOMEM;
	struct pshm__heap_view v;
	int rc = pshm__heap_enter(shm, &v);
	if (rc != 0)
		return rc;
	rc = pshm__heap_resize(&v, *off, need);
	if (rc == -ENOMEM)
		rc = move_block(&v, off, need);
	return pshm__heap_leave(&v, rc);
}

PSHM_EXTERN void *pshm_ptr(const pshm_t *shm, pshm_off_t off)
{
	if (shm == NULL || off == PSHM_OFF_NULL || off >= pshm_size(shm))
		return NULL;
	return (char *)pshm_addr(shm) + off;
}

PSHM_EXTERN pshm_off_t pshm_off(const pshm_t *shm, const void *ptr)
{
	if (shm == NULL || ptr == NULL)
		return PSHM_OFF_NULL;
	uintptr_t base = (uintptr_t)pshm_addr(shm);
	uintptr_t at = (uintptr_t)ptr;
	return at >= base && at - base < pshm_size(shm) ? (pshm_off_t)(at - base) : PSHM_OFF_NULL;
}

PSHM_EXTERN int pshm_heap_stat(pshm_t *shm, pshm_heap_info_t *info)
{
	if (info == NULL)
		return -EINVAL;
	struct pshm__heap_view v;
	int rc = pshm__heap_enter(shm, &v);
	if (rc != 0)
		return rc;
	/* What the quick lists hold is free: merged, it says how large a
	 * block pshm_alloc can get. */
	rc = pshm__quick_flush(&v);
	if (rc == 0)
		pshm__heap_describe(&v, info);
	return pshm__heap_leave(&v, rc);
}

PSHM_EXTERN int pshm_heap_check(pshm_t *shm)
{
	struct pshm__heap_view v;
	int rc = pshm__heap_enter(shm, &v);
	if (rc != 0)
		return rc;
	return pshm__heap_leave(&v, pshm__heap_verify(&v));
}
