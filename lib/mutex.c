/*
 * mutex.c - process-shared mutexes: robust pthread mutexes where the
 * platform has them, with the repair protocol of a dead owner kept whole.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PSHM__MUTEX_MAGIC 0x78746d70u /* "pmtx": pshm_mutex_init ran */

/*
 * health mirrors the robust mutex's state for the calls that glibc gets
 * wrong: a trylock of a mutex that is not recoverable leaves it looking
 * locked, so that every later lock hangs instead of failing.  Once health
 * says UNRECOVERABLE no call reaches pthread again.
 */
enum { HEALTHY, OWNER_DIED, UNRECOVERABLE };

struct pshm__mutex {
	_Atomic uint32_t magic;
	_Atomic uint32_t health;
	pthread_mutex_t mutex;
};

_Static_assert(offsetof(struct pshm__mutex, magic) == 0, "pshm__initialized reads the magic first");
_Static_assert(sizeof(struct pshm__mutex) <= sizeof(pshm_mutex_t), "pshm_mutex_t too small");
_Static_assert(alignof(struct pshm__mutex) <= alignof(pshm_mutex_t), "pshm_mutex_t misaligned");

/* The mutex behind m, or NULL when m is NULL or was never initialized. */
static struct pshm__mutex *mutex_of(pshm_mutex_t *m)
{
	return pshm__initialized(m, PSHM__MUTEX_MAGIC);
}

/*
 * The owner-died mutexes this thread holds, from its own lock calls: only
 * their holder may mark them consistent (pthread_mutex_consistent does not
 * check it on glibc).  By address and process, as a forked child inherits
 * the table but not the locks.  A thread repairing more at once than this
 * holds cannot mark the others consistent (-EPERM).
 */
#define PSHM__REPAIRS_MAX 16
static _Thread_local struct repair {
	const struct pshm__mutex *held;
	pid_t pid;
} repairs[PSHM__REPAIRS_MAX];

/* The slot of mx in repairs (mx NULL: a free one), or -1. */
static int repair_slot(const struct pshm__mutex *mx)
{
	pid_t self = mx != NULL ? getpid() : 0;
	for (int i = 0; i < PSHM__REPAIRS_MAX; i++)
		if (repairs[i].held == mx && (mx == NULL || repairs[i].pid == self))
			return i;
	return -1;
}

static void note_repair(const struct pshm__mutex *mx)
{
	int i = repair_slot(mx) >= 0 ? -1 : repair_slot(NULL);
	if (i >= 0) {
		repairs[i].held = mx;
		repairs[i].pid = getpid();
	}
}

static void forget_repair(const struct pshm__mutex *mx)
{
	int i = repair_slot(mx);
	if (i >= 0)
		repairs[i].held = NULL;
}

/* The result of a pthread lock call on mx, as a libpshm code.  (Without
 * robust mutexes the owner-died codes never come.) */
static int lock_result(struct pshm__mutex *mx, int err)
{
	if (err == EOWNERDEAD) { /* we hold it: nobody else writes health now */
		atomic_store(&mx->health, OWNER_DIED);
		note_repair(mx);
		return PSHM_EOWNERDEAD;
	}
	if (err == ENOTRECOVERABLE) {
		atomic_store(&mx->health, UNRECOVERABLE);
		return PSHM_ENOTRECOVERABLE;
	}
	return -err;
}

/* Why mx (from mutex_of) cannot be locked, or 0 if it can. */
static int lock_refusal(struct pshm__mutex *mx)
{
	if (mx == NULL)
		return -EINVAL;
	if (atomic_load_explicit(&mx->health, memory_order_relaxed) == UNRECOVERABLE)
		return PSHM_ENOTRECOVERABLE;
	return 0;
}

