/*
 * bins.c - the allocator proper: free blocks on lists by size class
 * (two-level, as in TLSF: a power of two, then 8 steps within it), found
 * through two bitmaps in constant time; blocks split on allocation and
 * merged with their free neighbours on free (small ones wait on the quick
 * lists of quick.c first).  The caller holds the heap's lock.  Every change to the chain of heads is ordered as heap.h says, so
 * that a process killed anywhere here leaves a chain a repair can walk.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "heap/heap.h"

#define SL_COUNT (1u << PSHM__HEAP_SL_BITS)
#define LINEAR_LIMIT 128u /* below it, one class per 16 bytes */

void pshm__size_class(uint64_t size, unsigned *fl, unsigned *sl)
{
	if (size < LINEAR_LIMIT) {
		*fl = 0;
		*sl = (unsigned)(size / PSHM__HEAP_GRAIN);
		return;
	}
	unsigned msb = 63u - (unsigned)__builtin_clzll(size);
	*fl = msb - 6u;
	*sl = (unsigned)(size >> (msb - PSHM__HEAP_SL_BITS)) & (SL_COUNT - 1u);
}

/* The footer of the free block at off, of size bytes: its last word. */
static uint64_t *footer(const struct pshm__heap_view *v, uint64_t off, uint64_t size)
{
	return pshm__heap_word(v, off + size - 16);
}

uint64_t pshm__block_for(size_t size)
{
	if ((uint64_t)size >> 47 != 0) /* as large as a heap may be: never enough */
		return 0;
	uint64_t need = ((uint64_t)size + 8 + PSHM__HEAP_GRAIN - 1) & ~(uint64_t)(PSHM__HEAP_GRAIN - 1);
	return need < PSHM__HEAP_MIN_BLOCK ? PSHM__HEAP_MIN_BLOCK : need;
}

void pshm__bin_insert(const struct pshm__heap_view *v, uint64_t off, uint64_t size)
{
	unsigned fl, sl;
	pshm__size_class(size, &fl, &sl);
	struct pshm__heap *h = v->h;
	uint64_t next = h->bins[fl][sl];
	uint64_t *links = pshm__heap_word(v, off);
	links[0] = pshm__block_offset_ok(v, next) ? next : 0;
	links[1] = 0;
	if (links[0] != 0)
		pshm__heap_word(v, next)[1] = off;
	h->bins[fl][sl] = off;
	h->sl_bitmap[fl] = (uint8_t)(h->sl_bitmap[fl] | (1u << sl));
	h->fl_bitmap |= UINT64_C(1) << fl;
	*footer(v, off, size) = size;
}

int pshm__bin_remove(const struct pshm__heap_view *v, uint64_t off, uint64_t size)
{
	unsigned fl, sl;
	pshm__size_class(size, &fl, &sl);
	struct pshm__heap *h = v->h;
	uint64_t next = pshm__heap_word(v, off)[0];
	uint64_t prev = pshm__heap_word(v, off)[1];
	if ((next != 0 && !pshm__block_offset_ok(v, next)) ||
	    (prev != 0 && !pshm__block_offset_ok(v, prev)))
		return PSHM_ECORRUPT;
	if (prev != 0)
		pshm__heap_word(v, prev)[0] = next;
	else if (h->bins[fl][sl] == off)
		h->bins[fl][sl] = next;
	else
		return PSHM_ECORRUPT;
	if (next != 0)
		pshm__heap_word(v, next)[1] = prev;
	if (h->bins[fl][sl] == 0) {
		h->sl_bitmap[fl] = (uint8_t)(h->sl_bitmap[fl] & ~(1u << sl));
		if (h->sl_bitmap[fl] == 0)
			h->fl_bitmap &= ~(UINT64_C(1) << fl);
	}
	return 0;
}

/* The size of the free block at off that a list holds; 0 if it is not one. */
static uint64_t free_block_size(const struct pshm__heap_view *v, uint64_t off)
{
	if (!pshm__block_offset_ok(v, off))
		return 0;
	uint64_t head = pshm__head(v, off);
	return (head & PSHM__BLOCK_USED) ? 0 : pshm__block_size(v, off, head);
}

/* The first block of need bytes or more on the list of need's own class:
 * the last resort, when no larger class has a block. */
static int first_fit(const struct pshm__heap_view *v, uint64_t need, uint64_t *off)
{
	unsigned fl, sl;
	pshm__size_class(need, &fl, &sl);
	uint64_t steps = (v->end - v->first) / PSHM__HEAP_MIN_BLOCK;
	for (uint64_t at = v->h->bins[fl][sl]; at != 0; at = pshm__heap_word(v, at)[0]) {
		uint64_t size = free_block_size(v, at);
		if (size == 0 || steps-- == 0)
			return PSHM_ECORRUPT;
		if (size >= need) {
			*off = at;
			return 0;
		}
	}
	return -ENOMEM;
}

/* A free block of at least need bytes, in constant time: the first one of
 * the first non-empty class whose every block is that large. */
