/*
 * objects.c - named objects in a heap: each is a block flagged
 * PSHM__BLOCK_OBJECT that starts with an entry (its name, size and the
 * next entry of its hash chain) followed by the object's bytes.  An object
 * exists once its entry is linked into a chain, by one 8-byte store; a
 * block flagged so that no chain leads to (its creator died before linking
 * it, or its remover after unlinking it) is freed by the repair's sweep.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "heap/heap.h"

#define ENTRY_BYTES ((uint64_t)sizeof(struct pshm__object_entry))

/* FNV-1a: names are short, and only spread over the chains. */
static uint64_t name_hash(const char *name)
{
	uint64_t hash = UINT64_C(0xcbf29ce484222325);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		hash = (hash ^ *p) * UINT64_C(0x100000001b3);
	return hash;
}

/* More objects than a heap can hold: a bound for walking chains that may
 * have been overwritten into a loop. */
static uint64_t object_limit(const struct pshm__heap_view *v)
{
	return (v->end - v->first) / (8 + ENTRY_BYTES) + 1;
}

int pshm__object_name_is_valid(const char *name)
{
	return name != NULL && name[0] != '\0' && memchr(name, '\0', PSHM_OBJECT_NAME_MAX + 1) != NULL;
}

/* Whether off may be a named object's block: a block in use of that kind,
 * large enough for its entry and the size it says. */
static int entry_ok(const struct pshm__heap_view *v, uint64_t off)
{
	if (!pshm__block_offset_ok(v, off))
		return 0;
	uint64_t head = pshm__head(v, off);
	uint64_t size = pshm__block_size(v, off, head);
	const struct pshm__object_entry *e = pshm__entry(v, off);
	return (head & (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK)) ==
	               (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT) &&
	       size >= 8 + ENTRY_BYTES && e->size <= size - 8 - ENTRY_BYTES &&
	       e->tag == PSHM__OBJECT_TAG && memchr(e->name, '\0', sizeof(e->name)) != NULL;
}

/* The link that leads to the entry called name (or the chain's last link,
 * holding 0): *link; PSHM_ECORRUPT if the chain leaves the heap. */
static int find_link(const struct pshm__heap_view *v, const char *name, uint64_t hash,
                     uint64_t **link)
{
	uint64_t *at = &v->h->buckets[hash % PSHM__HEAP_BUCKETS];
	for (uint64_t steps = object_limit(v); *at != 0; at = &pshm__entry(v, *at)->next) {
		if (!entry_ok(v, *at) || steps-- == 0)
			return PSHM_ECORRUPT;
		const struct pshm__object_entry *e = pshm__entry(v, *at);
		if (e->hash == hash && strcmp(e->name, name) == 0)
			break;
	}
	*link = at;
	return 0;
}

/* Make the object called name, linked at *link, under the lock. */
static int create(const struct pshm__heap_view *v, uint64_t *link, const char *name,
                  uint64_t hash, size_t size, int (*init)(void *, size_t, void *), void *arg)
{
	uint64_t need = pshm__block_for(size);
	uint64_t off;
	int rc = need == 0 || need + ENTRY_BYTES < need ? -ENOMEM
	                                                : pshm__heap_take(v, need + ENTRY_BYTES,
	                                                                  PSHM__HEAP_GRAIN, &off);
	if (rc < 0)
		return rc;
	/* From here an unlinked object block is the sweep's to free. */
	pshm__set_head(v, off, pshm__head(v, off) | PSHM__BLOCK_OBJECT);
	pshm__set_inflight(v, 0);
	struct pshm__object_entry *e = pshm__entry(v, off);
	memset(e, 0, ENTRY_BYTES);
	e->size = size;
	e->hash = hash;
	memcpy(e->name, name, strlen(name) + 1);
	e->tag = PSHM__OBJECT_TAG;
	memset(e + 1, 0, size);
	rc = init == NULL ? 0 : init(e + 1, size, arg);
	if (rc != 0) {
		int freed = pshm__heap_give(v, off, PSHM__BLOCK_OBJECT);
		return freed < 0 ? freed : rc;
	}
	atomic_store_explicit((_Atomic uint64_t *)link, off, memory_order_release);
	v->h->objects++;
	return 1;
}

