/*
 * test-backend-sysv.c - what only the SysV backend (lib/backend/sysv.c)
 * does: keys hashed from names and their collisions, anonymous segments
 * marked for removal at once, modes, and segments at a key that are not
 * libpshm's.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static const pshm_backend_t sysv = PSHM_BACKEND_SYSV;

static void sysv_attr(pshm_attr_t *attr)
{
	test_attr(attr, sysv, 0);
}

/* Whether /proc/sysvipc/shm lists a segment created by pid (Linux). */
static int segment_of_pid_exists(pid_t pid, int *listed)
{
	FILE *f = fopen("/proc/sysvipc/shm", "r");
	*listed = f != NULL;
	if (f == NULL)
		return 0;
	char line[512];
	int found = 0;
	if (fgets(line, sizeof(line), f) == NULL) /* column titles */
		line[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		long key, id, size, cpid;
		unsigned long perms;
		if (sscanf(line, "%ld %ld %lo %ld %ld", &key, &id, &perms, &size, &cpid) == 5 &&
		    cpid == (long)pid)
			found = 1;
	}
	fclose(f);
	return found;
}

/* Kept reachable so that valgrind, in the child, sees no leak in a process
 * that exits attached on purpose. */
static pshm_t *volatile kept_attached; /* volatile: the store must not be optimised away */

static int create_anonymous_and_exit(void *arg)
{
	(void)arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, PSHM_BACKEND_SYSV);
	pshm_t *shm;
	if (pshm_create(&shm, NULL, 1u << 20, &attr) < 0)
		return 3;
	kept_attached = shm;
	memset(pshm_addr(shm), 1, pshm_size(shm));
	return 0; /* exits attached: the kernel must free it */
}

Test(sysv, an_anonymous_segment_dies_with_its_last_process)
{
	pid_t pid = test_fork(create_anonymous_and_exit, NULL);
	cr_assert_eq(test_wait(pid), 0);
	int listed;
	int left = segment_of_pid_exists(pid, &listed);
	if (!listed)
		cr_skip_test("no /proc/sysvipc/shm to look in");
	cr_assert_not(left, "the anonymous segment outlived its only process");
}

/* Two test names that share a SysV key, found by brute force. */
struct keyed_name {
	int key;
	unsigned n;
};

static int by_key(const void *a, const void *b)
{
	const struct keyed_name *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

static unsigned scrambled(unsigned i)
{
	return i * 2654435761u; /* Knuth's multiplicative hash: a bijection */
}

static void colliding_names(char a[PSHM_NAME_MAX + 1], char b[PSHM_NAME_MAX + 1])
{
	/* About 16 colliding pairs expected among 2^31 keys, if the names look
	 * random to FNV: so the varying part is scrambled, not a counter (names
	 * that differ only in a trailing counter almost never collide). */
	enum { N = 1 << 18 };
	struct keyed_name *all = malloc(N * sizeof(*all));
	cr_assert_not_null(all);
	char name[PSHM_NAME_MAX + 1];
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), TEST_NAME_PREFIX "%ld-%08x", (long)getpid(), scrambled(i));
		all[i] = (struct keyed_name){test_sysv_key(name), i};
	}
	qsort(all, N, sizeof(*all), by_key);
	for (unsigned i = 1; i < N; i++) {
		if (all[i].key == all[i - 1].key) {
			snprintf(a, PSHM_NAME_MAX + 1, TEST_NAME_PREFIX "%ld-%08x", (long)getpid(),
			         scrambled(all[i - 1].n));
			snprintf(b, PSHM_NAME_MAX + 1, TEST_NAME_PREFIX "%ld-%08x", (long)getpid(),
			         scrambled(all[i].n));
			free(all);
			return;
		}
	}
	free(all);
	cr_skip_test("no two names share a key in this sample");
}

