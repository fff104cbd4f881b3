/*
 * handle.h - a segment's handle, pshm_t, for the core's rooms that make or
 * change one (segment.c, descriptor.c, resize.c, managed.c, header-lock.c).
 * Not installed.
 */
#ifndef PSHM_HANDLE_H
#define PSHM_HANDLE_H

#include "internal.h"

struct pshm {
	const struct pshm__backend_ops *ops;
	struct pshm__map map;
	size_t size;                   /* usable bytes */
	int rdonly;                    /* attached PSHM_RDONLY: the header lock is off limits */
	int managed;                   /* made PSHM_MANAGED: anything but a heap there is one
	                                  overwritten (an anonymous segment's header is zero) */
	char name[PSHM_NAME_MAX + 1];  /* "" for anonymous */
};

/* The handle in *out for the segment an attach (pshm_attach,
 * pshm_attach_fd) has mapped with ops (name NULL or "": anonymous), with
 * what flags say of it (PSHM_RDONLY, PSHM_PREFAULT): 0, or the code, with
 * map unmapped. */
int pshm__adopt(pshm_t **out, const struct pshm__backend_ops *ops, struct pshm__map *map,
                const char *name, unsigned flags);

/* managed.c: open and leave shm's heap, which grows it to what shm maps
 * (after pshm_resize made a managed segment larger): 0 or a heap code. */
int pshm__heap_follow(pshm_t *shm);

#endif /* PSHM_HANDLE_H */
