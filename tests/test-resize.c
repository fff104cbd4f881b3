/*
 * test-resize.c - segments that grow and shrink: every process sees the new
 * size after pshm_remap, with the old bytes kept and the new ones zero; an
 * exec'd process attaching later gets it too; resizers racing leave the
 * header and the file agreeing; a resizer that died holding the resize lock
 * does not wedge it; segments whose size is fixed say so.  (Managed
 * segments, whose heap grows with them: test-heapgrow.c.)
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define SMALL ((size_t)8192)
#define LARGE ((size_t)1 << 20)
#define WATCHERS 3
#define MARK "kept across sizes"

/* A named segment of backend, SMALL bytes with MARK; NULL where the
 * backend cannot resize (asserted: -ENOTSUP, for named and anonymous). */
static pshm_t *make_resizable(pshm_backend_t backend, char name[PSHM_NAME_MAX + 1])
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *anon, *shm;
	cr_assert_eq(pshm_create(&anon, NULL, SMALL, &attr), 0);
	cr_expect_eq(pshm_resize(anon, LARGE, 0), -ENOTSUP, "an anonymous segment");
	cr_expect_eq(pshm_remap(anon), 0);
	pshm_detach(anon);
	test_name(name, "resize");
	cr_assert_eq(pshm_create(&shm, name, SMALL, &attr), 0);
	strcpy(pshm_addr(shm), MARK);
	if (backend != PSHM_BACKEND_SYSV)
		return shm;
	cr_expect_eq(pshm_resize(shm, LARGE, 0), -ENOTSUP);
	cr_expect_eq(pshm_remap(shm), 0, "a SysV segment never changes");
	cr_expect_eq(pshm_size(shm), SMALL);
	cr_assert_eq(pshm_destroy(shm), 0);
	return NULL;
}

struct watch {
	pshm_backend_t backend;
	const char *name;
	size_t want;  /* the size the parent sets */
	int ready[2]; /* the watcher attached */
	int go[2];    /* the parent resized */
	int index;
};

/* A watcher: attach, wait for the resize, remap, check, write its index
 * near the new end.  Exit status: 0, or the step that failed. */
static int watch_resize(void *arg)
{
	struct watch *w = arg;
	pshm_attr_t attr;
	pshm_t *shm;
	if (pshm_attr_init(&attr) != 0 || pshm_attr_set_backend(&attr, w->backend) != 0 ||
	    pshm_attach(&shm, w->name, &attr) != 0)
		return 1;
	if (test_signal(w->ready[1]) < 0 || test_await(w->go[0]) < 0)
		return 2;
	if (pshm_size(shm) != SMALL)
		return 3; /* nothing changes before pshm_remap */
	if (pshm_remap(shm) != 1 || pshm_size(shm) != w->want)
		return 4;
	const char *data = pshm_addr(shm);
	if (strcmp(data, MARK) != 0)
		return 5;
	if (w->want > SMALL && !test_all_zero(data + SMALL, w->want - SMALL - WATCHERS))
		return 6;
	((char *)pshm_addr(shm))[w->want - 1 - (size_t)w->index] = (char)('a' + w->index);
	if (pshm_remap(shm) != 0)
		return 7; /* nothing new */
	return pshm_detach(shm) == 0 ? 0 : 8;
}

/* Start WATCHERS watchers of shm, resize it to want, let them check. */
static void resize_under_watch(pshm_t *shm, pshm_backend_t backend, size_t want)
{
	struct watch w = {.backend = backend, .name = pshm_name(shm), .want = want};
	cr_assert_eq(pipe(w.ready), 0);
	cr_assert_eq(pipe(w.go), 0);
	pid_t kids[WATCHERS];
	for (int k = 0; k < WATCHERS; k++) {
		w.index = k;
		kids[k] = test_fork(watch_resize, &w);
		cr_assert_eq(test_await(w.ready[0]), 0);
	}
	int rc = pshm_resize(shm, want, 0);
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	cr_expect_eq(pshm_size(shm), want);
	cr_expect_str_eq(pshm_addr(shm), MARK);
	for (int k = 0; k < WATCHERS; k++)
		cr_assert_eq(test_signal(w.go[1]), 0);
	for (int k = 0; k < WATCHERS; k++)
		cr_expect_eq(test_wait(kids[k]), 0, "watcher %d", k);
	const char *data = pshm_addr(shm);
	for (int k = 0; k < WATCHERS; k++)
		cr_expect_eq(data[want - 1 - (size_t)k], 'a' + k, "watcher %d's byte", k);
	int fds[] = {w.ready[0], w.ready[1], w.go[0], w.go[1]};
	for (size_t i = 0; i < 4; i++)
		close(fds[i]);
}

/* What an exec'd process attaching name now sees. */
static void helper_sees_size(pshm_backend_t backend, const char *name, size_t size)
{
	char out[128], want[64];
	const char *args[] = {pshm_backend_name(backend), name, "attach", NULL};
	cr_assert_eq(test_run_helper(args, out, sizeof(out)), 0, "%s", out);
	snprintf(want, sizeof(want), "attach=0 size=%zu\n", size);
	cr_expect_str_eq(out, want);
}

