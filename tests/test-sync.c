/*
 * test-sync.c - mutexes, condition variables and the header lock, across
 * real processes on every backend: exact counts under contention, a holder
 * killed with SIGKILL, busy and timed-out locks, 100k records handed from a
 * producer to a consumer, and the header lock between unrelated processes.
 * The same calls between threads, for race detectors, are in race-sync.c.
 *
 * Built without robust mutexes (configure --disable-robust-mutex), the
 * owner-death tests check what the documentation promises instead: the
 * mutex stays locked and only timeouts get past it.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define PROCS 8
#define ADDS 100000
#define RECORDS 100000
#define RING 64

/* What the multi-process tests share, at the start of an anonymous segment. */
struct shared {
	pshm_mutex_t mutex;
	pshm_cond_t not_empty;
	pshm_cond_t not_full;
	uint64_t counter; /* plain: only the mutex keeps it exact */
	uint64_t head;    /* records produced */
	uint64_t tail;    /* records consumed */
	uint64_t received;
	uint64_t out_of_order;
	int flag;
	struct record {
		uint64_t seq;
		uint64_t check;
	} ring[RING];
};

static uint64_t check_of(uint64_t seq)
{
	return seq * UINT64_C(0x9E3779B97F4A7C15) + 1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An anonymous segment on backend b holding a struct shared, initialized. */
static pshm_t *new_shared(pshm_backend_t b, struct shared **out)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, sizeof(struct shared), &attr), 0);
	struct shared *s = pshm_addr(shm);
	cr_assert_eq(pshm_mutex_init(&s->mutex), 0);
	cr_assert_eq(pshm_cond_init(&s->not_empty), 0);
	cr_assert_eq(pshm_cond_init(&s->not_full), 0);
	*out = s;
	return shm;
}

static void free_shared(pshm_t *shm, struct shared *s)
{
	cr_assert_eq(pshm_cond_destroy(&s->not_full), 0);
	cr_assert_eq(pshm_cond_destroy(&s->not_empty), 0);
	cr_assert_eq(pshm_mutex_destroy(&s->mutex), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* Exact counts                                                             */

static int add_under_mutex(void *arg)
{
	struct shared *s = arg;
	for (int i = 0; i < ADDS; i++) {
		if (pshm_mutex_lock(&s->mutex) != 0)
			return 1;
		s->counter++;
		if (pshm_mutex_unlock(&s->mutex) != 0)
			return 2;
	}
	return 0;
}

BACKEND_TEST(sync, eight_processes_add_exactly_under_the_mutex)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pid_t pids[PROCS];
	for (int i = 0; i < PROCS; i++)
		pids[i] = test_fork(add_under_mutex, s);
	for (int i = 0; i < PROCS; i++)
		cr_expect_eq(test_wait(pids[i]), 0, "child %d", i);
	cr_assert_eq(s->counter, (uint64_t)PROCS * ADDS);
	free_shared(shm, s);
}

/* The header lock of a fresh anonymous segment, made by whichever child
 * locks it first: all eight at once. */
static int add_under_header_lock(void *arg)
{
	pshm_t *shm = arg;
	uint64_t *counter = pshm_addr(shm);
	for (int i = 0; i < ADDS; i++) {
		if (pshm_lock(shm) != 0)
			return 1;
		++*counter;
		if (pshm_unlock(shm) != 0)
			return 2;
	}
	return 0;
}

BACKEND_TEST(sync, eight_processes_add_exactly_under_a_header_lock_none_has_used)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 4096, &attr), 0);
	pid_t pids[PROCS];
	for (int i = 0; i < PROCS; i++)
		pids[i] = test_fork(add_under_header_lock, shm);
	for (int i = 0; i < PROCS; i++)
		cr_expect_eq(test_wait(pids[i]), 0, "child %d", i);
	cr_assert_eq(*(uint64_t *)pshm_addr(shm), (uint64_t)PROCS * ADDS);
	cr_assert_eq(pshm_destroy(shm), 0);
}

static int exit_at_once(void *arg)
{
	(void)arg;
	return 0;
}

/* Take and give back the header lock within `seconds`, or die of SIGALRM. */
struct timed_lock {
	pshm_t *shm;
	unsigned seconds;
};

static int lock_and_unlock_header(void *arg)
{
	const struct timed_lock *t = arg;
	alarm(t->seconds);
	return pshm_lock(t->shm) == 0 && pshm_unlock(t->shm) == 0 ? 0 : 1;
}

