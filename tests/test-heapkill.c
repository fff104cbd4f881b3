/*
 * test-heapkill.c - a heap survives the death of the processes using it.
 * A child allocates, frees, resizes, creates and removes named objects
 * without pause, and is killed (SIGKILL) at a random moment, a thousand
 * times on each backend; after each death the parent walks and checks the
 * whole heap, and every block the child had recorded as its own must hold
 * what it wrote there, a block moved by pshm_realloc included.  A process
 * killed inside a heap call holds the heap's lock: the next call must
 * repair the heap, never wedge on it. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define KILLS 1000
#define KILLS_UNDER_VALGRIND 60
#define SLOTS 128
#define OBJECT_NAMES 8
#define MOVING 16 /* blocks resized at random */
#define MOVING_BYTE(i) ((unsigned char)((i) * 7 + 3)) /* what their byte i holds */

/* What the child keeps in the heap, as the named object "table": the
 * blocks it owns now.  A slot is cleared before its block is freed and set
 * after the block is filled, so a death loses at most the one in flight. */
struct table {
	_Atomic uint64_t off[SLOTS];
	uint64_t size[SLOTS];
};

/* A named object's bytes come from its init: a pattern of its size. */
static int init_object(void *obj, size_t size, void *arg)
{
	(void)arg;
	unsigned char *p = obj;
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)(size + i);
	return 0;
}

/* One step on slot s: free what it holds, or allocate into it. */
static int churn_slot(pshm_t *shm, struct table *t, unsigned s, unsigned r)
{
	pshm_off_t off = atomic_load(&t->off[s]);
	if (off != PSHM_OFF_NULL) {
		if (!test_block_intact(shm, off, t->size[s]))
			return 3;
		atomic_store(&t->off[s], PSHM_OFF_NULL);
		if (r % 3 != 0)
			return pshm_free(shm, off) == 0 ? 0 : 4;
		size_t size = 16 + r % 300; /* or resize it, and keep it */
		if (pshm_realloc(shm, &off, size) != 0)
			return 0; /* full: the block is still ours, lost to the table */
		test_block_fill(shm, off, size);
		t->size[s] = size;
		atomic_store(&t->off[s], off);
		return 0;
	}
	size_t size = 16 + r % 500;
	if (pshm_alloc(shm, size, &off) != 0)
		return 0; /* full */
	test_block_fill(shm, off, size);
	t->size[s] = size;
	atomic_store(&t->off[s], off);
	return 0;
}

static int churn_objects(pshm_t *shm, unsigned r)
{
	char name[16];
	snprintf(name, sizeof(name), "obj-%u", r % OBJECT_NAMES);
	if (r & 1) {
		int rc = pshm_object_remove(shm, name);
		return rc == 0 || rc == -ENOENT ? 0 : 5;
	}
	pshm_off_t off;
	int rc = pshm_object(shm, name, 16 + r % 200, init_object, NULL, &off);
	return rc >= 0 || rc == -EEXIST || rc == -ENOMEM ? 0 : 6;
}

struct victim {
	pshm_t *shm;
	struct table *table;
	unsigned seed;
	_Atomic uint64_t *steps; /* in the segment: how many steps its children made */
};

/* The child: churn until killed; a nonzero exit is a fault it found. */
static int churn(void *arg)
{
	const struct victim *v = arg;
	unsigned seed = v->seed;
	for (;;) {
		unsigned r = (unsigned)rand_r(&seed);
		int rc = r % 8 == 0 ? churn_objects(v->shm, r >> 3)
		                    : churn_slot(v->shm, v->table, (r >> 3) % SLOTS, r >> 10);
		if (rc != 0)
			return rc;
		atomic_fetch_add_explicit(v->steps, 1, memory_order_relaxed);
	}
}

/* Whether every named object but the table holds what its init wrote. */
static int object_intact(const char *name, pshm_off_t off, size_t size, void *arg)
{
	if (strcmp(name, "table") == 0 || strcmp(name, "steps") == 0)
		return 0;
	const unsigned char *p = pshm_ptr(arg, off);
	for (size_t i = 0; i < size; i++)
		if (p[i] != (unsigned char)(size + i))
			return 1;
	return 0;
}

/* After a death: the heap whole (the check takes the lock, so it repairs
 * first), the table's blocks and the objects as their writers left them.
 * Returns how many blocks the table holds. */
static size_t check_after_death(pshm_t *shm, const struct table *t, int kill)
{
	int rc = pshm_heap_check(shm);
	cr_assert_eq(rc, 0, "after death %d: %s", kill, pshm_strerror(rc));
	size_t held = 0;
	for (unsigned s = 0; s < SLOTS; s++) {
		pshm_off_t off = atomic_load(&t->off[s]);
		if (off == PSHM_OFF_NULL)
			continue;
		held++;
		cr_assert(test_block_intact(shm, off, t->size[s]), "after death %d: slot %u overwritten",
		          kill, s);
	}
	cr_assert_eq(pshm_object_list(shm, object_intact, shm), 0,
	             "after death %d: a named object is not what its init made", kill);
	return held;
}

