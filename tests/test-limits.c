/*
 * test-limits.c - running out of room.  When the file system under a
 * segment cannot hold it, pshm_create says -ENOSPC at once, instead of the
 * process dying of SIGBUS on a first touch later (which is what
 * PSHM_NORESERVE, the opt-out, still risks: the test shows that too).
 *
 * The full file system is a 4 MiB tmpfs mounted, in a private mount
 * namespace of a child process, as the mmap directory and over /dev/shm:
 * nothing outside the child sees it, and it vanishes with the child.  Where
 * no mount namespace can be had (not root, no user namespaces), the test is
 * skipped and says why.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"

#define MIB ((size_t)1 << 20)
#define SKIPPED 77

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* A private mount namespace for this process: as root, or as the root of a
 * new user namespace. */
static int private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return -1;
		char map[64];
		snprintf(map, sizeof(map), "0 %ld 1", (long)uid);
		if (write_file("/proc/self/uid_map", map) < 0)
			return -1;
		write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "0 %ld 1", (long)gid);
		if (write_file("/proc/self/gid_map", map) < 0)
			return -1;
	}
	return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL); /* (no NULLs: valgrind) */
}

static int create_rc(pshm_backend_t b, const char *name, size_t size, unsigned flags, pshm_t **shm)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	pshm_attr_set_flags(&attr, flags);
	*shm = NULL;
	return pshm_create(shm, name, size, &attr);
}

/* Touch every page of shm; run in a child, which dies of SIGBUS if the
 * file system cannot back them. */
static int touch_all(void *arg)
{
	pshm_t *shm = arg;
	signal(SIGBUS, SIG_DFL);
	memset(pshm_addr(shm), 1, pshm_size(shm));
	return 0;
}

/* With 3 of 4 MiB in use, PSHM_PREFAULT turns the SIGBUS that a touch of an
 * unreserved 3 MiB segment would get into -ENOSPC at creation, and leaves no
 * name; pshm_prefault does the same for a segment made already. */
static int prefault_too_big(pshm_backend_t b)
{
	pshm_t *shm;
	if (!test_can_prefault())
		return 0; /* PSHM_PREFAULT is a hint that does nothing here */
	if (create_rc(b, "full-prefault", 3 * MIB, PSHM_NORESERVE | PSHM_PREFAULT, &shm) != -ENOSPC)
		return 17;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	if (pshm_attach(&shm, "full-prefault", &attr) != -ENOENT)
		return 18;
	if (create_rc(b, "full-later", 3 * MIB, PSHM_NORESERVE, &shm) != 0)
		return 19;
	int rc = pshm_prefault(shm, 0, pshm_size(shm));
	pshm_destroy(shm);
	return rc == -ENOSPC ? 0 : 19;
}

/* With 3 MiB of 4 in use by first: growing it to 5 MiB is -ENOSPC, not a
 * SIGBUS later, and leaves it as it was, for the processes that remap
 * too; within what is left it grows. */
static int grow_past_the_end(pshm_t *first)
{
	if (pshm_resize(first, 5 * MIB, 0) != -ENOSPC)
		return 20;
	pshm_t *again;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, pshm_backend(first));
	if (pshm_size(first) != 3 * MIB || pshm_remap(first) != 0 ||
	    pshm_attach(&again, pshm_name(first), &attr) != 0)
		return 21;
	size_t seen = pshm_size(again);
	pshm_detach(again);
	if (seen != 3 * MIB)
		return 22;
	if (pshm_resize(first, 3 * MIB + MIB / 2, 0) != 0 || pshm_resize(first, 3 * MIB, 0) != 0)
		return 23;
	return 0;
}

/*
 * In a 4 MiB file system: 16 MiB fails (more than it can ever hold), 3 MiB
 * fits, a second 3 MiB fails (more than is left) and leaves its name free
 * for a 512 KiB one,
 * and without the reservation the second 3 MiB is made but its pages
 * cannot all be touched.  Returns 0, or the number of the step that failed.
 */
static int fill_up(pshm_backend_t b)
{
	pshm_t *first, *second;
	if (create_rc(b, "full-big", 16 * MIB, 0, &second) != -ENOSPC)
		return 10;
	if (create_rc(b, "full-first", 3 * MIB, 0, &first) != 0)
		return 11;
	int grown = b == PSHM_BACKEND_SYSV ? 0 : grow_past_the_end(first);
	if (grown != 0)
		return grown;
	if (create_rc(b, "full-second", 3 * MIB, 0, &second) != -ENOSPC)
		return 12;
	if (create_rc(b, "full-second", MIB / 2, 0, &second) != 0)
		return 13; /* the failed attempt left the name free */
	pshm_destroy(second);
	if (create_rc(b, "full-sparse", 3 * MIB, PSHM_NORESERVE, &second) != 0)
		return 14;
	pid_t pid = test_fork(touch_all, second);
	int status = test_wait(pid);
	if (status != 128 + SIGBUS)
		return 15;
	/* Full to the last page: even an unreserved create is -ENOSPC (its
	 * header needs a page), not SIGBUS in pshm_create. */
	pshm_t *none;
	if (create_rc(b, "full-none", 3 * MIB, PSHM_NORESERVE, &none) != -ENOSPC)
		return 16;
	pshm_destroy(second);
	int step = prefault_too_big(b);
	pshm_destroy(first);
	return step;
}

