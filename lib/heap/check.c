/*
 * check.c - pshm_heap_check's walk, which compares the chain of heads
 * with everything derived from it (footers, PREV_FREE bits, free lists,
 * bitmaps, counters, named objects), and pshm_heap_stat's description.
 * Every offset read is checked before it is followed and every list is
 * walked a bounded number of steps, so that a heap overwritten with
 * anything is PSHM_ECORRUPT, never a crash or a hang.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "heap/heap.h"
#include "heap/slots.h"

#define SL_COUNT (1u << PSHM__HEAP_SL_BITS)

/* What the walk counts. */
struct tally {
	int prev_free;
	uint64_t free_blocks, free_bytes;
	uint64_t quick_blocks, quick_bytes;
	uint64_t in_use, blocks, objects;
};

static int check_block(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                       uint64_t size, void *arg)
{
	struct tally *t = arg;
	int prev_free = t->prev_free;
	t->prev_free = !(head & PSHM__BLOCK_USED);
	if (((head & PSHM__BLOCK_PREV_FREE) != 0) != prev_free)
		return PSHM_ECORRUPT;
	uint64_t kind = head & PSHM__BLOCK_CACHED;
	if (kind == (PSHM__BLOCK_USED | PSHM__BLOCK_QUICK)) {
		t->quick_blocks++;
		t->quick_bytes += size;
		return 0;
	}
	/* In use: a caller's, a named object's, or in a slot's cache (lent to
	 * the slot, whose holder may be taking it out of the cache now). */
	if (head & PSHM__BLOCK_USED) {
		t->in_use += size;
		t->blocks++;
		t->objects += kind == (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT);
		return 0;
	}
	if (prev_free || kind != 0 || *pshm__heap_word(v, off + size - 16) != size)
		return PSHM_ECORRUPT;
	t->free_blocks++;
	t->free_bytes += size;
	return 0;
}

/* Walk the list bins[fl][sl]: every member a free block of that class,
 * linked both ways; adds them to *count and *bytes. */
static int check_list(const struct pshm__heap_view *v, unsigned fl, unsigned sl,
                      uint64_t *count, uint64_t *bytes)
{
	uint64_t limit = (v->end - v->first) / PSHM__HEAP_MIN_BLOCK;
	uint64_t prev = 0;
	for (uint64_t at = v->h->bins[fl][sl]; at != 0; at = pshm__heap_word(v, at)[0]) {
		if (!pshm__block_offset_ok(v, at) || ++*count > limit)
			return PSHM_ECORRUPT;
		uint64_t head = pshm__head(v, at);
		uint64_t size = pshm__block_size(v, at, head);
		unsigned at_fl, at_sl;
		pshm__size_class(size, &at_fl, &at_sl);
		if (size == 0 || (head & PSHM__BLOCK_USED) || at_fl != fl || at_sl != sl ||
		    pshm__heap_word(v, at)[1] != prev)
			return PSHM_ECORRUPT;
		*bytes += size;
		prev = at;
	}
	int listed = v->h->bins[fl][sl] != 0;
	int marked = ((v->h->sl_bitmap[fl] >> sl) & 1u) != 0;
	return listed == marked ? 0 : PSHM_ECORRUPT;
}

static int check_lists(const struct pshm__heap_view *v, const struct tally *t)
{
	uint64_t count = 0, bytes = 0;
	for (unsigned fl = 0; fl < PSHM__HEAP_FL_COUNT; fl++) {
		for (unsigned sl = 0; sl < SL_COUNT; sl++) {
			int rc = check_list(v, fl, sl, &count, &bytes);
			if (rc != 0)
				return rc;
		}
		int listed = v->h->sl_bitmap[fl] != 0;
		if (listed != (int)((v->h->fl_bitmap >> fl) & 1u))
			return PSHM_ECORRUPT;
	}
	if (v->h->fl_bitmap >> PSHM__HEAP_FL_COUNT != 0)
		return PSHM_ECORRUPT;
	return count == t->free_blocks && bytes == t->free_bytes ? 0 : PSHM_ECORRUPT;
}