/* The calls on the header lock that must not sleep, while a live process
 * makes the lock: 0 if they say what they would of a lock held elsewhere. */
static int try_header_while_made(void *arg)
{
	const struct timed_lock *t = arg;
	alarm(t->seconds);
	int busy = pshm_trylock(t->shm) == -EBUSY;
	int not_held = pshm_unlock(t->shm) == -EPERM;
	int not_died = pshm_consistent(t->shm) == -EINVAL;
	return busy && not_held && not_died ? 0 : 1;
}

/* Say, in the guard of shm's header lock (as tests/rawobj.h pins it), that
 * process pid is making the lock; recorded 0: pid took the guard's word and
 * was killed before it wrote its record (which names nobody). */
static void forge_guard(pshm_t *shm, pid_t pid, int recorded)
{
	unsigned char *guard = (unsigned char *)pshm_addr(shm) - HDR_SIZE + HDR_LOCK_GUARD;
	uint32_t word = (uint32_t)pid;
	uint64_t holder = recorded ? (uint64_t)pid << 32 : 0, ns = test_pid_namespace();
	memcpy(guard + GUARD_HOLDER, &holder, sizeof(holder));
	memcpy(guard + GUARD_NAMESPACE, &ns, sizeof(ns));
	memcpy(guard + GUARD_WORD, &word, sizeof(word));
}

/* Whoever makes the header lock first holds its guard: the others wait
 * while it is alive, and one killed while making it leaves the lock to be
 * made by the next. */
BACKEND_TEST(sync, a_process_that_died_making_the_header_lock_leaves_it_to_the_next)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 4096, &attr), 0);
	forge_guard(shm, getpid(), 1);
	struct timed_lock t = {shm, 1};
	cr_assert_eq(test_wait(test_fork(lock_and_unlock_header, &t)), 128 + SIGALRM,
	             "the lock was taken while a live process was making it");
	cr_assert_eq(test_wait(test_fork(try_header_while_made, &t)), 0,
	             "pshm_trylock, pshm_unlock or pshm_consistent slept, or said another code");

	pid_t dead = test_fork(exit_at_once, NULL);
	cr_assert_eq(test_wait(dead), 0);
	forge_guard(shm, dead, 1);
	t.seconds = 10; /* a hang is a failure, not a stuck suite */
	cr_assert_eq(test_wait(test_fork(lock_and_unlock_header, &t)), 0,
	             "the next process could not make and take the lock");

	/* Killed between taking the guard and saying so: not wedged for good. */
	cr_assert_eq(pshm_destroy(shm), 0);
	cr_assert_eq(pshm_create(&shm, NULL, 4096, &attr), 0);
	t.shm = shm;
	forge_guard(shm, dead, 0);
	cr_assert_eq(test_wait(test_fork(lock_and_unlock_header, &t)), 0,
	             "a holder killed before it recorded itself wedged the lock");
	cr_assert_eq(pshm_lock(shm), 0);
	cr_assert_eq(pshm_unlock(shm), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* A holder killed with SIGKILL                                             */

struct holder {
	pshm_mutex_t *mutex; /* NULL: the header lock of shm */
	pshm_t *shm;
	int ready_fd;   /* told once the lock is held */
	int release_fd; /* read before unlocking; -1: hold until killed */
	uint64_t *data; /* set to a "half-updated" value while held */
};

static int lock_either(pshm_mutex_t *m, pshm_t *shm)
{
	return m != NULL ? pshm_mutex_lock(m) : pshm_lock(shm);
}

static int hold(void *arg)
{
	const struct holder *h = arg;
	if (lock_either(h->mutex, h->shm) != 0)
		return 1;
	if (h->data != NULL)
		*h->data = 0xdead;
	if (test_signal(h->ready_fd) < 0)
		return 2;
	if (h->release_fd < 0) {
		for (;;)
			pause();
	}
	if (test_await(h->release_fd) < 0)
		return 3;
	return h->mutex != NULL ? -pshm_mutex_unlock(h->mutex) : -pshm_unlock(h->shm);
}

/* Fork a holder of m (NULL: shm's header lock) that writes 0xdead to data
 * (unless NULL) and holds it until killed; return once it holds it.  ready
 * is a pipe, the caller's to close. */
static pid_t start_holder(pshm_mutex_t *m, pshm_t *shm, uint64_t *data, int ready[2])
{
	cr_assert_eq(pipe(ready), 0);
	struct holder h = {m, shm, ready[1], -1, data};
	pid_t pid = test_fork(hold, &h);
	cr_assert_eq(test_await(ready[0]), 0, "the holder never locked");
	return pid;
}

/* start_holder, then SIGKILL it. */
static void kill_holder(pshm_mutex_t *m, pshm_t *shm, uint64_t *data)
{
	int ready[2];
	pid_t pid = start_holder(m, shm, data, ready);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(test_wait(pid), 128 + SIGKILL);
	close(ready[0]);
	close(ready[1]);
}

/* Where the kernel keeps no robust lists (qemu-user, a build without robust
 * mutexes, macOS) the same tests prove the lock of mutex-owned.c. */
BACKEND_TEST(sync, a_dead_owner_is_reported_and_the_repaired_mutex_works)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	kill_holder(&s->mutex, NULL, &s->counter);

	cr_assert_eq(pshm_mutex_lock(&s->mutex), PSHM_EOWNERDEAD);
	cr_assert_eq(s->counter, 0xdead, "the dead owner's write is visible");
	s->counter = 7; /* the repair */
	cr_assert_eq(pshm_mutex_consistent(&s->mutex), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);

	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0, "repaired: an ordinary lock again");
	cr_assert_eq(s->counter, 7);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	cr_assert_eq(add_under_mutex(s), 0, "and it keeps working");
	free_shared(shm, s);
}

