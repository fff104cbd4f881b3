/*
 * backend-mmap.c - mmap(MAP_SHARED|MAP_ANONYMOUS) for anonymous segments,
 * and for a named segment "NAME" a MAP_SHARED file DIR/pshm-mmap.NAME.
 *
 * DIR is $PSHM_MMAP_DIR when set (ignored in set-user-ID programs), else the
 * directory given to ./configure --with-mmap-dir (by default /dev/shm, a
 * tmpfs, so that the pages never go to disk).
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS; secure_getenv on glibc */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

#define MMAP_FILE_PREFIX "pshm-mmap."

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static const char *segment_dir(void)
{
#if HAVE_SECURE_GETENV
	const char *dir = secure_getenv("PSHM_MMAP_DIR");
#else
	const char *dir = getuid() == geteuid() ? getenv("PSHM_MMAP_DIR") : NULL;
#endif
	return dir != NULL && dir[0] != '\0' ? dir : PSHM_MMAP_DIR;
}

/* DIR/pshm-mmap.NAME into path; -EINVAL for a relative DIR, which would
 * name different files in processes with different working directories. */
static int file_path(char path[PATH_MAX], const char *name)
{
	const char *dir = segment_dir();
	if (dir[0] != '/')
		return -EINVAL;
	int n = snprintf(path, PATH_MAX, "%s/" MMAP_FILE_PREFIX "%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The kernel charges a shared anonymous mapping when it is made (unless
 * overcommit is off-limits anyway): nothing to reserve. */
static int mmap_create_anon(struct pshm__map *map, size_t len, int reserve)
{
	(void)reserve;
	void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED)
		return pshm__neg_errno();
	map->addr = addr;
	map->len = len;
	map->id = -1;
	return 0;
}

static int mmap_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                             int reserve)
{
	char path[PATH_MAX];
	int rc = file_path(path, name);
	if (rc < 0)
		return rc;
	int fd = pshm__open_retry(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -ENOENT)
		return -ENOTDIR; /* the directory is missing: not "no such segment" */
	if (fd < 0)
		return fd;
	rc = pshm__fd_init_map(fd, mode, len, reserve, map);
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

static int mmap_open_named(struct pshm__map *map, const char *name, int rdonly)
{
	char path[PATH_MAX];
	int rc = file_path(path, name);
	if (rc < 0)
		return rc;
	int fd = pshm__open_retry(path, (rdonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	rc = pshm__fd_map_existing(fd, rdonly, map);
	close(fd);
	return rc;
}

static int mmap_unlink(const char *name, const struct pshm__map *map)
{
	(void)map;
	char path[PATH_MAX];
	int rc = file_path(path, name);
	if (rc < 0)
		return rc;
	return unlink(path) < 0 ? pshm__neg_errno() : 0;
}

const struct pshm__backend_ops pshm__backend_mmap = {
	.id = PSHM_BACKEND_MMAP,
	.name = "mmap",
	.probe = NULL,
	.create_anon = mmap_create_anon,
	.create_named = mmap_create_named,
	.open_named = mmap_open_named,
	.unmap = pshm__fd_unmap,
	.unlink = mmap_unlink,
};
