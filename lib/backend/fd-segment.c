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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/fd-segment.h"

static int map_fd(int fd, size_t len, int rdonly, struct pshm__map *map)
{
	int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	void *addr = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		return pshm__neg_errno();
	map->addr = addr;
	map->len = len;
	return 0;
}

int pshm__fd_reserve(int fd, off_t from, off_t length)
{
	int rc = pshm__allocate_file(fd, from, length);
	switch (rc) {
	case -EOPNOTSUPP:
	case -EINVAL:
	case -ENODEV:
	case -ENOSYS:
	case -ESPIPE:
	case -ENXIO:
		return 0;
	default:
		return rc;
	}
}

/* The identity of the file st describes. */
static struct pshm__ident ident_of(const struct stat *st)
{
	return (struct pshm__ident){.id = -1, .dev = st->st_dev, .ino = st->st_ino};
}

int pshm__same_object(const struct stat *st, const struct pshm__ident *only)
{
	return st->st_dev == only->dev && st->st_ino == only->ino ? 0 : -ENOENT;
}

enum pshm__reserve pshm__reserve_for(unsigned how)
{
	return (how & PSHM__MAKE_RESERVE) ? PSHM__RESERVE_ALL : PSHM__RESERVE_NOTHING;
}

int pshm__fd_init_map(int fd, size_t len, enum pshm__reserve reserve, struct pshm__map *map)
{
	off_t length = (off_t)len;
	if (length < 0 || (size_t)length != len)
		return -EFBIG;
	int rc = pshm__file_size_allowed(len);
	if (rc < 0)
		return rc;
	do
		rc = ftruncate(fd, length);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return pshm__neg_errno();
	if (reserve == PSHM__RESERVE_ALL) {
		rc = pshm__fd_reserve(fd, 0, length);
		if (rc < 0)
			return rc;
	}
	return map_fd(fd, len, 0, map);
}

int pshm__fd_init_named(int fd, mode_t mode, size_t len, unsigned how, struct pshm__map *map)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pshm__neg_errno();
	/* open() gave mode less the umask: put the rest back, if any. */
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		return pshm__neg_errno();
	(void)pshm__hold_shared(fd); /* held while attached, where it can be */
	map->ident = ident_of(&st);
	int rc = pshm__fd_init_map(fd, len, pshm__reserve_for(how), map);
	if (rc == 0)
		map->fd = fd;
	return rc;
}

int pshm__fd_write_fields(struct pshm__map *map, const struct pshm__header *hdr)
{
	const unsigned char *bytes = (const unsigned char *)hdr;
	return pshm__pwrite_all(map->fd, bytes + PSHM__HEADER_FIELDS_START,
	                        PSHM__HEADER_FIELDS_END - PSHM__HEADER_FIELDS_START,
	                        (off_t)PSHM__HEADER_FIELDS_START);
}

int pshm__fd_publish(struct pshm__map *map)
{
	const uint32_t ready = PSHM__STATE_READY;
	/* last, on its own: an attacher reads it before and after the rest */
	return pshm__pwrite_all(map->fd, &ready, sizeof(ready), 0);
}

/* The state word of the file open on fd, read on its own. */
static int read_state(int fd, uint32_t *state)
{
	*state = 0;
	ssize_t got = pshm__pread_head(fd, state, sizeof(*state));
	return got < 0 ? (int)got : 0;
}

/* Whether head, copied whole after the state word read READY, says READY:
 * its creator wrote every field before READY, in a write of its own. */
static int ready_throughout(const struct pshm__head *head, size_t want, uint32_t before)
{
	uint32_t copied = 0;
	if (before != PSHM__STATE_READY || head->have != want || want < sizeof(copied))
		return 0;
	memcpy(&copied, head->u.bytes, sizeof(copied));
	return copied == PSHM__STATE_READY;
}

/* The copy is no snapshot: a creator may publish its segment, and write in
 * it, while it is read.  The state word read before (and, unless READY
 * then, after) tells: the same both times, the copy is of one state; else
 * -EAGAIN, as when the file shrank meanwhile. */
int pshm__fd_read_head(int fd, size_t len, struct pshm__head *head)
{
	memset(head, 0, sizeof(*head));
	size_t want = len < PSHM__HEAD_BYTES ? len : PSHM__HEAD_BYTES;
	uint32_t before, after;
	int rc = read_state(fd, &before);
	ssize_t got = rc < 0 ? rc : pshm__pread_head(fd, head->u.bytes, want);
	if (got < 0)
		return (int)got;
	head->have = (size_t)got;
	if (ready_throughout(head, want, before))
		return 0;
	rc = read_state(fd, &after);
	if (rc < 0)
		return rc;
	return head->have == want && before == after ? 0 : -EAGAIN;
}

/* Whether the file open on fd has another size than st says (0 if fstat
 * fails: then nothing can be said). */
static int resized_since(int fd, const struct stat *st)
{
	struct stat now;
	return fstat(fd, &now) == 0 && now.st_size != st->st_size;
}

/* pshm__fd_open_existing, leaving the head it judged in head.  The file
 * is held while attached from the start (a FIFO, a device take the lock
 * harmlessly); one that had to wait for a cleaner may have lost its name
 * meanwhile: opened by name, it is then gone. */
