/*
 * test-deadline.c - timeouts that no clock moves: pshm_mutex_timedlock and
 * pshm_cond_timedwait measure on CLOCK_MONOTONIC, pshm_mutex_lock_until
 * and pshm_cond_wait_until take an absolute deadline on it, on every
 * backend; and, as root, the system's clock set back while a process
 * waits does not stretch its wait.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define STEP_BACK_S 5

struct shared {
	pshm_mutex_t mutex;
	pshm_cond_t cond;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec monotonic_in(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* A process that holds the mutex from when it signals ready until it is
 * told to let go. */
struct holder {
	pshm_mutex_t *m;
	int ready, release;
};

static int hold(void *arg)
{
	const struct holder *h = arg;
	if (pshm_mutex_lock(h->m) != 0 || test_signal(h->ready) < 0)
		return 1;
	test_await(h->release);
	return pshm_mutex_unlock(h->m) == 0 ? 0 : 2;
}

/* The mutex of s held by a child: its pid; h->release lets it go. */
static pid_t start_holder(struct shared *s, struct holder *h)
{
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	*h = (struct holder){&s->mutex, ready[1], release[0]};
	pid_t pid = test_fork(hold, h);
	cr_assert_eq(test_await(ready[0]), 0);
	close(ready[0]);
	close(ready[1]);
	h->release = release[1];
	close(release[0]);
	return pid;
}

static pshm_t *new_shared(pshm_backend_t b, struct shared **out)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, sizeof(struct shared), &attr), 0);
	*out = pshm_addr(shm);
	cr_assert_eq(pshm_mutex_init(&(*out)->mutex), 0);
	cr_assert_eq(pshm_cond_init(&(*out)->cond), 0);
	return shm;
}

BACKEND_TEST(deadline, a_lock_keeps_its_absolute_deadline_and_a_past_one_times_out_at_once)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	struct holder h;
	pid_t pid = start_holder(s, &h);
	struct timespec deadline = monotonic_in(300);
	long long start = now_ms();
	cr_assert_eq(pshm_mutex_lock_until(&s->mutex, &deadline), -ETIMEDOUT);
	long long took = now_ms() - start;
	cr_assert_geq(took, 250, "timed out after %lld ms of 300", took);
	cr_assert_lt(took, 10000, "timed out after %lld ms of 300", took);
	struct timespec past = {0, 0};
	start = now_ms();
	cr_assert_eq(pshm_mutex_lock_until(&s->mutex, &past), -ETIMEDOUT);
	cr_assert_lt(now_ms() - start, 5000, "a deadline long past: at once");
	struct timespec bad = {deadline.tv_sec, 1000000000L};
	cr_expect_eq(pshm_mutex_lock_until(&s->mutex, &bad), -EINVAL);
	cr_expect_eq(pshm_mutex_lock_until(&s->mutex, NULL), -EINVAL);

	cr_assert_eq(test_signal(h.release), 0);
	deadline = monotonic_in(60000);
	cr_assert_eq(pshm_mutex_lock_until(&s->mutex, &deadline), 0, "released: the lock is had");
	cr_assert_eq(test_wait(pid), 0);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0);
	close(h.release);
	pshm_destroy(shm);
}

BACKEND_TEST(deadline, a_wait_nobody_signals_ends_at_its_deadline_holding_the_mutex)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	cr_assert_eq(pshm_mutex_lock(&s->mutex), 0);
	struct timespec deadline = monotonic_in(200);
	long long start = now_ms();
	cr_assert_eq(pshm_cond_wait_until(&s->cond, &s->mutex, &deadline), -ETIMEDOUT);
	long long took = now_ms() - start;
	cr_assert_geq(took, 150, "timed out after %lld ms of 200", took);
	cr_assert_eq(pshm_mutex_trylock(&s->mutex), -EBUSY, "held again");
	struct timespec bad = {0, -1};
	cr_expect_eq(pshm_cond_wait_until(&s->cond, &s->mutex, &bad), -EINVAL);
	cr_expect_eq(pshm_cond_wait_until(&s->cond, &s->mutex, NULL), -EINVAL);
	cr_assert_eq(pshm_mutex_unlock(&s->mutex), 0, "an invalid deadline unlocked nothing");
	pshm_destroy(shm);
}

/* ------------------------------------------------------------------------ */
/* The system's clock set back while a process waits                       */

/* A child that times a 500 ms timed lock (way 0: pshm_mutex_timedlock, 1:
 * pshm_mutex_lock_until) of a held mutex and writes the ms it took. */
struct timed {
	struct shared *s;
	int way;
	int report;
};

static int time_a_wait(void *arg)
{
	const struct timed *t = arg;
	struct timespec deadline = monotonic_in(500);
	long long start = now_ms();
	int rc = t->way == 0 ? pshm_mutex_timedlock(&t->s->mutex, 500)
	                     : pshm_mutex_lock_until(&t->s->mutex, &deadline);
	long long took = now_ms() - start;
	if (write(t->report, &took, sizeof(took)) != (ssize_t)sizeof(took))
		return 2;
	return rc == -ETIMEDOUT ? 0 : 1;
}

