/*
 * mmap.c - mmap(MAP_SHARED|MAP_ANONYMOUS) for anonymous segments,
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
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/fd-segment.h"

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
 * Open the segment directory dir, refusing what would let another user
 * plant or swap files in it: a symbolic link (O_NOFOLLOW), a directory owned
 * by somebody else (root's /dev/shm is fine), or one others may write in
 * without the sticky bit that stops them removing our files.  The segment
 * files are then reached relative to this fd, never by path again.
 */
static int open_segment_dir(const char *dir)
{
	if (dir[0] != '/')
		return -EINVAL; /* relative: other processes would look elsewhere */
	int fd = pshm__openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
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

/* Where name's file is: the checked directory, and the name in it. */
struct place {
	const char *dir;
	int dirfd;
	char file[sizeof(MMAP_FILE_PREFIX) + PSHM_NAME_MAX];
};

/* Open name's place in dir (NULL: the directory in effect); close
 * place->dirfd when done. */
static int open_place(struct place *p, const char *dir, const char *name)
{
	p->dir = dir != NULL ? dir : segment_dir();
	p->dirfd = open_segment_dir(p->dir);
	memcpy(p->file, MMAP_FILE_PREFIX, sizeof(MMAP_FILE_PREFIX));
	memcpy(p->file + strlen(MMAP_FILE_PREFIX), name, strlen(name) + 1); /* names are checked */
	return p->dirfd < 0 ? p->dirfd : 0;
}

/* Open the file of an open place, never following a link nor blocking on
 * a FIFO. */
static int open_file(const struct place *p, int flags, mode_t mode)
{
	return pshm__openat(p->dirfd, p->file, flags | O_NOFOLLOW | O_NONBLOCK, mode);
}

/* Give map the directory it was found in, for pshm_destroy. */
static int remember_dir(const struct place *p, struct pshm__map *map)
{
	map->ident.dir = strdup(p->dir);
	if (map->ident.dir != NULL)
		return 0;
	pshm__fd_unmap(map);
	return -ENOMEM;
}

/* Charged to memory when mapped (huge pages too): nothing to reserve. */
static int mmap_create_anon(struct pshm__map *map, size_t len, unsigned how)
{
	int flags = MAP_SHARED | MAP_ANONYMOUS;
	if (how & PSHM__MAKE_HUGE) {
#if HAVE_DECL_MAP_HUGETLB
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
	return 0;
}

static int mmap_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                             unsigned how)
{
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP; /* the directory's file system has no huge pages */
	struct place p;
	int rc = open_place(&p, NULL, name);
	if (rc < 0)
		return rc == -ENOENT ? -ENOTDIR : rc; /* missing: not "no such segment" */
	int fd = open_file(&p, O_RDWR | O_CREAT | O_EXCL, mode);
	rc = fd;
	if (fd >= 0) {
		rc = pshm__fd_init_named(fd, mode, len, how, map); /* keeps fd for publish */
		if (rc < 0)
			close(fd);
		else
			rc = remember_dir(&p, map); /* on failure: unmapped, fd closed */
		if (rc < 0)
			unlinkat(p.dirfd, p.file, 0);
	}
	close(p.dirfd);
	return rc;
}

static int mmap_open_named(struct pshm__map *map, const char *name, unsigned flags)
{
	struct place p;
	int rc = open_place(&p, NULL, name);
	if (rc < 0)
		return rc;
	int fd = open_file(&p, (flags & PSHM_RDONLY) ? O_RDONLY : O_RDWR, 0);
	if (fd < 0) {
		close(p.dirfd);
		return pshm__fd_open_error(fd);
	}
	rc = pshm__fd_open_existing(fd, name, PSHM_BACKEND_MMAP, flags, map); /* keeps fd */
	if (rc < 0)
		close(fd);
	else
		rc = remember_dir(&p, map); /* on failure: unmapped, fd closed */
	close(p.dirfd);
	return rc;
}

/* The stat slot for the file of an open place. */
static int stat_file(const struct place *p, struct pshm__object *obj)
{
	int fd = open_file(p, O_RDONLY, 0);
	if (fd >= 0)
		return pshm__fd_stat(fd, obj); /* takes fd */
	struct stat st;
	if (pshm__fd_open_error(fd) != PSHM_ENOTPSHM ||
	    fstatat(p->dirfd, p->file, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fd;
	pshm__fd_describe(&st, obj); /* a symbolic link, a socket */
	return 0;
}

static int mmap_stat(const char *name, unsigned flags, struct pshm__object *obj)
{
	(void)flags; /* one namespace */
	struct place p;
	int rc = open_place(&p, NULL, name);
	if (rc < 0)
		return rc;
	rc = stat_file(&p, obj);
	close(p.dirfd);
	return rc;
}

static int mmap_list(int (*fn)(const char *name, void *arg), void *arg)
{
	int dirfd = open_segment_dir(segment_dir());
	if (dirfd < 0)
		return dirfd == -ENOENT ? -ENOTDIR : dirfd;
	return pshm__list_dir(dirfd, MMAP_FILE_PREFIX, fn, arg);
}

/* 0 if file in dirfd is only's object, -ENOENT if it is another's now. */
static int is_object(int dirfd, const char *file, const struct pshm__ident *only)
{
	struct stat st;
	if (fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pshm__neg_errno();
	return pshm__same_object(&st, only);
}

/* Remove name from the directory only names (NULL: the one in effect), if
 * the file there is only's; the window between the check and the removal
 * is as short as POSIX allows. */
static int mmap_unlink(const char *name, const struct pshm__ident *only)
{
	struct place p;
	int rc = open_place(&p, only != NULL ? only->dir : NULL, name);
	if (rc < 0)
		return rc;
	rc = only != NULL ? is_object(p.dirfd, p.file, only) : 0;
	if (rc == 0 && unlinkat(p.dirfd, p.file, 0) < 0)
		rc = pshm__neg_errno();
	close(p.dirfd);
	return rc;
}

const struct pshm__backend_ops pshm__backend_mmap = {
	.id = PSHM_BACKEND_MMAP,
	.probe = NULL,
	.create_anon = mmap_create_anon,
	.create_named = mmap_create_named,
	.write_fields = pshm__fd_write_fields,
	.publish = pshm__fd_publish,
	.open_named = mmap_open_named,
	.stat = mmap_stat,
	.list = mmap_list,
	.open_fd = pshm__fd_open_fd,
	.export_fd = pshm__fd_export,
	.resize = pshm__fd_resize,
	.remap = pshm__fd_remap,
	.unmap = pshm__fd_unmap,
	.unlink = mmap_unlink,
};
