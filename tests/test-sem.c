/*
 * test-sem.c - counting semaphores in a segment, on every backend and
 * across processes: never more holders than the count, items handed over
 * in order through two semaphores, a sleeper woken by another process's
 * post, a waiter killed in its sleep; and the calls' bad cases.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define SLOTS 3
#define ROUNDS 2000
#define ITEMS 10000
#define RING 16

struct shared {
	pshm_sem_t slots; /* the bounded resource: SLOTS at a time */
	pshm_sem_t empty, full;
	_Atomic int inside, most_inside;
	uint64_t ring[RING];
	uint64_t head, tail;
};

static pshm_t *new_shared(pshm_backend_t b, struct shared **out)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, sizeof(struct shared), &attr), 0);
	struct shared *s = pshm_addr(shm);
	cr_assert_eq(pshm_sem_init(&s->slots, SLOTS), 0);
	cr_assert_eq(pshm_sem_init(&s->empty, RING), 0);
	cr_assert_eq(pshm_sem_init(&s->full, 0), 0);
	*out = s;
	return shm;
}

static unsigned value_of(pshm_sem_t *sem)
{
	unsigned v = 99;
	cr_assert_eq(pshm_sem_value(sem, &v), 0);
	return v;
}

static int take_a_slot_again_and_again(void *arg)
{
	struct shared *s = arg;
	for (int i = 0; i < ROUNDS; i++) {
		if (pshm_sem_wait(&s->slots) != 0)
			return 1;
		int now = atomic_fetch_add(&s->inside, 1) + 1;
		int most = atomic_load(&s->most_inside);
		while (now > most && !atomic_compare_exchange_weak(&s->most_inside, &most, now))
			;
		atomic_fetch_sub(&s->inside, 1);
		if (pshm_sem_post(&s->slots) != 0)
			return 2;
	}
	return 0;
}

BACKEND_TEST(sem, eight_processes_never_hold_more_than_the_count)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pid_t kids[8];
	for (int i = 0; i < 8; i++)
		kids[i] = test_fork(take_a_slot_again_and_again, s);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(test_wait(kids[i]), 0);
	cr_expect_leq(atomic_load(&s->most_inside), SLOTS);
	cr_expect_gt(atomic_load(&s->most_inside), 0);
	cr_expect_eq(value_of(&s->slots), SLOTS, "every slot given back");
	pshm_destroy(shm);
}

static int produce(void *arg)
{
	struct shared *s = arg;
	for (uint64_t i = 1; i <= ITEMS; i++) {
		if (pshm_sem_wait(&s->empty) != 0)
			return 1;
		s->ring[s->head++ % RING] = i;
		if (pshm_sem_post(&s->full) != 0)
			return 2;
	}
	return 0;
}

static int consume(void *arg)
{
	struct shared *s = arg;
	for (uint64_t i = 1; i <= ITEMS; i++) {
		if (pshm_sem_timedwait(&s->full, 60000) != 0)
			return 1;
		if (s->ring[s->tail++ % RING] != i)
			return 3;
		if (pshm_sem_post(&s->empty) != 0)
			return 2;
	}
	return 0;
}

BACKEND_TEST(sem, a_producer_hands_items_in_order_through_two_semaphores)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pid_t consumer = test_fork(consume, s);
	pid_t producer = test_fork(produce, s);
	cr_assert_eq(test_wait(producer), 0);
	cr_assert_eq(test_wait(consumer), 0, "the consumer missed an item or saw one out of order");
	cr_expect_eq(value_of(&s->empty), RING);
	cr_expect_eq(value_of(&s->full), 0);
	pshm_destroy(shm);
}

static int wait_once(void *arg)
{
	return pshm_sem_timedwait(arg, 60000) == 0 ? 0 : 1;
}

BACKEND_TEST(sem, a_sleeper_is_woken_by_another_process_and_a_killed_one_harms_nothing)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	pid_t killed = test_fork(wait_once, &s->full);
	struct timespec nap = {0, 50000000L};
	nanosleep(&nap, NULL); /* asleep by now, most likely: either way it must not matter */
	kill(killed, SIGKILL);
	cr_assert_eq(test_wait(killed), 128 + SIGKILL);
	pid_t sleeper = test_fork(wait_once, &s->full);
	nanosleep(&nap, NULL);
	cr_assert_eq(pshm_sem_post(&s->full), 0);
	cr_assert_eq(test_wait(sleeper), 0, "the post did not wake the sleeper");
	cr_expect_eq(value_of(&s->full), 0, "it took the one posted");
	cr_assert_eq(pshm_sem_post(&s->full), 0);
	cr_expect_eq(pshm_sem_trywait(&s->full), 0);
	pshm_destroy(shm);
}

/* In a pshm_sem_t: the count, and how many sleep (sem.c). */
#define SEM_VALUE 4
#define SEM_SLEEPERS 8

static int wait_and_report(void *arg)
{
	return pshm_sem_wait(arg) == 0 ? 0 : 1;
}

/* A post wakes one sleeper; if that one is killed before it takes the
 * count, the wake-up is lost with it: forged here, a count of one that
 * wakes nobody.  The sleeper left must not sleep for ever beside it. */
