/*
 * heap.h - the engine of managed segments: the heap that PSHM_MANAGED makes
 * of a segment's usable bytes, worked on as (base, size) only; the public
 * calls are core/managed.c's.  heap.c locks and leaves a heap; bins.c is
 * the allocator proper (free lists by size class), quick.c its quick
 * lists, slots.h the caches that let processes allocate without its lock,
 * walk.c the walks (format, open, repair), check.c the checks and
 * statistics, objects.c the named objects.  Not installed.
 *
 * Layout.  Offsets count from base, the start of the usable bytes, where
 * the heap header sits, so no block is at offset 0 and 0 means "none".  A
 * block is an 8-byte head followed by its payload; a block is named by its
 * payload's offset (a multiple of 16), its head is the 8 bytes before.
 * The head holds the block's size (head included, a multiple of 16, at
 * least 32) and flags.  A free block keeps its list links at the start of
 * its payload and its size in its last 8 bytes (the footer), so that the
 * block after it can find where it starts.  A head of size 0, in use, ends
 * the chain.
 *
 * Crash safety.  The chain of heads is the truth; the rest (free lists,
 * bitmaps, counters, footers, PREV_FREE bits) is derived from it and is
 * rebuilt by a walk when the lock's holder died.  Each change to the chain
 * is one 8-byte store made after the heads it brings into the chain are
 * written, so the chain can be walked at every instant.  The header's
 * inflight word says which block the call that holds the lock allocates
 * or frees, so that the repair undoes the allocation (its caller never
 * learnt the offset) or finishes the free: nothing is lost.
 */
#ifndef PSHM_HEAP_H
#define PSHM_HEAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pshm.h"

#define PSHM__HEAP_MAGIC UINT64_C(0x5041454d4d485350) /* "PSHMHEAP" little-endian */
#define PSHM__HEAP_VERSION 1u       /* a heap without slots (slots.h) */
#define PSHM__HEAP_VERSION_SLOTS 2u /* with slots: older libraries refuse it */

#define PSHM__HEAP_GRAIN 16u    /* block sizes and payloads are multiples */
#define PSHM__HEAP_MIN_BLOCK 32u /* head, two links, footer */
#define PSHM__HEAP_SL_BITS 3u   /* 8 size classes per power of two */
#define PSHM__HEAP_FL_COUNT 42u /* powers of two up to 2^48 bytes */
#define PSHM__HEAP_BUCKETS 64u  /* hash chains of named objects */
/* Quick lists: a freed block of up to PSHM__QUICK_MAX bytes waits, whole,
 * on the list of its exact size (up to PSHM__QUICK_CAP of them) for the
 * next allocation of that size: two list operations instead of a split and
 * merges.  Its head keeps USED; the lists are emptied into the free lists
 * before -ENOMEM, and a repair counts their blocks free. */
#define PSHM__QUICK_MAX 1024u
#define PSHM__QUICK_LISTS (PSHM__QUICK_MAX / PSHM__HEAP_GRAIN + 1u)
#define PSHM__QUICK_CAP 32u
#define PSHM__HEAP_MAX_SIZE (UINT64_C(1) << 48)

/* Head flags, in the bits a multiple of 16 leaves. */
#define PSHM__BLOCK_USED UINT64_C(1)
#define PSHM__BLOCK_PREV_FREE UINT64_C(2) /* the block before is free: its footer holds its size */
#define PSHM__BLOCK_OBJECT UINT64_C(4)    /* a named object's block (objects.c) */
#define PSHM__BLOCK_QUICK UINT64_C(8)     /* freed onto a quick list (with USED): see below */
#define PSHM__BLOCK_FLAGS UINT64_C(15)
/* All three of USED, OBJECT and QUICK: in a slot's cache (slots.h). */
#define PSHM__BLOCK_CACHED (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK)

/* inflight: the block's offset | what is being done to it. */
#define PSHM__INFLIGHT_ALLOC UINT64_C(1)
#define PSHM__INFLIGHT_FREE UINT64_C(2)

