/*
 * test-heapslots.c - a heap large enough to have slots (caches of blocks
 * that processes allocate from without the heap's lock) keeps every
 * promise of the heap: eight processes allocating and freeing at once,
 * SIGKILLed at random moments and replaced, leave the heap whole and every
 * block a survivor or a dead one recorded as it was written; a process
 * that dies holding a slot loses no block; blocks one process left cached
 * are given back when another needs the room; a block freed twice is
 * refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rawobj.h"
#include "testutil.h"

#define WORKERS 8
#define KILLS 200
#define KILLS_UNDER_VALGRIND 12
#define HELD 64 /* blocks a worker holds at most */
#define HEAP_BYTES ((size_t)1 << 20)

/* A worker's blocks, in the named object "ledger-N": an entry is cleared
 * before its block is freed and set after the block is filled, so that a
 * death loses at most the block in flight. */
struct ledger {
	_Atomic uint64_t off[HELD];
	uint64_t size[HELD];
};

struct crew {
	pshm_t *shm;
	struct ledger *ledger[WORKERS];
	_Atomic uint64_t *steps; /* every worker's steps, for the first-step wait */
	pid_t pid[WORKERS];
	unsigned seed;
	int worker; /* the one a child of test_fork is */
	pid_t test; /* the workers' parent */
};

/* One step on entry e: free its block, or allocate one of 16 B to 4 KiB. */
static int step(pshm_t *shm, struct ledger *l, unsigned e, unsigned r)
{
	uint64_t off = atomic_load(&l->off[e]);
	if (off != 0) {
		if (!test_block_intact(shm, off, l->size[e]))
			return 3;
		atomic_store(&l->off[e], 0);
		return pshm_free(shm, off) == 0 ? 0 : 4;
	}
	size_t size = 16 + r % 1000; /* 8 workers' blocks fill a third of the heap */
	pshm_off_t at;
	int rc = pshm_alloc(shm, size, &at);
	if (rc != 0)
		return rc == -ENOMEM ? 0 : 5;
	test_block_fill(shm, at, size);
	l->size[e] = size;
	atomic_store(&l->off[e], at);
	return 0;
}

/* A worker: steps until killed, or until the test is gone (it timed
 * out: no worker may outlive it); a nonzero exit is a fault it found. */
static int work(void *arg)
{
	const struct crew *c = arg;
	struct ledger *l = c->ledger[c->worker];
	unsigned seed = c->seed;
	for (uint64_t n = 1;; n++) {
		if (n % 1024 == 0 && getppid() != c->test)
			return 0;
		unsigned r = (unsigned)rand_r(&seed);
		int rc = step(c->shm, l, r % HELD, r / HELD);
		if (rc != 0)
			return rc;
		atomic_fetch_add_explicit(c->steps, 1, memory_order_relaxed);
	}
}

/* Start worker w, and wait until it has made a step (or one more was
 * made by anybody): a kill timed from the fork alone could find it not
 * yet started. */
static void start(struct crew *c, int w)
{
	uint64_t before = atomic_load(c->steps);
	c->worker = w;
	c->seed = (unsigned)rand_r(&c->seed);
	c->pid[w] = test_fork(work, c);
	const struct timespec tick = {0, 50000L};
	for (long ticks = 0; atomic_load(c->steps) == before; ticks++) {
		cr_assert_lt(ticks, 60L * 20000, "worker %d: no step in 60 s", w);
		nanosleep(&tick, NULL);
	}
}

/* Kill worker w and check what it recorded: every block as it wrote it.
 * Returns how many blocks it held. */
static size_t kill_and_check(struct crew *c, int w, int kill_no)
{
	kill(c->pid[w], SIGKILL);
	cr_assert_eq(test_wait(c->pid[w]), 128 + SIGKILL, "death %d: worker %d stopped by itself",
	             kill_no, w);
	size_t held = 0;
	for (unsigned e = 0; e < HELD; e++) {
		uint64_t off = atomic_load(&c->ledger[w]->off[e]);
		if (off == 0)
			continue;
		held++;
		cr_assert(test_block_intact(c->shm, off, c->ledger[w]->size[e]),
		          "death %d: a block of worker %d overwritten", kill_no, w);
	}
	return held;
}