/* Lock the mutex (its owner died), say so, and mark it consistent only
 * when released: 0 if every step gave what it should. */
static int repair_when_released(void *arg)
{
	const struct holder *h = arg;
	if (pshm_mutex_lock(h->mutex) != PSHM_EOWNERDEAD)
		return 1;
	if (test_signal(h->ready_fd) < 0 || test_await(h->release_fd) < 0)
		return 2;
	if (pshm_mutex_consistent(h->mutex) != 0)
		return 3;
	return pshm_mutex_unlock(h->mutex) == 0 ? 0 : 4;
}

/* The repair protocol holds when somebody else tries to cut it short: only
 * the process that got PSHM_EOWNERDEAD, and holds the mutex, may mark it
 * consistent. */
BACKEND_TEST(sync, only_the_holder_marks_an_owner_died_mutex_consistent)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	kill_holder(&s->mutex, NULL, NULL);
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	struct holder h = {&s->mutex, NULL, ready[1], release[0], NULL};
	pid_t repairer = test_fork(repair_when_released, &h);
	cr_assert_eq(test_await(ready[0]), 0, "the repairer never got the mutex");
	int meddled = pshm_mutex_consistent(&s->mutex);
	cr_assert_eq(test_signal(release[1]), 0);
	int status = test_wait(repairer);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(release[i]);
	}
	cr_assert_eq(meddled, -EPERM, "a process that does not hold it: %s", pshm_strerror(meddled));
	cr_assert_eq(status, 0, "the holder's own repair failed at step %d", status);
	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0, "repaired by its holder: usable");
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	free_shared(shm, s);
}

static int lock_unrecoverable(void *arg)
{
	struct shared *s = arg;
	alarm(20); /* a hang is a failure, not a stuck suite */
	return pshm_mutex_lock(&s->mutex) == PSHM_ENOTRECOVERABLE ? 0 : 1;
}

