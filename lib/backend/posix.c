/*
 * posix.c - shm_open + ftruncate + mmap(MAP_SHARED).
 *
 * A named segment "NAME" is the shm object "/pshm.NAME", or where that is
 * longer than the system takes (macOS: 31 bytes) "/pshm#" and a 64-bit
 * hash of NAME, as APR and Qt shorten theirs; the name in the header tells
 * two names of one hash apart (PSHM_ECOLLISION).  An anonymous one is
 * a memfd where the system has memfd_create, else a shm object of a unique
 * name that is unlinked as soon as it is open: either way it has no name
 * that could leak.
 */
#define _GNU_SOURCE /* memfd_create */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/fd-segment.h"

#define POSIX_STEM "pshm"          /* as /dev/shm shows the objects on Linux: */
#define POSIX_FILE_PREFIX "pshm."  /* "pshm.NAME" */
#define POSIX_HASHED_MARK '#'      /* "pshm#HASH" */
#define HASHED_LENGTH 17           /* "#" and 16 hex digits */
#define POSIX_PREFIX "/" POSIX_FILE_PREFIX
#define POSIX_FILES "/dev/shm" /* where Linux keeps the objects, as files */

/*
 * Linux's shm objects are files in /dev/shm, where any user can plant a
 * FIFO that a plain open would block on for ever: open them non-blocking.
 * (glibc passes the flag through and musl adds it itself; FreeBSD refuses
 * flags it does not know, and its objects are not files.)
 */
#if defined(__linux__)
#define SHM_OPEN_NONBLOCK O_NONBLOCK
#else
#define SHM_OPEN_NONBLOCK 0
#endif

/* Room for the prefix, a name, and the anonymous fallback's unique names. */
typedef char object_name[64];

static int shm_open_retry(const char *object, int flags, mode_t mode)
{
	int fd;
	do
		fd = shm_open(object, flags | SHM_OPEN_NONBLOCK, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? pshm__neg_errno() : fd;
}

/* FNV-1a, 64 bits: the same on every system and byte order. */
static uint64_t name_hash(const char *name)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	return h;
}

/* The shm object of segment name: "/pshm.NAME", or "/pshm#HASH" where that
 * is too long for the system.  (Names are checked: they fit.) */
static void object_of(const char *name, object_name object)
{
	size_t length = strlen(name);
	if (strlen(POSIX_PREFIX) + length <= PSHM_SHM_NAME_MAX) {
		memcpy(object, POSIX_PREFIX, sizeof(POSIX_PREFIX));
		memcpy(object + strlen(POSIX_PREFIX), name, length + 1);
	} else
		snprintf(object, sizeof(object_name), "/" POSIX_STEM "%c%016llx", POSIX_HASHED_MARK,
		         (unsigned long long)name_hash(name));
}

/* Where Linux keeps name's object, as a file. */
static void file_of(const char *name, char path[sizeof(POSIX_FILES) + sizeof(object_name)])
{
	object_name object;
	object_of(name, object);
	memcpy(path, POSIX_FILES, sizeof(POSIX_FILES));
	memcpy(path + strlen(POSIX_FILES), object, strlen(object) + 1);
}

/* shm_open of name's object. */
static int open_object(const char *name, int flags, mode_t mode)
{
	object_name object;
	object_of(name, object);
	return shm_open_retry(object, flags, mode);
}

static int unlink_object(const char *name)
{
	object_name object;
	object_of(name, object);
	return shm_unlink(object) < 0 ? pshm__neg_errno() : 0;
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
	int fd = memfd_create("pshm", MFD_CLOEXEC | MFD_ALLOW_SEALING); /* pshm_export_fd's */
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
#if HAVE_MEMFD_CREATE && HAVE_DECL_MFD_HUGETLB
	int fd = memfd_create("pshm", MFD_CLOEXEC | MFD_HUGETLB | MFD_ALLOW_SEALING);
	if (fd < 0 && errno == EINVAL) /* before Linux 4.16: no seals on huge pages */
		fd = memfd_create("pshm", MFD_CLOEXEC | MFD_HUGETLB);
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
	/* A memfd cannot run out of file system, only of memory, and then the
	 * OOM killer comes, not SIGBUS: reserving would only fill memory now.
	 * Nobody can open it by name, so its mode does not matter either. */
	enum pshm__reserve what = in_tmpfs ? pshm__reserve_for(how) : PSHM__RESERVE_NOTHING;
	int rc = pshm__fd_init_map(fd, len, what, map);
	if (rc == 0)
		map->fd = fd; /* kept: pshm_export_fd */
	else
		close(fd);
	return rc;
}

