/*
 * test-hostile.c - what any local user can plant at a POSIX or mmap
 * segment's name (lib/backend/fd-segment.c): a FIFO, a socket, a directory, a
 * symbolic link, a huge sparse file, a file that another process keeps
 * truncating; and at a SysV name's key, somebody else's segment.  None may
 * block, crash or mislead libpshm: each is a foreign object that pshm_stat
 * describes, pshm_list names, pshm_attach refuses with PSHM_ENOTPSHM and
 * pshm_remove_orphan never removes.  Nor may an exclusive flock held for
 * ever on a segment's file block an attach.
 *
 * Every call that could block runs in a child with an alarm, so that a
 * hang is a failure, not a suite that never ends.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* The fd-based backends, where names are files anyone can plant. */
static int is_file_backend(pshm_backend_t b)
{
	return b == PSHM_BACKEND_POSIX || b == PSHM_BACKEND_MMAP;
}

static int plant_fifo(const char *path)
{
	return mkfifo(path, 0666);
}

static int plant_directory(const char *path)
{
	return mkdir(path, 0700);
}

static int plant_symlink(const char *path)
{
	return symlink("/etc/passwd", path);
}

static int plant_socket(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int rc = fd < 0 ? -1 : bind(fd, (const struct sockaddr *)&addr, sizeof(addr));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A 200 TiB file of somebody's, nearly all hole: mapping it whole to read
 * its first bytes fails (-ENOMEM), reading them does not. */
static int plant_sparse(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	static const char data[] = "somebody else's data";
	int rc = write(fd, data, sizeof(data)) == (ssize_t)sizeof(data) ? 0 : -1;
	if (rc == 0)
		rc = ftruncate(fd, (off_t)200 << 40);
	close(fd);
	return rc;
}

struct plant {
	const char *what;
	int (*make)(const char *path);
	int unremovable_by_unlink; /* a directory */
};

static const struct plant plants[] = {
    {"a FIFO", plant_fifo, 0},           {"a directory", plant_directory, 1},
    {"a symbolic link", plant_symlink, 0}, {"a socket", plant_socket, 0},
    {"a 200 TiB sparse file", plant_sparse, 0},
};

struct probe {
	pshm_backend_t backend;
	const char *name;
};

/* In a child: every call on the planted object, each with its expected
 * answer; exit status 0, or the number of the call that was wrong. */
static int probe_object(void *arg)
{
	const struct probe *p = arg;
	alarm(10); /* a call that blocks fails the test, not the suite */
	pshm_attr_t attr, ro;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, p->backend);
	ro = attr;
	pshm_attr_set_flags(&ro, PSHM_RDONLY);
	pshm_info_t info;
	pshm_t *shm = NULL;
	if (pshm_stat(p->name, &attr, &info) != 0 || info.state != PSHM_STATE_FOREIGN ||
	    info.orphaned != 0)
		return 1;
	if (pshm_attach(&shm, p->name, &attr) != PSHM_ENOTPSHM || shm != NULL)
		return 2;
	if (pshm_attach(&shm, p->name, &ro) != PSHM_ENOTPSHM || shm != NULL)
		return 3;
	if (pshm_remove_orphan(p->name, &attr) != -EPERM)
		return 4;
	int made = pshm_create(&shm, p->name, 64, &attr); /* SysV: the key holds a foreign one */
	if (made != -EEXIST && made != PSHM_ENOTPSHM)
		return 5;
	return 0;
}

BACKEND_TEST(hostile, an_object_planted_at_the_name_is_foreign_and_never_blocks)
{
	if (!is_file_backend(backend))
		cr_skip_test("SysV names are keys, not files: see the next test");
	if (backend == PSHM_BACKEND_POSIX && access("/dev/shm", W_OK) != 0)
		cr_skip_test("no /dev/shm to plant in");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	for (size_t i = 0; i < sizeof(plants) / sizeof(plants[0]); i++) {
		char name[PSHM_NAME_MAX + 1], path[PATH_MAX];
		test_name(name, "planted");
		test_raw_path(path, backend, name);
		cr_assert_eq(plants[i].make(path), 0, "planting %s: %s", plants[i].what, strerror(errno));
		struct probe p = {backend, name};
		int status = test_wait(test_fork(probe_object, &p));
		int listed = test_times_listed(&attr, name);
		struct stat st;
		int still_there = lstat(path, &st) == 0;
		if (plants[i].unremovable_by_unlink)
			rmdir(path);
		else
			unlink(path);
		cr_expect_eq(status, 0, "%s: %s (%d)", plants[i].what,
		             status == 128 + SIGALRM ? "a call blocked" : "call number in probe_object",
		             status);
		cr_expect_eq(listed, 1, "%s is not listed", plants[i].what);
		cr_expect(still_there, "%s was removed", plants[i].what);
	}
}

/* SysV's names are keys that any program may take: a segment of one byte,
 * or a page of somebody's data, at a name's key. */