/* Set the system's clock STEP_BACK_S seconds back 100 ms into waiter's
 * wait, and forward again once it is over: the waiter's exit status. */
static int step_clock_back_during(pid_t waiter)
{
	struct timespec nap = {0, 100000000L}, real, mono0, mono1;
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono0);
	struct timespec back = {real.tv_sec - STEP_BACK_S, real.tv_nsec};
	int stepped = clock_settime(CLOCK_REALTIME, &back);
	int status = test_wait(waiter);
	clock_gettime(CLOCK_MONOTONIC, &mono1);
	long long elapsed_ns = (long long)(mono1.tv_sec - mono0.tv_sec) * 1000000000LL +
	                       (mono1.tv_nsec - mono0.tv_nsec);
	long long real_ns = (long long)real.tv_sec * 1000000000LL + real.tv_nsec + elapsed_ns;
	struct timespec restored = {(time_t)(real_ns / 1000000000LL), (long)(real_ns % 1000000000LL)};
	if (stepped == 0)
		cr_assert_eq(clock_settime(CLOCK_REALTIME, &restored), 0, "the clock not put back");
	cr_assert_eq(stepped, 0, "clock_settime: %s", strerror(errno));
	return status;
}

Test(deadline, setting_the_clock_back_does_not_stretch_a_timed_lock, .timeout = 120)
{
	const char *allowed = getenv("PSHM_TEST_SET_CLOCK");
	if (allowed == NULL || strcmp(allowed, "1") != 0 || geteuid() != 0)
		cr_skip_test("sets the system clock back: run as root with PSHM_TEST_SET_CLOCK=1, "
		             "alone (CI does, after make check)");
	struct shared *s;
	pshm_t *shm = new_shared(PSHM_BACKEND_DEFAULT, &s);
	struct holder h;
	pid_t holder = start_holder(s, &h);
	for (int way = 0; way < 2; way++) {
		int report[2];
		cr_assert_eq(pipe(report), 0);
		struct timed t = {s, way, report[1]};
		int status = step_clock_back_during(test_fork(time_a_wait, &t));
		long long took = -1;
		cr_assert_eq(read(report[0], &took, sizeof(took)), (ssize_t)sizeof(took));
		cr_assert_eq(status, 0, "%s did not time out", way ? "lock_until" : "timedlock");
		cr_expect_lt(took, 3000, "%s: a 500 ms wait took %lld ms with the clock set %d s back",
		             way ? "pshm_mutex_lock_until" : "pshm_mutex_timedlock", took, STEP_BACK_S);
		close(report[0]);
		close(report[1]);
	}
	cr_assert_eq(test_signal(h.release), 0);
	cr_assert_eq(test_wait(holder), 0);
	close(h.release);
	pshm_destroy(shm);
}

#if defined(__linux__) && defined(__GLIBC__)
/* In a pshm_mutex_t of the robust pthread kind, glibc's lock word: the
 * holder's thread id, and the waiters flag (bit 31). */
#define GLIBC_LOCK_WORD 16
#define FUTEX_WAITERS_FLAG 0x80000000u

static int lock_and_leave(void *arg)
{
	int rc = pshm_mutex_lock(arg);
	return rc != 0 ? 2 : pshm_mutex_unlock(arg) == 0 ? 0 : 3;
}

/* The unlocker wakes one sleeper; if that one is killed before it takes
 * the lock, the wake-up is lost with it and the word says "free, nobody
 * waits": forged here.  The other sleeper must not sleep for ever. */
BACKEND_TEST(deadline, a_waiter_whose_wake_up_was_lost_takes_the_free_mutex_soon)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	struct holder h;
	pid_t holder = start_holder(s, &h);
	_Atomic unsigned *word = (_Atomic unsigned *)(void *)((char *)&s->mutex + GLIBC_LOCK_WORD);
	int glibc_kind = (atomic_load(word) & 0x3fffffffu) == (unsigned)holder;
	pid_t waiter = glibc_kind ? test_fork(lock_and_leave, &s->mutex) : -1;
	for (int tick = 0; glibc_kind && !(atomic_load(word) & FUTEX_WAITERS_FLAG); tick++) {
		cr_assert_lt(tick, 5000, "the waiter never went to sleep");
		nanosleep(&(struct timespec){0, 1000000L}, NULL);
	}
	if (glibc_kind)
		atomic_store(word, 0u);
	cr_assert_eq(kill(holder, SIGKILL), 0); /* its robust list: the word is not its own now */
	cr_assert_eq(test_wait(holder), 128 + SIGKILL);
	close(h.release);
	if (!glibc_kind) {
		pshm_destroy(shm);
		cr_skip_test("not glibc's robust pthread mutex here");
	}
	int status = test_wait_at_most(waiter, 5000);
	if (status < 0)
		kill(waiter, SIGKILL), test_wait(waiter);
	cr_expect_eq(status, 0, "the waiter slept on behind a free lock (%d)", status);
	pshm_destroy(shm);
}
#endif
