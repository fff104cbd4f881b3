/*
 * test-heapgrow.c - managed segments that grow: pshm_resize of a
 * PSHM_MANAGED segment adds the new bytes to its heap, every block staying
 * where it was; a process that maps less is told so (-ESTALE) until it
 * remaps; shrinking and PSHM_NORESERVE are refused; a grower killed at any instant leaves the
 * heap as it was or grown, and one killed between taking the chain on and
 * moving the heap's end is finished by the next heap call; a resize that
 * waited for the lock while the segment grew past its size does not
 * shrink it.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define SMALL ((size_t)32 * 1024)
#define LARGE ((size_t)256 * 1024)
#define KILLS 200
#define KILLS_UNDER_VALGRIND 30
#define GROWTH 256
#define FAR_BYTES ((size_t)64 * 1024) /* more than the heap had */

/* A named managed segment of size bytes, or NULL where backend cannot
 * resize (asserted: -ENOTSUP). */
static pshm_t *managed(pshm_backend_t backend, char name[PSHM_NAME_MAX + 1], size_t size)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, PSHM_MANAGED);
	test_name(name, "heapgrow");
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, name, size, &attr), 0);
	if (backend != PSHM_BACKEND_SYSV)
		return shm;
	cr_expect_eq(pshm_resize(shm, LARGE, 0), -ENOTSUP, "a SysV segment's size is fixed");
	cr_assert_eq(pshm_destroy(shm), 0);
	return NULL;
}

static void fill(pshm_t *shm, pshm_off_t off, size_t len)
{
	memset(pshm_ptr(shm, off), (int)(off % 251), len);
}

static int intact(pshm_t *shm, pshm_off_t off, size_t len)
{
	const unsigned char *p = pshm_ptr(shm, off);
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(off % 251))
			return 0;
	return 1;
}

/* Allocate 1000-byte blocks, filled, until the heap is full: how many. */
static size_t fill_heap(pshm_t *shm, pshm_off_t *offs, size_t most)
{
	size_t n = 0;
	while (n < most && pshm_alloc(shm, 1000, &offs[n]) == 0)
		fill(shm, offs[n], 1000), n++;
	return n;
}

BACKEND_TEST(heapgrow, a_managed_segment_grows_and_keeps_its_blocks)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = managed(backend, name, SMALL);
	if (shm == NULL)
		return;
	pshm_off_t offs[512];
	size_t before = fill_heap(shm, offs, 512);
	cr_assert_lt(before, 64, "a full heap of 32 KiB");
	cr_assert_eq(pshm_resize(shm, LARGE, 0), 0);
	cr_expect_eq(pshm_heap_check(shm), 0);
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_expect_gt(info.size, LARGE - 8192, "the heap took the new bytes (%zu)", info.size);
	for (size_t i = 0; i < before; i++)
		cr_assert(intact(shm, offs[i], 1000), "block %zu moved or changed", i);
	size_t after = fill_heap(shm, offs + before, 512 - before);
	cr_expect_gt(after, 7 * before, "%zu more blocks in 8 times the bytes", after);
	cr_expect_eq(pshm_heap_check(shm), 0);
	cr_expect_eq(pshm_resize(shm, SMALL, 0), -ENOTSUP, "a heap does not shrink");
	cr_expect_eq(pshm_resize(shm, 2 * LARGE, PSHM_NORESERVE), -EINVAL,
	             "a heap's memory is had up front, as at its creation");
	cr_expect_eq(pshm_size(shm), LARGE);
	cr_assert_eq(pshm_destroy(shm), 0);
}

struct follower {
	pshm_backend_t backend;
	const char *name;
	int ready[2], go[2];
	pshm_off_t far; /* a block the parent allocated, reaching past the old end */
};

/* Attached before the growth: -ESTALE until it remaps, then the parent's
 * block where the parent put it.  Exit status: 0, or the step that failed. */
static int follow(void *arg)
{
	struct follower *f = arg;
	pshm_attr_t attr;
	pshm_t *shm;
	close(f->ready[0]);
	close(f->go[1]); /* so that a parent gone early ends the read */
	if (pshm_attr_init(&attr) != 0 || pshm_attr_set_backend(&attr, f->backend) != 0 ||
	    pshm_attach(&shm, f->name, &attr) != 0)
		return 1;
	uint64_t far;
	if (test_signal(f->ready[1]) != 0 || read(f->go[0], &far, sizeof(far)) != sizeof(far))
		return 2;
	pshm_off_t off;
	if (pshm_alloc(shm, 16, &off) != -ESTALE || pshm_heap_check(shm) != -ESTALE)
		return 3;
	if (pshm_ptr(shm, far + FAR_BYTES - 1) != NULL)
		return 4; /* past what it maps */
	if (pshm_remap(shm) != 1 || pshm_size(shm) != LARGE)
		return 5;
	if (!intact(shm, far, FAR_BYTES) || pshm_alloc(shm, 16, &off) != 0 || pshm_free(shm, off) != 0)
		return 6;
	return pshm_detach(shm) == 0 ? 0 : 7;
}

