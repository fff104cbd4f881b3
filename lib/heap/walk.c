/*
 * walk.c - making a heap, opening one, and repairing one whose lock's
 * holder died: a walk of the chain of heads, the one thing heap.h keeps
 * whole at every instant, rebuilds everything else from it.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "heap/heap.h"
#include "heap/slots.h"
#include "os/sys.h" /* ESTALE where the system has none */

int pshm__heap_walk(const struct pshm__heap_view *v, pshm__block_visit visit, void *arg)
{
	uint64_t off = v->first;
	while (off != v->end) {
		uint64_t head = pshm__head(v, off);
		uint64_t size = pshm__block_size(v, off, head);
		if (size == 0)
			return PSHM_ECORRUPT;
		int rc = visit(v, off, head, size, arg);
		if (rc != 0)
			return rc;
		off += size;
	}
	uint64_t closing = pshm__head(v, v->end) & ~PSHM__BLOCK_PREV_FREE;
	return closing == PSHM__BLOCK_USED ? 0 : PSHM_ECORRUPT;
}

uint64_t pshm__heap_limit(size_t len)
{
	uint64_t end = (uint64_t)len & ~(uint64_t)(PSHM__HEAP_GRAIN - 1);
	return end < PSHM__HEAP_MAX_SIZE ? end : PSHM__HEAP_MAX_SIZE - PSHM__HEAP_GRAIN;
}

int pshm__heap_format(void *base, size_t len)
{
	uint64_t end = pshm__heap_limit(len);
	if (len < PSHM_HEAP_MIN)
		return -EINVAL;
	struct pshm__heap *h = base;
	memset(h, 0, sizeof(*h));
	int rc = pshm_mutex_init(&h->lock);
	if (rc < 0)
		return rc;
	h->version = PSHM__HEAP_VERSION;
	h->header_size = sizeof(*h);
	h->first = PSHM__HEAP_FIRST;
	h->end = end;
	struct pshm__heap_view v = {.base = base, .h = h, .first = h->first, .end = end};
	pshm__set_head(&v, v.first, end - v.first);
	pshm__bin_insert(&v, v.first, end - v.first);
	pshm__set_head(&v, end, PSHM__BLOCK_USED | PSHM__BLOCK_PREV_FREE);
	rc = pshm__slots_format(&v);
	if (rc == 0)
		h->magic = PSHM__HEAP_MAGIC;
	return rc;
}

int pshm__heap_open(void *base, size_t len, int managed, struct pshm__heap_view *v)
{
	struct pshm__heap *h = base;
	if (len < PSHM_HEAP_MIN || h->magic != PSHM__HEAP_MAGIC)
		return managed ? PSHM_ECORRUPT : PSHM_ENOHEAP;
	if (h->version != PSHM__HEAP_VERSION && h->version != PSHM__HEAP_VERSION_SLOTS)
		return PSHM_EVERSION;
	uint64_t end = atomic_load_explicit((_Atomic uint64_t *)(void *)&h->end, memory_order_acquire);
	*v = (struct pshm__heap_view){.base = base, .h = h, .first = h->first, .end = end,
	                              .limit = pshm__heap_limit(len)};
	if (v->end > len && v->end < PSHM__HEAP_MAX_SIZE)
		return -ESTALE;
	if (h->header_size != sizeof(*h) || v->first != PSHM__HEAP_FIRST || v->end > len ||
	    v->end >= PSHM__HEAP_MAX_SIZE || v->end % PSHM__HEAP_GRAIN != 0 ||
	    v->end < v->first + PSHM__HEAP_MIN_BLOCK || h->broken != 0)
		return PSHM_ECORRUPT;
	return 0;
}

/* Repair's first walk: every named object's block gets the mark seen. */
static int mark_objects(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                        uint64_t size, void *arg)
{
	const uint64_t *seen = arg;
	if ((head & PSHM__BLOCK_CACHED) == (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT) &&
	    size >= 8 + sizeof(struct pshm__object_entry))
		pshm__entry(v, off)->mark = *seen;
	return 0;
}

