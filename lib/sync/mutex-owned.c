/*
 * mutex-owned.c - a lock that finds its dead holder by itself, for where the
 * kernel does not: systems without robust mutexes (macOS), and Linux
 * processes whose kernel interface has no robust futex lists at run time
 * (qemu-user, some seccomp sandboxes), where a robust pthread mutex whose
 * holder was killed would stay locked for ever.
 *
 * The lock word holds the holder's id (a Linux thread id, else a pid) and a
 * flag for sleepers.  The holder also records its id with its start time,
 * and its PID namespace: a waiter that has slept a while without the word
 * changing asks whether that holder is gone (no such process, or another
 * process with its pid, or a zombie) and, if it surely is, takes the word
 * over from it and reports EOWNERDEAD, as a robust mutex does.  A holder
 * that cannot be judged (another PID namespace, /proc closed) is alive.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "sync/sync.h"

#define WAITERS 0x80000000u /* somebody sleeps on the word: unlock wakes */
#define HOLDER_MASK 0x3fffffffu
#define CHECK_EVERY_MS 20 /* how long a waiter sleeps before judging the holder */

struct owned {
	_Atomic uint32_t word;      /* 0: free; else holder id | WAITERS */
	uint32_t unused;
	_Atomic uint64_t holder;    /* id << 32 | start token, once it holds */
	_Atomic uint64_t namespace; /* its PID namespace (0: not known) */
	_Atomic uintptr_t thread;   /* which of its process's threads holds it */
};

_Static_assert(sizeof(struct owned) <= PSHM__LOCK_BYTES, "the owned lock does not fit");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "holder records must be lock-free across processes");

/*
 * The calling thread as a holder (id, start token, PID namespace), asked
 * once per thread, and again in a fork child, whose thread is another:
 * forks counts the children.  One thread-local struct, so that a lock call
 * finds it with one look-up (in a shared library, a call to
 * __tls_get_addr: a fifth of an uncontended lock + unlock when each field
 * was a variable of its own); its address tells the process's live threads
 * apart.
 */
struct me {
	unsigned known; /* forks + 1 when asked */
	uint32_t id, token;
	uint64_t namespace;
};
static _Thread_local struct me me_state;
static _Atomic unsigned forks;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
#define THREAD_OF(me) ((uintptr_t)(me))

static void count_fork(void)
{
	atomic_fetch_add_explicit(&forks, 1, memory_order_relaxed);
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, count_fork);
	(void)count_fork; /* winpthreads' pthread_atfork is a macro of 0: no fork */
}

/* This thread as a holder.  Fork children are counted from before the
 * first answer is kept (the once comes first). */
static const struct me *know_me(void)
{
	struct me *me = &me_state;
	unsigned now = atomic_load_explicit(&forks, memory_order_relaxed) + 1;
	if (me->known != now) {
		pthread_once(&watch_once, watch_forks);
		now = atomic_load_explicit(&forks, memory_order_relaxed) + 1;
		me->id = pshm__holder_self();
		me->token = pshm__holder_token();
		me->namespace = pshm__pid_namespace();
		me->known = now;
	}
	return me;
}

static int owned_init(void *lock)
{
	struct owned *o = lock;
	atomic_store_explicit(&o->holder, 0, memory_order_relaxed);
	atomic_store_explicit(&o->thread, 0, memory_order_relaxed);
	atomic_store_explicit(&o->word, 0, memory_order_release);
	return 0;
}

/* After taking the word: say who holds it. */
static void record_holder(struct owned *o, const struct me *me)
{
	atomic_store_explicit(&o->thread, THREAD_OF(me), memory_order_relaxed);
	atomic_store_explicit(&o->namespace, me->namespace, memory_order_relaxed);
	uint64_t rec = (uint64_t)me->id << 32 | me->token;
	atomic_store_explicit(&o->holder, rec, memory_order_release);
}

/* A holder that took the word and has not recorded itself, as a waiter
 * saw it: the word, and since when it saw no such process. */
struct unrecorded {
	uint32_t word;
	long long since_ns;
};

/*
 * Whether the holder named by word is surely gone.  Its record is read
 * after the word.  A record of another id means the holder has not written
 * its own yet: it is about to, or it was killed in between.  Then only its
 * id can be asked, without its start time, and "no such process" says
 * nothing of a process in another PID namespace: such a holder is judged
 * gone only once the waiter has seen it so for CHECK_EVERY_MS (a live one
 * records itself a few instructions after taking the word).
 */
static int holder_gone(struct owned *o, uint32_t word, const struct me *me,
                       struct unrecorded *seen)
{
	uint32_t id = word & HOLDER_MASK;
	uint64_t rec = atomic_load_explicit(&o->holder, memory_order_acquire);
	if ((uint32_t)(rec >> 32) != id) {
		if (!pshm__holder_gone(id, 0))
			return 0;
		long long now = pshm__monotonic_ns();
		if (seen->word != word)
			*seen = (struct unrecorded){word, now};
		return now - seen->since_ns >= CHECK_EVERY_MS * 1000000LL;
	}
	uint64_t ns = atomic_load_explicit(&o->namespace, memory_order_relaxed);
	if (ns != me->namespace)
		return 0; /* its id means another process here */
	return pshm__holder_gone(id, (uint32_t)rec);
}