int pshm__object_get(const struct pshm__heap_view *v, const char *name, size_t size,
                     int (*init)(void *obj, size_t size, void *arg), void *arg, uint64_t *off)
{
	if (!pshm__object_name_is_valid(name))
		return -EINVAL;
	uint64_t hash = name_hash(name);
	uint64_t *link;
	int rc = find_link(v, name, hash, &link);
	if (rc == 0 && *link != 0) {
		rc = pshm__entry(v, *link)->size == size ? 0 : -EEXIST;
		if (rc == 0)
			*off = *link + ENTRY_BYTES;
	} else if (rc == 0) {
		rc = create(v, link, name, hash, size, init, arg);
		if (rc == 1)
			*off = *link + ENTRY_BYTES;
	}
	return rc;
}

/* The link that leads to the entry called name: 0, -EINVAL (no such
 * name can be), -ENOENT, PSHM_ECORRUPT. */
static int existing_link(const struct pshm__heap_view *v, const char *name, uint64_t **link)
{
	if (!pshm__object_name_is_valid(name))
		return -EINVAL;
	int rc = find_link(v, name, name_hash(name), link);
	return rc == 0 && **link == 0 ? -ENOENT : rc;
}

int pshm__object_lookup(const struct pshm__heap_view *v, const char *name, uint64_t *off,
                        size_t *size)
{
	uint64_t *link;
	int rc = existing_link(v, name, &link);
	if (rc != 0)
		return rc;
	if (off != NULL)
		*off = *link + ENTRY_BYTES;
	if (size != NULL)
		*size = (size_t)pshm__entry(v, *link)->size;
	return 0;
}

int pshm__object_unlink(const struct pshm__heap_view *v, const char *name)
{
	uint64_t *link;
	int rc = existing_link(v, name, &link);
	if (rc != 0)
		return rc;
	uint64_t off = *link;
	/* Unlinked, it is gone; the sweep frees it if we die before. */
	atomic_store_explicit((_Atomic uint64_t *)link, pshm__entry(v, off)->next,
	                      memory_order_release);
	v->h->objects--;
	return pshm__heap_give(v, off, PSHM__BLOCK_OBJECT);
}

int pshm__object_each(const struct pshm__heap_view *v,
                      int (*fn)(const char *name, uint64_t off, size_t size, void *arg), void *arg)
{
	uint64_t steps = object_limit(v);
	int rc = 0;
	for (unsigned b = 0; b < PSHM__HEAP_BUCKETS && rc == 0; b++) {
		for (uint64_t at = v->h->buckets[b]; at != 0 && rc == 0; at = pshm__entry(v, at)->next) {
			if (!entry_ok(v, at) || steps-- == 0)
				return PSHM_ECORRUPT;
			const struct pshm__object_entry *e = pshm__entry(v, at);
			char name[PSHM_OBJECT_NAME_MAX + 1];
			memcpy(name, e->name, sizeof(name));
			rc = fn(name, at + ENTRY_BYTES, (size_t)e->size, arg);
		}
	}
	return rc;
}

void pshm__objects_sweep(const struct pshm__heap_view *v, uint64_t seen, uint64_t linked)
{
	for (unsigned b = 0; b < PSHM__HEAP_BUCKETS; b++) {
		uint64_t *at = &v->h->buckets[b];
		while (*at != 0) {
			/* A mark already linked means a chain that loops. */
			if (!entry_ok(v, *at) || pshm__entry(v, *at)->mark != seen) {
				*at = 0;
				break;
			}
			pshm__entry(v, *at)->mark = linked;
			at = &pshm__entry(v, *at)->next;
		}
	}
}

int pshm__objects_verify(const struct pshm__heap_view *v)
{
	uint64_t count = 0;
	for (unsigned b = 0; b < PSHM__HEAP_BUCKETS; b++) {
		for (uint64_t at = v->h->buckets[b]; at != 0; at = pshm__entry(v, at)->next) {
			if (!entry_ok(v, at) || ++count > object_limit(v))
				return PSHM_ECORRUPT;
			const struct pshm__object_entry *e = pshm__entry(v, at);
			if (e->name[0] == '\0' || e->hash != name_hash(e->name) ||
			    e->hash % PSHM__HEAP_BUCKETS != b)
				return PSHM_ECORRUPT;
		}
	}
	return count == v->h->objects ? 0 : PSHM_ECORRUPT;
}