/* What the rebuilding walk carries from block to block. */
struct rebuild {
	uint64_t target;  /* the block the dead call allocated or freed */
	uint64_t linked;  /* the mark of named objects a chain leads to */
	uint64_t run;     /* the first block of the free run being gathered */
	uint64_t run_size;
	uint64_t in_use, blocks, objects;
};

/* Whether the block at off is to be free: free already, on a quick list,
 * the one the dead call was allocating or freeing, or a named object no
 * name leads to.  A block in a slot's cache is its slot's (slots.c). */
static int becomes_free(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                        uint64_t size, const struct rebuild *r)
{
	if ((head & PSHM__BLOCK_CACHED) == PSHM__BLOCK_CACHED)
		return 0;
	if (!(head & PSHM__BLOCK_USED) || (head & PSHM__BLOCK_QUICK) || off == r->target)
		return 1;
	return (head & PSHM__BLOCK_OBJECT) &&
	       (size < 8 + sizeof(struct pshm__object_entry) || pshm__entry(v, off)->mark != r->linked);
}

/* Make the run gathered one free block on its list: the PREV_FREE bit for
 * the block after it. */
static uint64_t close_run(const struct pshm__heap_view *v, struct rebuild *r)
{
	if (r->run == 0)
		return 0;
	pshm__set_head(v, r->run, r->run_size);
	pshm__bin_insert(v, r->run, r->run_size);
	r->run = 0;
	return PSHM__BLOCK_PREV_FREE;
}

static int rebuild_block(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                         uint64_t size, void *arg)
{
	struct rebuild *r = arg;
	if (becomes_free(v, off, head, size, r)) {
		/* No head inside a free block may say "in use": pshm_free would
		 * take a stale offset to it for a block. */
		if (head & PSHM__BLOCK_USED)
			pshm__set_head(v, off, size);
		if (r->run == 0)
			r->run_size = 0, r->run = off;
		r->run_size += size;
		return 0;
	}
	uint64_t prev_free = close_run(v, r);
	if ((head & PSHM__BLOCK_PREV_FREE) != prev_free) /* the other flags may be changing */
		atomic_fetch_xor_explicit(pshm__head_word(v, off), PSHM__BLOCK_PREV_FREE,
		                          memory_order_acq_rel);
	r->in_use += size;
	r->blocks++;
	r->objects += (head & PSHM__BLOCK_CACHED) == (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT);
	return 0;
}

int pshm__heap_repair(const struct pshm__heap_view *v)
{
	struct pshm__heap *h = v->h;
	/* A repair that dies is done again by the next locker, with marks of
	 * its own. */
	h->repairs++;
	uint64_t seen = UINT64_C(0x4d41524b00000000) + h->repairs * 2;
	uint64_t inflight = pshm__inflight(v);
	struct rebuild r = {.target = inflight & ~PSHM__BLOCK_FLAGS, .linked = seen + 1};
	int rc = pshm__heap_walk(v, mark_objects, &seen);
	if (rc == 0) {
		pshm__objects_sweep(v, seen, seen + 1);
		memset(h->bins, 0, sizeof(h->bins));
		memset(h->quick, 0, sizeof(h->quick));
		memset(h->quick_count, 0, sizeof(h->quick_count));
		memset(h->sl_bitmap, 0, sizeof(h->sl_bitmap));
		h->fl_bitmap = 0;
		rc = pshm__heap_walk(v, rebuild_block, &r);
	}
	if (rc != 0) {
		h->broken = 1;
		return rc;
	}
	uint64_t prev_free = close_run(v, &r);
	pshm__set_head(v, v->end, PSHM__BLOCK_USED | prev_free);
	h->in_use = r.in_use;
	h->blocks = r.blocks;
	h->objects = r.objects;
	pshm__set_inflight(v, 0);
	return 0;
}
