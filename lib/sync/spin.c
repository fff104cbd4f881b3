/*
 * spin.c - trying again for a moment before sleeping.  A lock that its
 * holder on another CPU gives back within microseconds, or a signal that a
 * peer on another CPU sends at once (a ping-pong through a condition
 * variable), is had without a sleep and a wake: two system calls and two
 * trips through the scheduler, which cost more than the wait.  Never in a
 * process that may run on one CPU only (one online, or an affinity of one:
 * taskset, a container's cpuset): there the other side cannot run while we
 * spin, and each wait would cost the whole spin.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>

#include "sync/sync.h"

/*
 * How to watch.  An attempt reads the object, and writes only when it sees
 * the way free: a trylock on a busy lock takes the cache line from the
 * holder, who needs it back for its next write.  A look, though, costs
 * the holder that line too (moving it between AMD core complexes costs
 * several times what it costs inside one Intel die), so the looks are
 * spaced out, 1, 2, 4... up to PSHM__SPIN_GAP_MAX pauses apart: a holder
 * taking and giving back its lock in a loop then keeps its line for all
 * but one access in a hundred, where a look every pause halved its speed.
 *
 * How long to watch.  The object keeps an estimate of the pauses a spin
 * that won took, as glibc's adaptive mutexes keep theirs: the next spin
 * tries twice that and a glance more, so a lock held long stops costing
 * spins and one held briefly is waited for as long as that takes; a spin
 * that loses halves the estimate.  Whatever the estimate, a spin ends
 * after PSHM__SPIN_PAUSES_MAX pauses or about PSHM__SPIN_NS, what a sleep
 * and a wake-up cost (5-10 us on the VMs measured); a pause itself costs
 * 3 to 50 ns from one CPU to another.
 */
#define PSHM__SPIN_GAP_MAX 128u
#define PSHM__SPIN_GLANCE 256u /* pauses tried even when spinning has not paid lately */
#define PSHM__SPIN_PAUSES_MAX 8192u
#define PSHM__SPIN_NS 10000LL

/* Tell the CPU we are spinning: it yields to a sibling hyperthread, and
 * leaving the loop does not flush the pipeline. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Whether another CPU can run the peer while this one watches; asked once
 * per process (a fork child has its parent's affinity). */
static int several_cpus(void)
{
	static _Atomic int known; /* 0: not asked; 1: one CPU; 2: several */
	int answer = atomic_load_explicit(&known, memory_order_relaxed);
	if (answer == 0) {
		answer = pshm__cpus_to_run_on() > 1 ? 2 : 1;
		atomic_store_explicit(&known, answer, memory_order_relaxed);
	}
	return answer == 2;
}

/* The estimate behind estimate (NULL: none kept, so the longest), as
 * kept by any process: a hint, clamped. */
static uint32_t estimate_of(_Atomic uint32_t *estimate)
{
	if (estimate == NULL)
		return PSHM__SPIN_PAUSES_MAX;
	uint32_t est = atomic_load_explicit(estimate, memory_order_relaxed);
	return est < PSHM__SPIN_PAUSES_MAX ? est : PSHM__SPIN_PAUSES_MAX;
}

/* Move the estimate (was est) after a spin: toward the pauses a win took,
 * by an eighth; halved after a loss (spent 0).  Written only when it
 * changes, as its line is the one the other side watches. */
static void learn(_Atomic uint32_t *estimate, uint32_t est, uint32_t spent)
{
	if (estimate == NULL)
		return;
	uint32_t next = spent == 0   ? est / 2
	                : spent > est ? est + (spent - est) / 8
	                              : est - (est - spent) / 8;
	if (next != est)
		atomic_store_explicit(estimate, next, memory_order_relaxed);
}

int pshm__spin(int (*attempt)(void *arg), void *arg, _Atomic uint32_t *estimate)
{
	if (!several_cpus())
		return 0;
	uint32_t est = estimate_of(estimate);
	uint32_t budget = 2 * est + PSHM__SPIN_GLANCE;
	if (budget > PSHM__SPIN_PAUSES_MAX)
		budget = PSHM__SPIN_PAUSES_MAX;
	long long until = 0;
	for (uint32_t spent = 0, gap = 1; spent < budget; spent += gap) {
		for (uint32_t i = 0; i < gap; i++)
			cpu_relax();
		if (attempt(arg)) {
			learn(estimate, est, spent + gap);
			return 1;
		}
		if (gap < PSHM__SPIN_GAP_MAX) {
			gap *= 2;
			continue;
		}
		long long now = pshm__monotonic_ns(); /* rarely: looks are far apart now */
		if (until == 0)
			until = now + PSHM__SPIN_NS;
		else if (now > until)
			break;
	}
	learn(estimate, est, 0);
	return 0;
}
