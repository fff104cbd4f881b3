/*
 * segment.c - the life of a segment: create, attach, detach, destroy,
 * remove.  Dispatches to the backend tables; nothing here knows how a
 * backend makes its segments.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/handle.h"
#include "heap/heap.h"

/* How long pshm_attach waits for a creator to finish its segment. */
#define PSHM__READY_TIMEOUT_NS (1000L * 1000L * 1000L)

#define PSHM__CREATE_FLAGS \
	(PSHM_NORESERVE | PSHM_PREFAULT | PSHM_HUGEPAGES | PSHM_MANAGED | PSHM_GLOBAL)
#define PSHM__ATTACH_FLAGS (PSHM_RDONLY | PSHM_ANY_OWNER | PSHM_PREFAULT | PSHM_GLOBAL)
/* What the backend's open_named needs to know of them. */
#define PSHM__OPEN_FLAGS (PSHM_RDONLY | PSHM_ANY_OWNER | PSHM_GLOBAL)

static int new_handle(pshm_t **out, const struct pshm__backend_ops *ops,
                      const struct pshm__map *map, const char *name, int rdonly, int managed)
{
	pshm_t *shm = calloc(1, sizeof(*shm));
	if (shm == NULL)
		return -ENOMEM;
	shm->ops = ops;
	shm->map = *map;
	shm->size = map->usable;
	shm->rdonly = rdonly;
	shm->managed = managed;
	if (name != NULL)
		memcpy(shm->name, name, strlen(name) + 1);
	*out = shm;
	return 0;
}

/* PSHM_PREFAULT: populate the mapping where the kernel can, else nothing. */
static int prefault_hint(void *addr, size_t len, int writable)
{
	int rc = pshm__populate(addr, len, writable);
	return rc == -ENOTSUP ? 0 : rc;
}

/*
 * Write a new segment's header and, for PSHM_MANAGED, make its heap, then
 * say it is ready.  An anonymous segment's header stays zero: nobody looks
 * it up by name, and its lock is made at its first use.  A named one's
 * heap is made after the header's other fields and before READY, so that
 * no attacher sees the segment without it, and one that looks meanwhile
 * can tell the heap in the making (PSHM__HEADER_MANAGED) from somebody
 * else's bytes.
 */
static int make_and_publish(const struct pshm__backend_ops *ops, struct pshm__map *map,
                            const char *name, size_t size, unsigned managed)
{
	struct pshm__header hdr;
	int rc = 0;
	if (name != NULL) {
		pshm__header_fill(&hdr, name, size, ops->id, managed ? PSHM__HEADER_MANAGED : 0);
		rc = ops->write_fields(map, &hdr);
	}
	if (rc == 0 && managed)
		rc = pshm__heap_format((char *)map->addr + PSHM__HEADER_SIZE, size);
	if (rc == 0 && name != NULL)
		rc = ops->publish(map);
	return rc;
}

PSHM_EXTERN int pshm_create(pshm_t **shm, const char *name, size_t size, const pshm_attr_t *attr)
{
	struct pshm__settings set;
	int rc = pshm__read_attr(attr, &set);
	if (shm == NULL || size == 0 || (name != NULL && !pshm__name_is_valid(name)))
		return -EINVAL;
	if (rc < 0)
		return rc;
	if ((set.flags & ~PSHM__CREATE_FLAGS) ||
	    ((set.flags & PSHM_MANAGED) && (size < PSHM_HEAP_MIN || (set.flags & PSHM_NORESERVE))))
		return -EINVAL;
	unsigned how = pshm__make_how(set.flags);
	size_t page = pshm__page_size();
	if (how & PSHM__MAKE_HUGE) {
		page = pshm__huge_page_size();
		if (page == 0)
			return -ENOTSUP;
	}
	size_t len = pshm__mapping_length(size, page);
	if (len == 0)
		return -EINVAL;

	struct pshm__map map = {.fd = -1, .addr = NULL, .ident = {.id = -1}};
	rc = name == NULL ? set.ops->create_anon(&map, len, how)
	                  : set.ops->create_named(&map, name, len, set.mode, how);
	if (rc < 0)
		return rc;
	if (set.flags & PSHM_PREFAULT)
		rc = prefault_hint(map.addr, map.len, 1);
	if (rc == 0)
		rc = make_and_publish(set.ops, &map, name, size, set.flags & PSHM_MANAGED);
	map.usable = size;
	if (rc == 0)
		rc = new_handle(shm, set.ops, &map, name, 0, (set.flags & PSHM_MANAGED) != 0);
	if (rc < 0) {
		if (name != NULL)
			set.ops->unlink(name, &map.ident);
		set.ops->unmap(&map);
	}
	return rc;
}

/* Back off while a creator finishes: 10 us naps at first, then 1 ms ones. */
static void pause_briefly(unsigned attempt)
{
	if (attempt < 16) {
		struct timespec ts = {0, 10000};
		nanosleep(&ts, NULL);
		return;
	}
	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
}

