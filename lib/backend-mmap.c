/*
 * backend-mmap.c - mmap(MAP_SHARED|MAP_ANONYMOUS) for anonymous segments,
 * and for a named segment "NAME" a MAP_SHARED file DIR/pshm-mmap.NAME,
 * reached through a checked fd of DIR.
 *
 * DIR is $PSHM_MMAP_DIR when set (ignored in set-user-ID programs), else the
 * directory given to ./configure --with-mmap-dir (by default /dev/shm, a
 * tmpfs, so that the pages never go to disk).
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS; secure_getenv on glibc */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

#define MMAP_FILE_PREFIX "pshm-mmap."

static const char *segment_dir(void)
{
#if HAVE_SECURE_GETENV
	const char *dir = secure_getenv("PSHM_MMAP_DIR");
#else
	const char *dir = getuid() == geteuid() ? getenv("PSHM_MMAP_DIR") : NULL;
#endif
	return dir != NULL && dir[0] != '\0' ? dir : PSHM_MMAP_DIR;
}

/*
 * Open the segment directory, refusing what would let another user plant
 * or swap files in it: a symbolic link (O_NOFOLLOW), a directory owned by
 * somebody else (root's /dev/shm is fine), or one others may write in
 * without the sticky bit that stops them removing our files.  The segment
 * files are then reached relative to this fd, never by path again.
 */
static int open_segment_dir(void)
{
	const char *dir = segment_dir();
	if (dir[0] != '/')
		return -EINVAL; /* relative: other processes would look elsewhere */
	int fd = pshm__open_retry(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? pshm__neg_errno() : 0;
	if (rc == 0 && ((st.st_uid != geteuid() && st.st_uid != 0) ||
	                ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))))
		rc = PSHM_EUNSAFE;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* "pshm-mmap.NAME" (names are checked: never a path). */
static void file_name(char out[sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX], const char *name)
{
	snprintf(out, sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX, MMAP_FILE_PREFIX "%s", name);
}

/* Charged to memory when mapped (huge pages too): nothing to reserve. */
static int mmap_create_anon(struct pshm__map *map, size_t len, unsigned how)
{
	int flags = MAP_SHARED | MAP_ANONYMOUS;
	if (how & PSHM__MAKE_HUGE) {
#ifdef MAP_HUGETLB
		flags |= MAP_HUGETLB;
#else
		return -ENOTSUP;
#endif
	}
	void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (addr == MAP_FAILED)
		return pshm__neg_errno();
	map->addr = addr;
	map->len = len;
	map->id = -1;
	return 0;
}

/* openat(2) retried on EINTR: the fd or a negative code. */
static int openat_retry(int dirfd, const char *file, int flags, mode_t mode)
{
	int fd;
	do
		fd = openat(dirfd, file, flags, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? pshm__neg_errno() : fd;
}

static int mmap_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                             unsigned how)
{
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP; /* the directory's file system has no huge pages */
	int dirfd = open_segment_dir();
	if (dirfd == -ENOENT)
		return -ENOTDIR; /* the directory is missing: not "no such segment" */
	if (dirfd < 0)
		return dirfd;
	char file[sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX];
	file_name(file, name);
	int fd = openat_retry(dirfd, file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int rc = fd;
	if (fd >= 0) {
		rc = pshm__fd_init_named(fd, mode, len, (how & PSHM__MAKE_RESERVE) != 0, map);
		close(fd);
		if (rc < 0)
			unlinkat(dirfd, file, 0);
	}
	close(dirfd);
	return rc;
}

static int mmap_open_named(struct pshm__map *map, const char *name, int rdonly)
{
	int dirfd = open_segment_dir();
	if (dirfd < 0)
		return dirfd;
	char file[sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX];
	file_name(file, name);
	int fd = openat_retry(dirfd, file, (rdonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC, 0);
	close(dirfd);
	if (fd < 0)
		return fd;
	int rc = pshm__fd_map_existing(fd, rdonly, map);
	close(fd);
	return rc;
}

static int mmap_stat(const char *name, struct pshm__object *obj)
{
	int dirfd = open_segment_dir();
	if (dirfd < 0)
		return dirfd;
	char file[sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX];
	file_name(file, name);
	int fd = openat_retry(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	close(dirfd);
	if (fd < 0)
		return fd;
	int rc = pshm__fd_stat(fd, obj);
	close(fd);
	return rc;
}

static int mmap_list(int (*fn)(const char *name, void *arg), void *arg)
{
	int dirfd = open_segment_dir();
	return dirfd < 0 ? dirfd : pshm__list_dir(dirfd, MMAP_FILE_PREFIX, fn, arg);
}

static int mmap_unlink(const char *name, const struct pshm__map *map)
{
	(void)map;
	int dirfd = open_segment_dir();
	if (dirfd < 0)
		return dirfd;
	char file[sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX];
	file_name(file, name);
	int rc = unlinkat(dirfd, file, 0) < 0 ? pshm__neg_errno() : 0;
	close(dirfd);
	return rc;
}

const struct pshm__backend_ops pshm__backend_mmap = {
	.id = PSHM_BACKEND_MMAP,
	.name = "mmap",
	.probe = NULL,
	.create_anon = mmap_create_anon,
	.create_named = mmap_create_named,
	.open_named = mmap_open_named,
	.stat = mmap_stat,
	.list = mmap_list,
	.unmap = pshm__fd_unmap,
	.unlink = mmap_unlink,
};
