/*
 * test-churn.c - many processes racing on the same few names for a while:
 * creating, attaching, detaching, destroying, removing and inspecting them
 * at random.  Every call must return one of the codes its contract allows
 * in such a race, a segment attached must be whole, and nothing may be left
 * behind (test-leaks checks after the suite).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define RACERS 8
#define NAMES 3
#define HELD 4
#define RUN_MS 1500
#define SEGMENT_SIZE 8192

/* What the racers report, in an anonymous segment. */
struct report {
	_Atomic unsigned long calls;
	_Atomic unsigned long bad;
	char first_bad[128];
	_Atomic int first_taken;
};

struct race {
	pshm_backend_t backend;
	char names[NAMES][PSHM_NAME_MAX + 1];
	struct report *report;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void judge(struct report *r, const char *op, int rc, int ok)
{
	atomic_fetch_add(&r->calls, 1);
	if (ok)
		return;
	atomic_fetch_add(&r->bad, 1);
	if (atomic_exchange(&r->first_taken, 1) == 0)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s: %d (%s)", op, rc, pshm_strerror(rc));
}

/* A segment attached in the race: the right size, and its first word is
 * the pattern every creator writes. */
static int whole(pshm_t *shm)
{
	return pshm_size(shm) == SEGMENT_SIZE &&
	       atomic_load((_Atomic uint32_t *)pshm_addr(shm)) % 2 == 0;
}

/* One call on name at random, with slot of the racer's held handles; each
 * result judged against what the contract allows in such a race. */
static void one_call(struct report *r, const pshm_attr_t *attr, const char *name,
                     pshm_t **slot, int which)
{
	pshm_t *shm = NULL;
	pshm_info_t info;
	int rc;
	if (which == 0 && *slot == NULL) {
		rc = pshm_create(&shm, name, SEGMENT_SIZE, attr);
		judge(r, "create", rc, rc == 0 || rc == -EEXIST);
		if (rc == 0)
			atomic_store((_Atomic uint32_t *)pshm_addr(shm), 2);
		*slot = shm;
	} else if (which == 1 && *slot == NULL) {
		rc = pshm_attach(&shm, name, attr);
		judge(r, "attach", rc, rc == 0 || rc == -ENOENT || rc == PSHM_ENOTREADY);
		if (rc == 0)
			judge(r, "attached segment whole", 0, whole(shm));
		*slot = shm;
	} else if (which == 2 && *slot != NULL) {
		rc = pshm_detach(*slot);
		*slot = NULL;
		judge(r, "detach", rc, rc == 0);
	} else if (which == 3 && *slot != NULL) {
		rc = pshm_destroy(*slot);
		*slot = NULL;
		judge(r, "destroy", rc, rc == 0 || rc == -ENOENT);
	} else if (which == 4) {
		rc = pshm_remove(name, attr);
		judge(r, "remove", rc, rc == 0 || rc == -ENOENT);
	} else if (which == 5) {
		rc = pshm_stat(name, attr, &info);
		judge(r, "stat", rc, rc == 0 || rc == -ENOENT);
	}
}

static int racer(void *arg)
{
	const struct race *race = arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, race->backend);
	pshm_t *held[HELD] = {NULL};
	unsigned seed = (unsigned)getpid();
	long long end = now_ms() + RUN_MS;
	while (now_ms() < end) {
		const char *name = race->names[rand_r(&seed) % NAMES];
		int slot = rand_r(&seed) % HELD;
		one_call(race->report, &attr, name, &held[slot], rand_r(&seed) % 6);
	}
	for (int i = 0; i < HELD; i++)
		if (held[i] != NULL)
			judge(race->report, "final detach", 0, pshm_detach(held[i]) == 0);
	return 0;
}

BACKEND_TEST(churn, racing_processes_get_defined_codes_and_leave_nothing)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *report_shm;
	cr_assert_eq(pshm_create(&report_shm, NULL, sizeof(struct report), &attr), 0);
	struct race race = {.backend = backend, .report = pshm_addr(report_shm)};
	for (int i = 0; i < NAMES; i++)
		test_name(race.names[i], "churn");

	pid_t pids[RACERS];
	for (int i = 0; i < RACERS; i++)
		pids[i] = test_fork(racer, &race);
	for (int i = 0; i < RACERS; i++)
		cr_expect_eq(test_wait(pids[i]), 0, "racer %d crashed or failed", i);

	unsigned long calls = atomic_load(&race.report->calls);
	unsigned long bad = atomic_load(&race.report->bad);
	cr_log_info("%s: %lu calls", pshm_backend_name(backend), calls);
	for (int i = 0; i < NAMES; i++) {
		int rc = pshm_remove(race.names[i], &attr);
		cr_expect(rc == 0 || rc == -ENOENT, "cleaning %s: %s", race.names[i], pshm_strerror(rc));
	}
	cr_expect_gt(calls, 100, "the race hardly ran"); /* low: slow machines */
	cr_expect_eq(bad, 0, "%lu of %lu calls returned what they may not; first: %s", bad, calls,
	             race.report->first_bad);
	cr_assert_eq(pshm_destroy(report_shm), 0);
}
