/*
 * backend-posix.c - shm_open + ftruncate + mmap(MAP_SHARED).
 *
 * A named segment "NAME" is the shm object "/pshm.NAME".  An anonymous one is
 * a memfd where the system has memfd_create, else a shm object of a unique
 * name that is unlinked as soon as it is open: either way it has no name
 * that could leak.
 */
#define _GNU_SOURCE /* memfd_create */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define POSIX_FILE_PREFIX "pshm." /* as /dev/shm shows it on Linux */
#define POSIX_PREFIX "/" POSIX_FILE_PREFIX

/* Room for the prefix, a name, and the anonymous fallback's unique names. */
typedef char object_name[64];

static void object_name_of(object_name out, const char *name)
{
	snprintf(out, sizeof(object_name), POSIX_PREFIX "%s", name);
}

static int shm_open_retry(const char *object, int flags, mode_t mode)
{
	int fd;
	do
		fd = shm_open(object, flags, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? pshm__neg_errno() : fd;
}

/* An fd for a fresh shm object whose name is already unlinked. */
static int open_unique_object(void)
{
	static _Atomic unsigned counter;
	for (;;) {
		object_name object;
		snprintf(object, sizeof(object), POSIX_PREFIX "anon.%ld.%u", (long)getpid(),
		         atomic_fetch_add(&counter, 1));
		int fd = shm_open_retry(object, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd == -EEXIST)
			continue; /* a stale name from a recycled pid */
		if (fd >= 0)
			shm_unlink(object);
		return fd;
	}
}

/* An fd for a fresh object with no name, or a negative code.  *in_tmpfs:
 * whether it lives in a size-limited file system (a memfd does not). */
static int open_unnamed(int *in_tmpfs)
{
	*in_tmpfs = 0;
#if HAVE_MEMFD_CREATE
	int fd = memfd_create("pshm", MFD_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return pshm__neg_errno();
#endif
	*in_tmpfs = 1;
	return open_unique_object();
}

/* A memfd of huge pages (hugetlbfs: the pages are reserved when mapped). */
static int open_unnamed_huge(void)
{
#if HAVE_MEMFD_CREATE && defined(MFD_HUGETLB)
	int fd = memfd_create("pshm", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd >= 0)
		return fd;
	return errno == ENOSYS || errno == EINVAL ? -ENOTSUP : pshm__neg_errno();
#else
	return -ENOTSUP;
#endif
}

static int posix_create_anon(struct pshm__map *map, size_t len, unsigned how)
{
	int in_tmpfs = 0;
	int huge = (how & PSHM__MAKE_HUGE) != 0;
	int fd = huge ? open_unnamed_huge() : open_unnamed(&in_tmpfs);
	if (fd < 0)
		return fd;
	int reserve = (how & PSHM__MAKE_RESERVE) != 0;
	/* A memfd cannot run out of file system, only of memory, and then the
	 * OOM killer comes, not SIGBUS: reserving would only fill memory now.
	 * Nobody can open it by name, so its mode does not matter either. */
	enum pshm__reserve what = !in_tmpfs ? PSHM__RESERVE_NOTHING
	                          : reserve ? PSHM__RESERVE_ALL
	                                    : PSHM__RESERVE_HEADER;
	int rc = pshm__fd_init_map(fd, len, what, map);
	close(fd);
	return rc;
}

static int posix_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                              unsigned how)
{
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP; /* shm_open's file system has no huge pages */
	object_name object;
	object_name_of(object, name);
	int fd = shm_open_retry(object, O_RDWR | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return fd;
	int rc = pshm__fd_init_named(fd, mode, len, (how & PSHM__MAKE_RESERVE) != 0, map);
	close(fd);
	if (rc < 0)
		shm_unlink(object);
	return rc;
}

static int posix_open_named(struct pshm__map *map, const char *name, int rdonly)
{
	object_name object;
	object_name_of(object, name);
	int fd = shm_open_retry(object, rdonly ? O_RDONLY : O_RDWR, 0);
	if (fd < 0)
		return fd;
	int rc = pshm__fd_map_existing(fd, rdonly, map);
	close(fd);
	return rc;
}

static int posix_stat(const char *name, struct pshm__object *obj)
{
	object_name object;
	object_name_of(object, name);
	int fd = shm_open_retry(object, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	int rc = pshm__fd_stat(fd, obj);
	close(fd);
	return rc;
}

static int posix_unlink(const char *name, const struct pshm__map *map)
{
	(void)map;
	object_name object;
	object_name_of(object, name);
	return shm_unlink(object) < 0 ? pshm__neg_errno() : 0;
}

/* Linux shows the shm objects as the files of /dev/shm; elsewhere nothing
 * lists them. */
static int posix_list(int (*fn)(const char *name, void *arg), void *arg)
{
	int dirfd = pshm__open_retry("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dirfd < 0)
		return -ENOTSUP;
	return pshm__list_dir(dirfd, POSIX_FILE_PREFIX, fn, arg);
}

/* Named segments need shm_open itself, not just memfd_create. */
static int posix_probe(void)
{
	int fd = open_unique_object();
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

const struct pshm__backend_ops pshm__backend_posix = {
	.id = PSHM_BACKEND_POSIX,
	.name = "posix",
	.probe = posix_probe,
	.create_anon = posix_create_anon,
	.create_named = posix_create_named,
	.open_named = posix_open_named,
	.stat = posix_stat,
	.list = posix_list,
	.unmap = pshm__fd_unmap,
	.unlink = posix_unlink,
};
