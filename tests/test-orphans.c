/*
 * test-orphans.c - what crashed programs leave behind, on every backend.
 * pshm_stat tells a segment in use from an orphan (creator dead, nobody
 * attached), a half-made one and a foreign object; pshm_remove_orphan
 * removes orphans and nothing else; and a creator SIGKILLed at any moment
 * of pshm_create never leaves a segment that attach takes for ready.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWPID */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"

static pshm_attr_t attr_of(pshm_backend_t b)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	return attr;
}

#define NOBODY 65534

struct job {
	pshm_backend_t backend;
	const char *name;
	size_t size;
	int fd; /* attach: told once attached, then read until released */
	int release_fd;
	int as_nobody;  /* the job's processes run as another user */
	int undumpable; /* the attacher hides its maps, as ssh-agent does */
};

/* attr for the job's backend, in a child (which must assert nothing). */
static pshm_attr_t job_attr(const struct job *j)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, j->backend);
	return attr;
}

/* Become the job's user: 0, or -1. */
static int become(const struct job *j)
{
	return j->as_nobody && (setgid(NOBODY) < 0 || setuid(NOBODY) < 0) ? -1 : 0;
}

/* Reachable, so that valgrind sees no leak in a process that exits
 * attached on purpose (volatile: the store must happen). */
static pshm_t *volatile left_attached;

/* Create the segment and exit without detaching or destroying it. */
static int create_and_die(void *arg)
{
	const struct job *j = arg;
	pshm_attr_t attr = job_attr(j);
	pshm_t *shm;
	if (become(j) < 0 || pshm_create(&shm, j->name, j->size, &attr) != 0)
		return 1;
	left_attached = shm;
	return 0;
}

/* Attach the segment and stay attached until released. */
static int attach_and_wait(void *arg)
{
	const struct job *j = arg;
	pshm_attr_t attr = job_attr(j);
	pshm_t *shm;
	if (become(j) < 0 || pshm_attach(&shm, j->name, &attr) != 0)
		return 1;
	if (j->undumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return 4;
	if (test_signal(j->fd) < 0 || test_await(j->release_fd) < 0)
		return 2;
	return pshm_detach(shm) == 0 ? 0 : 3;
}

/* Close the two pipes a test used to put its processes in step. */
static void close_pipes(const int ready[2], const int release[2])
{
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(release[i]);
	}
}

static pshm_info_t stat_ok(pshm_backend_t b, const char *name)
{
	pshm_attr_t attr = attr_of(b);
	pshm_info_t info;
	int rc = pshm_stat(name, &attr, &info);
	cr_assert_eq(rc, 0, "pshm_stat %s: %s", name, pshm_strerror(rc));
	cr_assert_eq(info.backend, b);
	return info;
}

BACKEND_TEST(orphans, a_segment_whose_creator_died_is_an_orphan_once_nobody_uses_it)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "orphan");
	struct job j = {backend, name, 10000, -1, -1, 0, 0};
	pid_t creator = test_fork(create_and_die, &j);
	cr_assert_eq(test_wait(creator), 0);

	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	j.fd = ready[1];
	j.release_fd = release[0];
	pid_t user = test_fork(attach_and_wait, &j);
	cr_assert_eq(test_await(ready[0]), 0, "the user could not attach");

	pshm_info_t info = stat_ok(backend, name);
	pshm_attr_t attr = attr_of(backend);
	cr_expect_eq(info.state, PSHM_STATE_READY);
	cr_expect_eq(info.size, 10000);
	cr_expect_geq(info.object_size, 10000);
	cr_expect_eq(info.owner, geteuid());
	cr_expect_eq(info.mode, 0600);
	cr_expect_eq(info.creator_pid, creator);
	cr_expect_eq(info.creator_alive, 0);
	cr_expect(info.attached == 1 || info.attached == -1, "attached %d", info.attached);
	cr_expect_eq(info.orphaned, 0, "a segment still attached is not an orphan");
	cr_expect_eq(pshm_remove_orphan(name, &attr), -EBUSY);

	cr_assert_eq(test_signal(release[1]), 0);
	cr_assert_eq(test_wait(user), 0);
	info = stat_ok(backend, name);
	if (info.attached == -1) {
		cr_assert_eq(pshm_remove(name, &attr), 0);
		cr_skip_test("this system cannot count the processes attached to a %s segment",
		             pshm_backend_name(backend));
	}
	cr_expect_eq(info.attached, 0);
	cr_expect_eq(info.orphaned, 1);
	cr_assert_eq(pshm_remove_orphan(name, &attr), 0);
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_attach(&shm, name, &attr), -ENOENT);
	close_pipes(ready, release);
}