/* Wait until the child has made its first step, however long its start
 * takes (a fork under qemu, a loaded machine): a kill timed from the fork
 * alone could come before the child ever ran, every time. */
static void await_first_step(const struct victim *v, pid_t pid, uint64_t before, int kill_no)
{
	const struct timespec tick = {0, 50000L};
	for (long ticks = 0; atomic_load(v->steps) == before; ticks++) {
		int status;
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0,
		             "death %d: the child stopped before its first step", kill_no);
		cr_assert_lt(ticks, 60L * 20000, "death %d: no first step in 60 s", kill_no);
		nanosleep(&tick, NULL);
	}
}

/* Kill a child (churning) at a random moment, 0 to 300 us after its first
 * step (under valgrind, which runs it some 100 times slower, 0 to 30 ms). */
static void kill_one(struct victim *v, unsigned *seed, int kill_no, int (*child)(void *))
{
	v->seed = (unsigned)rand_r(seed);
	uint64_t before = atomic_load(v->steps);
	pid_t pid = test_fork(child, v);
	await_first_step(v, pid, before, kill_no);
	long most_us = test_under_valgrind() ? 30000 : 300;
	struct timespec nap = {0, (rand_r(seed) % most_us) * 1000};
	nanosleep(&nap, NULL);
	kill(pid, SIGKILL);
	int status = test_wait(pid);
	cr_assert_eq(status, 128 + SIGKILL, "death %d: the child stopped by itself (%d)", kill_no,
	             status);
}

/* v's segment: a managed one of size bytes, made on backend b; its object
 * called name, of object_size bytes, where the child keeps what it owns. */
static void *make_victim(struct victim *v, pshm_backend_t b, size_t size, const char *name,
                         size_t object_size)
{
	pshm_attr_t attr;
	test_attr(&attr, b, PSHM_MANAGED);
	cr_assert_eq(pshm_create(&v->shm, NULL, size, &attr), 0);
	pshm_off_t at;
	cr_assert_eq(pshm_object(v->shm, name, object_size, NULL, NULL, &at), 1);
	v->table = pshm_ptr(v->shm, at);
	cr_assert_eq(pshm_object(v->shm, "steps", sizeof(*v->steps), NULL, NULL, &at), 1);
	v->steps = pshm_ptr(v->shm, at);
	return v->table;
}

BACKEND_TEST(heapkill, a_thousand_deaths_at_random_moments_leave_the_heap_whole)
{
	struct victim v;
	make_victim(&v, backend, (size_t)256 * 1024, "table", sizeof(struct table));
	int kills = test_under_valgrind() ? KILLS_UNDER_VALGRIND : KILLS;
	unsigned seed = (unsigned)getpid();
	size_t held = 0;
	for (int k = 0; k < kills; k++) {
		kill_one(&v, &seed, k, churn);
		held = check_after_death(v.shm, v.table, k);
	}
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(v.shm, &info), 0);
	cr_log_info("%d deaths, %llu repairs, %zu blocks held, %zu in use, %zu objects", kills,
	            info.repairs, held, info.blocks, info.objects);
	cr_expect_gt(info.repairs, 0, "no death came inside a heap call");
	/* Each death loses at most the block its caller had not recorded yet. */
	size_t recorded = held + info.objects;
	cr_expect_leq(info.blocks, recorded + (size_t)kills, "%zu blocks, %zu recorded",
	              info.blocks, recorded);
	pshm_destroy(v.shm);
}

/* ------------------------------------------------------------------------ */
/* Deaths at the moments that matter, made to happen exactly there.         */

struct forged_death {
	pshm_t *shm;
	pshm_off_t block;
	uint64_t doing; /* what inflight says: 1 allocating, 2 freeing */
};

/* Die holding the heap's lock, in the middle of allocating or freeing
 * block as far as the heap's inflight word can tell. */
static int die_holding_the_lock(void *arg)
{
	const struct forged_death *d = arg;
	char *heap = pshm_addr(d->shm);
	if (pshm_mutex_lock((pshm_mutex_t *)(void *)(heap + HEAP_LOCK)) != 0)
		return 1;
	atomic_store((_Atomic uint64_t *)(void *)(heap + HEAP_INFLIGHT), d->block | d->doing);
	_exit(0);
}

static pshm_t *managed_anon(pshm_backend_t b)
{
	pshm_attr_t attr;
	test_attr(&attr, b, PSHM_MANAGED);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, (size_t)64 * 1024, &attr), 0);
	return shm;
}

