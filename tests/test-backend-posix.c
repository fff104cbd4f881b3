/*
 * test-backend-posix.c - what only the POSIX backend (lib/backend-posix.c)
 * does: the shm object behind a name, its mode, anonymous segments that
 * never get a name, and objects whose creator has not sized them yet.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static const pshm_backend_t posix = PSHM_BACKEND_POSIX;

/* The mode of the shm object, through shm_open: no path is assumed. */
static int object_mode(const char *name)
{
	char object[64];
	snprintf(object, sizeof(object), "/pshm.%s", name);
	int fd = shm_open(object, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = fstat(fd, &st);
	close(fd);
	return rc < 0 ? -1 : (int)(st.st_mode & 07777);
}

Test(posix, a_name_is_a_shm_object_with_the_mode_asked)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *shm = NULL;

	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(object_mode(name), 0600, "default mode");
	cr_assert_eq(pshm_destroy(shm), 0);
	cr_assert_eq(object_mode(name), -1, "destroy left the object");

	umask(0077); /* must not trim the mode asked for */
	cr_assert_eq(pshm_attr_set_mode(&attr, 0640), 0);
	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(object_mode(name), 0640);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* How many entries of /dev/shm start with "pshm."; -1 without /dev/shm. */
static int pshm_objects_in_dev_shm(void)
{
	DIR *dir = opendir("/dev/shm");
	if (dir == NULL)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(dir)) != NULL;)
		n += strncmp(e->d_name, "pshm.", 5) == 0;
	closedir(dir);
	return n;
}

Test(posix, an_anonymous_segment_never_has_a_name)
{
	int before = pshm_objects_in_dev_shm();
	if (before < 0)
		cr_skip_test("no /dev/shm to look in");
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *shm[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pshm_create(&shm[i], NULL, 1u << 16, &attr), 0);
	int during = pshm_objects_in_dev_shm();
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pshm_destroy(shm[i]), 0);
	cr_assert_eq(during, before, "anonymous segments showed up in /dev/shm");
}

static void expect_attach(size_t object_size, int want)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "unsized");
	cr_assert_eq(test_raw_create(posix, name, NULL, object_size), 0);
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	int removed = pshm_remove(name, &attr);
	cr_assert_eq(rc, want, "size %zu: %s", object_size, pshm_strerror(rc));
	cr_assert_eq(removed, 0, "pshm_remove cannot clean up the object");
}

/* An empty object is one pshm_create has made and not sized yet; one of
 * 100 bytes is nothing pshm_create makes. */
Test(posix, an_object_not_yet_sized_is_not_ready)
{
	expect_attach(0, PSHM_ENOTREADY);
	expect_attach(100, PSHM_ENOTPSHM);
}