Test(hostile, a_foreign_sysv_segment_at_the_key_is_foreign_and_kept)
{
	if (!pshm_backend_supported(PSHM_BACKEND_SYSV))
		cr_skip_test("no SysV here");
	static unsigned char junk[65536];
	memset(junk, 0x6b, sizeof(junk));
	const size_t sizes[] = {1, test_page_size()};
	for (size_t i = 0; i < 2; i++) {
		char name[PSHM_NAME_MAX + 1];
		test_name(name, "sysvjunk");
		cr_assert_eq(test_raw_create(PSHM_BACKEND_SYSV, name, junk, sizes[i]), 0);
		struct probe p = {PSHM_BACKEND_SYSV, name};
		int status = test_wait(test_fork(probe_object, &p));
		int left = test_raw_remove(PSHM_BACKEND_SYSV, name);
		cr_expect_eq(status, 0, "%zu bytes: call %d in probe_object", sizes[i], status);
		cr_expect_eq(left, 0, "%zu bytes: the foreign segment was removed", sizes[i]);
	}
}

BACKEND_TEST(hostile, a_socket_gets_a_code_pshm_strerror_knows)
{
	if (!is_file_backend(backend))
		cr_skip_test("SysV names are keys, not files");
	char name[PSHM_NAME_MAX + 1], path[PATH_MAX];
	test_name(name, "socket");
	test_raw_path(path, backend, name);
	cr_assert_eq(plant_socket(path), 0);
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	unlink(path);
	cr_assert_neq(strcmp(pshm_strerror(rc), "Unknown error"), 0, "code %d", rc);
}

/* ------------------------------------------------------------------------ */
/* A file that shrinks while it is read                                     */

struct shrinker {
	pshm_backend_t backend;
	const char *name;
	int stop_fd;
};

/* Until told to stop, cut the segment's file to nothing and grow it back,
 * as another process of the same user may. */
static int keep_truncating(void *arg)
{
	const struct shrinker *s = arg;
	char path[PATH_MAX];
	test_raw_path(path, s->backend, s->name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	struct stat st;
	size_t len = fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
	unsigned char *image = len > 0 ? calloc(1, len) : NULL;
	int rc = image == NULL || pread(fd, image, len, 0) != (ssize_t)len;
	fcntl(s->stop_fd, F_SETFL, O_NONBLOCK);
	char byte;
	while (rc == 0 && read(s->stop_fd, &byte, 1) < 0) {
		if (ftruncate(fd, 0) < 0 || pwrite(fd, image, len, 0) != (ssize_t)len)
			rc = 2;
	}
	free(image);
	close(fd);
	return rc;
}

/* In a child, for a second: stat and attach the segment over and over.
 * Exit status 0; a SIGBUS is the defect. */
static int read_while_it_shrinks(void *arg)
{
	const struct shrinker *s = arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, s->backend);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		pshm_info_t info;
		pshm_stat(s->name, &attr, &info);
		pshm_t *shm = NULL;
		if (pshm_attach(&shm, s->name, &attr) == 0)
			pshm_detach(shm); /* attached: it was whole when checked */
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 1);
	return 0;
}

BACKEND_TEST(hostile, a_file_that_shrinks_while_read_never_raises_sigbus)
{
	if (!is_file_backend(backend))
		cr_skip_test("a SysV segment cannot shrink");
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "shrinks");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(pshm_detach(shm), 0);
	int stop[2];
	cr_assert_eq(pipe(stop), 0);
	struct shrinker s = {backend, name, stop[0]};
	pid_t cutter = test_fork(keep_truncating, &s);
	int reader = test_wait(test_fork(read_while_it_shrinks, &s));
	cr_assert_eq(test_signal(stop[1]), 0);
	int cut = test_wait(cutter);
	close(stop[0]);
	close(stop[1]);
	cr_assert_eq(pshm_remove(name, &attr), 0);
	cr_assert_eq(cut, 0, "the truncating process failed");
	cr_assert_eq(reader, 0, "the reader died: %s",
	             reader == 128 + SIGBUS ? "SIGBUS" : "exit status in the log");
}

/* A child attaching name of backend b (SIGALRM ends one that never
 * returns): exit 0 if it attached. */
struct attacher {
	pshm_backend_t backend;
	const char *name;
};

static int attach_in_time(void *arg)
{
	const struct attacher *a = arg;
	alarm(10);
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, a->backend);
	pshm_t *shm;
	return pshm_attach(&shm, a->name, &attr) == 0 && pshm_detach(shm) == 0 ? 0 : 1;
}

/* Whoever can open a segment's file can hold an exclusive flock on it for
 * ever: an attacher waits a moment for it (a cleaner's), then attaches. */
BACKEND_TEST(hostile, an_exclusive_flock_held_for_ever_never_blocks_attach)
{
#if !HAVE_FLOCK
	cr_skip_test("built without flock");
#endif
	if (!is_file_backend(backend))
		cr_skip_test("SysV segments have no file to lock");
	char name[PSHM_NAME_MAX + 1], path[PATH_MAX];
	test_name(name, "exlock");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(pshm_detach(shm), 0); /* nobody holds it now */
	test_raw_path(path, backend, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "a reader can lock it exclusively");
	struct attacher a = {backend, name};
	int status = test_wait(test_fork(attach_in_time, &a));
	close(fd);
	cr_assert_eq(pshm_remove(name, &attr), 0);
	cr_assert_eq(status, 0, "the attacher %s", status == 128 + SIGALRM ? "blocked" : "failed");
}
