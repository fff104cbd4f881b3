/*
 * slots.h - the heap's slots: caches of free blocks that let processes
 * allocate and free small blocks without the heap's one lock.  Not
 * installed.
 *
 * One lock for a whole heap makes every allocation of every process meet
 * on one cache line and, when two want it at once, sleep: a heap shared by
 * 2 or 8 processes ran at a sixth to a quarter of private malloc.  A heap
 * large enough (PSHM__SLOTS_MIN_HEAP) has a table of PSHM__SLOT_COUNT
 * slots, each a robust lock and lists of blocks by size class; a thread
 * takes the first slot it can lock without waiting, starting from the one
 * it used last, so that processes spread over the slots and each keeps
 * its own lines.  An allocation takes a block off its slot's list; a free
 * puts the block on it; only a list that is empty (refill, a batch of
 * blocks at once) or full (spill, half of every list) takes the heap's
 * lock, after the slot's: slot, then heap, never the other way round, and
 * never two slots.
 *
 * Crash safety, as the heap's own (heap.h).  A cached block stays in the
 * chain as a block in use whose head says CACHED (USED | OBJECT | QUICK)
 * and whose second payload word names its slot (PSHM__SLOT_TAG); the
 * heap's repair leaves such blocks alone and counts them in use.  A slot's
 * inflight word names the block its holder takes or puts; a slot whose
 * holder died is rebuilt by its next locker from a walk of the chain
 * (under the heap's lock): every block tagged with the slot goes back on
 * its lists, the one in flight too (its taker never learnt its offset, or
 * its freer had given it up).  A block moves between a slot and the heap
 * through a moment where neither claims it: a death there loses that one
 * block, the bound every heap call keeps.  Heads of cached blocks change
 * without the heap's lock, so every change of a head's flags that the
 * heap makes to a block it does not own is one atomic step
 * (pshm__head_set_flags).
 */
#ifndef PSHM_HEAP_SLOTS_H
#define PSHM_HEAP_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "heap/heap.h"

#define PSHM__SLOTS_MAGIC UINT64_C(0x53544f4c53485350) /* "PSHSLOTS" little-endian */
#define PSHM__SLOT_COUNT 16u
#define PSHM__SLOTS_MIN_HEAP (UINT64_C(256) * 1024) /* smaller heaps have none */
/* Size classes: every 16 bytes up to 1 KiB, then 8 per power of two up to
 * 8 KiB; a block of a class is at least that large. */
#define PSHM__SLOT_FINE_MAX 1024u
#define PSHM__SLOT_MAX_BLOCK 8192u
#define PSHM__SLOT_CLASSES (PSHM__SLOT_FINE_MAX / PSHM__HEAP_GRAIN - 1u + 3u * 8u)
#define PSHM__SLOT_LIST_CAP 64u /* blocks a list holds before a spill */
#define PSHM__SLOT_TAG(k) (UINT64_C(0x534c4f5400000000) | (uint64_t)(k))

struct pshm__heap_slot {
	pshm_mutex_t lock;
	uint64_t inflight; /* the block being taken or put | PSHM__INFLIGHT_* */
	uint64_t cached;   /* bytes of the blocks on the lists */
	/* how many wait for the lock: a thread that allocates passes the slot
	 * by while one does, as a slot in constant use would starve them */
	_Atomic uint32_t wanted;
	uint32_t unused;
	uint64_t lists[PSHM__SLOT_CLASSES];
	uint16_t counts[PSHM__SLOT_CLASSES];
	uint8_t pad[2];
};
_Static_assert(sizeof(struct pshm__heap_slot) == 960, "a slot changed size"); /* 15 lines */

/* The table: a block in use of the heap, named by the header's slots. */
struct pshm__heap_slots {
	uint64_t magic;
	uint32_t count;     /* PSHM__SLOT_COUNT */
	uint32_t slot_size; /* sizeof(struct pshm__heap_slot) */
	uint64_t cap;       /* bytes a slot may cache before a spill */
	uint64_t reserved[5];
	struct pshm__heap_slot slot[PSHM__SLOT_COUNT];
};
_Static_assert(offsetof(struct pshm__heap_slots, slot) == 64, "slots start a cache line");
_Static_assert(sizeof(struct pshm__heap_slots) % PSHM__HEAP_GRAIN == 0, "slot table size");