struct pshm__heap {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size; /* sizeof(struct pshm__heap) of its maker */
	uint64_t first;       /* the first block */
	uint64_t end;         /* the closing head's block: the heap ends here */
	pshm_mutex_t lock;
	uint64_t inflight; /* through pshm__set_inflight: a store of its own */
	uint64_t in_use;  /* bytes of blocks in use, heads included */
	uint64_t blocks;  /* blocks in use */
	uint64_t objects; /* named objects */
	uint64_t repairs; /* walks after a holder's death */
	uint64_t broken;  /* nonzero once the chain was found broken */
	uint64_t fl_bitmap; /* bit f: some bins[f][s] is not empty */
	uint8_t sl_bitmap[48]; /* bit s of [f]: bins[f][s] is not empty */
	uint64_t bins[PSHM__HEAP_FL_COUNT][1u << PSHM__HEAP_SL_BITS]; /* free lists */
	uint64_t buckets[PSHM__HEAP_BUCKETS]; /* named objects' chains */
	uint64_t quick[PSHM__QUICK_LISTS];    /* quick[size / 16]: blocks of that size */
	uint16_t quick_count[PSHM__QUICK_LISTS];
	uint16_t pad[3]; /* i386 aligns uint64_t to 4: the padding, spelt out */
	uint64_t slots;  /* version 2: the slot table's block (slots.h); else 0 */
	uint64_t reserved[2];
};

/* The same layout for 32- and 64-bit processes sharing a heap. */
_Static_assert(offsetof(struct pshm__heap, inflight) == 96, "the heap header moved");
_Static_assert(offsetof(struct pshm__heap, bins) == 200, "the heap header moved");
_Static_assert(offsetof(struct pshm__heap, quick) == 3400, "the heap header moved");
_Static_assert(sizeof(struct pshm__heap) == 4080, "the heap header changed size");
_Static_assert(sizeof(struct pshm__heap) <= PSHM_HEAP_MIN / 2, "PSHM_HEAP_MIN must be mostly blocks");
_Static_assert(sizeof(struct pshm__heap) % PSHM__HEAP_GRAIN == 0, "heap header size");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "heads must be stored whole, across processes");

/* The first block: its head right after the header. */
#define PSHM__HEAP_FIRST ((uint64_t)sizeof(struct pshm__heap) + PSHM__HEAP_GRAIN)

/* A heap as one call sees it: where it is mapped, and its bounds read once
 * (another process may write over the header: every offset read from the
 * heap is checked against these before it is followed). */
struct pshm__heap_view {
	unsigned char *base;
	struct pshm__heap *h;
	uint64_t first, end;
	uint64_t limit; /* where this process's mapping ends: the heap may grow to it */
};

static inline _Atomic uint64_t *pshm__head_word(const struct pshm__heap_view *v, uint64_t off)
{
	return (_Atomic uint64_t *)(void *)(v->base + off - 8);
}

static inline uint64_t pshm__head(const struct pshm__heap_view *v, uint64_t off)
{
	return atomic_load_explicit(pshm__head_word(v, off), memory_order_relaxed);
}

/* A store that changes the chain: after every store before it. */
static inline void pshm__set_head(const struct pshm__heap_view *v, uint64_t off, uint64_t head)
{
	atomic_store_explicit(pshm__head_word(v, off), head, memory_order_release);
}

/* Set or clear flags of a head in one atomic step: a cached block's head
 * (slots.h) is changed by its slot's holder without the heap's lock, so
 * nobody may store a head it read before (a neighbour's PREV_FREE too). */
static inline void pshm__head_set_flags(const struct pshm__heap_view *v, uint64_t off, uint64_t f)
{
	atomic_fetch_or_explicit(pshm__head_word(v, off), f, memory_order_acq_rel);
}

static inline void pshm__head_clear_flags(const struct pshm__heap_view *v, uint64_t off, uint64_t f)
{
	atomic_fetch_and_explicit(pshm__head_word(v, off), ~f, memory_order_acq_rel);
}

/* The inflight word: stored whole, ordered after the stores before it. */
static inline void pshm__set_inflight(const struct pshm__heap_view *v, uint64_t what)
{
	atomic_store_explicit((_Atomic uint64_t *)(void *)&v->h->inflight, what, memory_order_release);
}

static inline uint64_t pshm__inflight(const struct pshm__heap_view *v)
{
	return atomic_load_explicit((_Atomic uint64_t *)(void *)&v->h->inflight,
	                            memory_order_acquire);
}

static inline uint64_t *pshm__heap_word(const struct pshm__heap_view *v, uint64_t off)
{
	return (uint64_t *)(void *)(v->base + off);
}

/* Whether off may name a block of this heap (not whether one is there). */
static inline int pshm__block_offset_ok(const struct pshm__heap_view *v, uint64_t off)
{
	return off >= v->first && off < v->end && off % PSHM__HEAP_GRAIN == 0;
}

/* The size in a head, if the block it describes fits in the heap; else 0. */
static inline uint64_t pshm__block_size(const struct pshm__heap_view *v, uint64_t off,
                                        uint64_t head)
{
	uint64_t size = head & ~PSHM__BLOCK_FLAGS;
	return size >= PSHM__HEAP_MIN_BLOCK && size <= v->end - off ? size : 0;
}

