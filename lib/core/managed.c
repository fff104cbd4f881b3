/*
 * managed.c - the public calls of managed segments (PSHM_MANAGED): each
 * checks its arguments, opens the heap in the segment's usable bytes
 * (locked, and repaired if the lock's last holder died), calls the engine
 * of heap/, which knows no handle, and leaves the heap.  Offsets and
 * pointers convert here too.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "core/handle.h"
#include "heap/heap.h"
#include "heap/slots.h"

#define MAX_ALIGN (UINT64_C(1) << 20)

/* A heap that reaches past shm's mapping grew in another process's larger
 * one if its header records a larger size (-ESTALE: pshm_remap, then call
 * again); else it is overwritten.  Read after the heap's end, which a
 * grower moves after the size is recorded. */
static int past_mapping(const pshm_t *shm)
{
	if (shm->name[0] == '\0')
		return PSHM_ECORRUPT; /* an anonymous segment never grows */
	const struct pshm__header *hdr = shm->map.addr;
	uint64_t recorded = atomic_load_explicit((const _Atomic uint64_t *)(const void *)&hdr->usable_size,
	                                         memory_order_acquire);
	return recorded > shm->size ? -ESTALE : PSHM_ECORRUPT;
}

/* Open shm's heap, not locked: 0, or the code the call returns (-EINVAL,
 * -EACCES, PSHM_ENOHEAP, PSHM_EVERSION, PSHM_ECORRUPT, -ESTALE). */
static int open_heap(pshm_t *shm, struct pshm__heap_view *v)
{
	void *addr = NULL;
	size_t size = 0;
	int managed = 0;
	int rc = pshm__usable_area(shm, &addr, &size, &managed);
	if (rc == 0)
		rc = pshm__heap_open(addr, size, managed, v);
	return rc == -ESTALE ? past_mapping(shm) : rc;
}

/* Open shm's heap and lock it: 0, or the code the call returns (as
 * open_heap, and -EDEADLK...). */
static int enter(pshm_t *shm, struct pshm__heap_view *v)
{
	int rc = open_heap(shm, v);
	return rc != 0 ? rc : pshm__heap_lock(v);
}

int pshm__heap_follow(pshm_t *shm)
{
	struct pshm__heap_view v;
	int rc = enter(shm, &v); /* which grows the heap to the mapping */
	return rc != 0 ? rc : pshm__heap_leave(&v, 0);
}

/* After a call said rc: whether it is worth one more try, rc being
 * -ENOMEM from a heap whose slots held blocks, now given back. */
static int room_made(pshm_t *shm, int rc)
{
	struct pshm__heap_view v;
	return rc == -ENOMEM && open_heap(shm, &v) == 0 && pshm__slots_flush(&v) == 1;
}

/* Allocate through a slot, or under the heap's lock. */
static int try_allocate(pshm_t *shm, size_t size, uint64_t align, pshm_off_t *off)
{
	struct pshm__heap_view v;
	uint64_t at;
	int rc = open_heap(shm, &v);
	if (rc != 0)
		return rc;
	rc = align == PSHM__HEAP_GRAIN ? pshm__slot_alloc(&v, size, &at) : 1;
	if (rc == 1) { /* not through a slot */
		rc = pshm__heap_lock(&v);
		if (rc != 0)
			return rc;
		rc = pshm__heap_leave(&v, pshm__heap_alloc(&v, size, align, &at));
	}
	if (rc == 0)
		*off = at;
	return rc;
}

static int allocate(pshm_t *shm, size_t size, uint64_t align, pshm_off_t *off)
{
	if (size == 0 || off == NULL)
		return -EINVAL;
	int rc = try_allocate(shm, size, align, off);
	return room_made(shm, rc) ? try_allocate(shm, size, align, off) : rc;
}

PSHM_EXTERN int pshm_alloc(pshm_t *shm, size_t size, pshm_off_t *off)
{
	return allocate(shm, size, PSHM__HEAP_GRAIN, off);
}

PSHM_EXTERN int pshm_alloc_aligned(pshm_t *shm, size_t size, size_t align, pshm_off_t *off)
{
	if (align < PSHM__HEAP_GRAIN || align > MAX_ALIGN || (align & (align - 1)) != 0)
		return -EINVAL;
	return allocate(shm, size, align, off);
}

