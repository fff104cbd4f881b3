/*
 * hold-flock.c - which files are attached, told by the kernel: every handle
 * of a named segment holds a shared flock(2) on its file's descriptor.  A
 * flock belongs to the open file description: a fork child's copy and a
 * descriptor passed to another process hold it too, and the kernel drops
 * it when the last of them closes, SIGKILL included.  So "nobody holds it"
 * is a fact in any PID namespace, where /proc/PID/maps may be unreadable.
 */
#define _DEFAULT_SOURCE /* flock on glibc and musl */
#include "config.h"

#include <errno.h>
#include <sys/file.h>
#include <time.h>

#include "os/sys.h"

/* How long an attacher waits for a cleaner's exclusive lock to go (a
 * judgement and an unlink: microseconds) before it attaches unheld. */
#define PSHM__HOLD_WAIT_NS (20L * 1000 * 1000)

/* flock(fd, op), retrying EINTR: 0 or a negative code. */
static int flock_retry(int fd, int op)
{
	int rc;
	do
		rc = flock(fd, op);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? pshm__neg_errno() : 0;
}

int pshm__hold_shared(int fd)
{
	long long until = pshm__monotonic_ns() + PSHM__HOLD_WAIT_NS;
	int waited = 0;
	for (long nap_ns = 10000;; nap_ns *= 2) {
		int rc = flock_retry(fd, LOCK_SH | LOCK_NB);
		if (rc != -EWOULDBLOCK)
			return rc == 0 ? waited : rc;
		if (pshm__monotonic_ns() > until)
			return rc; /* an exclusive lock kept for ever: not a cleaner's */
		waited = 1;
		struct timespec nap = {0, nap_ns < 1000000 ? nap_ns : 1000000};
		nanosleep(&nap, NULL);
	}
}

int pshm__held_by_anyone(int fd)
{
	int rc = flock_retry(fd, LOCK_EX | LOCK_NB);
	if (rc == 0)
		return 0;
	return rc == -EWOULDBLOCK ? 1 : -1; /* ENOLCK: a file system without locks */
}