/* walk.c */

/* What pshm__heap_walk calls for each block: nonzero stops the walk. */
typedef int (*pshm__block_visit)(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                                 uint64_t size, void *arg);

/* Visit the blocks from first to last: 0 when the chain reaches the
 * closing head, PSHM_ECORRUPT where it breaks, or what visit returned. */
int pshm__heap_walk(const struct pshm__heap_view *v, pshm__block_visit visit, void *arg);

/* Where a heap in len usable bytes ends: a multiple of the grain, below
 * the largest heap. */
uint64_t pshm__heap_limit(size_t len);

/* Make a heap of the len bytes at base (pshm_create, PSHM_MANAGED):
 * 0, or -EINVAL if they cannot hold one. */
int pshm__heap_format(void *base, size_t len);

/* Open the heap at base in a usable area of len bytes, which its segment's
 * header says was made with a heap (managed nonzero) or without one: 0,
 * PSHM_ENOHEAP (no heap was made), PSHM_EVERSION or PSHM_ECORRUPT (one was
 * made and is overwritten, its magic included), -ESTALE (it reaches past
 * len: it grew in a larger mapping, or it is overwritten). */
int pshm__heap_open(void *base, size_t len, int managed, struct pshm__heap_view *v);

/* Grow the heap, whose lock the caller holds, to v->limit where that adds
 * a block: the bytes after the closing head become a free block.  Crash
 * safe: the closing head at the new end is written first, then inflight
 * names the old closing block as being freed, then one store of its head
 * takes the chain to the new end, then the header's end follows
 * (pshm__heap_finish_growth finishes a grower that died between these
 * two), then the block is freed as any other.  0 or PSHM_ECORRUPT. */
int pshm__heap_grow(struct pshm__heap_view *v);

/* After a holder's death, before the repair: if the chain was taken past
 * the header's end by a grower that died before it moved the end, move
 * it (the repair then frees the block in flight). */
void pshm__heap_finish_growth(struct pshm__heap_view *v);

/* Rebuild what is derived from the chain, finishing the call in flight
 * and freeing named objects' blocks no name leads to: 0 or PSHM_ECORRUPT
 * (and the heap is marked broken). */
int pshm__heap_repair(const struct pshm__heap_view *v);

/* check.c */

/* Walk everything and compare: 0 or PSHM_ECORRUPT. */
int pshm__heap_verify(const struct pshm__heap_view *v);

/* Fill info from the counters and the free lists. */
void pshm__heap_describe(const struct pshm__heap_view *v, pshm_heap_info_t *info);

/* bins.c: the allocator, on a heap whose lock the caller holds. */

/* The list a free block of size bytes goes on: bins[*fl][*sl]. */
void pshm__size_class(uint64_t size, unsigned *fl, unsigned *sl);

/* Block size for a payload of size bytes; 0 if too big. */
uint64_t pshm__block_for(size_t size);

/* Put the free block off (of size size) on its list; take it off. */
void pshm__bin_insert(const struct pshm__heap_view *v, uint64_t off, uint64_t size);
int pshm__bin_remove(const struct pshm__heap_view *v, uint64_t off, uint64_t size);

/* A block of need bytes whose payload is a multiple of align, in *off:
 * 0, -ENOMEM, or PSHM_ECORRUPT.  Leaves inflight saying so. */
int pshm__heap_take(const struct pshm__heap_view *v, uint64_t need, uint64_t align,
                    uint64_t *off);

/* Free the block in use at off (flags: what its head must have): 0,
 * -EINVAL if off is no block in use, PSHM_ECORRUPT.  Leaves inflight. */
int pshm__heap_give(const struct pshm__heap_view *v, uint64_t off, uint64_t flags);

/* pshm__heap_give without the quick lists: merged with its neighbours. */
int pshm__heap_give_merging(const struct pshm__heap_view *v, uint64_t off, uint64_t flags);

/* Make the block in use at off need bytes where it is: 0, or -ENOMEM
 * when the blocks after it cannot give enough (nothing changed). */
int pshm__heap_resize(const struct pshm__heap_view *v, uint64_t off, uint64_t need);

/* quick.c */

/* Take a block of exactly need bytes off its quick list: 0, 1 if the list
 * is empty, PSHM_ECORRUPT.  Leaves inflight saying so. */
int pshm__quick_take(const struct pshm__heap_view *v, uint64_t need, uint64_t *out);

/* Put the block in use at off (size bytes, head head) on its quick list if
 * the list has room: 0 (inflight says so), or 1. */
int pshm__quick_give(const struct pshm__heap_view *v, uint64_t off, uint64_t size, uint64_t head);

