/*
 * sys.h - the ground floor, os/: every helper of its rooms (sys.c, proc-*.c,
 * hold-*.c, seal-*.c, fdpass.c, populate.c, hugepages.c), below everything
 * else: every floor may call them, they call nothing of libpshm's above.
 * Not installed; internal.h includes it.
 */
#ifndef PSHM_SYS_H
#define PSHM_SYS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pshm.h" /* the system's types as the public header names them */

/* Windows' C runtime has no ESTALE, which a managed segment that grew in
 * another process's mapping gives (core/managed.c), and no segment there
 * grows: Linux's value, so that the shared rooms compile. */
#ifndef ESTALE
#define ESTALE 116
#endif

/* ------------------------------------------------------------------------ */
/* System-call helpers (sys.c): below everything else                        */

/* The system page size (sysconf, read once). */
size_t pshm__page_size(void);

/* The size of the huge pages PSHM_HUGEPAGES asks for, or 0 where the
 * system has none that libpshm knows how to ask for (read once). */
size_t pshm__huge_page_size(void);

/* Negated errno for the last failed call; never 0 (-EIO if errno was 0 or
 * out of range).
 * Inline, so that every caller (and its analysis) sees it is negative. */
static inline int pshm__neg_errno(void)
{
	int err = errno;
	return err > 0 && err < 4096 ? -err : -EIO;
}

/* openat(2) retried on EINTR, always O_CLOEXEC; the fd or a negative code.
 * dirfd AT_FDCWD for a path. */
int pshm__openat(int dirfd, const char *path, int flags, mode_t mode);

/* Read up to len bytes at offset 0 of fd, retrying EINTR and short reads:
 * the count read (less at end of file), or a negative code. */
ssize_t pshm__pread_head(int fd, void *buf, size_t len);

/* Write len bytes at offset of fd, retrying EINTR and short writes: 0, or
 * a negative code (-ENOSPC from a full file system). */
int pshm__pwrite_all(int fd, const void *buf, size_t len, off_t offset);

/* Allocate bytes [from, length) of the file open on fd, new bytes of a file
 * of that size (from: a multiple of the page size): 0, -ENOSPC (or EDQUOT,
 * EFBIG), or the code of a file that cannot be allocated this way
 * (-EOPNOTSUPP, -EINVAL, -ENODEV, -ESPIPE...). */
int pshm__allocate_file(int fd, off_t from, off_t length);

/*
 * pshm__populate (populate.c) - PSHM_PREFAULT: fault in the len bytes mapped at addr, for
 * writing or only for reading.  0 (also where the system cannot, as it is a
 * hint), -ENOSPC if a page could not be had, or another negative errno.
 */
int pshm__populate(void *addr, size_t len, int writable);

/* Whether a is earlier than b. */
int pshm__timespec_before(const struct timespec *a, const struct timespec *b);

/* Nanoseconds on CLOCK_MONOTONIC: for measuring spans within a process. */
long long pshm__monotonic_ns(void);

/* Whether deadline is a time a caller may give: not NULL, nanoseconds in
 * [0, 1e9).  (One in the past is valid: it has passed.) */
int pshm__deadline_is_valid(const struct timespec *deadline);

/* The time ms milliseconds from now on clock, normalized. */
struct timespec pshm__deadline_after(clockid_t clock, long ms);

/* len bytes that no one can guess easily: from /dev/urandom, else the
 * clock, the process id and a count, mixed.  For names, not for secrets. */
void pshm__random_bytes(void *buf, size_t len);

/* 0 if a file may grow to len bytes here, -EFBIG if RLIMIT_FSIZE forbids
 * it (the kernel would kill the process with SIGXFSZ). */
int pshm__file_size_allowed(size_t len);

/* Whether process pid exists now, as this process can tell: 1 yes (also
 * another user's), 0 no, -1 not known. */
int pshm__process_exists(pshm_pid_t pid);