/* The id a process records as creator is its own, in a fork child too
 * (libpshm keeps the id it asked once: the child must ask again). */
BACKEND_TEST(orphans, a_fork_child_is_the_creator_of_what_it_makes)
{
	char mine[PSHM_NAME_MAX + 1], childs[PSHM_NAME_MAX + 1];
	test_name(mine, "parent");
	test_name(childs, "child");
	pshm_attr_t attr = attr_of(backend);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, mine, 64, &attr), 0, "made before the fork");
	struct job j = {backend, childs, 64, -1, -1, 0, 0};
	pid_t child = test_fork(create_and_die, &j);
	cr_assert_eq(test_wait(child), 0);
	cr_expect_eq(stat_ok(backend, mine).creator_pid, getpid());
	cr_expect_eq(stat_ok(backend, childs).creator_pid, child, "the child is named as its parent");
	cr_assert_eq(pshm_remove(childs, &attr), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(orphans, a_segment_whose_creator_lives_is_in_use)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "alive");
	pshm_attr_t attr = attr_of(backend);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	pshm_info_t info = stat_ok(backend, name);
	cr_expect_eq(info.creator_pid, getpid());
	cr_expect_eq(info.creator_alive, 1);
	cr_expect(info.attached == 1 || info.attached == -1, "attached %d", info.attached);
	cr_expect_eq(info.orphaned, 0);
	cr_expect_eq(pshm_remove_orphan(name, &attr), -EBUSY);
	cr_assert_eq(pshm_destroy(shm), 0, "remove_orphan removed a segment in use");
}

BACKEND_TEST(orphans, half_made_and_foreign_objects_are_told_apart)
{
	char half[PSHM_NAME_MAX + 1], foreign[PSHM_NAME_MAX + 1];
	test_name(half, "half");
	test_name(foreign, "foreign");
	unsigned char junk[HDR_SIZE * 2];
	memset(junk, 0xa5, sizeof(junk));
	cr_assert_eq(test_raw_create(backend, half, NULL, test_page_size()), 0);
	cr_assert_eq(test_raw_create(backend, foreign, junk, sizeof(junk)), 0);
	pshm_attr_t attr = attr_of(backend);

	pshm_info_t info = stat_ok(backend, half);
	cr_expect_eq(info.state, PSHM_STATE_HALF_MADE);
	cr_expect_eq(info.size, 0);
	cr_expect_eq(info.creator_pid, 0, "nobody wrote a creator");
	cr_expect_eq(info.creator_alive, -1);
	cr_expect_eq(info.orphaned, 0, "too young to be called abandoned");
	cr_expect_eq(pshm_remove_orphan(half, &attr), -EBUSY);

	info = stat_ok(backend, foreign);
	cr_expect_eq(info.state, PSHM_STATE_FOREIGN);
	cr_expect_eq(info.orphaned, 0);
	cr_expect_eq(pshm_remove_orphan(foreign, &attr), -EPERM, "never remove what is not ours");

	cr_assert_eq(test_raw_remove(backend, half), 0);
	cr_assert_eq(test_raw_remove(backend, foreign), 0);
}

