/*
 * grow.c - a heap that grows into the bytes its segment gained (pshm_resize
 * of a PSHM_MANAGED segment): the bytes after the closing head become one
 * free block, in steps that leave the chain whole at every instant, so a
 * grower killed anywhere leaves the heap as it was or grown.  Offsets stay
 * what they were: the heap only gains blocks at its end.
 */
#include "config.h"

#include <stdint.h>

#include "heap/heap.h"

static void set_end(struct pshm__heap_view *v, uint64_t end)
{
	atomic_store_explicit((_Atomic uint64_t *)(void *)&v->h->end, end, memory_order_release);
	v->end = end;
}

int pshm__heap_grow(struct pshm__heap_view *v)
{
	uint64_t old_end = v->end, new_end = v->limit;
	if (new_end < old_end + PSHM__HEAP_MIN_BLOCK)
		return 0;
	uint64_t closing = pshm__head(v, old_end);
	if ((closing & ~PSHM__BLOCK_PREV_FREE) != PSHM__BLOCK_USED)
		return PSHM_ECORRUPT;
	pshm__set_head(v, new_end, PSHM__BLOCK_USED); /* past the chain's end: unseen yet */
	pshm__set_inflight(v, old_end | PSHM__INFLIGHT_FREE);
	/* The one store that takes the chain to the new end: a block in use,
	 * being freed, as a repair will see it. */
	pshm__set_head(v, old_end, (new_end - old_end) | closing);
	set_end(v, new_end);
	v->h->in_use += new_end - old_end; /* counted in use, as the free uncounts it */
	v->h->blocks++;
	int rc = pshm__heap_give_merging(v, old_end, 0);
	if (rc == 0)
		pshm__set_inflight(v, 0); /* done: the call that grew it goes on */
	return rc;
}

void pshm__heap_finish_growth(struct pshm__heap_view *v)
{
	uint64_t end = v->end;
	if ((pshm__inflight(v) & ~PSHM__BLOCK_FLAGS) != end)
		return; /* no grower died after taking the chain on */
	uint64_t head = pshm__head(v, end);
	uint64_t size = head & ~PSHM__BLOCK_FLAGS;
	if (!(head & PSHM__BLOCK_USED) || size < PSHM__HEAP_MIN_BLOCK || size > v->limit - end)
		return; /* the closing head as it was, or nothing a grower wrote */
	if ((pshm__head(v, end + size) & ~PSHM__BLOCK_PREV_FREE) == PSHM__BLOCK_USED)
		set_end(v, end + size);
}