static int open_checked(int fd, const char *name, pshm_backend_t backend, unsigned flags,
                        struct pshm__map *map, struct pshm__head *head)
{
	int waited = pshm__hold_shared(fd) == 1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pshm__neg_errno();
	if (!S_ISREG(st.st_mode))
		return PSHM_ENOTPSHM; /* a FIFO, a device...: never read or mapped */
	if (waited && name != NULL && st.st_nlink == 0)
		return -ENOENT;
	size_t len = (uintmax_t)st.st_size > (uintmax_t)SIZE_MAX ? SIZE_MAX : (size_t)st.st_size;
	int rc = pshm__fd_read_head(fd, len, head);
	if (rc == 0)
		rc = pshm__header_accept(head, len, st.st_uid, name, backend, flags);
	if (rc == PSHM_ECORRUPT && resized_since(fd, &st))
		rc = -EAGAIN; /* a header read after a resize began, against the size before */
	if (rc < 0)
		return rc;
	if ((uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX)
		return -EOVERFLOW;
	map->owner = st.st_uid;
	map->usable = (size_t)head->u.hdr.usable_size;
	map->made_by = (pshm_backend_t)head->u.hdr.backend;
	map->flags = head->u.hdr.flags;
	map->ident = ident_of(&st);
	rc = map_fd(fd, len, (flags & PSHM_RDONLY) != 0, map);
	if (rc == 0)
		map->fd = fd;
	return rc;
}

int pshm__fd_open_existing(int fd, const char *name, pshm_backend_t backend, unsigned flags,
                           struct pshm__map *map)
{
	struct pshm__head head;
	return open_checked(fd, name, backend, flags, map, &head);
}

int pshm__fd_open_fd(struct pshm__map *map, int fd, unsigned flags, char name[PSHM_NAME_MAX + 1])
{
	struct pshm__head head;
	int rc = -EAGAIN;
	for (int attempt = 0; rc == -EAGAIN && attempt < 100; attempt++) /* resized meanwhile */
		rc = open_checked(fd, NULL, PSHM_BACKEND_DEFAULT, flags, map, &head);
	if (rc == 0)
		memcpy(name, head.u.hdr.name, PSHM_NAME_MAX + 1); /* checked: NUL-terminated */
	return rc;
}

int pshm__fd_export(const struct pshm__map *map, unsigned seals)
{
	if (map->fd < 0)
		return PSHM_ENODESC;
	int rc = seals != 0 ? pshm__seal(map->fd, seals) : 0;
	if (rc < 0 && rc != -ENOTSUP)
		return rc; /* what cannot be sealed goes unsealed: PSHM_SEALED tells */
	int fd = fcntl(map->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? pshm__neg_errno() : fd;
}

void pshm__fd_describe(const struct stat *st, struct pshm__object *obj)
{
	memset(obj, 0, sizeof(*obj));
	obj->owner = st->st_uid;
	obj->mode = st->st_mode & 0777;
	obj->len = (uintmax_t)st->st_size > (uintmax_t)SIZE_MAX ? SIZE_MAX : (size_t)st->st_size;
	obj->changed = st->st_ctime;
	obj->attached = -1;
	obj->exclusive_fd = -1;
	obj->ident = ident_of(st);
}

/*
 * How many processes have a file attached, from whether any handle holds
 * it (held: 0 no, 1 yes, -1 not known) and how many processes /proc shows
 * mapping it (mappers, -1 not known): /proc's count where it sees any;
 * else nobody where no handle holds it; else, held, one (a descriptor not
 * mapped yet) or not known (/proc unreadable).
 */
static int attached_count(int held, int mappers)
{
	if (mappers > 0 || held < 0)
		return mappers;
	if (held == 0)
		return 0;
	return mappers == 0 ? 1 : -1;
}

/* The count of attachments, and the file held exclusively (the lock after
 * the /proc scan, so that attachers wait for no more than the unlink). */
static void count_attached(int fd, const struct stat *st, struct pshm__object *obj)
{
	int mappers = pshm__count_mappers(st->st_dev, st->st_ino);
	int held = pshm__held_by_anyone(fd);
	obj->attached = attached_count(held, mappers);
	if (held == 0)
		obj->exclusive_fd = fd;
}

int pshm__fd_stat(int fd, struct pshm__object *obj)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = pshm__neg_errno();
		close(fd);
		return rc;
	}
	pshm__fd_describe(&st, obj);
	int rc = 0;
	if (S_ISREG(st.st_mode)) {
		obj->regular = 1;
		rc = -EAGAIN;
		for (int attempt = 0; rc == -EAGAIN && attempt < 3; attempt++)
			rc = pshm__fd_read_head(fd, obj->len, &obj->head);
		if (rc == -EAGAIN)
			rc = 0; /* still changing: judged on what was there */
		if (rc == 0)
			count_attached(fd, &st, obj);
	}
	if (obj->exclusive_fd != fd)
		close(fd);
	return rc;
}

int pshm__fd_is(int fd, const struct pshm__ident *only)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pshm__neg_errno();
	return pshm__same_object(&st, only);
}

int pshm__fd_open_error(int rc)
{
	switch (rc) {
	case -ENXIO:  /* a socket */
	case -ELOOP:  /* a symbolic link (O_NOFOLLOW) */
	case -EMLINK: /* ... as FreeBSD says it */
	case -EISDIR: /* a directory, opened for writing */
	case -EINVAL: /* ... as glibc's shm_open says it (names are checked) */
		return PSHM_ENOTPSHM;
	default:
		return rc;
	}
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
	free(map->ident.dir);
	map->ident.dir = NULL;
	if (map->fd >= 0) {
		close(map->fd);
		map->fd = -1;
	}
	if (munmap(map->addr, map->len) < 0)
		return pshm__neg_errno();
	map->addr = NULL;
	map->len = 0;
	return 0;
}
