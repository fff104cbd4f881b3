/*
 * quick.c - the quick lists (heap.h): freed blocks of up to
 * PSHM__QUICK_MAX bytes kept whole, by exact size, for the next allocation
 * of that size; two list operations instead of a split and merges.  The
 * caller holds the heap's lock.  A block keeps USED in its head while it
 * waits, with QUICK, so the chain of heads reads as before; a repair counts
 * it free.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "heap/heap.h"

int pshm__quick_take(const struct pshm__heap_view *v, uint64_t need, uint64_t *out)
{
	struct pshm__heap *h = v->h;
	uint64_t off = h->quick[need / PSHM__HEAP_GRAIN];
	if (off == 0)
		return 1;
	uint64_t head = pshm__block_offset_ok(v, off) ? pshm__head(v, off) : 0;
	if ((head & ~PSHM__BLOCK_PREV_FREE) != (need | PSHM__BLOCK_USED | PSHM__BLOCK_QUICK) ||
	    pshm__block_size(v, off, head) != need)
		return PSHM_ECORRUPT;
	pshm__set_inflight(v, off | PSHM__INFLIGHT_ALLOC);
	h->quick[need / PSHM__HEAP_GRAIN] = *pshm__heap_word(v, off);
	h->quick_count[need / PSHM__HEAP_GRAIN]--;
	pshm__set_head(v, off, head & ~PSHM__BLOCK_QUICK);
	h->in_use += need;
	h->blocks++;
	*out = off;
	return 0;
}

int pshm__quick_give(const struct pshm__heap_view *v, uint64_t off, uint64_t size, uint64_t head)
{
	struct pshm__heap *h = v->h;
	if (size > PSHM__QUICK_MAX || h->quick_count[size / PSHM__HEAP_GRAIN] >= PSHM__QUICK_CAP)
		return 1;
	pshm__set_inflight(v, off | PSHM__INFLIGHT_FREE);
	*pshm__heap_word(v, off) = h->quick[size / PSHM__HEAP_GRAIN];
	h->quick[size / PSHM__HEAP_GRAIN] = off;
	h->quick_count[size / PSHM__HEAP_GRAIN]++;
	pshm__set_head(v, off, (head & ~PSHM__BLOCK_OBJECT) | PSHM__BLOCK_QUICK);
	h->in_use -= size;
	h->blocks--;
	return 0;
}

int pshm__quick_flush(const struct pshm__heap_view *v)
{
	struct pshm__heap *h = v->h;
	for (unsigned q = 0; q < PSHM__QUICK_LISTS; q++) {
		while (h->quick[q] != 0) {
			uint64_t off = h->quick[q];
			uint64_t head = pshm__block_offset_ok(v, off) ? pshm__head(v, off) : 0;
			if (!(head & PSHM__BLOCK_QUICK) || h->quick_count[q] == 0)
				return PSHM_ECORRUPT;
			h->quick[q] = *pshm__heap_word(v, off);
			h->quick_count[q]--;
			/* back in use for a moment, so that pshm__heap_give merges it */
			pshm__set_head(v, off, head & ~PSHM__BLOCK_QUICK);
			h->in_use += head & ~PSHM__BLOCK_FLAGS;
			h->blocks++;
			int rc = pshm__heap_give_merging(v, off, 0);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}