BACKEND_TEST(sync, a_dead_owner_not_repaired_leaves_the_mutex_unusable)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	kill_holder(&s->mutex, NULL, NULL);

	cr_assert_eq(pshm_mutex_lock(&s->mutex), PSHM_EOWNERDEAD);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0, "unlocked without marking it consistent");
	cr_assert_eq(pshm_mutex_lock(&s->mutex), PSHM_ENOTRECOVERABLE);
	cr_assert_eq(pshm_mutex_trylock(&s->mutex), PSHM_ENOTRECOVERABLE);
	int rc = pshm_mutex_timedlock(&s->mutex, 10);
	cr_assert_eq(rc, PSHM_ENOTRECOVERABLE, "timedlock: %d %s", rc, pshm_strerror(rc));
	cr_assert_str_neq(pshm_strerror(PSHM_ENOTRECOVERABLE), "Unknown error");
	/* After all that (glibc's trylock alone would leave it looking held),
	 * another process is told too, rather than blocked for ever. */
	pid_t pid = test_fork(lock_unrecoverable, s);
	cr_assert_eq(test_wait(pid), 0, "another process did not get PSHM_ENOTRECOVERABLE");
	cr_assert_eq(pshm_cond_destroy(&s->not_full), 0);
	cr_assert_eq(pshm_cond_destroy(&s->not_empty), 0);
	cr_assert_eq(pshm_mutex_destroy(&s->mutex), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(sync, a_dead_owner_of_the_header_lock_is_reported)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 4096, &attr), 0);
	kill_holder(NULL, shm, NULL);

	cr_assert_eq(pshm_trylock(shm), PSHM_EOWNERDEAD);
	cr_assert_eq(pshm_consistent(shm), 0);
	cr_assert_eq(pshm_unlock(shm), 0);
	cr_assert_eq(pshm_lock(shm), 0);
	cr_assert_eq(pshm_unlock(shm), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* Lock the mutex, whose holder is alive when this starts: 0 if the lock
 * said its owner died (after the test killed the holder). */
static int lock_behind_the_holder(void *arg)
{
	const struct holder *h = arg;
	alarm(20); /* a hang is a failure, not a stuck suite */
	if (test_signal(h->ready_fd) < 0)
		return 2;
	return pshm_mutex_lock(h->mutex) == PSHM_EOWNERDEAD ? 0 : 1;
}

BACKEND_TEST(sync, a_waiter_asleep_behind_a_holder_that_dies_gets_the_mutex)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	int ready[2];
	pid_t holder = start_holder(&s->mutex, NULL, NULL, ready);
	struct holder w = {&s->mutex, NULL, ready[1], -1, NULL};
	pid_t waiter = test_fork(lock_behind_the_holder, &w);
	cr_assert_eq(test_await(ready[0]), 0, "the waiter never started");
	nanosleep(&(struct timespec){0, 50000000}, NULL); /* the waiter sleeps in the lock by now */
	cr_assert_eq(kill(holder, SIGKILL), 0);
	cr_assert_eq(test_wait(holder), 128 + SIGKILL);
	cr_assert_eq(test_wait(waiter), 0, "the waiter did not get PSHM_EOWNERDEAD");
	close(ready[0]);
	close(ready[1]);
	free_shared(shm, s);
}

static void *lock_and_end(void *arg)
{
	return (void *)(intptr_t)pshm_mutex_lock(arg);
}