/* This process's id, asked of the system once per process (forgotten in
 * fork children). */
pshm_pid_t pshm__self_pid(void);

/* The user this process acts as (its effective user id). */
pshm_uid_t pshm__effective_user(void);

/* A duplicate of fd, close-on-exec, or a negative code.  On Windows a
 * descriptor is a handle's value: handles keep to 32 bits, so that 32-bit
 * and 64-bit processes can share them. */
int pshm__dup_cloexec(int fd);

/* Let the programs this process starts from now inherit fd (clear
 * FD_CLOEXEC; on Windows, make the handle inheritable): 0 or a negative
 * code. */
int pshm__let_inherit(int fd);

/* Close fd, a descriptor (a handle on Windows) this library made or took. */
void pshm__close_descriptor(int fd);

/* ------------------------------------------------------------------------ */
/* Other processes (proc-linux.c reads /proc; proc-none.c cannot)          */

/* How many processes map the file (dev, ino); -1 when not known: a process
 * whose maps cannot be read, or processes this one cannot see at all. */
int pshm__count_mappers(dev_t dev, ino_t ino);

/* The PID namespace this process lives in; 0 where the system has none
 * (or it cannot be told). */
uint64_t pshm__pid_namespace(void);

/* The state letter ('R', 'S', 'Z'...) and start time (clock ticks since
 * boot) of process or thread id: 0, or -1 if they cannot be read. */
int pshm__task_stat(uint32_t id, char *state, unsigned long long *start);

/* ------------------------------------------------------------------------ */
/* Files held while attached (hold-flock.c; hold-none.c without flock)       */

/* Hold the file open on fd as attached (a shared lock of the open file
 * description: fork children and passed descriptors share it, the kernel
 * drops it with the last of them), waiting a moment while a cleaner holds
 * it exclusively: 0, 1 if it had to wait (the cleaner may have removed the
 * file's name meanwhile), -EWOULDBLOCK if an exclusive lock stayed, or
 * another negative code (-ENOTSUP where there are no such locks). */
int pshm__hold_shared(int fd);

/* Whether any descriptor holds the file open on fd (not fd's own open file
 * description) as attached: 0 nobody, and fd now holds the file
 * exclusively until it is closed, so that no attach starts meanwhile; 1
 * somebody; -1 not known (no such locks, a file system without them). */
int pshm__held_by_anyone(int fd);

/* ------------------------------------------------------------------------ */
/* File seals (seal-memfd.c; seal-none.c where the system has none)          */

/* Seals export_fd adds where the object takes them (a memfd). */
#define PSHM__SEAL_SHRINK 0x1u
#define PSHM__SEAL_GROW 0x2u

/* Add seals (PSHM__SEAL_*) to the object open on fd: 0, or -ENOTSUP where
 * it takes none (not a memfd, or no seals here). */
int pshm__seal(int fd, unsigned seals);

/* Whether the object open on fd is sealed against shrinking: 1, 0 (not, or
 * it cannot be), or a negative code (-EBADF). */
int pshm__sealed_against_shrinking(int fd);

/* ------------------------------------------------------------------------ */
/* Descriptors over Unix sockets (fdpass.c)                                  */

/* Send len bytes of msg and the descriptor fd over the Unix socket sock in
 * one message (SCM_RIGHTS), retrying EINTR, never raising SIGPIPE where the
 * system can say so: 0 or a negative code. */
int pshm__send_fd(int sock, const void *msg, size_t len, int fd);

/* Receive up to len bytes into buf and at most one descriptor (into *fd,
 * close-on-exec; -1 if none came; any more are closed), retrying EINTR:
 * the byte count (0 with no descriptor: the peer closed), or a negative
 * code (-EBADMSG, none kept, for a datagram longer than len, descriptors
 * that did not fit, or an empty datagram from a peer still there). */
ssize_t pshm__recv_fd(int sock, void *buf, size_t len, int *fd);

#endif /* PSHM_SYS_H */
