/*
 * slots.c - allocating and freeing through the heap's slots (slots.h):
 * the size classes, choosing and locking a slot, taking a block off a
 * slot's list and putting one on, and the two moments that reach the heap
 * under its lock: a refill of an empty list and a spill of a full slot.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "heap/slots.h"
#include "os/sys.h"
#include "sync/sync.h"

#define FINE_CLASSES (PSHM__SLOT_FINE_MAX / PSHM__HEAP_GRAIN - 1u)
#define FINE_BITS 10u /* PSHM__SLOT_FINE_MAX is 2^10 */
#define REFILL_BYTES (UINT64_C(32) * 1024)
#define REFILL_MOST 16u

unsigned pshm__slot_class_for_need(uint64_t need)
{
	if (need <= PSHM__SLOT_FINE_MAX)
		return (unsigned)(need / PSHM__HEAP_GRAIN) - 2u;
	unsigned p = 63u - (unsigned)__builtin_clzll(need - 1); /* need in (2^p, 2^(p+1)] */
	uint64_t step = (UINT64_C(1) << p) / 8u;
	uint64_t steps = (need - (UINT64_C(1) << p) + step - 1) / step;
	return FINE_CLASSES + (p - FINE_BITS) * 8u + (unsigned)steps - 1u;
}

uint64_t pshm__slot_class_size(unsigned c)
{
	if (c < FINE_CLASSES)
		return (uint64_t)(c + 2u) * PSHM__HEAP_GRAIN;
	uint64_t base = (uint64_t)PSHM__SLOT_FINE_MAX << ((c - FINE_CLASSES) / 8u);
	return base + ((c - FINE_CLASSES) % 8u + 1u) * (base / 8u);
}

unsigned pshm__slot_class_of_block(uint64_t size)
{
	if (size >= PSHM__SLOT_MAX_BLOCK)
		return PSHM__SLOT_CLASSES - 1u;
	if (size < pshm__slot_class_size(FINE_CLASSES))
		return size / PSHM__HEAP_GRAIN - 2u < FINE_CLASSES ? (unsigned)(size / PSHM__HEAP_GRAIN) - 2u
		                                                  : FINE_CLASSES - 1u;
	unsigned p = 63u - (unsigned)__builtin_clzll(size); /* size in [2^p, 2^(p+1)) */
	uint64_t step = (UINT64_C(1) << p) / 8u;
	unsigned i = (unsigned)((size - (UINT64_C(1) << p)) / step);
	return FINE_CLASSES + (p - FINE_BITS) * 8u + i - 1u;
}

int pshm__slots_find(const struct pshm__heap_view *v, struct pshm__heap_slots **out)
{
	const struct pshm__heap *h = v->h;
	*out = NULL;
	if (h->version != PSHM__HEAP_VERSION_SLOTS)
		return h->slots == 0 ? 0 : PSHM_ECORRUPT;
	uint64_t off = h->slots;
	if (!pshm__block_offset_ok(v, off) || v->end - off < sizeof(struct pshm__heap_slots))
		return PSHM_ECORRUPT;
	struct pshm__heap_slots *t = (struct pshm__heap_slots *)(void *)(v->base + off);
	if (t->magic != PSHM__SLOTS_MAGIC || t->count != PSHM__SLOT_COUNT ||
	    t->slot_size != sizeof(struct pshm__heap_slot))
		return PSHM_ECORRUPT;
	*out = t;
	return 0;
}

/* The slot this thread used last: each thread of each process starts on
 * a slot of its own, as far as there are slots. */
struct slot_choice {
	pshm_pid_t pid; /* whose choice: a child of fork chooses anew */
	unsigned slot;
};
static _Thread_local struct slot_choice last_slot;

static unsigned first_choice(void)
{
	static _Atomic unsigned threads;
	pshm_pid_t pid = pshm__self_pid();
	if (last_slot.pid != pid) { /* a new thread, or a child of fork */
		last_slot.pid = pid;
		last_slot.slot = ((unsigned)pid + atomic_fetch_add(&threads, 1u)) % PSHM__SLOT_COUNT;
	}
	return last_slot.slot;
}

/* After a lock call on slot k returned rc: rebuild the slot if its holder
 * died.  0 (locked) or an error (not locked). */
