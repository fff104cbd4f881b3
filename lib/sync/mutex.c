/*
 * mutex.c - process-shared mutexes that report a dead holder everywhere,
 * with the repair protocol kept whole, over one of two kinds of lock: a
 * robust pthread mutex (mutex-pthread.c) where the kernel finds dead
 * holders, the lock of mutex-owned.c where it does not.
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

#include "sync/sync.h"

/* "pmt2": pshm_mutex_init ran, and laid the mutex out with its kind (the
 * layout before kinds said "pmtx": such a mutex is refused, -EINVAL, rather
 * than read with the wrong layout). */
#define PSHM__MUTEX_MAGIC 0x32746d70u

/*
 * health mirrors the mutex's state for the calls that glibc gets wrong: a
 * trylock of a mutex that is not recoverable leaves it looking locked, so
 * that every later lock hangs instead of failing.  Once health says
 * UNRECOVERABLE no call reaches the lock again.
 */
enum { HEALTHY, OWNER_DIED, UNRECOVERABLE };

/*
 * kind says which lock pshm_mutex_init chose, so that every process uses
 * the one it chose: a robust pthread mutex where the system has one and the
 * kernel keeps robust lists in the initializing process, else the lock of
 * mutex-owned.c, which finds a dead holder by itself.
 */
enum { KIND_PTHREAD = 1, KIND_OWNED = 2 };

struct pshm__mutex {
	_Atomic uint32_t magic;
	_Atomic uint32_t health;
	uint32_t kind;
	_Atomic uint32_t spin_rounds; /* what spins on it took to win (spin.c) */
	/* aligned as pshm_mutex_t, which pshm.h asks callers to put at a
	 * multiple of 8 (what the kinds' 64-bit words need) */
	unsigned long long lock[PSHM__LOCK_BYTES / sizeof(unsigned long long)];
};

PSHM__LAYOUT_FITS(struct pshm__mutex, pshm_mutex_t);

/* The kind of lock a new mutex gets here. */
static uint32_t kind_for_new_mutex(void)
{
#if PSHM_HAVE_ROBUST_MUTEX
	if (pshm__kernel_robust())
		return KIND_PTHREAD;
#endif
	return KIND_OWNED;
}

/* The calls of mx's kind of lock, or NULL for a kind not built here. */
static const struct pshm__lock_kind *kind_of(const struct pshm__mutex *mx)
{
#if PSHM_HAVE_ROBUST_MUTEX
	if (mx->kind == KIND_PTHREAD)
		return &pshm__lock_pthread;
#endif
	return mx->kind == KIND_OWNED ? &pshm__lock_owned : NULL;
}

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

/* The result of a lock call on mx (a positive errno, as pthread's), as a
 * libpshm code. */
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
	if (mx == NULL || kind_of(mx) == NULL)
		return -EINVAL;
	if (atomic_load_explicit(&mx->health, memory_order_relaxed) == UNRECOVERABLE)
		return PSHM_ENOTRECOVERABLE;
	return 0;
}

PSHM_EXTERN int pshm_mutex_init(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = (struct pshm__mutex *)(void *)m;
	if (mx == NULL || pshm__misaligned(mx))
		return -EINVAL;
	mx->kind = kind_for_new_mutex();
	atomic_store_explicit(&mx->spin_rounds, 0, memory_order_relaxed);
	int err = kind_of(mx)->init(mx->lock);
	if (err != 0)
		return -err;
	atomic_store_explicit(&mx->health, HEALTHY, memory_order_relaxed);
	atomic_store_explicit(&mx->magic, PSHM__MUTEX_MAGIC, memory_order_release);
	return 0;
}

int pshm__mutex_init_once(pshm_mutex_t *m, void *guard, int wait)
{
	if (mutex_of(m) != NULL)
		return 0;
	/* EOWNERDEAD: who held the guard died before the magic said "made";
	 * nobody has used the lock, which is made anew. */
	int err = pshm__lock_owned.lock(guard, wait ? PSHM__LOCK_WAIT : PSHM__LOCK_TRY, NULL, NULL);
	if (err != 0 && err != EOWNERDEAD)
		return -err;
	int rc = mutex_of(m) != NULL ? 0 : pshm_mutex_init(m);
	pshm__lock_owned.unlock(guard);
	return rc;
}

/* Lock m as how says (until deadline, on CLOCK_MONOTONIC, for
 * PSHM__LOCK_TIMED). */
static int lock(pshm_mutex_t *m, enum pshm__lock_how how, const struct timespec *deadline)
{
	struct pshm__mutex *mx = mutex_of(m);
	int rc = lock_refusal(mx);
	return rc != 0 ? rc
	               : lock_result(mx, kind_of(mx)->lock(mx->lock, how, deadline, &mx->spin_rounds));
}