PSHM_EXTERN int pshm_free(pshm_t *shm, pshm_off_t off)
{
	struct pshm__heap_view v;
	int rc = open_heap(shm, &v);
	if (rc == 0 && off != PSHM_OFF_NULL) {
		rc = pshm__slot_free(&v, off); /* 1: not through a slot */
		if (rc <= 0)
			return rc;
	}
	rc = rc < 0 ? rc : pshm__heap_lock(&v);
	if (rc != 0)
		return rc;
	return pshm__heap_leave(&v, off == PSHM_OFF_NULL ? 0 : pshm__heap_give(&v, off, 0));
}

static int try_realloc(pshm_t *shm, pshm_off_t *off, size_t size)
{
	struct pshm__heap_view v;
	int rc = enter(shm, &v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__heap_realloc(&v, off, size));
}

PSHM_EXTERN int pshm_realloc(pshm_t *shm, pshm_off_t *off, size_t size)
{
	if (off == NULL || size == 0)
		return -EINVAL;
	if (*off == PSHM_OFF_NULL)
		return allocate(shm, size, PSHM__HEAP_GRAIN, off);
	int rc = try_realloc(shm, off, size);
	return room_made(shm, rc) ? try_realloc(shm, off, size) : rc;
}

PSHM_EXTERN void *pshm_ptr(const pshm_t *shm, pshm_off_t off)
{
	if (shm == NULL || off == PSHM_OFF_NULL || off >= pshm_size(shm))
		return NULL;
	return (char *)pshm_addr(shm) + off;
}

PSHM_EXTERN pshm_off_t pshm_off(const pshm_t *shm, const void *ptr)
{
	if (shm == NULL || ptr == NULL)
		return PSHM_OFF_NULL;
	uintptr_t base = (uintptr_t)pshm_addr(shm);
	uintptr_t at = (uintptr_t)ptr;
	return at >= base && at - base < pshm_size(shm) ? (pshm_off_t)(at - base) : PSHM_OFF_NULL;
}

PSHM_EXTERN int pshm_heap_stat(pshm_t *shm, pshm_heap_info_t *info)
{
	if (info == NULL)
		return -EINVAL;
	struct pshm__heap_view v;
	int rc = open_heap(shm, &v);
	rc = rc != 0 ? rc : pshm__slots_flush(&v); /* what the slots hold is free */
	rc = rc < 0 ? rc : pshm__heap_lock(&v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__heap_stat(&v, info));
}

PSHM_EXTERN int pshm_heap_check(pshm_t *shm)
{
	struct pshm__heap_view v;
	int rc = open_heap(shm, &v);
	rc = rc != 0 ? rc : pshm__slots_verify(&v);
	rc = rc != 0 ? rc : pshm__heap_lock(&v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__heap_verify(&v));
}

static int try_object(pshm_t *shm, const char *name, size_t size,
                      int (*init)(void *obj, size_t size, void *arg), void *arg, pshm_off_t *off)
{
	struct pshm__heap_view v;
	int rc = enter(shm, &v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__object_get(&v, name, size, init, arg, off));
}

PSHM_EXTERN int pshm_object(pshm_t *shm, const char *name, size_t size,
                            int (*init)(void *obj, size_t size, void *arg), void *arg,
                            pshm_off_t *off)
{
	if (!pshm__object_name_is_valid(name) || size == 0 || off == NULL)
		return -EINVAL;
	int rc = try_object(shm, name, size, init, arg, off);
	return room_made(shm, rc) ? try_object(shm, name, size, init, arg, off) : rc;
}

PSHM_EXTERN int pshm_object_find(pshm_t *shm, const char *name, pshm_off_t *off, size_t *size)
{
	if (!pshm__object_name_is_valid(name))
		return -EINVAL;
	struct pshm__heap_view v;
	int rc = enter(shm, &v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__object_lookup(&v, name, off, size));
}

PSHM_EXTERN int pshm_object_remove(pshm_t *shm, const char *name)
{
	if (!pshm__object_name_is_valid(name))
		return -EINVAL;
	struct pshm__heap_view v;
	int rc = enter(shm, &v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__object_unlink(&v, name));
}

PSHM_EXTERN int pshm_object_list(pshm_t *shm,
                                 int (*fn)(const char *name, pshm_off_t off, size_t size,
                                           void *arg),
                                 void *arg)
{
	if (fn == NULL)
		return -EINVAL;
	struct pshm__heap_view v;
	int rc = enter(shm, &v);
	return rc != 0 ? rc : pshm__heap_leave(&v, pshm__object_each(&v, fn, arg));
}