BACKEND_TEST(sync, a_thread_that_ends_holding_the_mutex_is_a_dead_owner)
{
#if !PSHM_HAVE_PROC
	cr_skip_test("without /proc a holder is a process: a thread's end is not seen");
#endif
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pthread_t thread;
	void *locked;
	cr_assert_eq(pthread_create(&thread, NULL, lock_and_end, &s->mutex), 0);
	cr_assert_eq(pthread_join(thread, &locked), 0);
	cr_assert_eq((intptr_t)locked, 0);
	int rc = pshm_mutex_timedlock(&s->mutex, 10000);
	cr_assert_eq(rc, PSHM_EOWNERDEAD, "%s", pshm_strerror(rc));
	cr_assert_eq(pshm_mutex_consistent(&s->mutex), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	free_shared(shm, s);
}

BACKEND_TEST(sync, a_holder_killed_and_not_yet_reaped_is_a_dead_owner)
{
#if !PSHM_HAVE_PROC
	cr_skip_test("without /proc a zombie cannot be told from a live process");
#endif
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	int ready[2];
	pid_t holder = start_holder(&s->mutex, NULL, NULL, ready);
	cr_assert_eq(kill(holder, SIGKILL), 0);
	int rc = pshm_mutex_timedlock(&s->mutex, 10000); /* the holder is a zombie */
	cr_assert_eq(test_wait(holder), 128 + SIGKILL);
	cr_assert_eq(rc, PSHM_EOWNERDEAD, "%s", pshm_strerror(rc));
	cr_assert_eq(pshm_mutex_consistent(&s->mutex), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	close(ready[0]);
	close(ready[1]);
	free_shared(shm, s);
}

/* ------------------------------------------------------------------------ */
/* Busy and timed-out locks                                                 */

BACKEND_TEST(sync, a_held_mutex_is_busy_and_a_timed_lock_times_out)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	struct holder h = {&s->mutex, NULL, ready[1], release[0], NULL};
	pid_t pid = test_fork(hold, &h);
	cr_assert_eq(test_await(ready[0]), 0);

	cr_assert_eq(pshm_mutex_trylock(&s->mutex), -EBUSY);
	long long start = now_ms();
	cr_assert_eq(pshm_mutex_timedlock(&s->mutex, 300), -ETIMEDOUT);
	long long took = now_ms() - start;
	cr_assert_geq(took, 150, "timed out after %lld ms of 300", took);
	cr_assert_lt(took, 10000, "timed out after %lld ms of 300", took);

	cr_assert_eq(test_signal(release[1]), 0);
	cr_assert_eq(pshm_mutex_timedlock(&s->mutex, 60000), 0, "released: the lock is had");
	cr_assert_eq(test_wait(pid), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(release[i]);
	}
	free_shared(shm, s);
}

/* ------------------------------------------------------------------------ */
/* Producer and consumer                                                    */

static int produce(void *arg)
{
	struct shared *s = arg;
	for (uint64_t seq = 0; seq < RECORDS; seq++) {
		if (pshm_mutex_lock(&s->mutex) != 0)
			return 1;
		while (s->head - s->tail == RING)
			if (pshm_cond_wait(&s->not_full, &s->mutex) != 0)
				return 2;
		s->ring[s->head % RING] = (struct record){seq, check_of(seq)};
		s->head++;
		if (pshm_cond_signal(&s->not_empty) != 0 || pshm_mutex_unlock(&s->mutex) != 0)
			return 3;
	}
	return 0;
}

static int consume(void *arg)
{
	struct shared *s = arg;
	for (uint64_t want = 0; want < RECORDS; want++) {
		if (pshm_mutex_lock(&s->mutex) != 0)
			return 1;
		while (s->head == s->tail)
			if (pshm_cond_wait(&s->not_empty, &s->mutex) != 0)
				return 2;
		struct record r = s->ring[s->tail % RING];
		s->tail++;
		s->received++;
		if (r.seq != want || r.check != check_of(want))
			s->out_of_order++;
		if (pshm_cond_signal(&s->not_full) != 0 || pshm_mutex_unlock(&s->mutex) != 0)
			return 3;
	}
	return 0;
}

BACKEND_TEST(sync, a_producer_hands_100k_records_to_a_consumer_in_order)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pid_t consumer = test_fork(consume, s);
	pid_t producer = test_fork(produce, s);
	cr_assert_eq(test_wait(producer), 0);
	cr_assert_eq(test_wait(consumer), 0);
	cr_assert_eq(s->received, RECORDS, "records lost or duplicated");
	cr_assert_eq(s->out_of_order, 0, "records out of order or damaged");
	cr_assert_eq(s->head, RECORDS);
	cr_assert_eq(s->tail, RECORDS);
	free_shared(shm, s);
}

BACKEND_TEST(sync, a_waiter_nobody_signals_times_out_holding_the_mutex)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0);
	long long start = now_ms();
	cr_assert_eq(pshm_cond_timedwait(&s->not_empty, &s->mutex, 300), -ETIMEDOUT);
	long long took = now_ms() - start;
	cr_assert_geq(took, 150, "timed out after %lld ms of 300", took);
	cr_assert_lt(took, 10000, "timed out after %lld ms of 300", took);
	cr_assert_eq(pshm_mutex_trylock(&s->mutex), -EBUSY, "the mutex is held again");
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	free_shared(shm, s);
}

/* Wait for s->flag under the mutex; 0 once seen, 1 if 60 s pass. */
static int await_flag(void *arg)
{
	struct shared *s = arg;
	if (pshm_mutex_lock(&s->mutex) != 0)
		return 2;
	s->counter++; /* "I am about to wait" */
	int rc = 0;
	while (!s->flag && rc == 0)
		rc = pshm_cond_timedwait(&s->not_empty, &s->mutex, 60000);
	int seen = s->flag;
	pshm_mutex_unlock(&s->mutex);
	return seen ? 0 : 1;
}