PSHM_EXTERN int pshm_attach(pshm_t **shm, const char *name, const pshm_attr_t *attr)
{
	struct pshm__settings set;
	int rc = pshm__read_attr(attr, &set);
	if (shm == NULL || !pshm__name_is_valid(name))
		return -EINVAL;
	if (rc < 0)
		return rc;
	if (set.flags & ~PSHM__ATTACH_FLAGS)
		return -EINVAL;

	struct pshm__map map = {.fd = -1, .addr = NULL, .ident = {.id = -1}};
	long long deadline = pshm__monotonic_ns() + PSHM__READY_TIMEOUT_NS;
	long long foreign_until = 0;
	for (unsigned attempt = 0;; attempt++) {
		rc = set.ops->open_named(&map, name, set.flags & PSHM__OPEN_FLAGS);
		if (rc == PSHM_ENOTPSHM && pshm__look_again(&foreign_until))
			rc = -EAGAIN;
		if (rc != -EAGAIN)
			break;
		if (pshm__monotonic_ns() > deadline)
			return PSHM_ENOTREADY;
		pause_briefly(attempt);
	}
	return rc < 0 ? rc : pshm__adopt(shm, set.ops, &map, name, set.flags);
}

int pshm__adopt(pshm_t **out, const struct pshm__backend_ops *ops, struct pshm__map *map,
                const char *name, unsigned flags)
{
	int rdonly = (flags & PSHM_RDONLY) != 0, rc = 0;
	int managed = (map->flags & PSHM__HEADER_MANAGED) != 0; /* not read from the mapping:
	                                                          its file may shrink */
	if (flags & PSHM_PREFAULT)
		rc = prefault_hint(map->addr, map->len, !rdonly);
	if (rc == 0)
		rc = new_handle(out, ops, map, name, rdonly, managed);
	if (rc < 0)
		ops->unmap(map);
	return rc;
}

PSHM_EXTERN void *pshm_addr(const pshm_t *shm)
{
	return shm == NULL ? NULL : (char *)shm->map.addr + PSHM__HEADER_SIZE;
}

PSHM_EXTERN size_t pshm_size(const pshm_t *shm)
{
	return shm == NULL ? 0 : shm->size;
}

PSHM_EXTERN const char *pshm_name(const pshm_t *shm)
{
	return shm == NULL || shm->name[0] == '\0' ? NULL : shm->name;
}

PSHM_EXTERN pshm_backend_t pshm_backend(const pshm_t *shm)
{
	return shm == NULL ? PSHM_BACKEND_DEFAULT : shm->ops->id;
}

int pshm__usable_area(const pshm_t *shm, void **addr, size_t *size, int *managed)
{
	if (shm == NULL)
		return -EINVAL;
	if (shm->rdonly)
		return -EACCES;
	*addr = (char *)shm->map.addr + PSHM__HEADER_SIZE;
	*size = shm->size;
	*managed = shm->managed;
	return 0;
}

PSHM_EXTERN int pshm_prefault(pshm_t *shm, size_t offset, size_t len)
{
	if (shm == NULL || offset > shm->size || len > shm->size - offset)
		return -EINVAL;
	if (len == 0)
		return 0;
	/* The whole pages around the range: the mapping is page-aligned, and
	 * so is its end. */
	size_t page = pshm__page_size();
	size_t first = (PSHM__HEADER_SIZE + offset) / page * page;
	size_t end = PSHM__HEADER_SIZE + offset + len;
	end = end > shm->map.len - page ? shm->map.len : (end + page - 1) / page * page;
	/* For reading: faulting for writing costs each page of a file a fault of
	 * its own (no fault-around), and on tmpfs and SysV memory, which keep
	 * no dirty bits, a page mapped for reading is mapped writable too. */
	int rc = pshm__populate((char *)shm->map.addr + first, end - first, 0);
	if (rc == -ENOTSUP && (first != 0 || end != shm->map.len))
		rc = pshm__populate(shm->map.addr, shm->map.len, 0); /* whole huge pages */
	return rc;
}

PSHM_EXTERN int pshm_detach(pshm_t *shm)
{
	if (shm == NULL)
		return -EINVAL;
	int rc = shm->ops->unmap(&shm->map);
	free(shm);
	return rc;
}

PSHM_EXTERN int pshm_destroy(pshm_t *shm)
{
	if (shm == NULL)
		return -EINVAL;
	/* Only this handle's own object: the name may hold another by now. */
	int rc = shm->name[0] == '\0' ? 0 : shm->ops->unlink(shm->name, &shm->map.ident);
	int detached = pshm_detach(shm);
	return rc < 0 ? rc : detached;
}

PSHM_EXTERN int pshm_remove(const char *name, const pshm_attr_t *attr)
{
	struct pshm__settings set;
	int rc = pshm__read_name_and_attr(name, attr, &set);
	return rc < 0 ? rc : set.ops->unlink(name, NULL);
}