static int settle(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k, int rc)
{
	pshm_mutex_t *lock = &t->slot[k].lock;
	if (rc == PSHM_EOWNERDEAD) {
		rc = pshm__slot_rebuild(v, t, k);
		int consistent = pshm_mutex_consistent(lock);
		rc = rc < 0 ? rc : consistent;
		if (rc < 0)
			pshm__mutex_unlock(lock);
	}
	return rc;
}

int pshm__slot_lock(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k)
{
	atomic_fetch_add_explicit(&t->slot[k].wanted, 1u, memory_order_relaxed);
	int rc = pshm__mutex_lock(&t->slot[k].lock);
	atomic_fetch_sub_explicit(&t->slot[k].wanted, 1u, memory_order_relaxed);
	return settle(v, t, k, rc);
}

void pshm__slot_unlock(struct pshm__heap_slot *s)
{
	pshm__slot_set_inflight(s, 0);
	pshm__mutex_unlock(&s->lock);
}

/* Lock the first slot free of a holder, from this thread's last one; wait
 * for that one if every slot is held.  0 and *k, or an error. */
static int choose_slot(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned *k)
{
	unsigned first = first_choice();
	for (unsigned i = 0; i < PSHM__SLOT_COUNT; i++) {
		unsigned at = (first + i) % PSHM__SLOT_COUNT;
		if (atomic_load_explicit(&t->slot[at].wanted, memory_order_relaxed) != 0)
			continue; /* somebody waits for it */
		int rc = pshm__mutex_trylock(&t->slot[at].lock);
		if (rc == -EBUSY)
			continue;
		last_slot.slot = *k = at;
		return settle(v, t, at, rc);
	}
	*k = first;
	return pshm__slot_lock(v, t, first);
}

/* Take the first block off list c of slot k: 0 (*out), 1 if the list is
 * empty, PSHM_ECORRUPT.  The block is in use, inflight names it. */
static int take_cached(const struct pshm__heap_view *v, struct pshm__heap_slot *s, unsigned k,
                       unsigned c, uint64_t *out)
{
	uint64_t off = s->lists[c];
	if (off == 0)
		return 1;
	uint64_t head = pshm__block_offset_ok(v, off) ? pshm__head(v, off) : 0;
	uint64_t size = pshm__block_size(v, off, head);
	if ((head & PSHM__BLOCK_CACHED) != PSHM__BLOCK_CACHED || size == 0 ||
	    pshm__slot_class_of_block(size) != c || s->counts[c] == 0 || s->cached < size ||
	    atomic_load_explicit(pshm__slot_tag(v, off), memory_order_relaxed) != PSHM__SLOT_TAG(k))
		return PSHM_ECORRUPT;
	pshm__slot_set_inflight(s, off | PSHM__INFLIGHT_ALLOC);
	s->lists[c] = *pshm__heap_word(v, off);
	s->counts[c]--;
	s->cached -= size;
	atomic_store_explicit(pshm__slot_tag(v, off), 0, memory_order_relaxed);
	pshm__head_clear_flags(v, off, PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK);
	*out = off;
	return 0;
}

/* Put the block in use at off (size bytes) on slot k's list: 0, or 1 if
 * it is no longer a block in use (freed twice at once: the heap's own
 * free says -EINVAL).  Its head says CACHED first, which only one freer
 * can make it say; then inflight names it, then its words and the list. */
static int put_cached(const struct pshm__heap_view *v, struct pshm__heap_slot *s, unsigned k,
                      uint64_t off, uint64_t size)
{
	uint64_t head = pshm__head(v, off);
	do {
		if ((head & PSHM__BLOCK_CACHED) != PSHM__BLOCK_USED)
			return 1;
	} while (!atomic_compare_exchange_weak_explicit(
	    pshm__head_word(v, off), &head, head | PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK,
	    memory_order_acq_rel, memory_order_relaxed));
	pshm__slot_set_inflight(s, off | PSHM__INFLIGHT_FREE);
	pshm__slot_link(v, s, k, off, size);
	return 0;
}

void pshm__slot_link(const struct pshm__heap_view *v, struct pshm__heap_slot *s, unsigned k,
                     uint64_t off, uint64_t size)
{
	unsigned c = pshm__slot_class_of_block(size);
	*pshm__heap_word(v, off) = s->lists[c];
	atomic_store_explicit(pshm__slot_tag(v, off), PSHM__SLOT_TAG(k), memory_order_relaxed);
	s->lists[c] = off;
	s->counts[c]++;
	s->cached += size;
}