static int posix_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                              unsigned how)
{
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP; /* shm_open's file system has no huge pages */
	int fd = open_object(name, O_RDWR | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return fd;
	int rc = pshm__fd_init_named(fd, mode, len, how, map); /* keeps fd for publish */
	if (rc < 0) {
		close(fd);
		unlink_object(name);
	}
	return rc;
}

static int posix_open_named(struct pshm__map *map, const char *name, unsigned flags)
{
	int fd = open_object(name, (flags & PSHM_RDONLY) ? O_RDONLY : O_RDWR, 0);
	if (fd < 0)
		return pshm__fd_open_error(fd);
	int rc = pshm__fd_open_existing(fd, name, PSHM_BACKEND_POSIX, flags, map);
	if (rc < 0)
		close(fd);
	return rc;
}

/* An object that cannot be opened as a file (a socket, a symbolic link),
 * described from where Linux keeps it; elsewhere nothing is known of it. */
static void describe_unopenable(const char *name, struct pshm__object *obj)
{
	char path[sizeof(POSIX_FILES) + sizeof(object_name)];
	file_of(name, path);
	struct stat st;
	if (lstat(path, &st) < 0)
		memset(&st, 0, sizeof(st)); /* nothing known but that it is there */
	pshm__fd_describe(&st, obj);
}

static int posix_stat(const char *name, unsigned flags, struct pshm__object *obj)
{
	(void)flags; /* one namespace */
	int fd = open_object(name, O_RDONLY, 0);
	if (fd < 0 && pshm__fd_open_error(fd) == PSHM_ENOTPSHM) {
		describe_unopenable(name, obj);
		return 0;
	}
	if (fd < 0)
		return fd;
	return pshm__fd_stat(fd, obj); /* takes fd */
}

/* Whether name's object is only's: 0, or -ENOENT if it is another now.
 * Where the objects are the files of /dev/shm (Linux), a stat of the file
 * tells without opening it (one system call instead of three); a file of
 * only's device and inode there is only's object. */
static int object_is(const char *name, const struct pshm__ident *only)
{
#if defined(__linux__)
	char path[sizeof(POSIX_FILES) + sizeof(object_name)];
	file_of(name, path);
	struct stat st;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    pshm__same_object(&st, only) == 0)
		return 0;
#endif
	int fd = open_object(name, O_RDONLY, 0);
	if (fd < 0)
		return pshm__fd_open_error(fd) == PSHM_ENOTPSHM ? -ENOENT : fd;
	int rc = pshm__fd_is(fd, only);
	close(fd);
	return rc;
}

static int posix_unlink(const char *name, const struct pshm__ident *only)
{
	/* The shortest window POSIX allows: the object under the name is
	 * compared just before shm_unlink, which takes a name. */
	int rc = only != NULL ? object_is(name, only) : 0;
	return rc < 0 ? rc : unlink_object(name);
}

struct listing {
	int (*fn)(const char *name, void *arg);
	void *arg;
};

/* The segment name in the header of the hashed object "/pshm#HASH" (rest:
 * "#HASH") into name, if its hash is that one: 0, else -1. */
static int hashed_name(const char *rest, char name[PSHM_NAME_MAX + 2])
{
	if (strlen(rest) != HASHED_LENGTH)
		return -1;
	object_name object;
	snprintf(object, sizeof(object), "/" POSIX_STEM "%.17s", rest);
	int fd = shm_open_retry(object, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	struct pshm__header hdr;
	ssize_t got = pshm__pread_head(fd, &hdr, sizeof(hdr));
	close(fd);
	if (got != (ssize_t)sizeof(hdr) || memchr(hdr.name, '\0', sizeof(hdr.name)) == NULL)
		return -1;
	memcpy(name, hdr.name, sizeof(hdr.name));
	object_name again;
	object_of(name, again);
	return strcmp(again, object) == 0 ? 0 : -1;
}

/* A file of /dev/shm after "pshm": ".NAME", or "#HASH" of a long name. */
static int list_entry(const char *rest, void *arg)
{
	const struct listing *l = arg;
	if (rest[0] == '.')
		return l->fn(rest + 1, l->arg);
	char name[PSHM_NAME_MAX + 2];
	if (rest[0] == POSIX_HASHED_MARK && hashed_name(rest, name) == 0)
		return l->fn(name, l->arg);
	return 0; /* another library's, or a hashed one not made (or not ours) */
}

/* Linux shows the shm objects as the files of /dev/shm; elsewhere nothing
 * lists them. */
static int posix_list(int (*fn)(const char *name, void *arg), void *arg)
{
	int dirfd = pshm__openat(AT_FDCWD, POSIX_FILES, O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return -ENOTSUP;
	struct listing l = {fn, arg};
	return pshm__list_dir(dirfd, POSIX_STEM, list_entry, &l);
}

/* Named segments need shm_open itself, not just memfd_create.  Only a
 * system without it (ENOSYS: glibc with no /dev/shm) never will; running
 * out of fds is an answer for now.  The probe makes nothing (a process
 * killed while it probed would leave what it made): it opens a name no
 * segment can have (names do not start with '.'), which is -ENOENT where
 * shm_open works. */
static int posix_probe(void)
{
	int fd = shm_open_retry(POSIX_PREFIX ".probe", O_RDONLY, 0);
	if (fd >= 0) {
		close(fd); /* somebody made it: shm_open works all the same */
		return 0;
	}
	if (fd == -ENOSYS)
		return -ENOTSUP;
	return fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM ? fd : 0;
}

const struct pshm__backend_ops pshm__backend_posix = {
	.id = PSHM_BACKEND_POSIX,
	.probe = posix_probe,
	.create_anon = posix_create_anon,
	.create_named = posix_create_named,
	.write_fields = pshm__fd_write_fields,
	.publish = pshm__fd_publish,
	.open_named = posix_open_named,
	.stat = posix_stat,
	.list = posix_list,
	.open_fd = pshm__fd_open_fd,
	.export_fd = pshm__fd_export,
	.resize = pshm__fd_resize,
	.remap = pshm__fd_remap,
	.unmap = pshm__fd_unmap,
	.unlink = posix_unlink,
};