/* Spin until n children announced (under the mutex) that they wait. */
static void await_waiters(struct shared *s, uint64_t n)
{
	for (;;) {
		cr_assert_eq(pshm_mutex_lock(&s->mutex), 0);
		uint64_t waiting = s->counter;
		cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
		if (waiting >= n)
			return;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
}

/* ------------------------------------------------------------------------ */
/* Cancellation: pshm_cond_wait is a cancellation point, as pthread's is    */

struct cancellable {
	struct shared *s;
	long timeout_ms; /* < 0: pshm_cond_wait */
	int unlocked;    /* what the cleanup handler's unlock returned */
};

static void unlock_on_cancel(void *arg)
{
	struct cancellable *c = arg;
	c->unlocked = pshm_mutex_unlock(&c->s->mutex);
}

static void *wait_for_ever(void *arg)
{
	struct cancellable *c = arg;
	pthread_cleanup_push(unlock_on_cancel, c);
	pshm_mutex_lock(&c->s->mutex);
	c->s->counter++; /* "I am about to wait" */
	for (;;) {
		if (c->timeout_ms < 0)
			pshm_cond_wait(&c->s->not_empty, &c->s->mutex);
		else
			pshm_cond_timedwait(&c->s->not_empty, &c->s->mutex, c->timeout_ms);
	}
	pthread_cleanup_pop(1);
	return NULL;
}

/* In a child (an alarm makes a hang a failure): cancel a thread asleep in
 * the wait; exit 0 if it ended, with the mutex held by it for its cleanup
 * handler, and the mutex was free after. */
static int cancel_a_waiter(void *arg)
{
	struct cancellable *c = arg;
	alarm(20);
	pthread_t thread;
	if (pthread_create(&thread, NULL, wait_for_ever, c) != 0)
		return 1;
	while (atomic_load((_Atomic uint64_t *)(void *)&c->s->counter) == 0)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	nanosleep(&(struct timespec){0, 50000000}, NULL); /* asleep by now */
	void *result = NULL;
	if (pthread_cancel(thread) != 0 || pthread_join(thread, &result) != 0)
		return 2;
	if (result != PTHREAD_CANCELED)
		return 3;
	if (c->unlocked != 0)
		return 4;
	if (pshm_mutex_trylock(&c->s->mutex) != 0 || pshm_mutex_unlock(&c->s->mutex) != 0)
		return 5;
	return 0;
}

BACKEND_TEST(sync, a_cancelled_waiter_ends_holding_the_mutex_for_its_cleanup)
{
	const long timeouts[] = {-1, 60000};
	for (int i = 0; i < 2; i++) {
		struct shared *s;
		pshm_t *shm = new_shared(backend, &s);
		struct cancellable c = {s, timeouts[i], -1};
		int status = test_wait(test_fork(cancel_a_waiter, &c));
		cr_expect_eq(status, 0, "%s: %s (%d)", i == 0 ? "pshm_cond_wait" : "pshm_cond_timedwait",
		             status == 128 + SIGALRM ? "cancelling never ended the wait" : "step failed",
		             status);
		free_shared(shm, s);
	}
}

BACKEND_TEST(sync, a_broadcast_wakes_every_waiter)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	enum { WAITERS = 4 };
	pid_t pids[WAITERS];
	for (int i = 0; i < WAITERS; i++)
		pids[i] = test_fork(await_flag, s);
	await_waiters(s, WAITERS);
	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0);
	s->flag = 1;
	cr_assert_eq(pshm_cond_broadcast(&s->not_empty), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	for (int i = 0; i < WAITERS; i++)
		cr_expect_eq(test_wait(pids[i]), 0, "waiter %d", i);
	free_shared(shm, s);
}

BACKEND_TEST(sync, a_waiter_killed_while_waiting_leaves_the_condition_usable)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pid_t victim = test_fork(await_flag, s);
	await_waiters(s, 1);
	/* Holding the mutex proves the victim is inside pshm_cond_wait. */
	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0);
	cr_assert_eq(kill(victim, SIGKILL), 0);
	cr_assert_eq(test_wait(victim), 128 + SIGKILL);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);

	pid_t waiter = test_fork(await_flag, s);
	await_waiters(s, 2);
	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0);
	s->flag = 1;
	cr_assert_eq(pshm_cond_signal(&s->not_empty), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	cr_assert_eq(test_wait(waiter), 0, "the next waiter was woken");
	free_shared(shm, s);
}

/* ------------------------------------------------------------------------ */
/* The header lock between unrelated processes                              */

