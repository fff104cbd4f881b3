/*
 * handle.h - a segment's handle, pshm_t, for the core's rooms that make or
 * change one (segment.c, descriptor.c, resize.c).  Not installed.
 */
#ifndef PSHM_HANDLE_H
#define PSHM_HANDLE_H

#include "internal.h"

struct pshm {
	const struct pshm__backend_ops *ops;
	struct pshm__map map;
	size_t size;                   /* usable bytes */
	int rdonly;                    /* attached PSHM_RDONLY: the header lock is off limits */
	char name[PSHM_NAME_MAX + 1];  /* "" for anonymous */
};

/* A new handle in *out for what ops mapped (name NULL or "": anonymous):
 * 0 or -ENOMEM. */
int pshm__new_handle(pshm_t **out, const struct pshm__backend_ops *ops,
                     const struct pshm__map *map, const char *name, int rdonly);

/* PSHM_PREFAULT: populate the mapping where the kernel can, else nothing. */
int pshm__prefault_hint(void *addr, size_t len, int writable);

#endif /* PSHM_HANDLE_H */