static int in_small_tmpfs(void *arg)
{
	const char *dir = arg;
	if (private_mounts() < 0)
		return SKIPPED;
	if (mount("pshm-test", dir, "tmpfs", 0, "size=4m,mode=0700") < 0)
		return SKIPPED;
	if (setenv("PSHM_MMAP_DIR", dir, 1) < 0)
		return 2;
	int rc = fill_up(PSHM_BACKEND_MMAP);
	if (rc != 0)
		return rc;
	if (!pshm_backend_supported(PSHM_BACKEND_POSIX))
		return 0;
	if (access("/dev/shm", F_OK) < 0 ||
	    mount("pshm-test", "/dev/shm", "tmpfs", 0, "size=4m,mode=1777") < 0)
		return 0; /* shm_open's directory is elsewhere: mmap was enough */
	rc = fill_up(PSHM_BACKEND_POSIX);
	return rc == 0 ? 0 : rc + 100;
}

Test(limits, a_full_file_system_is_enospc_at_creation_not_sigbus_later, .timeout = 60)
{
	if (!pshm_backend_supported(PSHM_BACKEND_MMAP))
		cr_skip_test("the mmap backend is not built (it holds the small tmpfs)");
	char dir[] = "/tmp/pshm-full-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	pid_t pid = test_fork(in_small_tmpfs, dir);
	int status = test_wait(pid);
	rmdir(dir);
	if (status == SKIPPED)
		cr_skip_test("no private mount namespace here (needs root or user namespaces)");
	cr_assert_eq(status, 0, "step %d failed (mmap backend: the step; posix: 100 + the step)",
	             status);
}

BACKEND_TEST(limits, a_size_no_file_system_holds_fails_and_leaves_no_name)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "toolarge");
	pshm_t *shm;
	/* 1 TiB: more than this machine's tmpfs or SysV limits give, but a
	 * size that maps in a 64-bit address space. */
	size_t size = sizeof(size_t) >= 8 ? (size_t)1 << 40 : (size_t)1 << 30;
	int rc = create_rc(backend, name, size, 0, &shm);
	if (rc == 0) {
		pshm_destroy(shm);
		cr_skip_test("this machine can hold %zu bytes", size);
	}
	cr_assert(rc == -ENOSPC || rc == -ENOMEM || rc == -EFBIG, "%s", pshm_strerror(rc));
	cr_assert_null(shm);
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	cr_assert_eq(pshm_attach(&shm, name, &attr), -ENOENT, "a failed create left its name");
}

/* ------------------------------------------------------------------------ */
/* Limits of the process                                                    */

struct fsize_job {
	pshm_backend_t backend;
	const char *name; /* NULL: anonymous */
};

/* With files limited to 1 MiB, create 4 MiB: the code (as exit status: 0
 * made, 1 -EFBIG, 2 another code); a SIGXFSZ would kill the process. */
static int create_over_fsize(void *arg)
{
	const struct fsize_job *j = arg;
	struct rlimit lim = {MIB, MIB};
	if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
		return 3;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, j->backend);
	pshm_t *shm;
	int rc = pshm_create(&shm, j->name, 4 * MIB, &attr);
	if (rc == 0)
		pshm_destroy(shm);
	return rc == 0 ? 0 : rc == -EFBIG ? 1 : 2;
}

/* Files (POSIX and mmap segments, memfds too) are held to RLIMIT_FSIZE;
 * SysV and anonymous mmap segments are no files. */
BACKEND_TEST(limits, a_segment_over_the_file_size_limit_is_efbig_not_sigxfsz)
{
	if (backend == PSHM_BACKEND_SYSV && 4 * MIB + 256 > test_sysv_limit())
		cr_skip_test("SysV segments stop at %zu bytes here (SHMMAX)", test_sysv_limit());
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "fsize");
	const char *names[] = {name, NULL};
	for (int i = 0; i < 2; i++) {
		struct fsize_job j = {backend, names[i]};
		int status = test_wait(test_fork(create_over_fsize, &j));
		pshm_attr_t attr;
		test_attr(&attr, backend, 0);
		int left = names[i] != NULL ? pshm_remove(names[i], &attr) : -ENOENT;
		cr_expect_neq(status, 128 + SIGXFSZ, "%s: killed by SIGXFSZ", names[i] ? "named" : "anonymous");
		cr_expect(status == 0 || status == 1, "%s: exit %d", names[i] ? "named" : "anonymous", status);
		int file = backend == PSHM_BACKEND_POSIX || (backend == PSHM_BACKEND_MMAP && names[i]);
		if (file)
			cr_expect_eq(status, 1, "a file over RLIMIT_FSIZE was made");
		cr_expect_eq(left, -ENOENT, "a failed create left its name");
	}
}