BACKEND_TEST(sync, the_header_lock_counts_exactly_between_unrelated_processes)
{
	enum { HELPERS = 4, EACH = 20000 };
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "hdrlock");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, name, 4096, &attr), 0);

	const char *args[] = {pshm_backend_name(backend), name, "locked-add", "20000", NULL};
	pid_t pids[HELPERS];
	int fds[HELPERS];
	for (int i = 0; i < HELPERS; i++)
		pids[i] = test_spawn_helper(args, &fds[i]);
	uint64_t *counter = pshm_addr(shm);
	for (int i = 0; i < EACH; i++) {
		cr_assert_eq(pshm_lock(shm), 0);
		++*counter;
		cr_assert_eq(pshm_unlock(shm), 0);
	}
	for (int i = 0; i < HELPERS; i++) {
		char out[256];
		cr_expect_eq(test_finish_helper(pids[i], fds[i], out, sizeof(out)), 0, "helper: %s", out);
		cr_expect_str_eq(out, "done\n");
	}
	cr_assert_eq(pshm_lock(shm), 0);
	cr_assert_eq(*counter, (uint64_t)(HELPERS + 1) * EACH);
	cr_assert_eq(pshm_unlock(shm), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(sync, the_header_lock_is_refused_on_a_read_only_attach)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "hdrro");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *owner, *reader;
	cr_assert_eq(pshm_create(&owner, name, 4096, &attr), 0);
	test_attr(&attr, backend, PSHM_RDONLY);
	cr_assert_eq(pshm_attach(&reader, name, &attr), 0);
	cr_assert_eq(pshm_lock(reader), -EACCES);
	cr_assert_eq(pshm_trylock(reader), -EACCES);
	cr_assert_eq(pshm_unlock(reader), -EACCES);
	cr_assert_eq(pshm_consistent(reader), -EACCES);
	cr_assert_eq(pshm_trylock(owner), 0, "the writable handle still locks");
	cr_assert_eq(pshm_unlock(owner), 0);
	cr_assert_eq(pshm_detach(reader), 0);
	cr_assert_eq(pshm_destroy(owner), 0);
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                */

Test(sync, null_and_uninitialized_objects_are_refused)
{
	pshm_mutex_t zero_m;
	pshm_cond_t zero_c;
	memset(&zero_m, 0, sizeof(zero_m));
	memset(&zero_c, 0, sizeof(zero_c));
	pshm_mutex_t *ms[] = {NULL, &zero_m};
	pshm_cond_t *cs[] = {NULL, &zero_c};
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			cr_expect_eq(pshm_mutex_init(ms[i]), -EINVAL);
		cr_expect_eq(pshm_mutex_lock(ms[i]), -EINVAL);
		cr_expect_eq(pshm_mutex_trylock(ms[i]), -EINVAL);
		cr_expect_eq(pshm_mutex_timedlock(ms[i], 10), -EINVAL);
		cr_expect_eq(pshm_mutex_unlock(ms[i]), -EINVAL);
		cr_expect_eq(pshm_mutex_consistent(ms[i]), -EINVAL);
		cr_expect_eq(pshm_mutex_destroy(ms[i]), -EINVAL);
		if (i == 0)
			cr_expect_eq(pshm_cond_init(cs[i]), -EINVAL);
		cr_expect_eq(pshm_cond_signal(cs[i]), -EINVAL);
		cr_expect_eq(pshm_cond_broadcast(cs[i]), -EINVAL);
		cr_expect_eq(pshm_cond_destroy(cs[i]), -EINVAL);
	}
	pshm_mutex_t m;
	pshm_cond_t c;
	cr_assert_eq(pshm_mutex_init(&m), 0);
	cr_assert_eq(pshm_cond_init(&c), 0);
	cr_expect_eq(pshm_cond_wait(&zero_c, &m), -EINVAL);
	cr_expect_eq(pshm_cond_wait(&c, &zero_m), -EINVAL);
	cr_expect_eq(pshm_cond_wait(NULL, &m), -EINVAL);
	cr_expect_eq(pshm_cond_timedwait(&c, NULL, 10), -EINVAL);
	cr_expect_eq(pshm_lock(NULL), -EINVAL);
	cr_expect_eq(pshm_trylock(NULL), -EINVAL);
	cr_expect_eq(pshm_unlock(NULL), -EINVAL);
	cr_expect_eq(pshm_consistent(NULL), -EINVAL);
	cr_assert_eq(pshm_cond_destroy(&c), 0);
	cr_assert_eq(pshm_mutex_destroy(&m), 0);
}

/* A lock of a misaligned mutex ends, -EINVAL, whatever the kernel says of
 * a futex there (SIGALRM ends one that spins). */
static int lock_misaligned(void *arg)
{
	alarm(10);
	return pshm_mutex_timedlock(arg, 100) == -EINVAL ? 0 : 1;
}