BACKEND_TEST(orphans, bad_input_gets_a_code)
{
	pshm_attr_t attr = attr_of(backend);
	pshm_info_t info;
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "missing");
	cr_expect_eq(pshm_stat(name, &attr, &info), -ENOENT);
	cr_expect_eq(pshm_remove_orphan(name, &attr), -ENOENT);
	cr_expect_eq(pshm_stat(name, &attr, NULL), -EINVAL);
	cr_expect_eq(pshm_stat(NULL, &attr, &info), -EINVAL);
	cr_expect_eq(pshm_stat("../x", &attr, &info), -EINVAL);
	cr_expect_eq(pshm_remove_orphan(NULL, &attr), -EINVAL);
	cr_expect_eq(pshm_remove_orphan("", &attr), -EINVAL);
	pshm_attr_t junk;
	memset(&junk, 0x5a, sizeof(junk));
	cr_expect_eq(pshm_stat(name, &junk, &info), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Killed in the middle of pshm_create                                      */

/* A creator killed after delay_us: whatever it left, attach never hands
 * back a segment that is not whole, and the leftovers can be cleaned. */
static void kill_during_create(pshm_backend_t b, const char *name, long delay_us)
{
	struct job j = {b, name, (size_t)8 << 20, -1, -1, 0, 0};
	pid_t pid = test_fork(create_and_die, &j);
	struct timespec nap = {0, delay_us * 1000};
	nanosleep(&nap, NULL);
	kill(pid, SIGKILL);
	test_wait(pid);

	pshm_attr_t attr = attr_of(b);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	cr_assert(rc == 0 || rc == -ENOENT || rc == PSHM_ENOTREADY, "attach after %ld us: %s",
	          delay_us, pshm_strerror(rc));
	if (rc == 0) {
		cr_assert_eq(pshm_size(shm), j.size, "a ready segment of the wrong size");
		cr_assert(test_all_zero(pshm_addr(shm), pshm_size(shm)));
		cr_assert_eq(pshm_detach(shm), 0);
	}
	if (rc == -ENOENT)
		return;
	pshm_info_t info = stat_ok(b, name);
	cr_assert_neq(info.state, PSHM_STATE_FOREIGN);
	rc = pshm_remove_orphan(name, &attr);
	if (rc == -EBUSY) {
		/* Killed before it could write its pid: only age makes it an
		 * orphan, and it must at least be seen as half-made and unused.
		 * Or this system hides some process from us: then nothing is
		 * known to be unused. */
		cr_assert(info.attached == -1 ||
		          (info.state == PSHM_STATE_HALF_MADE && info.creator_pid == 0));
		cr_assert_neq(info.attached, 1);
		rc = pshm_remove(name, &attr);
	}
	cr_assert_eq(rc, 0, "cleaning up after %ld us: %s", delay_us, pshm_strerror(rc));
}

BACKEND_TEST(orphans, a_creator_killed_at_any_moment_leaves_nothing_attach_takes_for_ready)
{
	/* Each half-made leftover costs attach its 1 s wait for the creator:
	 * a dozen moments per backend, spread over the whole of a create. */
	unsigned seed = (unsigned)getpid();
	for (int i = 0; i < 12; i++) {
		char name[PSHM_NAME_MAX + 1];
		test_name(name, "killed");
		kill_during_create(backend, name, rand_r(&seed) % 3000);
	}
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                  */

struct seen {
	const char *want[2];
	int found[2];
	int others;
};

static int note_name(const char *name, void *arg)
{
	struct seen *s = arg;
	for (int i = 0; i < 2; i++)
		if (strcmp(name, s->want[i]) == 0) {
			s->found[i]++;
			return 0;
		}
	s->others++;
	return 0;
}

static int stop_at_first(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return 42;
}

BACKEND_TEST(orphans, pshm_list_names_each_segment_once)
{
	char a[PSHM_NAME_MAX + 1], b[PSHM_NAME_MAX + 1];
	test_name(a, "list-a");
	test_name(b, "list-b");
	pshm_attr_t attr = attr_of(backend);
	pshm_t *sa, *sb;
	cr_assert_eq(pshm_create(&sa, a, 64, &attr), 0);
	cr_assert_eq(pshm_create(&sb, b, 64, &attr), 0);
	struct seen s = {{a, b}, {0, 0}, 0};
	int rc = pshm_list(&attr, note_name, &s);
	int stopped = pshm_list(&attr, stop_at_first, NULL);
	cr_assert_eq(pshm_destroy(sa), 0);
	struct seen after = {{a, b}, {0, 0}, 0};
	int rc_after = pshm_list(&attr, note_name, &after);
	cr_assert_eq(pshm_destroy(sb), 0);
	if (rc == -ENOTSUP)
		cr_skip_test("this system cannot list %s segments", pshm_backend_name(backend));
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	cr_expect_eq(s.found[0], 1);
	cr_expect_eq(s.found[1], 1);
	cr_expect_eq(stopped, 42, "fn's nonzero value stops the listing and is returned");
	cr_assert_eq(rc_after, 0);
	cr_expect_eq(after.found[0], 0, "a destroyed segment is still listed");
	cr_expect_eq(after.found[1], 1);
	cr_expect_eq(pshm_list(&attr, NULL, NULL), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Judgement errs towards "in use"                                          */

/* A pid that no process has now (a child that was reaped). */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	test_wait(pid);
	return pid;
}

/* Objects that begin as a half-made segment would (4 zero bytes) and are
 * not one: junk after them, or a size pshm_create never makes.  Their pid
 * field names a dead process, which would make a half-made segment an
 * orphan. */
BACKEND_TEST(orphans, what_merely_starts_like_a_half_made_segment_is_foreign_and_kept)
{
	size_t page = test_page_size();
	unsigned char *image = calloc(1, page);
	cr_assert_not_null(image);
	int64_t pid = dead_pid();
	memcpy(image + HDR_CREATOR_PID, &pid, sizeof(pid));
	memset(image + HDR_SIZE, 0x42, 64); /* somebody's data */
	const size_t sizes[] = {page, HDR_SIZE + 64, 100};
	pshm_attr_t attr = attr_of(backend);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[PSHM_NAME_MAX + 1];
		test_name(name, "lookalike");
		cr_assert_eq(test_raw_create(backend, name, image, sizes[i]), 0);
		pshm_info_t info;
		int rc = pshm_stat(name, &attr, &info);
		int removed = pshm_remove_orphan(name, &attr);
		int left = test_raw_remove(backend, name);
		cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
		cr_expect_eq(info.state, PSHM_STATE_FOREIGN, "%zu bytes: state %d", sizes[i], info.state);
		cr_expect_eq(info.orphaned, 0);
		cr_expect_eq(removed, -EPERM, "%zu bytes: %s", sizes[i], pshm_strerror(removed));
		cr_expect_eq(left, 0, "%zu bytes: the cleaner removed somebody else's object", sizes[i]);
	}
	free(image);
}

/* SysV keys are shared with every other program: pshm_remove of a name
 * whose key holds such a look-alike leaves it alone. */
Test(orphans, sysv_remove_leaves_a_lookalike_at_the_key)
{
	if (!pshm_backend_supported(PSHM_BACKEND_SYSV))
		cr_skip_test("no SysV here");
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "sysvlike");
	unsigned char image[HDR_SIZE + 64] = {0};
	memset(image + 8, 0x99, 32);
	cr_assert_eq(test_raw_create(PSHM_BACKEND_SYSV, name, image, sizeof(image)), 0);
	pshm_attr_t attr = attr_of(PSHM_BACKEND_SYSV);
	int rc = pshm_remove(name, &attr);
	int left = test_raw_remove(PSHM_BACKEND_SYSV, name);
	cr_assert_eq(rc, PSHM_ENOTPSHM, "%s", pshm_strerror(rc));
	cr_assert_eq(left, 0, "the foreign segment was removed");
}

/* ------------------------------------------------------------------------ */
/* Processes that cannot be inspected                                      */

/* The cleaner's view, in a child (exit 0: it kept the segment in use). */
static int clean_kept_it(const struct job *w)
{
	pshm_attr_t attr = job_attr(w);
	pshm_info_t info;
	int rc = pshm_stat(w->name, &attr, &info);
	if (rc == 0 && (info.orphaned || info.attached == 0))
		return 1;
	return pshm_remove_orphan(w->name, &attr) == -ENOENT ? 2 : 0;
}

static int cleaner_as(void *arg)
{
	const struct job *w = arg;
	return become(w) < 0 ? 9 : clean_kept_it(w);
}

/* Take every fd but spare, then run the cleaner: at every count of spare
 * fds, a call fails or keeps the segment; never "orphaned".  (The limit is
 * lowered to be quick; valgrind, which keeps fds of its own, may refuse.) */
static int cleaner_short_of_fds(void *arg)
{
	const struct job *w = arg;
	pshm_backend_supported(w->backend); /* probed while fds are free */
	struct rlimit lim = {64, 64};
	setrlimit(RLIMIT_NOFILE, &lim);
	if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur > 65536)
		return 9;
	int *fds = calloc(lim.rlim_cur, sizeof(int));
	if (fds == NULL)
		return 8;
	int failed = 0;
	for (int spare = 0; spare < 8 && !failed; spare++) {
		int n = 0;
		while ((rlim_t)n < lim.rlim_cur && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
			n++;
		for (int i = 0; i < spare && n > 0; i++)
			close(fds[--n]);
		pshm_attr_t attr = job_attr(w);
		pshm_info_t info;
		int rc = pshm_stat(w->name, &attr, &info);
		int removed = pshm_remove_orphan(w->name, &attr);
		while (n > 0)
			close(fds[--n]);
		if ((rc == 0 && info.orphaned) || removed == 0)
			failed = 10 + spare;
	}
	free(fds);
	return failed;
}

/* A segment whose creator died, attached by a live process; the cleaner
 * (cleaner_fn, in a child) must keep it. */
static void expect_kept(pshm_backend_t b, int as_nobody, int undumpable,
                        int (*cleaner_fn)(void *))
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "hidden");
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	struct job w = {b, name, 64, ready[1], release[0], as_nobody, undumpable};
	cr_assert_eq(test_wait(test_fork(create_and_die, &w)), 0);
	pid_t user = test_fork(attach_and_wait, &w);
	int attached = test_await(ready[0]);
	int kept = attached == 0 ? test_wait(test_fork(cleaner_fn, &w)) : -1;
	test_signal(release[1]);
	int user_status = test_wait(user);
	pshm_attr_t attr = attr_of(b);
	int removed = pshm_remove(name, &attr);
	close_pipes(ready, release);
	cr_assert_eq(attached, 0, "the user could not attach (%d)", user_status);
	cr_assert_eq(user_status, 0);
	if (kept == 30 || kept == 31)
		cr_skip_test("no PID or mount namespace here (%d)", kept);
	cr_assert_eq(kept, 0, "the cleaner judged a segment in use orphaned (%d)", kept);
	cr_assert_eq(removed, 0, "the segment in use was removed");
}