Test(sysv, names_whose_keys_collide_stay_apart)
{
	char a[PSHM_NAME_MAX + 1], b[PSHM_NAME_MAX + 1];
	colliding_names(a, b);
	cr_assert_eq(test_sysv_key(a), test_sysv_key(b));
	cr_assert_str_neq(a, b);

	pshm_attr_t attr;
	sysv_attr(&attr);
	pshm_t *shm_a = NULL, *shm_b = NULL;
	cr_assert_eq(pshm_create(&shm_a, a, 4096, &attr), 0);
	cr_assert_eq(pshm_create(&shm_b, b, 4096, &attr), PSHM_ECOLLISION);
	cr_assert_eq(pshm_attach(&shm_b, b, &attr), PSHM_ECOLLISION);
	cr_assert_eq(pshm_remove(b, &attr), PSHM_ECOLLISION);
	cr_assert_null(shm_b);

	pshm_t *again = NULL;
	cr_assert_eq(pshm_attach(&again, a, &attr), 0, "removing the other name removed this one");
	cr_assert_eq(pshm_detach(again), 0);
	cr_assert_eq(pshm_destroy(shm_a), 0);

	cr_assert_eq(pshm_create(&shm_b, b, 4096, &attr), 0, "the key is free again");
	cr_assert_eq(pshm_attach(&again, a, &attr), PSHM_ECOLLISION);
	cr_assert_eq(pshm_destroy(shm_b), 0);
}

static int stat_mode(const char *name)
{
	int id = shmget(test_sysv_key(name), 0, 0);
	struct shmid_ds ds;
	if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0)
		return -1;
	return (int)(ds.shm_perm.mode & 0777);
}

Test(sysv, modes_are_exactly_as_asked)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_attr_t attr;
	sysv_attr(&attr);
	pshm_t *shm = NULL;

	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(stat_mode(name), 0600, "default mode");
	cr_assert_eq(pshm_destroy(shm), 0);

	umask(0077);
	cr_assert_eq(pshm_attr_set_mode(&attr, 0644), 0);
	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(stat_mode(name), 0644, "mode 0644");
	cr_assert_eq(pshm_destroy(shm), 0);
}

Test(sysv, a_foreign_segment_at_the_key_is_left_alone)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "foreign");
	unsigned char junk[8192];
	memset(junk, 0x5c, sizeof(junk));
	cr_assert_eq(test_raw_create(sysv, name, junk, sizeof(junk)), 0);

	pshm_attr_t attr;
	sysv_attr(&attr);
	pshm_t *shm = NULL;
	int create_rc = pshm_create(&shm, name, 64, &attr);
	int remove_rc = pshm_remove(name, &attr);
	int still_there = shmget(test_sysv_key(name), 0, 0) >= 0;
	test_raw_remove(sysv, name);
	cr_assert_eq(create_rc, PSHM_ENOTPSHM, "%s", pshm_strerror(create_rc));
	cr_assert_eq(remove_rc, PSHM_ENOTPSHM, "%s", pshm_strerror(remove_rc));
	cr_assert(still_there, "pshm_remove removed somebody else's segment");
}

Test(sysv, a_segment_too_small_for_a_header_is_refused_at_once)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "small");
	unsigned char zeros[100] = {0};
	cr_assert_eq(test_raw_create(sysv, name, zeros, sizeof(zeros)), 0);
	pshm_attr_t attr;
	sysv_attr(&attr);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	test_raw_remove(sysv, name);
	cr_assert_eq(rc, PSHM_ENOTPSHM, "%s", pshm_strerror(rc));
}

Test(sysv, a_half_made_segment_can_be_removed)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "halfmade");
	cr_assert_eq(test_raw_create(sysv, name, NULL, test_page_size()), 0);
	pshm_attr_t attr;
	sysv_attr(&attr);
	int rc = pshm_remove(name, &attr);
	if (rc != 0)
		test_raw_remove(sysv, name);
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	cr_assert_lt(shmget(test_sysv_key(name), 0, 0), 0);
}