static int find_free(const struct pshm__heap_view *v, uint64_t need, uint64_t *off)
{
	uint64_t rounded = need;
	if (need >= LINEAR_LIMIT)
		rounded += (UINT64_C(1) << (63u - (unsigned)__builtin_clzll(need) - PSHM__HEAP_SL_BITS)) - 1;
	unsigned fl, sl;
	pshm__size_class(rounded, &fl, &sl);
	const struct pshm__heap *h = v->h;
	unsigned sl_map = fl < PSHM__HEAP_FL_COUNT ? h->sl_bitmap[fl] & (~0u << sl) & 0xffu : 0;
	if (sl_map == 0) {
		uint64_t fl_map = fl + 1 < PSHM__HEAP_FL_COUNT ? h->fl_bitmap & (~UINT64_C(0) << (fl + 1)) : 0;
		if (fl_map == 0)
			return first_fit(v, need, off);
		fl = (unsigned)__builtin_ctzll(fl_map);
		if (fl >= PSHM__HEAP_FL_COUNT)
			return PSHM_ECORRUPT;
		sl_map = h->sl_bitmap[fl];
		if (sl_map == 0)
			return PSHM_ECORRUPT;
	}
	*off = h->bins[fl][(unsigned)__builtin_ctz(sl_map)];
	uint64_t size = free_block_size(v, *off);
	return size >= need ? 0 : PSHM_ECORRUPT;
}

/* Where in the free block at off a payload aligned to align starts: off
 * itself, or far enough in that the bytes before make a block. */
static uint64_t aligned_start(uint64_t off, uint64_t align)
{
	if (off % align == 0)
		return off;
	uint64_t start = (off + PSHM__HEAP_MIN_BLOCK + align - 1) & ~(align - 1);
	return start;
}

/* Split the free block at off (size bytes) at start, a later payload: the
 * bytes before become a free block of their own. */
static void split_front(const struct pshm__heap_view *v, uint64_t off, uint64_t size,
                        uint64_t start)
{
	uint64_t front = start - off;
	pshm__set_head(v, start, (size - front) | PSHM__BLOCK_PREV_FREE);
	pshm__set_head(v, off, front | (pshm__head(v, off) & PSHM__BLOCK_PREV_FREE));
	pshm__bin_insert(v, off, front);
}

/* Of size bytes at off, about to be a block in use, keep need: the rest,
 * if it makes a block, becomes a free one after it (written inside the
 * old block, so the chain does not see it yet); else the block after no
 * longer follows a free one.  The size the block in use will have. */
static uint64_t keep(const struct pshm__heap_view *v, uint64_t off, uint64_t size, uint64_t need)
{
	if (size - need < PSHM__HEAP_MIN_BLOCK) {
		pshm__head_clear_flags(v, off + size, PSHM__BLOCK_PREV_FREE);
		return size;
	}
	pshm__set_head(v, off + need, size - need);
	pshm__bin_insert(v, off + need, size - need);
	return need;
}

/* Mark the free block at off (size bytes, off its list) in use with need
 * bytes, the rest becoming a free block after it. */
static void carve(const struct pshm__heap_view *v, uint64_t off, uint64_t size, uint64_t need)
{
	uint64_t prev_free = pshm__head(v, off) & PSHM__BLOCK_PREV_FREE;
	size = keep(v, off, size, need);
	pshm__set_head(v, off, size | PSHM__BLOCK_USED | prev_free);
	v->h->in_use += size;
	v->h->blocks++;
}

int pshm__heap_take(const struct pshm__heap_view *v, uint64_t need, uint64_t align, uint64_t *out)
{
	uint64_t want = align > PSHM__HEAP_GRAIN ? need + align + PSHM__HEAP_GRAIN : need;
	if (want > v->end - v->first)
		return -ENOMEM;
	int rc = want <= PSHM__QUICK_MAX ? pshm__quick_take(v, want, out) : 1;
	if (rc <= 0)
		return rc;
	uint64_t off;
	rc = find_free(v, want, &off);
	if (rc == -ENOMEM && pshm__quick_flush(v) == 0)
		rc = find_free(v, want, &off);
	if (rc < 0)
		return rc;
	uint64_t size = free_block_size(v, off);
	rc = pshm__bin_remove(v, off, size);
	if (rc < 0)
		return rc;
	uint64_t start = aligned_start(off, align);
	pshm__set_inflight(v, start | PSHM__INFLIGHT_ALLOC);
	if (start != off) {
		split_front(v, off, size, start);
		size -= start - off;
	}
	carve(v, start, size, need);
	*out = start;
	return 0;
}

/* Merge the free block at off (size bytes, not on a list) with the free
 * block after it, if there is one: its new size. */
static uint64_t merge_next(const struct pshm__heap_view *v, uint64_t off, uint64_t size, int *rc)
{
	uint64_t next = off + size;
	uint64_t head = pshm__head(v, next);
	if (next == v->end || (head & PSHM__BLOCK_USED))
		return size;
	uint64_t next_size = pshm__block_size(v, next, head);
	*rc = next_size == 0 ? PSHM_ECORRUPT : pshm__bin_remove(v, next, next_size);
	if (*rc < 0)
		return size;
	size += next_size;
	pshm__set_head(v, off, size | (pshm__head(v, off) & PSHM__BLOCK_PREV_FREE));
	return size;
}