BACKEND_TEST(orphans, a_process_whose_maps_cannot_be_read_keeps_the_segment)
{
	if (backend == PSHM_BACKEND_SYSV)
		cr_skip_test("SysV counts attachments in the kernel");
	if (geteuid() != 0)
		cr_skip_test("needs root, to run the three processes as another user");
	expect_kept(backend, 1, 1, cleaner_as);
}

BACKEND_TEST(orphans, a_cleaner_out_of_fds_keeps_the_segment)
{
	if (backend == PSHM_BACKEND_SYSV)
		cr_skip_test("SysV counts attachments in the kernel");
	expect_kept(backend, 0, 0, cleaner_short_of_fds);
}

/* ------------------------------------------------------------------------ */
/* PID namespaces: a container sharing /dev/shm with the host               */

/* A pid that names no process in this (the host's) namespace now, high in
 * the range, so that the host is unlikely to hand it out meanwhile. */
static pid_t free_host_pid(void)
{
	long max = 32768;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f != NULL) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 32768;
		fclose(f);
	}
	for (pid_t pid = (pid_t)(max - 1000); pid > 300; pid--)
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return pid;
	return -1;
}

/* The process that becomes pid 1 of the new namespace: it makes the next
 * pid there pid, and forks the creator, which detaches and stays alive
 * until released. */