/*
 * The robust pthread kind, locked and unlocked straight through pthread
 * rather than through the kind table: the indirect call and the wrapper
 * cost 4-5% of an uncontended lock + unlock (bench/lock), which is all the
 * rest of libpshm's checks cost.  A lock that is busy is watched for a
 * moment before pthread puts the caller to sleep (glibc's robust mutexes
 * never spin): with a short critical section its holder gives it back
 * sooner than a sleep and a wake-up take (mutex-pthread.c).  Same
 * results as lock() and the table.
 */
static int fast_kind(const struct pshm__mutex *mx)
{
#if PSHM_HAVE_ROBUST_MUTEX
	return mx != NULL && mx->kind == KIND_PTHREAD;
#else
	(void)mx;
	return 0;
#endif
}

int pshm__mutex_lock(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (!fast_kind(mx))
		return lock(m, PSHM__LOCK_WAIT, NULL);
	int rc = lock_refusal(mx);
	if (rc != 0)
		return rc;
	int err = pthread_mutex_trylock((pthread_mutex_t *)(void *)mx->lock);
	if (err == 0)
		return 0;
	if (err == EBUSY) /* watched, then waited for, by the kind's own call */
		err = kind_of(mx)->lock(mx->lock, PSHM__LOCK_WAIT, NULL, &mx->spin_rounds);
	return err == 0 ? 0 : lock_result(mx, err);
}

PSHM_EXTERN int pshm_mutex_lock(pshm_mutex_t *m)
{
	return pshm__mutex_lock(m);
}

int pshm__mutex_trylock(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (!fast_kind(mx))
		return lock(m, PSHM__LOCK_TRY, NULL);
	int rc = lock_refusal(mx);
	if (rc != 0)
		return rc;
	int err = pthread_mutex_trylock((pthread_mutex_t *)(void *)mx->lock);
	/* EDEADLK, glibc's for a robust mutex the caller holds: EBUSY, as
	 * the kind's own try says */
	return err == 0 ? 0 : lock_result(mx, err == EDEADLK ? EBUSY : err);
}

PSHM_EXTERN int pshm_mutex_trylock(pshm_mutex_t *m)
{
	return pshm__mutex_trylock(m);
}

PSHM_EXTERN int pshm_mutex_timedlock(pshm_mutex_t *m, long timeout_ms)
{
	if (timeout_ms < 0 && lock_refusal(mutex_of(m)) == 0)
		return -EINVAL;
	struct timespec deadline = pshm__deadline_after(CLOCK_MONOTONIC, timeout_ms);
	return lock(m, PSHM__LOCK_TIMED, &deadline);
}

PSHM_EXTERN int pshm_mutex_lock_until(pshm_mutex_t *m, const struct timespec *deadline)
{
	if (!pshm__deadline_is_valid(deadline) && lock_refusal(mutex_of(m)) == 0)
		return -EINVAL;
	return lock(m, PSHM__LOCK_TIMED, deadline);
}

int pshm__mutex_unlock(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (mx == NULL || kind_of(mx) == NULL)
		return -EINVAL;
	int died = atomic_load_explicit(&mx->health, memory_order_relaxed) == OWNER_DIED;
	int err = fast_kind(mx) ? pthread_mutex_unlock((pthread_mutex_t *)(void *)mx->lock)
	                        : kind_of(mx)->unlock(mx->lock);
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
	return pshm__mutex_unlock(m);
}

PSHM_EXTERN int pshm_mutex_consistent(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (mx == NULL || kind_of(mx) == NULL || atomic_load(&mx->health) != OWNER_DIED)
		return -EINVAL;
	if (repair_slot(mx) < 0)
		return -EPERM; /* another thread or process holds it */
	int err = kind_of(mx)->consistent(mx->lock);
	if (err != 0)
		return -err;
	forget_repair(mx);
	atomic_store(&mx->health, HEALTHY);
	return 0;
}

PSHM_EXTERN int pshm_mutex_destroy(pshm_mutex_t *m)
{
	struct pshm__mutex *mx = mutex_of(m);
	if (mx == NULL || kind_of(mx) == NULL)
		return -EINVAL;
	/* An unrecoverable mutex is never locked again: it may go as it is. */
	if (atomic_load(&mx->health) != UNRECOVERABLE) {
		int err = kind_of(mx)->destroy(mx->lock);
		if (err != 0)
			return -err;
	}
	atomic_store_explicit(&mx->magic, 0, memory_order_relaxed);
	return 0;
}
