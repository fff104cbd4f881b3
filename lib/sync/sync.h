/*
 * sync.h - what the synchronization calls share: the kinds of lock under
 * mutex.c, the holders of a lock, sleeping on a word of shared memory, and
 * spinning before sleeping.  Not installed.
 */
#ifndef PSHM_SYNC_H
#define PSHM_SYNC_H

#include <stdalign.h>
#include <stdint.h>

#include "internal.h"

/* ------------------------------------------------------------------------ */
/* The locks under mutex.c: mutex-pthread.c, mutex-owned.c                   */

/* Bytes of a pshm_mutex_t that its lock may use. */
#define PSHM__LOCK_BYTES 48

enum pshm__lock_how {
	PSHM__LOCK_WAIT,  /* until it is had */
	PSHM__LOCK_TRY,   /* EBUSY if it is held (by the caller too) */
	PSHM__LOCK_TIMED, /* ETIMEDOUT at deadline (CLOCK_MONOTONIC) */
};

/* A kind of lock: each call returns 0 or a positive errno, as pthread's do
 * (lock: EOWNERDEAD when its holder died, EDEADLK when the caller holds it;
 * unlock: EPERM when it does not; destroy: EBUSY while it is held).  A
 * lock that waits watches the lock first for as long as estimate, a word
 * its caller keeps for it, says watching pays (pshm__spin). */
struct pshm__lock_kind {
	int (*init)(void *lock);
	int (*lock)(void *lock, enum pshm__lock_how how, const struct timespec *deadline,
	            _Atomic uint32_t *estimate);
	int (*unlock)(void *lock);
	int (*consistent)(void *lock);
	int (*destroy)(void *lock);
};

extern const struct pshm__lock_kind pshm__lock_pthread; /* where robust mutexes are built */
extern const struct pshm__lock_kind pshm__lock_owned;

/* pshm_mutex_lock and pshm_mutex_unlock for the library's own locks (the
 * heap's): direct calls, not through the exported symbols' indirection. */
int pshm__mutex_lock(pshm_mutex_t *m);
int pshm__mutex_trylock(pshm_mutex_t *m);
int pshm__mutex_unlock(pshm_mutex_t *m);

/* pshm_mutex_init m unless it is made already, one process at a time:
 * guard (PSHM__LOCK_BYTES, 8-aligned) is a lock of pshm__lock_owned's
 * kind, which is free when all zero, and finds a holder that died.  While
 * another holds the guard: wait, or (wait 0) -EBUSY. */
int pshm__mutex_init_once(pshm_mutex_t *m, void *guard, int wait);
_Static_assert(sizeof(((struct pshm__header *)0)->lock_guard) >= PSHM__LOCK_BYTES,
               "the header's lock guard is too small");

/* ------------------------------------------------------------------------ */
/* Lock holders (holder-linux.c reads /proc; holder-posix.c cannot)          */

/* Whether the kernel finds the dead holders of robust mutexes in this
 * process: its robust futex list is registered (qemu-user and some seccomp
 * sandboxes refuse it).  Asked once. */
int pshm__kernel_robust(void);

/* The calling thread as a lock holder: its Linux thread id (so that a
 * thread that dies is seen gone), else its process id.  Below 2^30.  A
 * system call: callers keep the answer. */
uint32_t pshm__holder_self(void);

/* The calling thread's start time, to tell it from a later process given
 * the same id; 0 where it cannot be known.  Reads /proc: callers keep it. */
uint32_t pshm__holder_token(void);

/* How many CPUs the calling thread may run on (at least 1): its affinity
 * where the system has one, else the CPUs online.  A system call. */
int pshm__cpus_to_run_on(void);

/* 1 if the holder id that started at token (0: not known) is surely gone:
 * no such process, a zombie, or another process with that id; else 0. */
int pshm__holder_gone(uint32_t id, uint32_t token);

/* ------------------------------------------------------------------------ */
/* Sleeping on a word of shared memory (wait-futex.c or wait-poll.c)         */

/* Whether obj, a pshm_mutex_t, pshm_cond_t or pshm_sem_t, is not where its
 * type's alignment puts it (a cast of bytes at any offset): such an object
 * is refused, -EINVAL, as the kernel refuses a futex on a misaligned word
 * and a lock word across two cache lines is not atomic on every CPU. */
static inline int pshm__misaligned(const void *obj)
{
	return (uintptr_t)obj % alignof(pshm_mutex_t) != 0;
}
_Static_assert(alignof(pshm_cond_t) == alignof(pshm_mutex_t) &&
                   alignof(pshm_sem_t) == alignof(pshm_mutex_t),
               "one alignment for the synchronization types");

/* inner, the layout behind the opaque public type outer (pshm_mutex_t,
 * pshm_cond_t, pshm_sem_t): its magic first (pshm__initialized reads it),
 * within outer's size and alignment. */
#define PSHM__LAYOUT_FITS(inner, outer)                                                    \
	_Static_assert(offsetof(inner, magic) == 0, "pshm__initialized reads the magic first"); \
	_Static_assert(sizeof(inner) <= sizeof(outer), #outer " too small");                 \
	_Static_assert(alignof(inner) <= alignof(outer), #outer " misaligned")

/* obj, a mutex, condition variable or semaphore whose first field is its
 * _Atomic uint32_t magic, if its init call stored magic there; NULL if obj
 * is NULL, misaligned, or was never initialized (or was destroyed). */
static inline void *pshm__initialized(void *obj, uint32_t magic)
{
	if (obj == NULL || pshm__misaligned(obj) ||
	    atomic_load_explicit((_Atomic uint32_t *)obj, memory_order_acquire) != magic)
		return NULL;
	return obj;
}

/*
 * pshm__wait - sleep while *word == expected, until pshm__wake() on word or
 * until deadline (CLOCK_MONOTONIC; NULL: no limit).  0 when woken or when
 * *word differs (possibly spuriously: callers re-check), -ETIMEDOUT when the
 * deadline passed, another negative errno when the system refuses to sleep
 * on word (a futex on a misaligned word is -EINVAL): callers return it,
 * never take it for a wake-up.  word may be mapped at other addresses in other processes.
 * A cancellation point: the caller pushes a cleanup handler around it.
 */
int pshm__wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline);

/* pshm__wake - wake one (all == 0) or every sleeper in pshm__wait on word. */
void pshm__wake(_Atomic uint32_t *word, int all);

/* spin.c: call attempt(arg) again and again, a pause apart, in a process
 * that may run on more than one CPU (else never): 1 as soon as it returns
 * nonzero, 0 when the caller had better sleep.  attempt reads the object
 * and writes only when it sees the way free.  estimate, a word in the
 * object (any value will do; NULL: none), says how long spins on it have
 * taken to win, and bounds this one (at most about 10 us). */
int pshm__spin(int (*attempt)(void *arg), void *arg, _Atomic uint32_t *estimate);

#endif /* PSHM_SYNC_H */
