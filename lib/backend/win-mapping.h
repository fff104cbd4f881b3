/*
 * win-mapping.h - what the Windows backends share (windows.c: mappings of
 * the paging file; mmap-win.c: mappings of files in a directory): errors,
 * views, and judging a header through a view (a mapped file cannot shrink
 * on Windows, so a view is as safe to read as SysV's).
 */
#ifndef PSHM_WIN_MAPPING_H
#define PSHM_WIN_MAPPING_H

#include <windows.h>

#include "internal.h"

/* The negated errno for what GetLastError says. */
int pshm__win_error(void);

/* Map the whole mapping handle (len bytes; 0: all it has, as VirtualQuery
 * then says) into map, which keeps handle; on failure the caller keeps it. */
int pshm__win_map(HANDLE handle, size_t len, int rdonly, struct pshm__map *map);

/* A new unnamed mapping of the paging file, len bytes, mapped into map. */
int pshm__win_create_unnamed(struct pshm__map *map, size_t len, unsigned how);

/* Whether the segment mapped in map is backend's segment name (NULL: any
 * name) by its header, taken as attach (flags) takes one: 0, the header's
 * name in named if it is not NULL; else a negative code, and the view is
 * unmapped (the handles kept). */
int pshm__win_judge(struct pshm__map *map, const char *name, pshm_backend_t backend,
                    unsigned flags, char named[PSHM_NAME_MAX + 1]);

/* The header through the view: the fields, then READY, last, with release
 * order (the write_fields and publish slots). */
int pshm__win_write_fields(struct pshm__map *map, const struct pshm__header *hdr);
int pshm__win_publish(struct pshm__map *map);

#endif /* PSHM_WIN_MAPPING_H */
