/*
 * test-open.c - pshm_open (attach or create, atomically) and
 * pshm_create_unique, on every backend: processes racing for one name get
 * one segment and exactly one creates it, managed ones included; an
 * existing segment is attached as it is; unique names are new each time
 * and reach the segment; and the bad cases.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define RACERS 8
#define ROUNDS 5

/* A racer: waits for the word, opens the name, counts itself in the
 * segment.  Exit status: what pshm_open returned (1 created, 0 found), or
 * 10 + why it failed. */
struct race {
	pshm_backend_t backend;
	unsigned flags;
	char name[PSHM_NAME_MAX + 1];
	int go[2];
};

static int open_and_count(void *arg)
{
	const struct race *r = arg;
	pshm_attr_t attr;
	char byte;
	close(r->go[1]);
	if (read(r->go[0], &byte, 1) != 0 || pshm_attr_init(&attr) != 0 || /* end of file: go */
	    pshm_attr_set_backend(&attr, r->backend) != 0 || pshm_attr_set_flags(&attr, r->flags) != 0)
		return 10;
	pshm_t *shm;
	int rc = pshm_open(&shm, r->name, 16384, &attr);
	if (rc < 0) {
		fprintf(stderr, "racer %d: pshm_open: %s\n", (int)getpid(), pshm_strerror(rc));
		return 11;
	}
	if (r->flags & PSHM_MANAGED) {
		pshm_off_t off;
		if (pshm_alloc(shm, 100, &off) != 0)
			return 12;
	} else {
		atomic_fetch_add((_Atomic uint64_t *)pshm_addr(shm), 1);
	}
	pshm_detach(shm);
	return rc;
}

/* One round: RACERS processes open r's name at once; the segment, kept. */
static pshm_t *race_once(struct race *r)
{
	cr_assert_eq(pipe(r->go), 0);
	pid_t kids[RACERS];
	for (int k = 0; k < RACERS; k++)
		kids[k] = test_fork(open_and_count, r);
	close(r->go[0]);
	close(r->go[1]); /* every racer reads end of file at once: go */
	int created = 0;
	for (int k = 0; k < RACERS; k++) {
		int status = test_wait(kids[k]);
		cr_assert(status == 0 || status == 1, "racer %d: %d", k, status);
		created += status;
	}
	cr_expect_eq(created, 1, "%s: %d racers created it", r->name, created);
	pshm_attr_t attr;
	test_attr(&attr, r->backend, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_attach(&shm, r->name, &attr), 0);
	return shm;
}

BACKEND_TEST(open, processes_racing_for_a_name_get_one_segment_and_one_creates_it)
{
	for (int round = 0; round < ROUNDS; round++) {
		struct race r = {.backend = backend};
		test_name(r.name, "open");
		pshm_t *shm = race_once(&r);
		cr_expect_eq(*(uint64_t *)pshm_addr(shm), RACERS, "all of them in one segment");
		cr_assert_eq(pshm_destroy(shm), 0);
	}
}

BACKEND_TEST(open, racers_for_a_managed_segment_all_find_its_heap)
{
	struct race r = {.backend = backend, .flags = PSHM_MANAGED};
	test_name(r.name, "openheap");
	pshm_t *shm = race_once(&r);
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_expect_eq(info.blocks, RACERS, "one heap, made once: every racer's block in it");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(open, an_existing_segment_is_attached_as_it_is)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "openold");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *made, *opened;
	cr_assert_eq(pshm_create(&made, name, 8192, &attr), 0);
	strcpy(pshm_addr(made), "made first");
	cr_assert_eq(pshm_open(&opened, name, 100, &attr), 0, "found, not created");
	cr_expect_eq(pshm_size(opened), 8192, "its own size, not the one asked");
	cr_expect_str_eq(pshm_addr(opened), "made first");
	pshm_detach(opened);
	cr_assert_eq(pshm_destroy(made), 0);
	cr_assert_eq(pshm_open(&opened, name, 100, &attr), 1, "gone: made anew");
	cr_expect_eq(pshm_size(opened), 100);
	cr_assert_eq(pshm_destroy(opened), 0);
}

/* PSHM_GLOBAL names Windows' namespace of every session; elsewhere there is
 * one namespace, and the flag changes nothing. */
