/*
 * slots-care.c - the slots' upkeep (slots.h): making the table with the
 * heap, rebuilding a slot whose holder died, giving every slot's blocks
 * back to the heap, and checking the slots' lists against the chain.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "heap/slots.h"
#include "sync/sync.h"

/* What a slot may cache: a quarter of the heap shared by all the slots,
 * from 4 KiB to 1 MiB each. */
#define CAP_LEAST (UINT64_C(4) * 1024)
#define CAP_MOST (UINT64_C(1) << 20)

int pshm__slots_format(struct pshm__heap_view *v)
{
	if (v->end - v->first < PSHM__SLOTS_MIN_HEAP)
		return 0;
	uint64_t off;
	/* each slot on cache lines of its own: the table's first 64 bytes,
	 * then slots of 15 lines */
	int rc = pshm__heap_take(v, pshm__block_for(sizeof(struct pshm__heap_slots)), 64, &off);
	pshm__set_inflight(v, 0);
	if (rc != 0)
		return rc == -ENOMEM ? 0 : rc;
	struct pshm__heap_slots *t = (struct pshm__heap_slots *)(void *)(v->base + off);
	memset(t, 0, sizeof(*t));
	for (unsigned k = 0; k < PSHM__SLOT_COUNT; k++) {
		rc = pshm_mutex_init(&t->slot[k].lock);
		if (rc < 0)
			return rc;
	}
	uint64_t cap = (v->end - v->first) / 4u / PSHM__SLOT_COUNT;
	t->cap = cap < CAP_LEAST ? CAP_LEAST : cap > CAP_MOST ? CAP_MOST : cap;
	t->count = PSHM__SLOT_COUNT;
	t->slot_size = sizeof(struct pshm__heap_slot);
	t->magic = PSHM__SLOTS_MAGIC;
	v->h->slots = off;
	v->h->version = PSHM__HEAP_VERSION_SLOTS;
	return 0;
}

/* What the rebuilding walk carries. */
struct regather {
	struct pshm__heap_slot *s;
	unsigned k;
	uint64_t tag;    /* the slot's */
	uint64_t target; /* the block its dead holder was taking or putting */
};

static uint64_t tag_of(const struct pshm__heap_view *v, uint64_t off)
{
	return atomic_load_explicit(pshm__slot_tag(v, off), memory_order_relaxed);
}

/* Put on the slot's lists every block cached with its tag, and the block
 * its holder had in flight: its taker never learnt its offset; its freer
 * had given it up. */
static int regather_block(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                          uint64_t size, void *arg)
{
	struct regather *r = arg;
	uint64_t kind = head & PSHM__BLOCK_CACHED;
	int ours = off == r->target ? kind == PSHM__BLOCK_USED || kind == PSHM__BLOCK_CACHED
	                            : kind == PSHM__BLOCK_CACHED && tag_of(v, off) == r->tag;
	if (!ours)
		return 0;
	if (size >= PSHM__SLOT_MAX_BLOCK + PSHM__HEAP_MIN_BLOCK ||
	    r->s->counts[pshm__slot_class_of_block(size)] == UINT16_MAX)
		return PSHM_ECORRUPT;
	if (kind == PSHM__BLOCK_USED)
		pshm__head_set_flags(v, off, PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK);
	pshm__slot_link(v, r->s, r->k, off, size);
	return 0;
}

int pshm__slot_rebuild(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k)
{
	struct pshm__heap_slot *s = &t->slot[k];
	int rc = pshm__heap_lock(v); /* the chain stays as it is while we walk it */
	if (rc != 0)
		return rc;
	struct regather r = {.s = s, .k = k, .tag = PSHM__SLOT_TAG(k),
	                     .target = s->inflight & ~PSHM__BLOCK_FLAGS};
	v->h->repairs++;
	memset(s->lists, 0, sizeof(s->lists));
	memset(s->counts, 0, sizeof(s->counts));
	s->cached = 0;
	rc = pshm__heap_walk(v, regather_block, &r);
	pshm__slot_set_inflight(s, 0);
	return pshm__heap_leave(v, rc);
}

/* fn(v, t, k) on every slot, each locked in turn (the heap's lock not
 * held): 1 when done, 0 if the heap has no slots, or the first error. */
static int each_slot(struct pshm__heap_view *v,
                     int (*fn)(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k))
{
	struct pshm__heap_slots *t;
	int rc = pshm__slots_find(v, &t);
	for (unsigned k = 0; rc == 0 && t != NULL && k < PSHM__SLOT_COUNT; k++) {
		rc = pshm__slot_lock(v, t, k);
		if (rc != 0)
			break;
		rc = fn(v, t, k);
		pshm__slot_unlock(&t->slot[k]);
	}
	return rc == 0 && t != NULL ? 1 : pshm__heap_judged(v, rc);
}

static int drain_slot(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k)
{
	int rc = pshm__heap_lock(v);
	return rc != 0 ? rc : pshm__heap_leave(v, pshm__slot_drain(v, t, k, 1));
}

int pshm__slots_flush(struct pshm__heap_view *v)
{
	return each_slot(v, drain_slot);
}

/* Whether slot k's lists hold blocks cached with its tag, each on its
 * class's list, as many and as large as the slot counts. */
static int verify_slot(const struct pshm__heap_view *v, const struct pshm__heap_slot *s, unsigned k)
{
	uint64_t bytes = 0;
	for (unsigned c = 0; c < PSHM__SLOT_CLASSES; c++) {
		unsigned listed = 0;
		for (uint64_t at = s->lists[c]; at != 0; at = *pshm__heap_word(v, at)) {
			if (!pshm__block_offset_ok(v, at) || ++listed > s->counts[c])
				return PSHM_ECORRUPT;
			uint64_t head = pshm__head(v, at);
			uint64_t size = pshm__block_size(v, at, head);
			if ((head & PSHM__BLOCK_CACHED) != PSHM__BLOCK_CACHED || size == 0 ||
			    pshm__slot_class_of_block(size) != c || tag_of(v, at) != PSHM__SLOT_TAG(k))
				return PSHM_ECORRUPT;
			bytes += size;
		}
		if (listed != s->counts[c])
			return PSHM_ECORRUPT;
	}
	return bytes == s->cached && s->inflight == 0 ? 0 : PSHM_ECORRUPT;
}

static int verify_one(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k)
{
	return verify_slot(v, &t->slot[k], k);
}

int pshm__slots_verify(struct pshm__heap_view *v)
{
	int rc = each_slot(v, verify_one);
	return rc == 1 ? 0 : rc;
}

uint64_t pshm__slots_overhead(const struct pshm__heap_view *v)
{
	struct pshm__heap_slots *t;
	if (pshm__slots_find(v, &t) != 0 || t == NULL)
		return 0;
	return pshm__block_size(v, v->h->slots, pshm__head(v, v->h->slots));
}
