/*
 * fd-resize.c - a POSIX or mmap segment's file made another size, and
 * mappings made to follow it.  Each step keeps what any reader sees safe:
 * the size recorded in the header never exceeds what the file holds (a
 * file grows before the header says so; the header says less before the
 * file shrinks), so that pshm_remap never maps bytes that are not there.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/fd-segment.h"

static size_t whole_pages(size_t len)
{
	size_t page = pshm__page_size();
	return (len + page - 1) / page * page;
}

static int truncate_file(int fd, off_t length)
{
	int rc;
	do
		rc = ftruncate(fd, length);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? pshm__neg_errno() : 0;
}

static int file_length(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pshm__neg_errno();
	*len = (uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX ? PTRDIFF_MAX : (size_t)st.st_size;
	return 0;
}

/* One look at the size the header records and the file's: 0 if they
 * agree; -EAGAIN if a resize ran meanwhile (the file's size before and
 * after, or the header read twice, differ); else what the check says. */
static int look_once(int fd, size_t *usable, size_t *len)
{
	struct pshm__head first, second;
	size_t after = 0;
	int rc = file_length(fd, len);
	if (rc == 0)
		rc = pshm__fd_read_head(fd, *len, &first);
	if (rc == 0)
		rc = pshm__fd_read_head(fd, *len, &second);
	if (rc == 0)
		rc = file_length(fd, &after);
	if (rc != 0)
		return rc;
	if (after != *len || first.u.hdr.usable_size != second.u.hdr.usable_size)
		return -EAGAIN;
	rc = pshm__header_check(&first, *len, NULL, PSHM_BACKEND_DEFAULT);
	/* Ours once, and READY: now overwritten or cut short (a file of 0
	 * bytes, "made and not sized yet" to an attacher), or caught between
	 * resizes. */
	if (rc == PSHM_ENOTPSHM || rc == -EAGAIN)
		return PSHM_ECORRUPT;
	if (rc < 0)
		return rc;
	*usable = (size_t)first.u.hdr.usable_size;
	return 0;
}

/* The usable size and file length a reader may map now.  A reader takes no
 * lock: what disagrees is looked at again (a resize that grows and shrinks
 * back between two looks at the file can fool the first comparison), and
 * only what still disagrees after a while is corrupt. */
static int recorded_size(int fd, size_t *usable, size_t *len)
{
	int rc = -EAGAIN;
	for (int attempt = 0; attempt < 100; attempt++) {
		rc = look_once(fd, usable, len);
		if (rc != -EAGAIN && rc != PSHM_ECORRUPT)
			return rc;
		if (attempt >= 10)
			nanosleep(&(struct timespec){0, 100000}, NULL);
	}
	return rc;
}

/*
 * Make map cover len bytes of its file: the tail cut off, or the new
 * bytes mapped right after the old ones where the address space there is
 * free (the address kept), else the whole mapped anew elsewhere.  On
 * failure map is as it was.
 */
static int map_length(struct pshm__map *map, size_t len, int rdonly)
{
	size_t have = whole_pages(map->len), want = whole_pages(len);
	int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	char *addr = map->addr;
	if (want < have && munmap(addr + want, have - want) < 0)
		return pshm__neg_errno();
	if (want > have) {
		void *more = mmap(addr + have, want - have, prot, MAP_SHARED, map->fd, (off_t)have);
		if (more != MAP_FAILED && more != addr + have)
			munmap(more, want - have);
		if (more != addr + have) {
			void *moved = mmap(NULL, want, prot, MAP_SHARED, map->fd, 0);
			if (moved == MAP_FAILED)
				return pshm__neg_errno();
			munmap(addr, have);
			map->addr = moved;
		}
	}
	map->len = len;
	return 0;
}

/* Record usable in the header of the file open on fd. */
static int record_size(int fd, size_t usable)
{
	uint64_t size = usable;
	return pshm__pwrite_all(fd, &size, sizeof(size),
	                        (off_t)offsetof(struct pshm__header, usable_size));
}

int pshm__fd_resize(struct pshm__map *map, size_t usable, size_t len, unsigned how)
{
	size_t old_usable = 0, old_len = 0;
	off_t length = (off_t)len;
	int rc = pshm__file_size_allowed(len);
	if (rc == 0 && (length < 0 || (size_t)length != len))
		rc = -EFBIG;
	if (rc == 0)
		rc = recorded_size(map->fd, &old_usable, &old_len);
	if (rc == 0 && (how & PSHM__MAKE_GROW_ONLY) && usable < old_usable)
		rc = -ENOTSUP; /* judged under the lock: another may have grown it */
	if (rc < 0)
		return rc;
	int growing = len > old_len;
	if (growing) {
		rc = truncate_file(map->fd, length);
		if (rc == 0 && (how & PSHM__MAKE_RESERVE))
			rc = pshm__fd_reserve(map->fd, (off_t)whole_pages(old_len), length);
	}
	if (rc == 0)
		rc = record_size(map->fd, usable);
	if (rc == 0)
		rc = map_length(map, len, 0);
	if (rc < 0) { /* back as it was, the header first, then the file;
	                 what fails here changes nothing that rc does not say */
		(void)record_size(map->fd, old_usable);
		if (growing)
			(void)truncate_file(map->fd, (off_t)old_len);
		return rc;
	}
	if (len < old_len)
		rc = truncate_file(map->fd, length);
	map->usable = usable;
	return rc;
}

int pshm__fd_remap(struct pshm__map *map, int rdonly)
{
	size_t usable = 0, len = 0;
	int rc = recorded_size(map->fd, &usable, &len);
	if (rc == 0)
		rc = map_length(map, len, rdonly);
	if (rc == 0)
		map->usable = usable;
	return rc;
}
