/*
 * sys.c - the system-call helpers that every other room uses: EINTR
 * retried, fds close-on-exec, errors as negated errno values.  Built in
 * every configuration, so that no backend depends on another's file.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "os/sys.h"

size_t pshm__page_size(void)
{
	static _Atomic size_t cached;
	size_t size = atomic_load_explicit(&cached, memory_order_relaxed);
	if (size == 0) {
		long got = sysconf(_SC_PAGESIZE);
		size = got > 0 ? (size_t)got : 4096;
		atomic_store_explicit(&cached, size, memory_order_relaxed);
	}
	return size;
}

int pshm__openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;
	do
		fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? pshm__neg_errno() : fd;
}

ssize_t pshm__pread_head(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pshm__neg_errno();
		if (n == 0)
			break; /* end of file: it is shorter (or just shrank) */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int pshm__pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, offset + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? pshm__neg_errno() : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int pshm__file_size_allowed(size_t len)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_FSIZE, &limit) < 0)
		return pshm__neg_errno();
	if (limit.rlim_cur != RLIM_INFINITY && (uintmax_t)len > (uintmax_t)limit.rlim_cur)
		return -EFBIG;
	return 0;
}

#if HAVE_POSIX_FALLOCATE
int pshm__allocate_file(int fd, off_t from, off_t length)
{
	int err; /* posix_fallocate returns its error, errno untouched */
	do
		err = posix_fallocate(fd, from, length - from);
	while (err == EINTR);
	return -err;
}
#else
/* Without posix_fallocate (macOS): a zero byte written into every page of
 * the new file makes the file system find the page now, or say ENOSPC.
 * What the file system cannot hold at all is refused first, rather than
 * filled up page by page.  Objects that cannot be written (macOS shm) say
 * so and stay unreserved. */
int pshm__allocate_file(int fd, off_t from, off_t length)
{
	struct statvfs fs;
	if (fstatvfs(fd, &fs) == 0 && fs.f_frsize > 0 &&
	    (uintmax_t)(length - from) / fs.f_frsize > (uintmax_t)fs.f_bavail)
		return -ENOSPC;
	const char zero = 0;
	off_t page = (off_t)pshm__page_size();
	for (off_t at = from; at < length; at += page) {
		ssize_t n;
		do
			n = pwrite(fd, &zero, 1, at);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return pshm__neg_errno();
	}
	return 0;
}
#endif

/* A 64-bit mix of x (splitmix64's finalizer). */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void pshm__random_bytes(void *buf, size_t len)
{
	unsigned char *out = buf;
	size_t got = 0;
	int fd = pshm__openat(AT_FDCWD, "/dev/urandom", O_RDONLY, 0);
	while (fd >= 0 && got < len) {
		ssize_t n = read(fd, out + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	/* No /dev/urandom (a sandbox): the clock, the process and a count,
	 * mixed; enough to make names unlikely to meet, which is all they need. */
	static _Atomic uint64_t calls;
	uint64_t state = mix((uint64_t)pshm__monotonic_ns() ^ ((uint64_t)getpid() << 32) ^
	                     atomic_fetch_add(&calls, 1));
	for (; got < len; got++) {
		state = mix(state + UINT64_C(0x9e3779b97f4a7c15));
		out[got] = (unsigned char)state;
	}
}

int pshm__process_exists(pshm_pid_t pid)
{
	if (kill(pid, 0) == 0 || errno == EPERM)
		return 1;
	return errno == ESRCH ? 0 : -1;
}

/*
 * The process id is asked once per process and forgotten in every fork
 * child (a fork handler), as pshm_create records it in every header it
 * writes.  Only a child made by a raw clone(), which runs no fork
 * handlers, would be told its parent's id (and, as proc-linux.c keys its
 * PID namespace on this id, its parent's namespace): it records a creator
 * that is not the one, which the flock it holds on the file outweighs for
 * any cleaner.  The effective user id is not kept: a process may change
 * it.
 */
static _Atomic pshm_pid_t known_pid; /* 0: not asked in this process */
static pthread_once_t forget_pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
	atomic_store_explicit(&known_pid, 0, memory_order_relaxed);
}

static void forget_pid_in_children(void)
{
	pthread_atfork(NULL, NULL, forget_pid);
}

pshm_pid_t pshm__self_pid(void)
{
	pthread_once(&forget_pid_once, forget_pid_in_children);
	pshm_pid_t pid = atomic_load_explicit(&known_pid, memory_order_relaxed);
	if (pid == 0) {
		pid = getpid();
		atomic_store_explicit(&known_pid, pid, memory_order_relaxed);
	}
	return pid;
}

pshm_uid_t pshm__effective_user(void)
{
	return geteuid();
}

int pshm__dup_cloexec(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return copy < 0 ? pshm__neg_errno() : copy;
}

int pshm__let_inherit(int fd)
{
	return fcntl(fd, F_SETFD, 0) < 0 ? pshm__neg_errno() : 0;
}

void pshm__close_descriptor(int fd)
{
	close(fd); /* never retried: Linux frees fd even when close says EINTR */
}