/* Merge the free block at *off with the free block before it, if its head
 * says there is one: the new size, *off its start. */
static uint64_t merge_prev(const struct pshm__heap_view *v, uint64_t *off, uint64_t size, int *rc)
{
	if (!(pshm__head(v, *off) & PSHM__BLOCK_PREV_FREE))
		return size;
	uint64_t prev_size = *pshm__heap_word(v, *off - 16);
	uint64_t prev = *off - prev_size;
	if (prev_size > *off || free_block_size(v, prev) != prev_size) {
		*rc = PSHM_ECORRUPT;
		return size;
	}
	*rc = pshm__bin_remove(v, prev, prev_size);
	if (*rc < 0)
		return size;
	size += prev_size;
	pshm__set_head(v, prev, size | (pshm__head(v, prev) & PSHM__BLOCK_PREV_FREE));
	*off = prev;
	return size;
}

/* The size of the block in use at off whose head has exactly the flags
 * USED and flags (of OBJECT and QUICK); 0 if it is not one. */
static uint64_t block_in_use(const struct pshm__heap_view *v, uint64_t off, uint64_t flags)
{
	if (!pshm__block_offset_ok(v, off))
		return 0;
	uint64_t head = pshm__head(v, off);
	uint64_t kind = head & (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK);
	return kind == (PSHM__BLOCK_USED | flags) ? pshm__block_size(v, off, head) : 0;
}

int pshm__heap_give(const struct pshm__heap_view *v, uint64_t off, uint64_t flags)
{
	uint64_t size = block_in_use(v, off, flags);
	if (size == 0)
		return -EINVAL;
	if (pshm__quick_give(v, off, size, pshm__head(v, off)) == 0)
		return 0;
	return pshm__heap_give_merging(v, off, flags);
}

int pshm__heap_give_merging(const struct pshm__heap_view *v, uint64_t off, uint64_t flags)
{
	uint64_t size = block_in_use(v, off, flags);
	if (size == 0)
		return -EINVAL;
	uint64_t head = pshm__head(v, off);
	pshm__set_inflight(v, off | PSHM__INFLIGHT_FREE);
	v->h->in_use -= size;
	v->h->blocks--;
	pshm__set_head(v, off, size | (head & PSHM__BLOCK_PREV_FREE));
	int rc = 0;
	size = merge_next(v, off, size, &rc);
	if (rc == 0)
		size = merge_prev(v, &off, size, &rc);
	if (rc < 0)
		return rc;
	pshm__bin_insert(v, off, size);
	pshm__head_set_flags(v, off + size, PSHM__BLOCK_PREV_FREE);
	return 0;
}

/* Shrink the block in use at off (size bytes) to need, freeing the rest. */
static int shrink(const struct pshm__heap_view *v, uint64_t off, uint64_t size, uint64_t need)
{
	if (size - need < PSHM__HEAP_MIN_BLOCK)
		return 0;
	uint64_t rest = off + need;
	int rc = 0;
	pshm__set_head(v, rest, size - need);
	uint64_t rest_size = merge_next(v, rest, size - need, &rc);
	if (rc < 0)
		return rc;
	pshm__set_head(v, off, need | (pshm__head(v, off) & PSHM__BLOCK_FLAGS));
	pshm__bin_insert(v, rest, rest_size);
	pshm__head_set_flags(v, rest + rest_size, PSHM__BLOCK_PREV_FREE);
	v->h->in_use -= size - need;
	return 0;
}

/* Grow the block in use at off (size bytes) to need into the free block
 * after it: -ENOMEM if there is none, or it is too small. */
static int grow(const struct pshm__heap_view *v, uint64_t off, uint64_t size, uint64_t need)
{
	uint64_t next = off + size;
	uint64_t head = pshm__head(v, next);
	if (next == v->end || (head & PSHM__BLOCK_USED))
		return -ENOMEM;
	uint64_t next_size = pshm__block_size(v, next, head);
	if (next_size == 0)
		return PSHM_ECORRUPT;
	if (size + next_size < need)
		return -ENOMEM;
	int rc = pshm__bin_remove(v, next, next_size);
	if (rc < 0)
		return rc;
	uint64_t flags = pshm__head(v, off) & PSHM__BLOCK_FLAGS;
	uint64_t total = keep(v, off, size + next_size, need);
	pshm__set_head(v, off, total | flags);
	v->h->in_use += total - size;
	return 0;
}

int pshm__heap_resize(const struct pshm__heap_view *v, uint64_t off, uint64_t need)
{
	uint64_t size = block_in_use(v, off, 0);
	if (size == 0)
		return -EINVAL;
	return need <= size ? shrink(v, off, size, need) : grow(v, off, size, need);
}