BACKEND_TEST(open, the_global_flag_changes_nothing_where_names_are_system_wide)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "global");
	pshm_attr_t global, plain;
	test_attr(&global, backend, PSHM_GLOBAL);
	test_attr(&plain, backend, 0);
	pshm_t *made, *found;
	cr_assert_eq(pshm_create(&made, name, 64, &global), 0);
	cr_assert_eq(pshm_attach(&found, name, &plain), 0, "the same name without the flag");
	pshm_info_t info;
	cr_expect_eq(pshm_stat(name, &global, &info), 0);
	cr_expect_eq(info.state, PSHM_STATE_READY);
	cr_assert_eq(pshm_detach(found), 0);
	cr_assert_eq(pshm_open(&found, name, 64, &global), 0, "found, not created");
	cr_assert_eq(pshm_detach(found), 0);
	cr_assert_eq(pshm_destroy(made), 0);
}

Test(open, flags_only_attach_takes_and_bad_arguments_are_einval)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "openbad");
	pshm_attr_t attr;
	pshm_t *shm;
	test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_RDONLY);
	cr_expect_eq(pshm_open(&shm, name, 64, &attr), -EINVAL);
	test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_ANY_OWNER);
	cr_expect_eq(pshm_open(&shm, name, 64, &attr), -EINVAL);
	cr_expect_eq(pshm_open(&shm, name, 0, NULL), -EINVAL);
	cr_expect_eq(pshm_open(NULL, name, 64, NULL), -EINVAL);
	cr_expect_eq(pshm_open(&shm, "a/b", 64, NULL), -EINVAL);
	cr_expect_eq(pshm_open(&shm, NULL, 64, NULL), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Unique names                                                             */

#define UNIQUES 50

BACKEND_TEST(unique, every_name_is_new_and_leads_to_its_segment)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	static pshm_t *made[UNIQUES];
	const char *prefix = TEST_NAME_PREFIX "u";
	for (int i = 0; i < UNIQUES; i++) {
		cr_assert_eq(pshm_create_unique(&made[i], prefix, 64, &attr), 0);
		const char *name = pshm_name(made[i]);
		cr_assert_not_null(name);
		cr_expect_eq(strlen(name), strlen(prefix) + 13, "%s", name);
		cr_expect_eq(strncmp(name, prefix, strlen(prefix)), 0, "%s", name);
		cr_expect_eq(name[strlen(prefix)], '-', "%s", name);
		*(int *)pshm_addr(made[i]) = i;
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(name, pshm_name(made[j]), "a name given twice");
	}
	for (int i = 0; i < UNIQUES; i++) {
		pshm_t *found;
		cr_assert_eq(pshm_attach(&found, pshm_name(made[i]), &attr), 0);
		cr_expect_eq(*(int *)pshm_addr(found), i);
		pshm_detach(found);
		cr_assert_eq(pshm_destroy(made[i]), 0);
	}
}

Test(unique, the_prefix_is_checked_and_has_a_default)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create_unique(&shm, NULL, 64, NULL), 0);
	cr_expect_eq(strncmp(pshm_name(shm), "pshm-", 5), 0, "%s", pshm_name(shm));
	cr_assert_eq(pshm_destroy(shm), 0);
	char longest[PSHM_UNIQUE_PREFIX_MAX + 2];
	memset(longest, 'p', sizeof(longest));
	memcpy(longest, TEST_NAME_PREFIX, strlen(TEST_NAME_PREFIX));
	longest[PSHM_UNIQUE_PREFIX_MAX] = '\0';
	cr_assert_eq(pshm_create_unique(&shm, longest, 64, NULL), 0, "%s", longest);
	cr_expect_eq(strlen(pshm_name(shm)), PSHM_NAME_MAX);
	cr_assert_eq(pshm_destroy(shm), 0);
	longest[PSHM_UNIQUE_PREFIX_MAX] = 'p';
	longest[PSHM_UNIQUE_PREFIX_MAX + 1] = '\0';
	cr_expect_eq(pshm_create_unique(&shm, longest, 64, NULL), -EINVAL, "one too long");
	cr_expect_eq(pshm_create_unique(&shm, "a/b", 64, NULL), -EINVAL);
	cr_expect_eq(pshm_create_unique(&shm, ".hidden", 64, NULL), -EINVAL);
	cr_expect_eq(pshm_create_unique(&shm, "", 64, NULL), -EINVAL);
	cr_expect_eq(pshm_create_unique(NULL, "x", 64, NULL), -EINVAL);
	cr_expect_eq(pshm_create_unique(&shm, TEST_NAME_PREFIX "z", 0, NULL), -EINVAL);
}