BACKEND_TEST(resize, a_segment_grows_and_shrinks_for_every_process_that_remaps)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_resizable(backend, name);
	if (shm == NULL)
		return;
	resize_under_watch(shm, backend, LARGE);
	helper_sees_size(backend, name, LARGE);
	cr_assert_eq(pshm_resize(shm, SMALL, 0), 0, "back to small");
	resize_under_watch(shm, backend, 5000);
	helper_sees_size(backend, name, 5000);
	cr_assert_eq(pshm_destroy(shm), 0);
}

#define RACERS 4
#define RESIZES 40

struct racer {
	const char *name;
	pshm_backend_t backend;
	unsigned seed;
};

/* A racer: resize the segment RESIZES times to sizes of its own, remapping
 * in between; touches nothing (another may shrink it meanwhile). */
static int resize_again_and_again(void *arg)
{
	const struct racer *r = arg;
	pshm_attr_t attr;
	pshm_t *shm;
	if (pshm_attr_init(&attr) != 0 || pshm_attr_set_backend(&attr, r->backend) != 0 ||
	    pshm_attach(&shm, r->name, &attr) != 0)
		return 1;
	unsigned seed = r->seed;
	for (int i = 0; i < RESIZES; i++) {
		size_t size = 4096 + (size_t)(rand_r(&seed) % 64) * 4096 + (size_t)r->seed;
		if (pshm_resize(shm, size, i % 2 ? PSHM_NORESERVE : 0) != 0)
			return 2;
		if (pshm_remap(shm) < 0)
			return 3;
	}
	return pshm_detach(shm) == 0 ? 0 : 4;
}

/* One resize at a time: whatever order racers run in, what the header says
 * the segment holds is there (a process attaching now touches every byte
 * without SIGBUS), and the size is the last one a racer set. */
BACKEND_TEST(resize, racing_resizers_leave_the_header_and_the_file_agreeing)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_resizable(backend, name);
	if (shm == NULL)
		return;
	struct racer r[RACERS];
	pid_t kids[RACERS];
	for (int k = 0; k < RACERS; k++) {
		r[k] = (struct racer){name, backend, (unsigned)k + 1};
		kids[k] = test_fork(resize_again_and_again, &r[k]);
	}
	for (int k = 0; k < RACERS; k++) {
		int status = test_wait(kids[k]);
		cr_expect_eq(status, 0, "racer %d: step %d (1: attach, 2: resize, 3: remap)", k, status);
	}
	cr_assert_eq(pshm_remap(shm), 1);
	size_t size = pshm_size(shm);
	cr_expect(size % 4096 >= 1 && size % 4096 <= RACERS, "%zu: a size no racer set", size);
	signal(SIGBUS, SIG_DFL);
	memset(pshm_addr(shm), 1, size); /* dies of SIGBUS if the file is shorter */
	cr_expect_str_neq(pshm_addr(shm), MARK);
	cr_assert_eq(pshm_destroy(shm), 0);
}

static int exit_at_once(void *arg)
{
	(void)arg;
	return 0;
}

BACKEND_TEST(resize, a_resizer_that_died_holding_the_lock_does_not_wedge_it)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_resizable(backend, name);
	if (shm == NULL)
		return;
	pid_t dead = test_fork(exit_at_once, NULL);
	cr_assert_eq(test_wait(dead), 0);
	test_forge_resizer(shm, dead);
	alarm(10); /* a hang is a failure, not a stuck suite */
	cr_assert_eq(pshm_resize(shm, LARGE, 0), 0);
	cr_assert_eq(pshm_resize(shm, SMALL, 0), 0, "and it was left free");
	alarm(0);
	cr_expect_str_eq(pshm_addr(shm), MARK);
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(resize, a_header_that_claims_more_than_the_file_is_not_mapped)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_resizable(backend, name);
	if (shm == NULL)
		return;
	uint64_t *usable = (uint64_t *)((char *)pshm_addr(shm) - HDR_SIZE + HDR_USABLE_SIZE);
	*usable = LARGE;
	cr_expect_eq(pshm_remap(shm), PSHM_ECORRUPT);
	cr_expect_eq(pshm_resize(shm, 2 * SMALL, 0), PSHM_ECORRUPT);
	cr_expect_eq(pshm_size(shm), SMALL, "the mapping is as it was");
	cr_expect_str_eq(pshm_addr(shm), MARK);
	*usable = SMALL;
	cr_expect_eq(pshm_remap(shm), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* Anybody who can open a segment's file can cut it: the next remap or
 * resize says so, and touches nothing past the file's end (SIGBUS). */
BACKEND_TEST(resize, a_file_cut_to_nothing_is_ecorrupt_not_a_crash)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_resizable(backend, name);
	if (shm == NULL)
		return;
	int fd = pshm_export_fd(shm, 0);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(ftruncate(fd, 0), 0);
	cr_expect_eq(pshm_remap(shm), PSHM_ECORRUPT);
	cr_expect_eq(pshm_resize(shm, 2 * SMALL, 0), PSHM_ECORRUPT);
	cr_expect_eq(pshm_size(shm), SMALL, "the mapping is as it was");
	cr_assert_eq(ftruncate(fd, st.st_size), 0);
	close(fd);
	cr_assert_eq(pshm_destroy(shm), 0);
}