static int set_mutex_attributes(pthread_mutexattr_t *attr)
{
	int err = pthread_mutexattr_setpshared(attr, PTHREAD_PROCESS_SHARED);
	if (err == 0)
		err = pthread_mutexattr_settype(attr, PTHREAD_MUTEX_ERRORCHECK);
#if PSHM_HAVE_ROBUST_MUTEX
	if (err == 0)
		err = pthread_mutexattr_setrobust(attr, PTHREAD_MUTEX_ROBUST);
#endif
	return err;
}

PSHM_EXTERN int pshm_mutex_init(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = (struct pshm__mutex *)(void *)m;
	if (mx == NULL)
		return -EINVAL;
	pthread_mutexattr_t attr;
	int err = pthread_mutexattr_init(&attr);
	if (err != 0)
		return -err;
	err = set_mutex_attributes(&attr);
	if (err == 0)
		err = pthread_mutex_init(&mx->mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	if (err != 0)
		return -err;
	atomic_store_explicit(&mx->health, HEALTHY, memory_order_relaxed);
	atomic_store_explicit(&mx->magic, PSHM__MUTEX_MAGIC, memory_order_release);
	return 0;
}

PSHM_EXTERN int pshm_mutex_lock(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	int rc = lock_refusal(mx);
	return rc != 0 ? rc : lock_result(mx, pthread_mutex_lock(&mx->mutex));
}

PSHM_EXTERN int pshm_mutex_trylock(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	int rc = lock_refusal(mx);
	if (rc != 0)
		return rc;
	int err = pthread_mutex_trylock(&mx->mutex);
	/* glibc says EDEADLK for a robust mutex the caller holds; POSIX says
	 * EBUSY for any held mutex, and so do we. */
	return lock_result(mx, err == EDEADLK ? EBUSY : err);
}

PSHM_EXTERN int pshm_mutex_timedlock(pshm_mutex_t *m, long timeout_ms)
{
	struct pshm__mutex *mx = mutex_of(m);
	int rc = lock_refusal(mx);
	if (rc != 0)
		return rc;
	if (timeout_ms < 0)
		return -EINVAL;
	struct timespec deadline = pshm__deadline_after(CLOCK_REALTIME, timeout_ms);
	return lock_result(mx, pthread_mutex_timedlock(&mx->mutex, &deadline));
}

static int unlock(struct pshm__mutex *mx)
{
	int died = atomic_load_explicit(&mx->health, memory_order_relaxed) == OWNER_DIED;
	int err = pthread_mutex_unlock(&mx->mutex);
	if (err != 0)
		return -err;
	if (died) { /* unlocked without pshm_mutex_consistent: lost for good */
		atomic_store(&mx->health, UNRECOVERABLE);
		forget_repair(mx);
	}
	return 0;
}

PSHM_EXTERN int pshm_mutex_unlock(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	return mx == NULL ? -EINVAL : unlock(mx);
}

PSHM_EXTERN int pshm_mutex_consistent(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (mx == NULL)
		return -EINVAL;
#if PSHM_HAVE_ROBUST_MUTEX
	if (atomic_load(&mx->health) != OWNER_DIED)
		return -EINVAL;
	if (repair_slot(mx) < 0)
		return -EPERM; /* another thread or process holds it */
	int err = pthread_mutex_consistent(&mx->mutex);
	if (err != 0)
		return -err;
	forget_repair(mx);
	atomic_store(&mx->health, HEALTHY);
	return 0;
#else
	return -ENOTSUP;
#endif
}

PSHM_EXTERN int pshm_mutex_destroy(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (mx == NULL)
		return -EINVAL;
	/* pthread_mutex_destroy of a locked mutex is undefined: find out first
	 * (an unrecoverable one is never locked again, so it may go). */
	if (atomic_load(&mx->health) != UNRECOVERABLE) {
		int err = pthread_mutex_trylock(&mx->mutex);
		if (err == EBUSY || err == EDEADLK)
			return -EBUSY;
		if (err == 0 || err == EOWNERDEAD)
			pthread_mutex_unlock(&mx->mutex);
	}
	atomic_store_explicit(&mx->magic, 0, memory_order_relaxed);
	return -pthread_mutex_destroy(&mx->mutex);
}