struct contained {
	struct job w;
	pid_t pid;
};

static int creator_in_namespace(void *arg)
{
	const struct contained *c = arg;
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");
	if (f == NULL || fprintf(f, "%ld", (long)c->pid - 1) < 0 || fclose(f) != 0)
		return 20;
	pid_t creator = fork();
	if (creator == 0) {
		int rc = create_and_die((void *)&c->w);
		if (rc == 0 && pshm_detach(left_attached) == 0 && test_signal(c->w.fd) == 0)
			test_await(c->w.release_fd);
		_exit(rc);
	}
	return creator == c->pid ? test_wait(creator) : 21;
}

static int enter_new_namespace(void *arg)
{
	if (unshare(CLONE_NEWPID) < 0)
		return 30;
	return test_wait(test_fork(creator_in_namespace, arg));
}

/* The creator lives in another PID namespace, where its pid means another
 * process than it does here (here: none).  The host's cleaner must not
 * call it dead. */
BACKEND_TEST(orphans, a_creator_in_another_pid_namespace_is_not_judged_dead)
{
#if !PSHM_HAVE_PROC
	cr_skip_test("built without /proc, as for macOS and the BSDs: no PID namespaces to tell");
#endif
	if (geteuid() != 0)
		cr_skip_test("needs root, to make a PID namespace");
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "container");
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	struct contained c = {{backend, name, 64, ready[1], release[0], 0, 0}, free_host_pid()};
	cr_assert_gt(c.pid, 0);
	pid_t outer = test_fork(enter_new_namespace, &c);
	int created = test_await(ready[0]);
	pshm_attr_t attr = attr_of(backend);
	pshm_info_t info;
	int rc = created == 0 ? pshm_stat(name, &attr, &info) : -1;
	int removed = created == 0 ? pshm_remove_orphan(name, &attr) : -1;
	test_signal(release[1]);
	int status = test_wait(outer);
	pshm_remove(name, &attr);
	close_pipes(ready, release);
	if (status == 30 || status == 20)
		cr_skip_test("no PID namespace here (%d)", status);
	cr_assert_eq(created, 0, "the contained creator failed (%d)", status);
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	cr_expect_eq(info.creator_pid, c.pid);
	cr_expect_eq(info.creator_alive, -1, "alive or dead cannot be told from here");
	cr_expect_eq(info.orphaned, 0);
	cr_expect_eq(removed, -EBUSY, "the segment of a live creator was removed");
}