/* Take the word: from 0, or from a holder that is gone (EOWNERDEAD). */
static int take(struct owned *o, uint32_t seen, const struct me *me, uint32_t keep,
                struct unrecorded *unrecorded)
{
	uint32_t want = me->id | keep;
	if (seen == 0) {
		if (!atomic_compare_exchange_strong_explicit(&o->word, &seen, want, memory_order_acquire,
		                                             memory_order_relaxed))
			return EAGAIN;
		record_holder(o, me);
		return 0;
	}
	if (!holder_gone(o, seen, me, unrecorded))
		return EBUSY;
	if (!atomic_compare_exchange_strong_explicit(&o->word, &seen, want | WAITERS,
	                                             memory_order_acquire, memory_order_relaxed))
		return EAGAIN;
	record_holder(o, me);
	return EOWNERDEAD;
}

/* Whether the caller holds the lock. */
static int held_by_caller(struct owned *o, uint32_t word, const struct me *me)
{
	return word != 0 && (word & HOLDER_MASK) == me->id &&
	       atomic_load_explicit(&o->thread, memory_order_relaxed) == THREAD_OF(me);
}

/* Sleep while the word is seen, at most until the next check or deadline:
 * ETIMEDOUT once the deadline has passed, the errno of a sleep the system
 * refused (never a loop that spins past the deadline).  Not a cancellation point, as
 * pthread_mutex_lock is none. */
static int nap(struct owned *o, uint32_t seen, const struct timespec *deadline)
{
	if (!(seen & WAITERS) &&
	    !atomic_compare_exchange_strong_explicit(&o->word, &seen, seen | WAITERS,
	                                             memory_order_relaxed, memory_order_relaxed))
		return 0; /* it changed: look again */
	struct timespec check = pshm__deadline_after(CLOCK_MONOTONIC, CHECK_EVERY_MS);
	int last = deadline != NULL && pshm__timespec_before(deadline, &check);
	int state;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	int rc = pshm__wait(&o->word, seen | WAITERS, last ? deadline : &check);
	pthread_setcancelstate(state, NULL);
	if (rc == -ETIMEDOUT)
		return last ? ETIMEDOUT : 0;
	return -rc; /* 0, or the system would not let it sleep */
}

/* For pshm__spin: take the word if it is free, before the first nap. */
struct attempt {
	struct owned *o;
	const struct me *me;
};

static int took_free_word(void *arg)
{
	const struct attempt *a = arg;
	uint32_t seen = atomic_load_explicit(&a->o->word, memory_order_relaxed);
	return seen == 0 && take(a->o, 0, a->me, 0, NULL) == 0;
}

static int owned_lock(void *lock, enum pshm__lock_how how, const struct timespec *deadline,
                      _Atomic uint32_t *estimate)
{
	struct owned *o = lock;
	const struct me *me = know_me();
	uint32_t keep = 0; /* once asleep, keep WAITERS: others may sleep too */
	struct unrecorded unrecorded = {0, 0};
	for (;;) {
		uint32_t seen = atomic_load_explicit(&o->word, memory_order_relaxed);
		if (held_by_caller(o, seen, me))
			return how == PSHM__LOCK_TRY ? EBUSY : EDEADLK;
		int rc = take(o, seen, me, keep, &unrecorded);
		if (rc != EAGAIN && rc != EBUSY)
			return rc;
		if (rc == EAGAIN)
			continue;
		if (how == PSHM__LOCK_TRY)
			return EBUSY;
		struct attempt a = {o, me};
		if (keep == 0 && pshm__spin(took_free_word, &a, estimate))
			return 0; /* the holder gave it back within a moment */
		rc = nap(o, seen, how == PSHM__LOCK_TIMED ? deadline : NULL);
		if (rc != 0)
			return rc;
		keep = WAITERS;
	}
}

static int owned_unlock(void *lock)
{
	struct owned *o = lock;
	uint32_t seen = atomic_load_explicit(&o->word, memory_order_relaxed);
	if (!held_by_caller(o, seen, know_me()))
		return EPERM;
	atomic_store_explicit(&o->thread, 0, memory_order_relaxed);
	atomic_store_explicit(&o->holder, 0, memory_order_relaxed);
	if (atomic_exchange_explicit(&o->word, 0, memory_order_release) & WAITERS)
		pshm__wake(&o->word, 0);
	return 0;
}

static int owned_consistent(void *lock)
{
	(void)lock; /* the holder keeps the word: nothing to mark */
	return 0;
}

/* A lock held by a holder that is gone may go, as a robust one may. */
static int owned_destroy(void *lock)
{
	struct owned *o = lock;
	uint32_t word = atomic_load_explicit(&o->word, memory_order_acquire);
	struct unrecorded once = {0, 0}; /* one look: an unrecorded holder is busy */
	return word != 0 && !holder_gone(o, word, know_me(), &once) ? EBUSY : 0;
}

const struct pshm__lock_kind pshm__lock_owned = {
	.init = owned_init,
	.lock = owned_lock,
	.unlock = owned_unlock,
	.consistent = owned_consistent,
	.destroy = owned_destroy,
};