BACKEND_TEST(sem, a_sleeper_whose_wake_up_was_lost_takes_the_count_soon)
{
	struct shared *s;
	pshm_t *shm = new_shared(backend, &s);
	_Atomic uint32_t *value = (_Atomic uint32_t *)(void *)((char *)&s->full + SEM_VALUE);
	_Atomic uint32_t *sleepers = (_Atomic uint32_t *)(void *)((char *)&s->full + SEM_SLEEPERS);
	pid_t sleeper = test_fork(wait_and_report, &s->full);
	for (int tick = 0; atomic_load(sleepers) == 0; tick++) {
		cr_assert_lt(tick, 5000, "the waiter never went to sleep");
		nanosleep(&(struct timespec){0, 1000000L}, NULL);
	}
	nanosleep(&(struct timespec){0, 20000000L}, NULL); /* in the kernel's sleep by now */
	atomic_store(value, 1u);
	int status = test_wait_at_most(sleeper, 5000);
	if (status < 0)
		kill(sleeper, SIGKILL), test_wait(sleeper);
	cr_expect_eq(status, 0, "the sleeper slept on beside a count of one (%d)", status);
	cr_expect_eq(value_of(&s->full), 0, "it took the one");
	pshm_destroy(shm);
}

Test(sem, trywait_timeouts_deadlines_and_the_count_s_limits)
{
	pshm_sem_t sem;
	cr_assert_eq(pshm_sem_init(&sem, 1), 0);
	cr_expect_eq(pshm_sem_trywait(&sem), 0);
	cr_expect_eq(pshm_sem_trywait(&sem), -EAGAIN);
	struct timespec start, end, past = {0, 0};
	clock_gettime(CLOCK_MONOTONIC, &start);
	cr_expect_eq(pshm_sem_timedwait(&sem, 200), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &end);
	long long ms = (end.tv_sec - start.tv_sec) * 1000LL + (end.tv_nsec - start.tv_nsec) / 1000000;
	cr_expect_geq(ms, 150, "timed out after %lld ms of 200", ms);
	cr_expect_eq(pshm_sem_wait_until(&sem, &past), -ETIMEDOUT);
	cr_assert_eq(pshm_sem_post(&sem), 0);
	struct timespec soon = end;
	soon.tv_sec += 60;
	cr_expect_eq(pshm_sem_wait_until(&sem, &soon), 0);
	cr_assert_eq(pshm_sem_init(&sem, PSHM_SEM_VALUE_MAX), 0);
	cr_expect_eq(pshm_sem_post(&sem), -EOVERFLOW);
	cr_expect_eq(value_of(&sem), PSHM_SEM_VALUE_MAX);
	cr_assert_eq(pshm_sem_destroy(&sem), 0);
	cr_expect_eq(pshm_sem_post(&sem), -EINVAL, "destroyed");
}

Test(sem, bad_arguments_are_einval)
{
	pshm_sem_t sem;
	memset(&sem, 0x3c, sizeof(sem));
	unsigned v;
	struct timespec bad = {0, 1000000000L};
	cr_expect_eq(pshm_sem_init(NULL, 0), -EINVAL);
	cr_expect_eq(pshm_sem_init(&sem, PSHM_SEM_VALUE_MAX + 1u), -EINVAL);
	cr_expect_eq(pshm_sem_wait(&sem), -EINVAL, "never made");
	cr_expect_eq(pshm_sem_trywait(&sem), -EINVAL);
	cr_expect_eq(pshm_sem_post(&sem), -EINVAL);
	cr_expect_eq(pshm_sem_value(&sem, &v), -EINVAL);
	cr_expect_eq(pshm_sem_destroy(&sem), -EINVAL);
	cr_assert_eq(pshm_sem_init(&sem, 0), 0);
	cr_expect_eq(pshm_sem_timedwait(&sem, -1), -EINVAL);
	cr_expect_eq(pshm_sem_wait_until(&sem, &bad), -EINVAL);
	cr_expect_eq(pshm_sem_wait_until(&sem, NULL), -EINVAL);
	cr_expect_eq(pshm_sem_value(&sem, NULL), -EINVAL);
	cr_expect_eq(pshm_sem_wait(NULL), -EINVAL);
}

/* A wait on a misaligned semaphore: the kernel refuses a futex there, and a
 * wait that took the refusal for a wake-up spun for ever (SIGALRM ends it). */
static int wait_on_misaligned(void *arg)
{
	alarm(10);
	return pshm_sem_timedwait(arg, 100) == -EINVAL ? 0 : 1;
}

Test(sem, a_misaligned_semaphore_is_refused_and_a_wait_on_it_ends)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 4096, NULL), 0);
	char *base = pshm_addr(shm);
	pshm_sem_t made;
	cr_assert_eq(pshm_sem_init(&made, 0), 0);
	for (size_t off = 1; off < alignof(pshm_sem_t); off++) {
		pshm_sem_t *s = (pshm_sem_t *)(void *)(base + 64 + off);
		cr_expect_eq(pshm_sem_init(s, 0), -EINVAL, "made at +%zu", off);
		memcpy(base + 64 + off, &made, sizeof(made)); /* a made one, moved there */
		cr_expect_eq(test_wait(test_fork(wait_on_misaligned, s)), 0,
		             "at +%zu, a wait did not end with -EINVAL", off);
		unsigned v;
		cr_expect_eq(pshm_sem_post(s), -EINVAL);
		cr_expect_eq(pshm_sem_trywait(s), -EINVAL);
		cr_expect_eq(pshm_sem_value(s, &v), -EINVAL);
		cr_expect_eq(pshm_sem_destroy(s), -EINVAL);
	}
	cr_assert_eq(pshm_destroy(shm), 0);
}