/* A cached block's second word: its slot's tag (read by other slots'
 * rebuilds while this slot's holder writes it). */
static inline _Atomic uint64_t *pshm__slot_tag(const struct pshm__heap_view *v, uint64_t off)
{
	return (_Atomic uint64_t *)(void *)(pshm__heap_word(v, off) + 1);
}

/* The slot's inflight word: stored whole, after the stores before it. */
static inline void pshm__slot_set_inflight(struct pshm__heap_slot *s, uint64_t what)
{
	atomic_store_explicit((_Atomic uint64_t *)(void *)&s->inflight, what, memory_order_release);
}

/* slots.c */

/* The class whose blocks all hold need bytes (a block size), and that
 * class's block size; the class a block of size bytes serves.  Callers
 * keep to sizes from PSHM__HEAP_MIN_BLOCK to PSHM__SLOT_MAX_BLOCK. */
unsigned pshm__slot_class_for_need(uint64_t need);
uint64_t pshm__slot_class_size(unsigned c);
unsigned pshm__slot_class_of_block(uint64_t size);

/* The slot table of the heap v opened in *t (NULL if it has none): 0, or
 * PSHM_ECORRUPT if the header names something that is not one. */
int pshm__slots_find(const struct pshm__heap_view *v, struct pshm__heap_slots **t);

/* Allocate size bytes through a slot: 0 (*off), -ENOMEM (the heap has
 * no block for a refill: pshm__slots_flush, then try again), PSHM_ECORRUPT,
 * or 1: the caller allocates under the heap's lock (no slots, or a size
 * no class holds). */
int pshm__slot_alloc(struct pshm__heap_view *v, size_t size, uint64_t *off);

/* Free the block at off through a slot: 0, PSHM_ECORRUPT, or 1: the
 * caller frees it under the heap's lock (no slots, no block in use of a
 * class's size: that call says -EINVAL if it is none). */
int pshm__slot_free(struct pshm__heap_view *v, uint64_t off);

/* Put the block at off (size bytes, already marked cached) on slot k's
 * list of its class, tagged with the slot. */
void pshm__slot_link(const struct pshm__heap_view *v, struct pshm__heap_slot *s, unsigned k,
                     uint64_t off, uint64_t size);

/* Lock slot k, waiting for it (and saying so, so that allocating threads
 * pass it by): 0, or an error; a slot whose holder died is rebuilt. */
int pshm__slot_lock(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k);
void pshm__slot_unlock(struct pshm__heap_slot *s);

/* Give the blocks of slot k (all, or half of each list) back to the heap,
 * whose lock the caller holds with the slot's: 0 or PSHM_ECORRUPT. */
int pshm__slot_drain(const struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k,
                     int all);

/* slots-care.c */

/* Make the slot table of a heap being made, if it is large enough: 0 or
 * a negative errno. */
int pshm__slots_format(struct pshm__heap_view *v);

/* Rebuild slot k, locked by the caller after its holder died, from a walk
 * of the chain under the heap's lock: 0 or an error. */
int pshm__slot_rebuild(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k);

/* Give every slot's blocks back to the heap (the heap's lock not held):
 * before an allocation says -ENOMEM, and for pshm_heap_stat.  1, 0 if the
 * heap has no slots, or an error. */
int pshm__slots_flush(struct pshm__heap_view *v);

/* Check every slot's lists against the chain (the heap's lock not held):
 * 0 or PSHM_ECORRUPT. */
int pshm__slots_verify(struct pshm__heap_view *v);

/* The bytes the slot table's own block takes (0 without one): what
 * pshm_heap_stat does not count in use. */
uint64_t pshm__slots_overhead(const struct pshm__heap_view *v);

#endif /* PSHM_HEAP_SLOTS_H */