/* Pid 1 of a new PID and mount namespace: the namespace's own /proc over
 * the host's, as a container has it.  0, or -1. */
static int mount_own_proc(void)
{
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) /* (no NULLs: valgrind) */
		return -1;
	return mount("proc", "/proc", "proc", 0, NULL);
}

/* A cleaner in a container: pid 1 of a new PID namespace, with its own
 * /proc, sharing /dev/shm (and SysV) with the host.  Exit 0 if it kept
 * the segment. */
static int clean_from_container(void *arg)
{
	return mount_own_proc() < 0 ? 31 : clean_kept_it(arg);
}

static int enter_container(void *arg)
{
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		return 30;
	return test_wait(test_fork(clean_from_container, arg));
}

/* The creator died on the host and a host process has the segment mapped:
 * a cleaner in the container sees neither, and must keep it. */
BACKEND_TEST(orphans, a_cleaner_in_a_container_keeps_what_the_host_uses)
{
	if (geteuid() != 0)
		cr_skip_test("needs root, to make PID and mount namespaces");
	expect_kept(backend, 0, 0, enter_container);
}

/* ------------------------------------------------------------------------ */
/* Where /proc cannot tell: every handle holds its file (flock)             */

/* The cleaner, as the job's user: exit 0 if it removed the segment, else
 * the negated code of pshm_remove_orphan (8 if it could not become). */
