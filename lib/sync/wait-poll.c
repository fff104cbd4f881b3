/*
 * wait-poll.c - pshm__wait/pshm__wake where there is no futex to sleep on
 * (or configure --disable-futex): poll the word with naps that grow from a
 * few microseconds to a millisecond.  Correct everywhere, slower to wake.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "sync/sync.h"

#define PSHM__SPINS 64
#define PSHM__MAX_NAP_NS 1000000L

static int passed(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return !pshm__timespec_before(&now, deadline);
}

int pshm__wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline)
{
	long nap_ns = 1000;
	for (unsigned round = 0;; round++) {
		pthread_testcancel(); /* a cancellation point, as nanosleep is */
		if (atomic_load_explicit(word, memory_order_acquire) != expected)
			return 0;
		if (deadline != NULL && passed(deadline))
			return -ETIMEDOUT;
		if (round < PSHM__SPINS) {
			sched_yield();
			continue;
		}
		struct timespec nap = {0, nap_ns};
		nanosleep(&nap, NULL); /* EINTR: just look again */
		if (nap_ns < PSHM__MAX_NAP_NS)
			nap_ns *= 2;
	}
}

void pshm__wake(_Atomic uint32_t *word, int all)
{
	(void)word; /* pollers see the word change by themselves */
	(void)all;
}