BACKEND_TEST(heapgrow, a_process_that_maps_less_is_told_to_remap)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = managed(backend, name, SMALL);
	if (shm == NULL)
		return;
	struct follower f = {.backend = backend, .name = name};
	cr_assert_eq(pipe(f.ready), 0);
	cr_assert_eq(pipe(f.go), 0);
	pid_t child = test_fork(follow, &f);
	cr_assert_eq(test_await(f.ready[0]), 0, "the follower could not attach");
	pshm_off_t offs[64];
	fill_heap(shm, offs, 64);
	cr_assert_eq(pshm_resize(shm, LARGE, 0), 0);
	uint64_t far;
	cr_assert_eq(pshm_alloc(shm, FAR_BYTES, &far), 0);
	cr_assert_gt(far + FAR_BYTES, SMALL, "the block reaches into the new bytes");
	fill(shm, far, FAR_BYTES);
	cr_assert_eq(write(f.go[1], &far, sizeof(far)), (ssize_t)sizeof(far));
	cr_expect_eq(test_wait(child), 0, "the follower failed");
	cr_expect_eq(pshm_heap_check(shm), 0);
	close(f.ready[0]), close(f.ready[1]), close(f.go[0]), close(f.go[1]);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* Growers that die                                                          */

struct grower {
	pshm_t *shm;
	pshm_off_t steps; /* an object of the heap: growths done (an offset, as
	                     the mapping moves when it grows) */
};

static _Atomic uint64_t *steps_of(const struct grower *g)
{
	return pshm_ptr(g->shm, g->steps);
}

/* Grow by GROWTH bytes at a time, from the size the header records, until
 * killed or the segment is 16 MiB. */
static int grow_again_and_again(void *arg)
{
	const struct grower *g = arg;
	for (;;) {
		if (pshm_remap(g->shm) < 0)
			return 1;
		size_t next = pshm_size(g->shm) + GROWTH;
		if (next > LARGE * 64)
			return 0; /* far enough: the test ends */
		int rc = pshm_resize(g->shm, next, 0);
		if (rc != 0)
			return 2;
		atomic_fetch_add_explicit(steps_of(g), 1, memory_order_relaxed);
	}
}

/* After a grower's death: the heap whole, and, once this process maps what
 * the header records, as large as the mapping (the next call finished or
 * redid the growth). */
static void check_after_growth(pshm_t *shm, int kill_no)
{
	cr_assert_geq(pshm_remap(shm), 0);
	int rc = pshm_heap_check(shm);
	cr_assert_eq(rc, 0, "after death %d: %s", kill_no, pshm_strerror(rc));
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_assert_gt(info.size + 4096 + 16, pshm_size(shm),
	             "death %d: the heap did not follow (%zu of %zu)", kill_no, info.size, pshm_size(shm));
}

/* Wait for the grower's first growth after before (it runs), failing if it
 * stops first or takes a minute. */
static void await_first_growth(const struct grower *g, pid_t pid, uint64_t before, int kill_no)
{
	const struct timespec tick = {0, 20000L};
	for (long ticks = 0; atomic_load(steps_of(g)) == before; ticks++) {
		int status;
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0,
		             "death %d: the grower stopped before it grew (status %d)", kill_no, status);
		cr_assert_lt(ticks, 60L * 50000, "death %d: no growth in a minute", kill_no);
		nanosleep(&tick, NULL);
	}
}

BACKEND_TEST(heapgrow, a_grower_killed_at_any_moment_leaves_the_heap_old_or_grown)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = managed(backend, name, SMALL);
	if (shm == NULL)
		return;
	struct grower g = {shm, PSHM_OFF_NULL};
	cr_assert_eq(pshm_object(shm, "steps", sizeof(uint64_t), NULL, NULL, &g.steps), 1);
	unsigned seed = (unsigned)getpid();
	int k = 0, kills = test_under_valgrind() ? KILLS_UNDER_VALGRIND : KILLS;
	for (; k < kills; k++) {
		uint64_t before = atomic_load(steps_of(&g));
		pid_t pid = test_fork(grow_again_and_again, &g);
		await_first_growth(&g, pid, before, k);
		nanosleep(&(struct timespec){0, (long)(rand_r(&seed) % 2000) * 1000}, NULL);
		kill(pid, SIGKILL);
		int status = test_wait(pid);
		cr_assert(status == 128 + SIGKILL || status == 0, "death %d: the grower failed (%d)", k,
		          status);
		check_after_growth(shm, k);
		if (status == 0)
			break; /* the segment reached its largest size */
	}
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_log_info("%d deaths, %llu inside the heap's growth, a heap of %zu bytes", k, info.repairs,
	            info.size);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* The state a grower leaves if it dies after taking the chain to the new
 * end and before moving the heap's end, made by hand from a heap whose
 * last block is free: that block in use, being freed, and the end before
 * it.  The next heap call must move the end and free the block. */