/* Every call on a mutex m and a condition variable c that are not where
 * their types align; held, a mutex that c's wait must leave held. */
static void refused_at_every_call(pshm_mutex_t *m, pshm_cond_t *c, pshm_mutex_t *held)
{
	cr_expect_eq(test_wait(test_fork(lock_misaligned, m)), 0, "a lock did not end with -EINVAL");
	cr_expect_eq(pshm_mutex_lock(m), -EINVAL);
	cr_expect_eq(pshm_mutex_trylock(m), -EINVAL);
	cr_expect_eq(pshm_mutex_unlock(m), -EINVAL);
	cr_expect_eq(pshm_mutex_consistent(m), -EINVAL);
	cr_expect_eq(pshm_mutex_destroy(m), -EINVAL);
	cr_expect_eq(pshm_cond_timedwait(c, held, 10), -EINVAL);
	cr_expect_eq(pshm_mutex_lock(held), -EDEADLK, "the wait let go of the mutex");
	cr_expect_eq(pshm_cond_signal(c), -EINVAL);
	cr_expect_eq(pshm_cond_broadcast(c), -EINVAL);
	cr_expect_eq(pshm_cond_destroy(c), -EINVAL);
}

Test(sync, a_misaligned_mutex_or_cond_is_refused_at_every_call)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 4096, NULL), 0);
	char *base = pshm_addr(shm);
	pshm_mutex_t made_m, held;
	pshm_cond_t made_c;
	cr_assert_eq(pshm_mutex_init(&made_m), 0);
	cr_assert_eq(pshm_cond_init(&made_c), 0);
	cr_assert_eq(pshm_mutex_init(&held), 0);
	cr_assert_eq(pshm_mutex_lock(&held), 0);
	for (size_t off = 1; off < alignof(pshm_mutex_t); off++) {
		char *at_m = base + 128 + off, *at_c = base + 256 + off;
		pshm_mutex_t *m = (pshm_mutex_t *)(void *)at_m;
		pshm_cond_t *c = (pshm_cond_t *)(void *)at_c;
		cr_expect_eq(pshm_mutex_init(m), -EINVAL, "a mutex made at +%zu", off);
		cr_expect_eq(pshm_cond_init(c), -EINVAL, "a cond made at +%zu", off);
		memcpy(at_m, &made_m, sizeof(made_m)); /* made ones, moved there */
		memcpy(at_c, &made_c, sizeof(made_c));
		refused_at_every_call(m, c, &held);
	}
	cr_assert_eq(pshm_mutex_unlock(&held), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

Test(sync, misuse_of_a_mutex_gets_a_clear_code)
{
	pshm_mutex_t m;
	pshm_cond_t c;
	cr_assert_eq(pshm_mutex_init(&m), 0);
	cr_assert_eq(pshm_cond_init(&c), 0);
	cr_expect_eq(pshm_mutex_unlock(&m), -EPERM, "unlock of an unlocked mutex");
	cr_expect_eq(pshm_cond_wait(&c, &m), -EPERM, "wait without holding the mutex");
	cr_expect_eq(pshm_cond_timedwait(&c, &m, 10), -EPERM);
	cr_expect_eq(pshm_mutex_timedlock(&m, -1), -EINVAL);
	cr_assert_eq(pshm_mutex_lock(&m), 0);
	cr_expect_eq(pshm_mutex_lock(&m), -EDEADLK, "relock by the holder");
	cr_expect_eq(pshm_mutex_trylock(&m), -EBUSY);
	cr_expect_eq(pshm_cond_timedwait(&c, &m, -1), -EINVAL);
	cr_expect_eq(pshm_mutex_destroy(&m), -EBUSY, "destroy of a held mutex");
	cr_expect_eq(pshm_mutex_consistent(&m), -EINVAL, "consistent on a healthy mutex");
	cr_assert_eq(pshm_mutex_unlock(&m), 0);
	cr_assert_eq(pshm_mutex_destroy(&m), 0);
	cr_expect_eq(pshm_mutex_lock(&m), -EINVAL, "lock after destroy");
	cr_assert_eq(pshm_cond_destroy(&c), 0);
	cr_expect_eq(pshm_cond_signal(&c), -EINVAL, "signal after destroy");
	cr_expect_str_neq(pshm_strerror(PSHM_EOWNERDEAD), "Unknown error");
	cr_expect_str_neq(pshm_strerror(-ETIMEDOUT), "Unknown error");
}