int pshm__slot_drain(const struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k,
                     int all)
{
	struct pshm__heap_slot *s = &t->slot[k];
	for (unsigned c = 0; c < PSHM__SLOT_CLASSES; c++) {
		unsigned n = all ? s->counts[c] : (s->counts[c] + 1u) / 2u;
		while (n-- > 0) {
			uint64_t off;
			int rc = take_cached(v, s, k, c, &off);
			pshm__slot_set_inflight(s, 0); /* between slot and heap: a death loses it */
			if (rc == 0)
				rc = pshm__heap_give_merging(v, off, 0);
			if (rc != 0)
				return rc < 0 ? rc : PSHM_ECORRUPT;
		}
	}
	return 0;
}

/* List c of slot k is empty: take a batch of its class's blocks from the
 * heap, under its lock, the first one for the caller (*out).  Each leaves
 * the heap's claim (inflight cleared) before the slot makes its own. */
static int refill(struct pshm__heap_view *v, struct pshm__heap_slots *t, unsigned k, unsigned c,
                  uint64_t *out)
{
	struct pshm__heap_slot *s = &t->slot[k];
	uint64_t size = pshm__slot_class_size(c);
	/* a small part of what the slot may hold: a refill that filled it
	 * would make the next free spill, and the heap's lock would be taken
	 * on every call */
	uint64_t bytes = REFILL_BYTES < t->cap / 8 ? REFILL_BYTES : t->cap / 8;
	unsigned batch = bytes / size < REFILL_MOST ? (unsigned)(bytes / size) : REFILL_MOST;
	int rc = pshm__heap_lock(v);
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i == 0 || i < batch; i++) {
		uint64_t off;
		rc = pshm__heap_take(v, size, PSHM__HEAP_GRAIN, &off);
		if (rc != 0) {
			rc = i > 0 && rc == -ENOMEM ? 0 : rc;
			break;
		}
		pshm__set_inflight(v, 0); /* between heap and slot: a death loses it */
		if (i == 0) {
			pshm__slot_set_inflight(s, off | PSHM__INFLIGHT_ALLOC);
			*out = off;
		} else if (put_cached(v, s, k, off, pshm__block_size(v, off, pshm__head(v, off))) != 0) {
			rc = PSHM_ECORRUPT;
			break;
		}
	}
	return pshm__heap_leave(v, rc);
}

int pshm__slot_alloc(struct pshm__heap_view *v, size_t size, uint64_t *off)
{
	struct pshm__heap_slots *t;
	int rc = pshm__slots_find(v, &t);
	uint64_t need = pshm__block_for(size);
	if (rc != 0 || t == NULL || need == 0 || need > PSHM__SLOT_MAX_BLOCK)
		return rc != 0 ? pshm__heap_judged(v, rc) : 1;
	unsigned k, c = pshm__slot_class_for_need(need);
	rc = choose_slot(v, t, &k);
	if (rc != 0)
		return rc;
	rc = take_cached(v, &t->slot[k], k, c, off);
	if (rc == 1)
		rc = refill(v, t, k, c, off);
	pshm__slot_unlock(&t->slot[k]);
	return pshm__heap_judged(v, rc);
}

int pshm__slot_free(struct pshm__heap_view *v, uint64_t off)
{
	struct pshm__heap_slots *t;
	int rc = pshm__slots_find(v, &t);
	if (rc != 0 || t == NULL || !pshm__block_offset_ok(v, off))
		return rc != 0 ? pshm__heap_judged(v, rc) : 1;
	uint64_t head = pshm__head(v, off);
	uint64_t size = pshm__block_size(v, off, head);
	if ((head & PSHM__BLOCK_CACHED) != PSHM__BLOCK_USED || size == 0 ||
	    size >= PSHM__SLOT_MAX_BLOCK + PSHM__HEAP_MIN_BLOCK)
		return 1;
	unsigned k;
	rc = choose_slot(v, t, &k);
	if (rc != 0)
		return rc;
	struct pshm__heap_slot *s = &t->slot[k];
	if (s->counts[pshm__slot_class_of_block(size)] >= PSHM__SLOT_LIST_CAP ||
	    s->cached + size > t->cap) { /* full: half of every list back to the heap */
		rc = pshm__heap_lock(v);
		if (rc == 0)
			rc = pshm__heap_leave(v, pshm__slot_drain(v, t, k, 0));
	}
	if (rc == 0)
		rc = put_cached(v, s, k, off, size);
	pshm__slot_unlock(s);
	return pshm__heap_judged(v, rc);
}
