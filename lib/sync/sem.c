/*
 * sem.c - process-shared counting semaphores: the count itself is the word
 * slept on with pshm__wait (a futex where there is one), so a post wakes a
 * sleeper only when the count was taken to zero, and a waiter that dies
 * leaves nothing to repair: a semaphore has no owner.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sync/sync.h"

#define PSHM__SEM_MAGIC 0x6d657370u /* "psem": pshm_sem_init ran */

/*
 * A waiter takes one from value by compare-and-swap; while it is zero it
 * watches for a moment (pshm__spin), then counts itself in sleepers and
 * sleeps while value is still zero.  A post adds one, then reads sleepers
 * (both sequentially consistent, as the waiter counts itself before its
 * sleep reads value): it wakes one only if somebody may sleep.  A count
 * left high by a waiter that died costs a wasted wake, nothing more.
 */
struct pshm__sem {
	_Atomic uint32_t magic;
	_Atomic uint32_t value;
	_Atomic uint32_t sleepers;
	_Atomic uint32_t spin_rounds; /* what watches for a post took (spin.c) */
};

PSHM__LAYOUT_FITS(struct pshm__sem, pshm_sem_t);

static struct pshm__sem *sem_of(pshm_sem_t *s)
{
	return pshm__initialized(s, PSHM__SEM_MAGIC);
}

PSHM_EXTERN int pshm_sem_init(pshm_sem_t *s, unsigned value)
{
	struct pshm__sem *sem = (struct pshm__sem *)(void *)s;
	if (sem == NULL || pshm__misaligned(sem) || value > PSHM_SEM_VALUE_MAX)
		return -EINVAL;
	atomic_store_explicit(&sem->value, value, memory_order_relaxed);
	atomic_store_explicit(&sem->sleepers, 0, memory_order_relaxed);
	atomic_store_explicit(&sem->spin_rounds, 0, memory_order_relaxed);
	atomic_store_explicit(&sem->magic, PSHM__SEM_MAGIC, memory_order_release);
	return 0;
}

/* Take one if there is one: whether it did. */
static int took_one(void *arg)
{
	struct pshm__sem *sem = arg;
	uint32_t v = atomic_load_explicit(&sem->value, memory_order_relaxed);
	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(&sem->value, &v, v - 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return 1;
	return 0;
}

/* A waiter cancelled in its sleep is no longer counted. */
static void cancelled_while_sleeping(void *arg)
{
	atomic_fetch_sub(&((struct pshm__sem *)arg)->sleepers, 1);
}

/*
 * Sleep while the count is zero, until deadline (NULL: for ever) but never
 * more than a slice of 100 ms (0 at a slice's end): a sleeper that a post
 * woke and that was killed before it took the count took the wake-up with
 * it, and the others would sleep on while the count is not zero (as a
 * robust mutex's waiters, mutex-pthread.c).
 */
#define WAIT_SLICE_MS 100

static int nap(struct pshm__sem *sem, const struct timespec *deadline)
{
	struct timespec slice = pshm__deadline_after(CLOCK_MONOTONIC, WAIT_SLICE_MS);
	int last = deadline != NULL && pshm__timespec_before(deadline, &slice);
	int rc = pshm__wait(&sem->value, 0, last ? deadline : &slice);
	return rc == -ETIMEDOUT && !last ? 0 : rc;
}

/* Wait for one, until deadline (NULL: for ever). */
static int wait_until(pshm_sem_t *s, const struct timespec *deadline)
{
	struct pshm__sem *sem = sem_of(s);
	if (sem == NULL)
		return -EINVAL;
	if (took_one(sem) || pshm__spin(took_one, sem, &sem->spin_rounds))
		return 0;
	for (;;) {
		atomic_fetch_add(&sem->sleepers, 1);
		int rc;
		pthread_cleanup_push(cancelled_while_sleeping, sem);
		rc = nap(sem, deadline); /* a cancellation point */
		pthread_cleanup_pop(0);
		atomic_fetch_sub(&sem->sleepers, 1);
		if (took_one(sem))
			return 0;
		if (rc < 0) /* -ETIMEDOUT, or the system would not let it sleep */
			return rc;
	}
}

PSHM_EXTERN int pshm_sem_wait(pshm_sem_t *s)
{
	return wait_until(s, NULL);
}

PSHM_EXTERN int pshm_sem_trywait(pshm_sem_t *s)
{
	struct pshm__sem *sem = sem_of(s);
	if (sem == NULL)
		return -EINVAL;
	return took_one(sem) ? 0 : -EAGAIN;
}

PSHM_EXTERN int pshm_sem_timedwait(pshm_sem_t *s, long timeout_ms)
{
	if (timeout_ms < 0)
		return -EINVAL;
	struct timespec deadline = pshm__deadline_after(CLOCK_MONOTONIC, timeout_ms);
	return wait_until(s, &deadline);
}

PSHM_EXTERN int pshm_sem_wait_until(pshm_sem_t *s, const struct timespec *deadline)
{
	if (!pshm__deadline_is_valid(deadline))
		return -EINVAL;
	return wait_until(s, deadline);
}

PSHM_EXTERN int pshm_sem_post(pshm_sem_t *s)
{
	struct pshm__sem *sem = sem_of(s);
	if (sem == NULL)
		return -EINVAL;
	uint32_t v = atomic_load_explicit(&sem->value, memory_order_relaxed);
	do
		if (v >= PSHM_SEM_VALUE_MAX)
			return -EOVERFLOW;
	while (!atomic_compare_exchange_weak(&sem->value, &v, v + 1));
	if (atomic_load(&sem->sleepers) != 0)
		pshm__wake(&sem->value, 0);
	return 0;
}

PSHM_EXTERN int pshm_sem_value(pshm_sem_t *s, unsigned *value)
{
	struct pshm__sem *sem = sem_of(s);
	if (sem == NULL || value == NULL)
		return -EINVAL;
	*value = atomic_load(&sem->value);
	return 0;
}

PSHM_EXTERN int pshm_sem_destroy(pshm_sem_t *s)
{
	struct pshm__sem *sem = sem_of(s);
	if (sem == NULL)
		return -EINVAL;
	atomic_store_explicit(&sem->magic, 0, memory_order_relaxed);
	return 0;
}
