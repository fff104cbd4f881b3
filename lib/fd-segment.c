/*
 * fd-segment.c - what the POSIX and mmap backends share: both name a file
 * (a shm object or a file in a directory), size it and map it MAP_SHARED.
 * They differ only in how the fd is opened and the name removed.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int pshm__open_retry(const char *path, int flags, mode_t mode)
{
	int fd;
	do
		fd = open(path, flags, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? pshm__neg_errno() : fd;
}

static int map_fd(int fd, size_t len, int rdonly, struct pshm__map *map)
{
	int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	void *addr = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		return pshm__neg_errno();
	map->addr = addr;
	map->len = len;
	map->id = -1;
	return 0;
}

/*
 * Allocate len bytes of fd.  posix_fallocate returns its error rather than
 * setting errno.  A file system that cannot (EOPNOTSUPP, or EINVAL/ENODEV
 * from some) keeps the ftruncate size and the risk of a later SIGBUS.
 */
static int reserve_blocks(int fd, off_t length)
{
	int err;
	do
		err = posix_fallocate(fd, 0, length);
	while (err == EINTR);
	switch (err) {
	case 0:
	case EOPNOTSUPP:
	case EINVAL:
	case ENODEV:
	case ENOSYS:
		return 0;
	default:
		return -err;
	}
}

int pshm__fd_init_map(int fd, size_t len, enum pshm__reserve reserve, struct pshm__map *map)
{
	off_t length = (off_t)len;
	if (length < 0 || (size_t)length != len)
		return -EFBIG;
	int rc;
	do
		rc = ftruncate(fd, length);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return pshm__neg_errno();
	if (reserve != PSHM__RESERVE_NOTHING) {
		rc = reserve_blocks(fd, reserve == PSHM__RESERVE_ALL ? length
		                                                     : (off_t)PSHM__HEADER_SIZE);
		if (rc < 0)
			return rc;
	}
	return map_fd(fd, len, 0, map);
}

int pshm__fd_init_named(int fd, mode_t mode, size_t len, int reserve, struct pshm__map *map)
{
	if (fchmod(fd, mode) < 0)
		return pshm__neg_errno();
	return pshm__fd_init_map(fd, len, reserve ? PSHM__RESERVE_ALL : PSHM__RESERVE_HEADER, map);
}

int pshm__fd_map_existing(int fd, int rdonly, struct pshm__map *map)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pshm__neg_errno();
	if (!S_ISREG(st.st_mode))
		return PSHM_ENOTPSHM;
	if (st.st_size < (off_t)PSHM__HEADER_SIZE)
		return -EAGAIN; /* its creator has not sized it yet */
	if ((uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX)
		return -EOVERFLOW;
	map->owner = st.st_uid;
	return map_fd(fd, (size_t)st.st_size, rdonly, map);
}

int pshm__fd_stat(int fd, struct pshm__object *obj)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pshm__neg_errno();
	if ((uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX)
		return -EOVERFLOW;
	obj->owner = st.st_uid;
	obj->mode = st.st_mode & 0777;
	obj->len = (size_t)st.st_size;
	obj->changed = st.st_ctime;
	obj->attached = pshm__count_mappers(st.st_dev, st.st_ino, (st.st_mode & 0066) != 0);
	return 0;
}

int pshm__list_dir(int dirfd, const char *prefix, int (*fn)(const char *name, void *arg),
                   void *arg)
{
	DIR *dir = fdopendir(dirfd);
	if (dir == NULL) {
		int rc = pshm__neg_errno();
		close(dirfd);
		return rc;
	}
	size_t skip = strlen(prefix);
	int rc = 0;
	const struct dirent *entry;
	while (rc == 0 && (entry = readdir(dir)) != NULL)
		if (strncmp(entry->d_name, prefix, skip) == 0)
			rc = fn(entry->d_name + skip, arg);
	closedir(dir);
	return rc;
}

int pshm__fd_unmap(struct pshm__map *map)
{
	if (munmap(map->addr, map->len) < 0)
		return pshm__neg_errno();
	map->addr = NULL;
	map->len = 0;
	return 0;
}