static int die_between_the_chain_and_the_end(void *arg)
{
	pshm_t *shm = arg;
	unsigned char *heap = pshm_addr(shm);
	if (pshm_mutex_lock((pshm_mutex_t *)(void *)(heap + HEAP_LOCK)) != 0)
		return 1;
	uint64_t first = *(uint64_t *)(void *)(heap + HEAP_FIRST_BLOCK + HEAP_BLOCK_HEAD) & ~UINT64_C(15);
	uint64_t last = HEAP_FIRST_BLOCK + first; /* the free block after the first */
	_Atomic uint64_t *head = (_Atomic uint64_t *)(void *)(heap + last + HEAP_BLOCK_HEAD);
	atomic_store(head, (atomic_load(head) & ~UINT64_C(15)) | 1);
	atomic_store((_Atomic uint64_t *)(void *)(heap + HEAP_INFLIGHT), last | 2);
	*(uint64_t *)(void *)(heap + HEAP_END) = last;
	_exit(0);
}

BACKEND_TEST(heapgrow, a_grower_dead_between_the_chain_and_the_end_is_finished)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, PSHM_MANAGED);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, SMALL, &attr), 0);
	pshm_off_t first;
	cr_assert_eq(pshm_alloc(shm, 100, &first), 0);
	cr_assert_eq(first, HEAP_FIRST_BLOCK, "the first block");
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	size_t largest = info.largest_free;
	cr_assert_eq(test_wait(test_fork(die_between_the_chain_and_the_end, shm)), 0);
	cr_assert_eq(pshm_heap_check(shm), 0, "the repair finished the growth");
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_expect_eq(info.repairs, 1);
	cr_expect_eq(info.largest_free, largest, "the block in flight is free again, whole");
	cr_expect_eq(info.blocks, 1);
	pshm_off_t big;
	cr_expect_eq(pshm_alloc(shm, largest - 8, &big), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* A resize that waited for the lock                                        */

static int sleep_until_killed(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 1; /* never */
}

struct stale {
	pshm_t *shm; /* mapped at SMALL: this process's view before it waits */
	int started[2];
};

/* Resize to LARGE from a mapping of SMALL, waiting for the resize lock
 * meanwhile: the segment grew past LARGE while it waited, so a heap's
 * answer is -ENOTSUP (it never shrinks).  Exit status: 0, or what failed. */
static int resize_after_waiting(void *arg)
{
	struct stale *s = arg;
	close(s->started[0]);
	if (test_signal(s->started[1]) != 0)
		return 1;
	int rc = pshm_resize(s->shm, LARGE, 0);
	return rc == -ENOTSUP ? 0 : rc == 0 ? 2 : 3;
}

/* Grow shm's segment to usable bytes by hand, as a resizer holding the lock
 * would: the file, then the size its header records. */
static void grow_by_hand(pshm_t *shm, size_t usable)
{
	int fd = pshm_export_fd(shm, 0);
	cr_assert_geq(fd, 0);
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (HDR_SIZE + usable + (size_t)page - 1) / (size_t)page * (size_t)page;
	cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
	uint64_t size = usable;
	memcpy((char *)pshm_addr(shm) - HDR_SIZE + HDR_USABLE_SIZE, &size, sizeof(size));
}

BACKEND_TEST(heapgrow, a_resize_that_waited_for_the_lock_never_shrinks_a_heap)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = managed(backend, name, SMALL);
	if (shm == NULL)
		return;
	pid_t holder = test_fork(sleep_until_killed, NULL);
	test_forge_resizer(shm, holder); /* a live resizer holds the lock */
	struct stale s = {.shm = shm};
	cr_assert_eq(pipe(s.started), 0);
	pid_t waiter = test_fork(resize_after_waiting, &s);
	cr_assert_eq(test_await(s.started[0]), 0);
	nanosleep(&(struct timespec){0, 100000000L}, NULL); /* it waits for the lock by now */
	grow_by_hand(shm, 4 * LARGE);
	kill(holder, SIGKILL);
	cr_assert_eq(test_wait(holder), 128 + SIGKILL);
	cr_expect_eq(test_wait(waiter), 0, "the waiter's resize shrank the heap or failed");
	cr_assert_eq(pshm_remap(shm), 1);
	cr_expect_eq(pshm_size(shm), 4 * LARGE, "the segment kept its size");
	cr_expect_eq(pshm_heap_check(shm), 0);
	close(s.started[0]), close(s.started[1]);
	cr_assert_eq(pshm_destroy(shm), 0);
}