static void make_crew(struct crew *c, pshm_backend_t backend)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, PSHM_MANAGED);
	cr_assert_eq(pshm_create(&c->shm, NULL, HEAP_BYTES, &attr), 0);
	cr_assert_eq(*(uint32_t *)((char *)pshm_addr(c->shm) + HEAP_VERSION), 2, "it has slots");
	pshm_off_t at;
	for (int w = 0; w < WORKERS; w++) {
		char name[16];
		snprintf(name, sizeof(name), "ledger-%d", w);
		cr_assert_eq(pshm_object(c->shm, name, sizeof(struct ledger), NULL, NULL, &at), 1);
		c->ledger[w] = pshm_ptr(c->shm, at);
	}
	cr_assert_eq(pshm_object(c->shm, "steps", sizeof(uint64_t), NULL, NULL, &at), 1);
	c->steps = pshm_ptr(c->shm, at);
	c->seed = (unsigned)getpid();
	c->test = getpid();
}

BACKEND_TEST(heapslots, eight_processes_killed_at_random_moments_leave_the_heap_whole)
{
	struct crew c;
	make_crew(&c, backend);
	for (int w = 0; w < WORKERS; w++)
		start(&c, w);
	int kills = test_under_valgrind() ? KILLS_UNDER_VALGRIND : KILLS;
	for (int k = 0; k < kills; k++) {
		int w = rand_r(&c.seed) % WORKERS;
		struct timespec nap = {0, (rand_r(&c.seed) % 300) * 1000L};
		nanosleep(&nap, NULL);
		kill_and_check(&c, w, k);
		int rc = pshm_heap_check(c.shm); /* while the seven others go on */
		cr_assert_eq(rc, 0, "after death %d: %s", k, pshm_strerror(rc));
		start(&c, w);
	}
	size_t held = 0;
	for (int w = 0; w < WORKERS; w++)
		held += kill_and_check(&c, w, kills + w);
	cr_assert_eq(pshm_heap_check(c.shm), 0);
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(c.shm, &info), 0);
	cr_log_info("%d deaths, %llu repairs, %zu blocks held, %zu in use", kills + WORKERS,
	            info.repairs, held, info.blocks);
	/* Each death loses at most the block its worker had not recorded. */
	cr_expect_leq(info.blocks, held + info.objects + (size_t)(kills + WORKERS));
	cr_expect_geq(info.blocks, held + info.objects);
	pshm_destroy(c.shm);
}

/* ------------------------------------------------------------------------ */
/* Deaths holding a slot, made to happen exactly there.                     */

static pshm_t *managed(pshm_backend_t b, size_t size)
{
	pshm_attr_t attr;
	test_attr(&attr, b, PSHM_MANAGED);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, size, &attr), 0);
	return shm;
}

struct forged_death {
	pshm_t *shm;
	pshm_off_t block;
	uint64_t doing; /* what the slot's inflight says: 1 taking, 2 putting */
};

/* Die holding slot 0, as its holder dies in the middle of taking block
 * off a list (the block in use already, its taker never told) or of
 * putting it on one (its head says cached, the list does not have it). */
static int die_holding_a_slot(void *arg)
{
	const struct forged_death *d = arg;
	char *heap = pshm_addr(d->shm);
	char *slot = heap + *(uint64_t *)(void *)(heap + HEAP_SLOTS) + SLOTS_FIRST;
	if (pshm_mutex_lock((pshm_mutex_t *)(void *)slot) != 0)
		return 1;
	if (d->doing == 2) /* OBJECT | QUICK added to USED: cached */
		atomic_fetch_or((_Atomic uint64_t *)(void *)(heap + d->block + HEAP_BLOCK_HEAD), 4 | 8);
	atomic_store((_Atomic uint64_t *)(void *)(slot + SLOT_INFLIGHT), d->block | d->doing);
	_exit(0);
}