/* Empty the quick lists into the free lists, merging their blocks (before
 * an allocation says -ENOMEM, and for pshm_heap_stat): 0 or PSHM_ECORRUPT. */
int pshm__quick_flush(const struct pshm__heap_view *v);

/* heap.c: a heap call's prologue and epilogue, and the calls between. */

/* Lock the heap v opened (pshm__heap_open), repairing it if the last holder
 * died, growing it to v->limit: 0, or PSHM_ECORRUPT, -EDEADLK... */
int pshm__heap_lock(struct pshm__heap_view *v);

/* rc, after marking the heap broken if rc is PSHM_ECORRUPT; leaving, the
 * same after clearing inflight and unlocking. */
int pshm__heap_judged(const struct pshm__heap_view *v, int rc);
int pshm__heap_leave(const struct pshm__heap_view *v, int rc);

/* A block for size bytes whose payload is a multiple of align, in *off:
 * 0, -ENOMEM, PSHM_ECORRUPT. */
int pshm__heap_alloc(const struct pshm__heap_view *v, size_t size, uint64_t align, uint64_t *off);

/* Make the block in use at *off hold size bytes, keeping what it held up
 * to the smaller size: where it is, or in a new block whose offset it
 * stores in *off (the old one freed last: a death at any instant leaves
 * *off at a block with the data).  0, -ENOMEM, -EINVAL (no block in use
 * at *off), PSHM_ECORRUPT. */
int pshm__heap_realloc(const struct pshm__heap_view *v, uint64_t *off, size_t size);

/* Fill info, after merging the quick lists: 0 or PSHM_ECORRUPT. */
int pshm__heap_stat(const struct pshm__heap_view *v, pshm_heap_info_t *info);

/* objects.c */

/* A named object's block: this entry, then the object's bytes. */
struct pshm__object_entry {
	uint64_t next; /* the next entry of its chain */
	uint64_t size; /* the object's size */
	uint64_t mark; /* what the repair's walks wrote */
	uint64_t hash;
	char name[PSHM_OBJECT_NAME_MAX + 1];
	uint64_t reserved;
	uint64_t tag; /* PSHM__OBJECT_TAG, where pshm_free looks for a head */
};
#define PSHM__OBJECT_TAG (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT) /* size 0: no block's */
_Static_assert(sizeof(struct pshm__object_entry) % PSHM__HEAP_GRAIN == 0, "object entry size");

/* The entry of the object block at off. */
static inline struct pshm__object_entry *pshm__entry(const struct pshm__heap_view *v, uint64_t off)
{
	return (struct pshm__object_entry *)(void *)(v->base + off);
}

/* Whether name may name an object: 1 to PSHM_OBJECT_NAME_MAX bytes. */
int pshm__object_name_is_valid(const char *name);

/* The object called name, of size bytes, made (zeroed, then init(obj,
 * size, arg), whose nonzero value undoes it and is returned) if there is
 * none: its bytes' offset in *off; 1 made, 0 found, -EEXIST (found, of
 * another size), -EINVAL (no such name can be), -ENOMEM, PSHM_ECORRUPT. */
int pshm__object_get(const struct pshm__heap_view *v, const char *name, size_t size,
                     int (*init)(void *obj, size_t size, void *arg), void *arg, uint64_t *off);

/* The object called name: its bytes' offset and size (each may be NULL):
 * 0, -ENOENT, -EINVAL, PSHM_ECORRUPT. */
int pshm__object_lookup(const struct pshm__heap_view *v, const char *name, uint64_t *off,
                        size_t *size);

/* Remove the object called name and free its block: 0, -ENOENT, -EINVAL,
 * PSHM_ECORRUPT. */
int pshm__object_unlink(const struct pshm__heap_view *v, const char *name);

/* fn(name, off, size, arg) for each object until fn returns nonzero: 0,
 * what fn returned, or PSHM_ECORRUPT. */
int pshm__object_each(const struct pshm__heap_view *v,
                      int (*fn)(const char *name, uint64_t off, size_t size, void *arg), void *arg);

/* Keep, of the object blocks whose mark is seen, those a chain leads to
 * (their mark becomes linked) and cut chains at anything else.  Part of
 * pshm__heap_repair, which frees the others: objects whose creator died
 * before linking them in, or that a remover unlinked. */
void pshm__objects_sweep(const struct pshm__heap_view *v, uint64_t seen, uint64_t linked);

/* Whether the chains are sound and count what the header says: 0 or
 * PSHM_ECORRUPT. */
int pshm__objects_verify(const struct pshm__heap_view *v);

#endif /* PSHM_HEAP_H */
