/*
 * time.c - deadlines and spans on the monotonic clock, the same on every
 * system (clock_gettime: POSIX, and MinGW-w64's winpthreads).
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <time.h>

#include "os/sys.h"

int pshm__deadline_is_valid(const struct timespec *deadline)
{
	return deadline != NULL && deadline->tv_nsec >= 0 && deadline->tv_nsec < 1000000000L;
}

struct timespec pshm__deadline_after(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

long long pshm__monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int pshm__timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}
