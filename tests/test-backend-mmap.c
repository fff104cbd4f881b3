/*
 * test-backend-mmap.c - what only the mmap backend (lib/backend/mmap.c)
 * does: a file per name in a directory that PSHM_MMAP_DIR can move, that
 * never follows a symbolic link, with exactly the mode asked for.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static const pshm_backend_t mmap_backend = PSHM_BACKEND_MMAP;

static void file_of(char path[PATH_MAX], const char *dir, const char *name)
{
	snprintf(path, PATH_MAX, "%s/pshm-mmap.%s", dir, name);
}

static int file_mode(const char *dir, const char *name)
{
	char path[PATH_MAX];
	file_of(path, dir, name);
	struct stat st;
	return lstat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

static int count_names(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return 0;
}

static pshm_attr_t mmap_attr(void)
{
	pshm_attr_t attr;
	test_attr(&attr, mmap_backend, 0);
	return attr;
}

Test(mmap, a_name_is_a_file_with_the_mode_asked)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_attr_t attr = mmap_attr();
	pshm_t *shm = NULL;

	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(file_mode(test_mmap_dir(), name), 0600, "default mode");
	cr_assert_eq(pshm_destroy(shm), 0);
	cr_assert_eq(file_mode(test_mmap_dir(), name), -1, "destroy left the file");

	umask(0077);
	cr_assert_eq(pshm_attr_set_mode(&attr, 0640), 0);
	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(file_mode(test_mmap_dir(), name), 0640);
	cr_assert_eq(pshm_destroy(shm), 0);
}

Test(mmap, the_environment_moves_the_directory)
{
	char dir[] = "/tmp/pshm-test-XXXXXX", name[PSHM_NAME_MAX + 1], out[128];
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(setenv("PSHM_MMAP_DIR", dir, 1), 0);
	test_name(name, "envdir");
	pshm_attr_t attr = mmap_attr();
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, name, 4096, &attr), 0);
	cr_assert_eq(file_mode(dir, name), 0600, "the file is not in $PSHM_MMAP_DIR");
	strcpy(pshm_addr(shm), "moved");

	/* The helper inherits the environment, so it looks there too. */
	const char *args[] = {"mmap", name, "echo", NULL};
	cr_assert_eq(test_run_helper(args, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "read=moved\n");

	cr_assert_eq(unsetenv("PSHM_MMAP_DIR"), 0);
	pshm_t *other = NULL;
	cr_assert_eq(pshm_attach(&other, name, &attr), -ENOENT, "found in the default directory");
	cr_assert_eq(setenv("PSHM_MMAP_DIR", dir, 1), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
	cr_assert_eq(rmdir(dir), 0, "the directory is not empty after destroy");
	cr_assert_eq(unsetenv("PSHM_MMAP_DIR"), 0);
}

Test(mmap, a_relative_or_missing_directory_is_refused)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "reldir");
	pshm_attr_t attr = mmap_attr();
	pshm_t *shm = NULL;

	cr_assert_eq(setenv("PSHM_MMAP_DIR", "relative/dir", 1), 0);
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), -EINVAL);
	cr_assert_eq(pshm_attach(&shm, name, &attr), -EINVAL);
	cr_assert_eq(pshm_remove(name, &attr), -EINVAL);
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), 0, "anonymous segments need no directory");
	cr_assert_eq(pshm_destroy(shm), 0);

	cr_assert_eq(setenv("PSHM_MMAP_DIR", "/nonexistent/pshm-test", 1), 0);
	shm = NULL;
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), -ENOTDIR);
	cr_assert_eq(pshm_attach(&shm, name, &attr), -ENOENT);
	int listed = pshm_list(&attr, count_names, NULL);
	cr_assert_eq(listed, -ENOTDIR, "pshm_list: %s", pshm_strerror(listed));
	cr_assert_null(shm);
	cr_assert_eq(unsetenv("PSHM_MMAP_DIR"), 0);
}