static int remove_orphan_as(void *arg)
{
	const struct job *j = arg;
	pshm_attr_t attr = job_attr(j);
	return become(j) < 0 ? 8 : -pshm_remove_orphan(j->name, &attr) & 0xff;
}

/* Whether anybody holds the file of segment name as attached, asked as
 * the cleaner asks (a non-blocking exclusive flock): 1 held, 0 not. */
static int held(pshm_backend_t b, const char *name)
{
	char path[PATH_MAX];
	test_raw_path(path, b, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	cr_assert_geq(fd, 0, "%s", path);
	int rc = flock(fd, LOCK_EX | LOCK_NB);
	int err = errno;
	close(fd);
	cr_assert(rc == 0 || err == EWOULDBLOCK, "flock: %s", strerror(err));
	return rc != 0;
}

static int exit_attached(void *arg)
{
	(void)arg;
	pause(); /* until SIGKILL: the kernel lets go of what it held */
	return 0;
}

/* Each handle holds its file from create or attach to detach; a fork
 * child's copy holds it too, until the child dies, even by SIGKILL. */
BACKEND_TEST(orphans, a_handle_holds_its_file_until_its_last_copy_is_gone)
{
#if !HAVE_FLOCK
	cr_skip_test("built without flock");
#endif
	if (backend == PSHM_BACKEND_SYSV)
		cr_skip_test("SysV counts attachments in the kernel");
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "held");
	pshm_attr_t attr = attr_of(backend);
	pshm_t *shm, *other;
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_expect_eq(held(backend, name), 1, "by its creator");
	cr_assert_eq(pshm_attach(&other, name, &attr), 0);
	cr_assert_eq(pshm_detach(shm), 0);
	cr_expect_eq(held(backend, name), 1, "by the other handle");
	pid_t child = test_fork(exit_attached, NULL);
	cr_assert_eq(pshm_detach(other), 0);
	cr_expect_eq(held(backend, name), 1, "by the fork child's copy");
	kill(child, SIGKILL);
	cr_assert_eq(test_wait(child), 128 + SIGKILL);
	cr_expect_eq(held(backend, name), 0, "after its last holder was killed");
	cr_assert_eq(pshm_remove(name, &attr), 0);
}

/* A cleaner that reads no other process's maps (another user's, as
 * "nobody") still knows that nobody has the orphan attached. */
BACKEND_TEST(orphans, a_cleaner_that_cannot_read_maps_removes_an_orphan)
{
	if (backend == PSHM_BACKEND_SYSV)
		cr_skip_test("SysV counts attachments in the kernel");
	if (geteuid() != 0)
		cr_skip_test("needs root, to run the creator and the cleaner as another user");
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "unreadable");
	struct job j = {backend, name, 64, -1, -1, 1, 0};
	cr_assert_eq(test_wait(test_fork(create_and_die, &j)), 0);
	int removed = test_wait(test_fork(remove_orphan_as, &j));
	pshm_attr_t attr = attr_of(backend);
	int left = pshm_remove(name, &attr);
	cr_assert_eq(removed, 0, "the orphan was kept (%d)", removed);
	cr_assert_eq(left, -ENOENT, "the orphan is still there");
}

/* In a container (pid 1 of a new PID namespace, its own /proc, /dev/shm
 * shared): a creator there dies, leaving one segment nobody uses and one
 * that another process there keeps attached.  Exit 0 if the cleaner there
 * removed the first and kept the second. */
