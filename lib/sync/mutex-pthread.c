/*
 * mutex-pthread.c - the lock of a mutex where the system has robust
 * process-shared mutexes and the kernel keeps their lists: a robust,
 * error-checking pthread mutex, whose dead holder the kernel reports.
 */
#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE /* glibc declares pthread_mutex_clocklock (POSIX 2024) only so */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "sync/sync.h"

_Static_assert(sizeof(pthread_mutex_t) <= PSHM__LOCK_BYTES, "pthread_mutex_t does not fit");

static int set_mutex_attributes(pthread_mutexattr_t *attr)
{
	int err = pthread_mutexattr_setpshared(attr, PTHREAD_PROCESS_SHARED);
	if (err == 0)
		err = pthread_mutexattr_settype(attr, PTHREAD_MUTEX_ERRORCHECK);
	if (err == 0)
		err = pthread_mutexattr_setrobust(attr, PTHREAD_MUTEX_ROBUST);
	return err;
}

static int pthread_init(void *lock)
{
	pthread_mutexattr_t attr;
	int err = pthread_mutexattr_init(&attr);
	if (err != 0)
		return err;
	err = set_mutex_attributes(&attr);
	if (err == 0)
		err = pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return err;
}

/* A timed lock whose deadline the wall clock cannot move. */
static int lock_until(pthread_mutex_t *lock, const struct timespec *deadline)
{
#if HAVE_PTHREAD_MUTEX_CLOCKLOCK
	return pthread_mutex_clocklock(lock, CLOCK_MONOTONIC, deadline);
#else
	/* pthread_mutex_timedlock measures on CLOCK_REALTIME, which setting
	 * the clock moves: tried instead, in naps of 1 ms (relative, so no
	 * clock moves them), until the monotonic deadline. */
	for (;;) {
		int err = pthread_mutex_trylock(lock);
		if (err != EBUSY)
			return err;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!pshm__timespec_before(&now, deadline))
			return ETIMEDOUT;
		struct timespec nap = {0, 1000000L};
		nanosleep(&nap, NULL);
	}
#endif
}

/*
 * Wait for the lock without a deadline, in slices: a waiter that the
 * unlocker wakes and that is killed before it takes the lock takes the
 * wake-up with it, and if no other waiter comes to set the futex's
 * waiters flag again, the unlocks that follow wake nobody: the others
 * would sleep for ever behind a lock that is free (seen with eight
 * processes in one heap, one of them never waiting).  Each slice's end
 * makes a sleeper try again and set the flag.  The slices are measured on
 * CLOCK_REALTIME, with pthread_mutex_timedlock, which ThreadSanitizer
 * knows (it does not know pthread_mutex_clocklock): a clock set while a
 * waiter sleeps only brings its next try nearer or puts it off.
 */
#define WAIT_SLICE_MS 100

static int lock_waiting(pthread_mutex_t *lock)
{
	for (;;) {
		struct timespec slice = pshm__deadline_after(CLOCK_REALTIME, WAIT_SLICE_MS);
		int err = pthread_mutex_timedlock(lock, &slice);
		if (err != ETIMEDOUT)
			return err;
	}
}

/* Whether the mutex looks free, read without writing to it: 1 free, 0
 * held, -1 where this libc's layout is not known (then nobody watches it). */
static int looks_free(pthread_mutex_t *lock)
{
#if HAVE_PTHREAD_MUTEX_T___DATA___LOCK
	/* glibc's robust mutex: the holder's thread id in the low 30 bits
	 * (FUTEX_TID_MASK), the waiters and owner-died flags above. */
	_Atomic int *word = (_Atomic int *)(void *)&lock->__data.__lock;
	return (atomic_load_explicit(word, memory_order_relaxed) & 0x3fffffff) == 0;
#else
	(void)lock;
	return -1;
#endif
}

/* For pshm__spin: a trylock once the holder seems to have unlocked (glibc's
 * robust mutexes never spin).  Any answer but EBUSY (EDEADLK,
 * EOWNERDEAD...) is what a lock would say. */
struct attempt {
	pthread_mutex_t *lock;
	int err;
};

static int try_when_free(void *arg)
{
	struct attempt *a = arg;
	if (looks_free(a->lock) == 0)
		return 0;
	a->err = pthread_mutex_trylock(a->lock);
	return a->err != EBUSY;
}

static int pthread_lock(void *lock, enum pshm__lock_how how, const struct timespec *deadline,
                        _Atomic uint32_t *estimate)
{
	if (how == PSHM__LOCK_TRY) {
		int err = pthread_mutex_trylock(lock);
		/* glibc says EDEADLK for a robust mutex the caller holds; POSIX
		 * says EBUSY for any held mutex. */
		return err == EDEADLK ? EBUSY : err;
	}
	struct attempt a = {lock, EBUSY};
	if (looks_free(lock) >= 0 && pshm__spin(try_when_free, &a, estimate))
		return a.err;
	return how == PSHM__LOCK_WAIT ? lock_waiting(lock) : lock_until(lock, deadline);
}

static int pthread_unlock(void *lock)
{
	return pthread_mutex_unlock(lock);
}

static int pthread_consistent(void *lock)
{
	return pthread_mutex_consistent(lock);
}

/* pthread_mutex_destroy of a locked mutex is undefined: find out first. */
static int pthread_destroy(void *lock)
{
	int err = pthread_mutex_trylock(lock);
	if (err == EBUSY || err == EDEADLK)
		return EBUSY;
	if (err == 0 || err == EOWNERDEAD)
		pthread_mutex_unlock(lock);
	return pthread_mutex_destroy(lock);
}

const struct pshm__lock_kind pshm__lock_pthread = {
	.init = pthread_init,
	.lock = pthread_lock,
	.unlock = pthread_unlock,
	.consistent = pthread_consistent,
	.destroy = pthread_destroy,
};