/* The quick lists: each member a block of its list's size, in use and
 * flagged QUICK, as many as counted, all the walk found. */
static int check_quick(const struct pshm__heap_view *v, const struct tally *t)
{
	uint64_t count = 0;
	for (unsigned q = 0; q < PSHM__QUICK_LISTS; q++) {
		uint64_t listed = 0;
		for (uint64_t at = v->h->quick[q]; at != 0; at = *pshm__heap_word(v, at)) {
			if (!pshm__block_offset_ok(v, at) || ++listed > PSHM__QUICK_CAP)
				return PSHM_ECORRUPT;
			uint64_t head = pshm__head(v, at) & ~PSHM__BLOCK_PREV_FREE;
			if (head != ((uint64_t)q * PSHM__HEAP_GRAIN | PSHM__BLOCK_USED | PSHM__BLOCK_QUICK))
				return PSHM_ECORRUPT;
		}
		if (listed != v->h->quick_count[q])
			return PSHM_ECORRUPT;
		count += listed;
	}
	return count == t->quick_blocks ? 0 : PSHM_ECORRUPT;
}

int pshm__heap_verify(const struct pshm__heap_view *v)
{
	struct tally t = {0};
	int rc = pshm__heap_walk(v, check_block, &t);
	if (rc != 0)
		return rc;
	if (((pshm__head(v, v->end) & PSHM__BLOCK_PREV_FREE) != 0) != t.prev_free)
		return PSHM_ECORRUPT;
	rc = check_lists(v, &t);
	if (rc == 0)
		rc = check_quick(v, &t);
	if (rc != 0)
		return rc;
	const struct pshm__heap *h = v->h;
	if (h->in_use != t.in_use || h->blocks != t.blocks || h->objects != t.objects ||
	    t.in_use + t.free_bytes + t.quick_bytes != v->end - v->first ||
	    pshm__inflight(v) != 0)
		return PSHM_ECORRUPT;
	return pshm__objects_verify(v);
}

/* The largest free block's size: on the highest non-empty list. */
static uint64_t largest_free_block(const struct pshm__heap_view *v)
{
	const struct pshm__heap *h = v->h;
	if (h->fl_bitmap == 0)
		return 0;
	unsigned fl = 63u - (unsigned)__builtin_clzll(h->fl_bitmap);
	if (fl >= PSHM__HEAP_FL_COUNT || h->sl_bitmap[fl] == 0)
		return 0;
	unsigned sl = 31u - (unsigned)__builtin_clz(h->sl_bitmap[fl]);
	uint64_t largest = 0;
	uint64_t steps = (v->end - v->first) / PSHM__HEAP_MIN_BLOCK;
	for (uint64_t at = h->bins[fl][sl]; at != 0 && steps-- > 0;
	     at = pshm__heap_word(v, at)[0]) {
		if (!pshm__block_offset_ok(v, at))
			break;
		uint64_t size = pshm__block_size(v, at, pshm__head(v, at));
		largest = size > largest ? size : largest;
	}
	return largest;
}

void pshm__heap_describe(const struct pshm__heap_view *v, pshm_heap_info_t *info)
{
	const struct pshm__heap *h = v->h;
	uint64_t size = v->end - v->first;
	uint64_t in_use = h->in_use < size ? h->in_use : size;
	/* The slot table is the heap's own: neither the callers' nor free. */
	uint64_t table = pshm__slots_overhead(v);
	uint64_t largest = largest_free_block(v);
	memset(info, 0, sizeof(*info));
	table = table < in_use ? table : in_use;
	info->size = (size_t)(size - table);
	info->in_use = (size_t)(in_use - table);
	info->free = (size_t)(size - in_use);
	info->largest_free = largest >= PSHM__HEAP_MIN_BLOCK ? (size_t)(largest - 8) : 0;
	info->blocks = (size_t)(h->blocks - (table != 0 && h->blocks != 0));
	info->objects = (size_t)h->objects;
	info->repairs = h->repairs;
}