struct two_jobs {
	struct job orphan, used;
	int attached_fd; /* read: the user in the container attached */
	int release_fd;  /* written: the user may go */
};

static int judge_two(const struct two_jobs *t)
{
	pshm_attr_t attr = job_attr(&t->orphan);
	pshm_info_t info;
	if (pshm_stat(t->orphan.name, &attr, &info) != 0 || info.attached != 0 || !info.orphaned)
		return 34;
	if (pshm_stat(t->used.name, &attr, &info) != 0 || info.attached == 0 || info.orphaned)
		return 35;
	if (pshm_remove_orphan(t->orphan.name, &attr) != 0)
		return 36;
	return pshm_remove_orphan(t->used.name, &attr) == -EBUSY ? 0 : 37;
}

static int clean_two_in_container(void *arg)
{
	const struct two_jobs *t = arg;
	if (mount_own_proc() < 0)
		return 31;
	if (test_wait(test_fork(create_and_die, (void *)&t->orphan)) != 0 ||
	    test_wait(test_fork(create_and_die, (void *)&t->used)) != 0)
		return 32;
	pid_t user = test_fork(attach_and_wait, (void *)&t->used);
	int rc = test_await(t->attached_fd) == 0 ? judge_two(t) : 33;
	test_signal(t->release_fd);
	return test_wait(user) == 0 ? rc : 38;
}

static int enter_container_with_two(void *arg)
{
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		return 30;
	return test_wait(test_fork(clean_two_in_container, arg));
}

BACKEND_TEST(orphans, a_cleaner_in_a_container_removes_its_orphans_and_keeps_what_is_used)
{
	if (backend == PSHM_BACKEND_SYSV)
		cr_skip_test("SysV counts attachments in the kernel");
	if (geteuid() != 0)
		cr_skip_test("needs root, to make PID and mount namespaces");
	char orphan[PSHM_NAME_MAX + 1], used[PSHM_NAME_MAX + 1];
	test_name(orphan, "ctr-orphan");
	test_name(used, "ctr-used");
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	struct two_jobs t = {{backend, orphan, 64, -1, -1, 0, 0},
	                     {backend, used, 64, ready[1], release[0], 0, 0},
	                     ready[0], release[1]};
	int status = test_wait(test_fork(enter_container_with_two, &t));
	pshm_attr_t attr = attr_of(backend);
	int orphan_left = pshm_remove(orphan, &attr), used_left = pshm_remove(used, &attr);
	close_pipes(ready, release);
	if (status == 30 || status == 31)
		cr_skip_test("no PID or mount namespace here (%d)", status);
	cr_assert_eq(status, 0, "the cleaner in the container judged wrong (%d)", status);
	cr_expect_eq(orphan_left, -ENOENT, "the orphan was left");
	cr_expect_eq(used_left, 0, "the segment in use was removed");
}

/* ------------------------------------------------------------------------ */
/* The object judged is the object removed                                  */

/* The helper's clean-racing role replaces the orphan with a new segment of
 * its own, in use, at the moment the cleaner asks whether the orphan's
 * creator lives: after the judgement, before the removal. */
BACKEND_TEST(orphans, a_segment_made_anew_while_the_cleaner_judges_the_old_one_survives)
{
	char name[PSHM_NAME_MAX + 1], out[128];
	test_name(name, "remade");
	struct job j = {backend, name, 64, -1, -1, 0, 0};
	cr_assert_eq(test_wait(test_fork(create_and_die, &j)), 0);
	const char *args[] = {pshm_backend_name(backend), name, "clean-racing", NULL};
	int status = test_run_helper(args, out, sizeof(out));
	pshm_attr_t attr = attr_of(backend);
	pshm_remove(name, &attr);
	cr_assert_eq(status, 0, "helper: %s", out);
	cr_assert(strstr(out, "swapped=1") != NULL, "the race did not happen: %s", out);
	cr_assert(strstr(out, "new=kept") != NULL, "the new segment was removed: %s", out);
}
