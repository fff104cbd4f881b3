/*
 * cond.c - process-shared condition variables: a sequence word slept on
 * with pshm__wait, so that a waiter that dies leaves nothing behind, over
 * the mutexes of mutex.c (through their public calls).
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

#define PSHM__COND_MAGIC 0x646e6370u /* "pcnd": pshm_cond_init ran */

/*
 * seq changes with every signal: a waiter reads it before unlocking the
 * mutex and sleeps only while it is unchanged, so no signal slips between
 * its check and its sleep.  A waiter first watches seq for a moment
 * (pshm__spin) and counts itself in waiters only when it goes to sleep, so
 * that a signal with nobody asleep skips the system call; a count left high
 * by a dead waiter only costs a wasted wake.
 */
struct pshm__cond {
	_Atomic uint32_t magic;
	_Atomic uint32_t seq;
	_Atomic uint32_t waiters;
	_Atomic uint32_t spin_rounds; /* what watches for a signal took (spin.c) */
};

PSHM__LAYOUT_FITS(struct pshm__cond, pshm_cond_t);

static struct pshm__cond *cond_of(pshm_cond_t *c)
{
	return pshm__initialized(c, PSHM__COND_MAGIC);
}

PSHM_EXTERN int pshm_cond_init(pshm_cond_t *c)
{
	struct pshm__cond *cv = (struct pshm__cond *)(void *)c;
	if (cv == NULL || pshm__misaligned(cv))
		return -EINVAL;
	atomic_store_explicit(&cv->seq, 0, memory_order_relaxed);
	atomic_store_explicit(&cv->waiters, 0, memory_order_relaxed);
	atomic_store_explicit(&cv->spin_rounds, 0, memory_order_relaxed);
	atomic_store_explicit(&cv->magic, PSHM__COND_MAGIC, memory_order_release);
	return 0;
}

/* A waiter cancelled in its sleep ends as pthread_cond_wait's does: no
 * longer counted, and holding the mutex again before the caller's own
 * cleanup handlers run. */
struct waiting {
	struct pshm__cond *cv;
	pshm_mutex_t *m;
};

static void cancelled_while_waiting(void *arg)
{
	const struct waiting *w = arg;
	atomic_fetch_sub(&w->cv->waiters, 1);
	pshm_mutex_lock(w->m); /* PSHM_EOWNERDEAD: held all the same */
}

/* For pshm__spin: whether a signal came since the waiter sampled seq. */
struct sample {
	_Atomic uint32_t *seq;
	uint32_t seen;
};

static int seq_moved(void *arg)
{
	const struct sample *s = arg;
	return atomic_load_explicit(s->seq, memory_order_acquire) != s->seen;
}

static int cond_wait_until(pshm_cond_t *c, pshm_mutex_t *m, const struct timespec *deadline)
{
	struct pshm__cond *cv = cond_of(c);
	if (cv == NULL || m == NULL)
		return -EINVAL;
	/* Sampled while m is held: a signal after this point, even one sent
	 * before we sleep, changes seq and so ends the sleep. */
	uint32_t seen = atomic_load(&cv->seq);
	int rc = pshm_mutex_unlock(m); /* -EINVAL, -EPERM: nothing waited */
	if (rc < 0)
		return rc;
	struct sample sample = {&cv->seq, seen};
	if (!pshm__spin(seq_moved, &sample, &cv->spin_rounds)) {
		/* Counted before the sleep reads seq, and a signal bumps seq
		 * before it reads the count (both sequentially consistent): a
		 * signaller that sees no sleeper changed seq before we read it. */
		atomic_fetch_add(&cv->waiters, 1);
		struct waiting w = {cv, m};
		pthread_cleanup_push(cancelled_while_waiting, &w);
		rc = pshm__wait(&cv->seq, seen, deadline); /* a cancellation point */
		pthread_cleanup_pop(0);
		atomic_fetch_sub(&cv->waiters, 1);
	}
	int locked = pshm_mutex_lock(m);
	return locked != 0 ? locked : rc;
}

PSHM_EXTERN int pshm_cond_wait(pshm_cond_t *c, pshm_mutex_t *m)
{
	return cond_wait_until(c, m, NULL);
}

PSHM_EXTERN int pshm_cond_timedwait(pshm_cond_t *c, pshm_mutex_t *m, long timeout_ms)
{
	if (timeout_ms < 0)
		return -EINVAL;
	struct timespec deadline = pshm__deadline_after(CLOCK_MONOTONIC, timeout_ms);
	return cond_wait_until(c, m, &deadline);
}

PSHM_EXTERN int pshm_cond_wait_until(pshm_cond_t *c, pshm_mutex_t *m,
                                     const struct timespec *deadline)
{
	if (!pshm__deadline_is_valid(deadline))
		return -EINVAL;
	return cond_wait_until(c, m, deadline);
}

static int cond_wake(pshm_cond_t *c, int all)
{
	struct pshm__cond *cv = cond_of(c);
	if (cv == NULL)
		return -EINVAL;
	atomic_fetch_add(&cv->seq, 1);
	if (atomic_load(&cv->waiters) != 0)
		pshm__wake(&cv->seq, all);
	return 0;
}

PSHM_EXTERN int pshm_cond_signal(pshm_cond_t *c)
{
	return cond_wake(c, 0);
}

PSHM_EXTERN int pshm_cond_broadcast(pshm_cond_t *c)
{
	return cond_wake(c, 1);
}

PSHM_EXTERN int pshm_cond_destroy(pshm_cond_t *c)
{
	struct pshm__cond *cv = cond_of(c);
	if (cv == NULL)
		return -EINVAL;
	atomic_store_explicit(&cv->magic, 0, memory_order_relaxed);
	return 0;
}