BACKEND_TEST(heapslots, a_death_holding_a_slot_loses_no_block)
{
	for (uint64_t doing = 1; doing <= 2; doing++) {
		struct forged_death d = {.shm = managed(backend, HEAP_BYTES), .doing = doing};
		pshm_off_t kept;
		cr_assert_eq(pshm_alloc(d.shm, 100, &kept), 0);
		cr_assert_eq(pshm_alloc(d.shm, 200, &d.block), 0);
		cr_assert_eq(test_wait(test_fork(die_holding_a_slot, &d)), 0);
		pshm_heap_info_t info;
		cr_assert_eq(pshm_heap_stat(d.shm, &info), 0, "no slot is wedged");
		cr_expect_geq(info.repairs, 1, "the slot was rebuilt");
		cr_expect_eq(info.blocks, 1, "%s: the block in flight is free again, the other kept",
		             doing == 1 ? "taking" : "putting");
		cr_assert_eq(pshm_heap_check(d.shm), 0);
		cr_expect_eq(pshm_free(d.shm, d.block), -EINVAL, "it is not the caller's any more");
		cr_expect_eq(pshm_free(d.shm, kept), 0);
		cr_assert_eq(pshm_heap_check(d.shm), 0);
		pshm_destroy(d.shm);
	}
}

/* ------------------------------------------------------------------------ */
/* What slots hold is the heap's.                                           */

/* Fill the heap with small blocks, free them all, and leave: what the
 * slot it used caches stays there. */
static int fill_free_and_leave(void *arg)
{
	pshm_t *shm = arg;
	static pshm_off_t offs[HEAP_BYTES / 64];
	size_t n = 0;
	while (n < HEAP_BYTES / 64 && pshm_alloc(shm, 48, &offs[n]) == 0)
		n++;
	for (size_t i = 0; i < n; i++)
		if (pshm_free(shm, offs[i]) != 0)
			return 2;
	return n > 1000 ? 0 : 1;
}

BACKEND_TEST(heapslots, blocks_another_process_left_cached_are_given_back_when_room_is_needed)
{
	pshm_t *shm = managed(backend, HEAP_BYTES);
	pshm_heap_info_t fresh;
	cr_assert_eq(pshm_heap_stat(shm, &fresh), 0);
	cr_assert_eq(test_wait(test_fork(fill_free_and_leave, shm)), 0);
	pshm_off_t big;
	cr_expect_eq(pshm_alloc(shm, fresh.largest_free, &big), 0, "the whole heap, in one block");
	cr_expect_eq(pshm_free(shm, big), 0);
	cr_assert_eq(test_wait(test_fork(fill_free_and_leave, shm)), 0);
	pshm_heap_info_t after;
	cr_assert_eq(pshm_heap_stat(shm, &after), 0);
	cr_expect_eq(after.in_use, 0, "what a slot caches is free to pshm_heap_stat");
	cr_expect_eq(after.largest_free, fresh.largest_free, "merged back into one block");
	cr_assert_eq(pshm_heap_check(shm), 0);
	pshm_destroy(shm);
}

BACKEND_TEST(heapslots, a_block_freed_twice_is_refused_the_second_time)
{
	pshm_t *shm = managed(backend, HEAP_BYTES);
	pshm_off_t a, b;
	cr_assert_eq(pshm_alloc(shm, 100, &a), 0);
	cr_assert_eq(pshm_alloc(shm, 100, &b), 0);
	cr_assert_eq(pshm_free(shm, a), 0);
	cr_expect_eq(pshm_free(shm, a), -EINVAL, "cached now: not a block in use");
	pshm_off_t again;
	cr_assert_eq(pshm_alloc(shm, 100, &again), 0);
	cr_expect_eq(again, a, "the cached block comes back first");
	cr_expect_neq(again, b);
	cr_assert_eq(pshm_free(shm, again) | pshm_free(shm, b), 0);
	cr_assert_eq(pshm_heap_check(shm), 0);
	pshm_destroy(shm);
}

BACKEND_TEST(heapslots, a_heap_too_small_for_slots_keeps_the_format_older_libraries_read)
{
	pshm_t *small = managed(backend, SLOTS_MIN_HEAP / 2);
	pshm_t *large = managed(backend, SLOTS_MIN_HEAP * 2);
	cr_expect_eq(*(uint32_t *)((char *)pshm_addr(small) + HEAP_VERSION), 1);
	cr_expect_eq(*(uint64_t *)(void *)((char *)pshm_addr(small) + HEAP_SLOTS), 0);
	cr_expect_eq(*(uint32_t *)((char *)pshm_addr(large) + HEAP_VERSION), 2);
	pshm_off_t off;
	cr_expect_eq(pshm_alloc(small, 100, &off), 0);
	cr_expect_eq(pshm_free(small, off), 0);
	pshm_destroy(small);
	pshm_destroy(large);
}