Test(mmap, a_symbolic_link_is_never_followed)
{
	char name[PSHM_NAME_MAX + 1], path[PATH_MAX];
	char target[] = "/tmp/pshm-target-XXXXXX";
	int fd = mkstemp(target);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "precious", 8), 8);
	close(fd);
	test_name(name, "symlink");
	file_of(path, test_mmap_dir(), name);
	cr_assert_eq(symlink(target, path), 0);

	pshm_attr_t attr = mmap_attr();
	pshm_t *shm = NULL;
	int attach_rc = pshm_attach(&shm, name, &attr);
	int create_rc = pshm_create(&shm, name, 64, &attr);
	int remove_rc = pshm_remove(name, &attr);
	struct stat st;
	int target_size = stat(target, &st) == 0 ? (int)st.st_size : -1;
	unlink(path);
	unlink(target);
	cr_assert_eq(attach_rc, PSHM_ENOTPSHM, "%s", pshm_strerror(attach_rc));
	cr_assert_eq(create_rc, -EEXIST, "%s", pshm_strerror(create_rc));
	cr_assert_eq(remove_rc, 0, "the link itself is removable");
	cr_assert_eq(target_size, 8, "the link's target was changed");
	cr_assert_null(shm);
}

Test(mmap, a_directory_or_empty_file_at_the_name_is_refused)
{
	char name[PSHM_NAME_MAX + 1], path[PATH_MAX];
	test_name(name, "dir");
	file_of(path, test_mmap_dir(), name);
	cr_assert_eq(mkdir(path, 0700), 0);
	pshm_attr_t attr = mmap_attr();
	pshm_attr_t ro;
	test_attr(&ro, mmap_backend, PSHM_RDONLY);
	pshm_t *shm = NULL;
	int rw_rc = pshm_attach(&shm, name, &attr);
	int ro_rc = pshm_attach(&shm, name, &ro);
	rmdir(path);
	cr_assert_eq(rw_rc, PSHM_ENOTPSHM, "%s", pshm_strerror(rw_rc));
	cr_assert_eq(ro_rc, PSHM_ENOTPSHM, "%s", pshm_strerror(ro_rc));

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	int empty_rc = pshm_attach(&shm, name, &attr);
	int remove_rc = pshm_remove(name, &attr);
	cr_assert_eq(empty_rc, PSHM_ENOTREADY, "%s", pshm_strerror(empty_rc));
	cr_assert_eq(remove_rc, 0);
	cr_assert_null(shm);
}

struct elsewhere {
	pshm_t *shm;   /* made in the directory in effect before */
	const char *name;
	const char *dir; /* the directory in effect in the child */
};

/* In a child whose PSHM_MMAP_DIR names another directory, with a segment
 * of the same name there: destroy the handle inherited from the parent. */
static int destroy_from_elsewhere(void *arg)
{
	const struct elsewhere *e = arg;
	if (setenv("PSHM_MMAP_DIR", e->dir, 1) != 0)
		return 1;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, PSHM_BACKEND_MMAP);
	pshm_t *other;
	if (pshm_create(&other, e->name, 64, &attr) != 0 || pshm_detach(other) != 0)
		return 2;
	return pshm_destroy(e->shm) == 0 ? 0 : 3;
}

Test(mmap, destroy_removes_the_file_in_the_directory_the_segment_was_made_in)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "movedir");
	char dir[] = "/tmp/pshm-dir-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	pshm_attr_t attr = mmap_attr();
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	struct elsewhere e = {shm, name, dir};
	int status = test_wait(test_fork(destroy_from_elsewhere, &e));
	int home_mode = file_mode(test_mmap_dir(), name);
	int other_mode = file_mode(dir, name);
	char path[PATH_MAX];
	file_of(path, dir, name);
	unlink(path);
	rmdir(dir);
	if (home_mode >= 0)
		pshm_destroy(shm);
	else
		pshm_detach(shm);
	cr_assert_eq(status, 0, "the child failed at step %d", status);
	cr_assert_lt(home_mode, 0, "the segment's own file was left behind");
	cr_assert_geq(other_mode, 0, "the other directory's file was removed");
}
