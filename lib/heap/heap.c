/*
 * heap.c - what every call on a heap does first and last, and the
 * allocator's calls as the core's public ones use them: open the heap at
 * (base, size), take its lock, repair it first if the lock's last holder
 * died, grow it if its segment grew; then allocate, free, resize,
 * describe.  Nothing here knows a segment's handle (core/managed.c has
 * the public calls).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "heap/heap.h"
#include "sync/sync.h"

int pshm__heap_lock(struct pshm__heap_view *v)
{
	int rc = pshm__mutex_lock(&v->h->lock);
	int locked = rc == 0 || rc == PSHM_EOWNERDEAD;
	if (rc == PSHM_EOWNERDEAD) {
		pshm__heap_finish_growth(v);
		rc = pshm__heap_repair(v);
		int consistent = pshm_mutex_consistent(&v->h->lock);
		rc = rc < 0 ? rc : consistent;
	}
	if (rc == 0 && v->h->broken != 0)
		rc = PSHM_ECORRUPT;
	if (rc == 0) /* a segment made larger (pshm_resize): its heap follows */
		rc = pshm__heap_grow(v);
	if (rc < 0 && locked)
		pshm__mutex_unlock(&v->h->lock);
	return rc;
}

int pshm__heap_judged(const struct pshm__heap_view *v, int rc)
{
	if (rc == PSHM_ECORRUPT)
		v->h->broken = 1;
	return rc;
}

int pshm__heap_leave(const struct pshm__heap_view *v, int rc)
{
	pshm__heap_judged(v, rc);
	pshm__set_inflight(v, 0);
	int unlocked = pshm__mutex_unlock(&v->h->lock);
	return rc < 0 ? rc : (unlocked < 0 ? unlocked : rc);
}

int pshm__heap_alloc(const struct pshm__heap_view *v, size_t size, uint64_t align, uint64_t *off)
{
	uint64_t need = pshm__block_for(size);
	return need == 0 ? -ENOMEM : pshm__heap_take(v, need, align, off);
}

/*
 * Move the block at *off to a new one of need bytes.  The old block stays
 * whole until the new one holds the caller's bytes and *off says so (*off
 * may be in the segment), so that whatever instant the caller dies at, *off
 * leads to a block with the data, and one block at most is lost: take the
 * new block (inflight: a repair frees it); copy; keep it (inflight
 * cleared); point *off at it; free the old one (inflight: a repair frees it).
 */
static int move_block(const struct pshm__heap_view *v, uint64_t *off, uint64_t need)
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

int pshm__heap_realloc(const struct pshm__heap_view *v, uint64_t *off, size_t size)
{
	uint64_t need = pshm__block_for(size);
	if (need == 0)
		return -ENOMEM;
	int rc = pshm__heap_resize(v, *off, need);
	return rc == -ENOMEM ? move_block(v, off, need) : rc;
}

int pshm__heap_stat(const struct pshm__heap_view *v, pshm_heap_info_t *info)
{
	/* What the quick lists hold is free: merged, it says how large a
	 * block pshm_alloc can get. */
	int rc = pshm__quick_flush(v);
	if (rc == 0)
		pshm__heap_describe(v, info);
	return rc;
}
