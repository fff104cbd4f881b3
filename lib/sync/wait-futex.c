/*
 * wait-futex.c - pshm__wait/pshm__wake on Linux: a futex on the word.  Not
 * FUTEX_PRIVATE_FLAG: the word is in shared memory, mapped by other
 * processes at other addresses, and the kernel keys it by the page.
 */
#define _DEFAULT_SOURCE /* syscall() */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sync/sync.h"

/* The futex operations used, as the kernel's ABI numbers them (so that no
 * kernel header is needed: musl's compiler has none, nor do some cross
 * toolchains). */
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

/* A 32-bit system whose C library has a 64-bit time_t (musl, glibc with
 * _TIME_BITS=64) passes its timespec to futex_time64. */
#ifdef SYS_futex_time64
#define SYS_FUTEX_FOR_TIMESPEC (sizeof(time_t) > sizeof(long) ? SYS_futex_time64 : SYS_futex)
#else
#define SYS_FUTEX_FOR_TIMESPEC SYS_futex
#endif

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *timeout,
                  uint32_t bitset)
{
	return syscall(SYS_FUTEX_FOR_TIMESPEC, (void *)word, op, val, timeout, NULL, bitset);
}

/*
 * The futex system call as a cancellation point, as the C library makes
 * its own blocking calls: asynchronous cancellation is on for the call
 * alone (a cancellation already pending acts as it is turned on), so that
 * pthread_cancel ends a sleeper instead of waiting for its next wake-up.
 */
static int futex_wait_cancellable(_Atomic uint32_t *word, uint32_t expected,
                                  const struct timespec *deadline)
{
	int type;
	/* Asynchronous for the one system call, as glibc's LIBC_CANCEL_ASYNC
	 * did: nothing else runs while it is on. */
	// NOLINTNEXTLINE(cert-pos47-c)
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	long rc = futex(word, FUTEX_WAIT_BITSET, expected, deadline, FUTEX_BITSET_MATCH_ANY);
	int err = errno;
	pthread_setcanceltype(type, NULL);
	return rc == 0 ? 0 : err;
}

int pshm__wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline)
{
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
	 * retry after EINTR does not start the timeout again. */
	for (;;) {
		int err = futex_wait_cancellable(word, expected, deadline);
		if (err == 0)
			return 0;
		switch (err) {
		case EINTR:
			continue;
		case EAGAIN: /* *word != expected already */
			return 0;
		default: /* ETIMEDOUT; or EINVAL, ENOSYS, EFAULT: no sleep, which
		          * a caller that looped on it would spin through for ever */
			return -err;
		}
	}
}

void pshm__wake(_Atomic uint32_t *word, int all)
{
	futex(word, FUTEX_WAKE, all ? (uint32_t)INT_MAX : 1u, NULL, 0);
}