BACKEND_TEST(heapkill, a_death_inside_an_allocation_or_a_free_loses_no_block)
{
	for (uint64_t doing = 1; doing <= 2; doing++) {
		struct forged_death d = {.shm = managed_anon(backend), .doing = doing};
		pshm_off_t kept, before;
		cr_assert_eq(pshm_alloc(d.shm, 100, &kept), 0);
		cr_assert_eq(pshm_alloc(d.shm, 100, &before), 0);
		cr_assert_eq(pshm_alloc(d.shm, 100, &d.block), 0);
		cr_assert_eq(pshm_free(d.shm, before), 0); /* the block joins a free one */
		cr_assert_eq(test_wait(test_fork(die_holding_the_lock, &d)), 0);
		pshm_heap_info_t info;
		cr_assert_eq(pshm_heap_stat(d.shm, &info), 0, "the lock is not wedged");
		cr_expect_eq(info.repairs, 1);
		cr_expect_eq(info.blocks, 1, "%s: the block in flight is free again, the other kept",
		             doing == 1 ? "allocating" : "freeing");
		cr_assert_eq(pshm_heap_check(d.shm), 0);
		cr_expect_eq(pshm_free(d.shm, d.block), -EINVAL, "it is free, inside a free block");
		cr_assert_eq(pshm_heap_check(d.shm), 0);
		cr_expect_eq(pshm_free(d.shm, kept), 0);
		pshm_destroy(d.shm);
	}
}

static int die_in_init(void *obj, size_t size, void *arg)
{
	(void)obj, (void)size, (void)arg;
	_exit(0);
}

static int create_and_die(void *arg)
{
	pshm_off_t off;
	pshm_object(arg, "never", 1000, die_in_init, NULL, &off);
	return 1;
}

BACKEND_TEST(heapkill, a_death_while_an_object_is_made_leaves_no_object_and_no_block)
{
	pshm_t *shm = managed_anon(backend);
	pshm_off_t off;
	cr_assert_eq(pshm_object(shm, "before", 10, NULL, NULL, &off), 1);
	cr_assert_eq(test_wait(test_fork(create_and_die, shm)), 0);
	cr_expect_eq(pshm_object_find(shm, "never", NULL, NULL), -ENOENT);
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_expect_eq(info.repairs, 1);
	cr_expect_eq(info.blocks, 1, "only the object made before");
	cr_expect_eq(info.objects, 1);
	cr_assert_eq(pshm_heap_check(shm), 0);
	cr_expect_eq(pshm_object(shm, "never", 1000, NULL, NULL, &off), 1, "it can be made now");
	pshm_destroy(shm);
}

/* A moving realloc killed at any instant keeps the data in one block: the
 * child's blocks, whose offsets pshm_realloc updates in place (in the
 * segment), and how many bytes of each hold MOVING_BYTE's pattern. */
struct moving {
	pshm_off_t off[MOVING];
	_Atomic size_t valid[MOVING];
};

/* The child: resize blocks at random, which moves about one in seven;
 * only what both sizes hold is counted valid while one is resized. */
static int resize_at_random(void *arg)
{
	const struct victim *v = arg;
	struct moving *m = (struct moving *)(void *)v->table;
	for (unsigned seed = v->seed;; atomic_fetch_add_explicit(v->steps, 1, memory_order_relaxed)) {
		unsigned r = (unsigned)rand_r(&seed), b = r % MOVING;
		size_t size = 16 + (r >> 4) % 4000, valid = atomic_load(&m->valid[b]);
		atomic_store(&m->valid[b], valid < size ? valid : size);
		int rc = pshm_realloc(v->shm, &m->off[b], size);
		if (rc == -ENOMEM)
			continue; /* the block as it was: the bytes counted valid still are */
		if (rc != 0)
			return 7;
		unsigned char *p = pshm_ptr(v->shm, m->off[b]);
		for (size_t i = valid; i < size; i++)
			p[i] = MOVING_BYTE(i);
		atomic_store(&m->valid[b], size);
	}
}

BACKEND_TEST(heapkill, a_death_inside_a_moving_realloc_keeps_the_data)
{
	struct victim v;
	struct moving *m = make_victim(&v, backend, (size_t)1024 * 1024, "moving", sizeof(*m));
	for (unsigned b = 0; b < MOVING; b++)
		cr_assert_eq(pshm_alloc(v.shm, 16, &m->off[b]), 0);
	unsigned seed = (unsigned)getpid();
	int kills = test_under_valgrind() ? KILLS_UNDER_VALGRIND : KILLS;
	for (int k = 0; k < kills; k++) {
		kill_one(&v, &seed, k, resize_at_random);
		cr_assert_eq(pshm_heap_check(v.shm), 0, "after death %d", k);
		for (unsigned b = 0; b < MOVING; b++) {
			const unsigned char *p = pshm_ptr(v.shm, m->off[b]);
			size_t valid = atomic_load(&m->valid[b]), i = 0;
			while (i < valid && p[i] == MOVING_BYTE(i))
				i++;
			cr_assert_eq(i, valid, "death %d: block %u lost byte %zu of %zu", k, b, i, valid);
		}
	}
	pshm_destroy(v.shm);
}
