/*
 * test-orphans.c - what crashed programs leave behind, on every backend.
 * pshm_stat tells a segment in use from an orphan (creator dead, nobody
 * attached), a half-made one and a foreign object; pshm_remove_orphan
 * removes orphans and nothing else; and a creator SIGKILLed at any moment
 * of pshm_create never leaves a segment that attach takes for ready.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static pshm_attr_t attr_of(pshm_backend_t b)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	return attr;
}

struct job {
	pshm_backend_t backend;
	const char *name;
	size_t size;
	int fd; /* attach: told once attached, then read until released */
	int release_fd;
};

/* Reachable, so that valgrind sees no leak in a process that exits
 * attached on purpose (volatile: the store must happen). */
static pshm_t *volatile left_attached;

/* Create the segment and exit without detaching or destroying it. */
static int create_and_die(void *arg)
{
	const struct job *j = arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, j->backend);
	pshm_t *shm;
	if (pshm_create(&shm, j->name, j->size, &attr) != 0)
		return 1;
	left_attached = shm;
	return 0;
}

/* Attach the segment and stay attached until released. */
static int attach_and_wait(void *arg)
{
	const struct job *j = arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, j->backend);
	pshm_t *shm;
	if (pshm_attach(&shm, j->name, &attr) != 0)
		return 1;
	if (test_signal(j->fd) < 0 || test_await(j->release_fd) < 0)
		return 2;
	return pshm_detach(shm) == 0 ? 0 : 3;
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
	struct job j = {backend, name, 10000, -1, -1};
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
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(release[i]);
	}
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
	unsigned char zeros[HDR_SIZE * 2] = {0};
	unsigned char junk[HDR_SIZE * 2];
	memset(junk, 0xa5, sizeof(junk));
	cr_assert_eq(test_raw_create(backend, half, zeros, sizeof(zeros)), 0);
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
	struct job j = {b, name, (size_t)8 << 20, -1, -1};
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
		 * orphan.  It must at least be seen as half-made and unused. */
		cr_assert_eq(info.state, PSHM_STATE_HALF_MADE);
		cr_assert_eq(info.creator_pid, 0);
		cr_assert_neq(info.attached, 1);
		rc = pshm_remove(name, &attr);
	}
	cr_assert_eq(rc, 0, "cleaning up after %ld us: %s", delay_us, pshm_strerror(rc));
}

BACKEND_TEST(orphans, a_creator_killed_at_any_moment_leaves_nothing_attach_takes_for_ready)
{
	/* Each half-made leftover costs attach its 1 s wait for the creator:
	 * a dozen moments per backend, spread over the whole of a create. */
	srand((unsigned)getpid());
	for (int i = 0; i < 12; i++) {
		char name[PSHM_NAME_MAX + 1];
		test_name(name, "killed");
		kill_during_create(backend, name, rand() % 3000);
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
