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

/* How long to try: many round trips between two CPUs' caches, and about
 * what a sleep and a wake-up cost (5-10 us on the VMs measured). */
#define PSHM__SPIN_NS 10000L
#define PSHM__SPIN_ROUNDS_PER_CLOCK 4 /* look at the clock this often */

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

int pshm__spin(int (*attempt)(void *arg), void *arg, unsigned backoff)
{
	if (!several_cpus())
		return 0;
	long long until = pshm__monotonic_ns() + PSHM__SPIN_NS;
	for (unsigned round = 0;; round++) {
		unsigned pauses = 1u << (round < backoff ? round : backoff);
		for (unsigned i = 0; i < pauses; i++)
			cpu_relax();
		if (attempt(arg))
			return 1;
		if (round % PSHM__SPIN_ROUNDS_PER_CLOCK == 0 && pshm__monotonic_ns() > until)
			return 0;
	}
}
