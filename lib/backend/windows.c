/*
 * windows.c - Windows file mappings backed by the paging file: a named
 * segment is a named mapping in the session's Local\ namespace, an
 * anonymous one an unnamed mapping.  Windows frees a mapping, its name with
 * it, when its last handle closes: nothing outlives the processes that use
 * it, so there is nothing to list, remove or clean.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <windows.h>

#include "internal.h"

/* "Local\pshm.NAME", as Windows names objects (UTF-16; names are ASCII). */
#define NAMESPACE_PREFIX "Local\\pshm."
typedef wchar_t object_name[sizeof(NAMESPACE_PREFIX) + PSHM_NAME_MAX + 1];

static void object_of(const char *name, object_name out)
{
	size_t at = 0;
	for (const char *p = NAMESPACE_PREFIX; *p != '\0'; p++)
		out[at++] = (wchar_t)*p;
	for (const char *p = name; *p != '\0'; p++)
		out[at++] = (wchar_t)(unsigned char)*p;
	out[at] = L'\0';
}

/* The negated errno for what GetLastError says. */
static int last_error(void)
{
	switch (GetLastError()) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return -ENOENT;
	case ERROR_ALREADY_EXISTS:
		return -EEXIST;
	case ERROR_ACCESS_DENIED:
		return -EACCES;
	case ERROR_PRIVILEGE_NOT_HELD:
		return -EPERM;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_COMMITMENT_LIMIT:
	case ERROR_DISK_FULL:
		return -ENOMEM;
	case ERROR_INVALID_PARAMETER:
	case ERROR_INVALID_NAME:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Map the whole mapping handle (len bytes; 0: all it has, as VirtualQuery
 * then says) into map, which keeps handle; on failure the caller keeps it. */
static int map_handle(HANDLE handle, size_t len, int rdonly, struct pshm__map *map)
{
	void *addr = MapViewOfFile(handle, rdonly ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS, 0, 0, len);
	MEMORY_BASIC_INFORMATION info;
	if (addr != NULL && len == 0 && VirtualQuery(addr, &info, sizeof(info)) != 0)
		len = info.RegionSize;
	if (addr == NULL || len == 0) {
		int rc = addr == NULL ? last_error() : -EIO;
		if (addr != NULL)
			UnmapViewOfFile(addr);
		return rc;
	}
	map->addr = addr;
	map->len = len;
	map->handle = handle;
	map->ident = (struct pshm__ident){.id = -1};
	return 0;
}

/* A new mapping of len bytes (named NULL: unnamed), committed now: a full
 * paging file is -ENOMEM here, never a fault later. */
static int create(struct pshm__map *map, const wchar_t *named, size_t len, unsigned how)
{
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP;
	uint64_t size = len;
	HANDLE handle = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
	                                   (DWORD)(size >> 32), (DWORD)size, named);
	if (handle == NULL)
		return last_error();
	if (GetLastError() == ERROR_ALREADY_EXISTS) { /* exclusive: somebody's already */
		CloseHandle(handle);
		return -EEXIST;
	}
	int rc = map_handle(handle, len, 0, map);
	if (rc < 0)
		CloseHandle(handle);
	return rc;
}

static int win_create_anon(struct pshm__map *map, size_t len, unsigned how)
{
	return create(map, NULL, len, how);
}

static int win_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                            unsigned how)
{
	(void)mode; /* the mapping takes the creator's default security */
	object_name object;
	object_of(name, object);
	return create(map, object, len, how);
}

/* The header through the mapping (a mapping cannot shrink under it): the
 * fields, then READY, last, with release order. */
static int win_write_fields(struct pshm__map *map, const struct pshm__header *hdr)
{
	memcpy((char *)map->addr + PSHM__HEADER_FIELDS_START,
	       (const char *)hdr + PSHM__HEADER_FIELDS_START,
	       PSHM__HEADER_FIELDS_END - PSHM__HEADER_FIELDS_START);
	return 0;
}

static int win_publish(struct pshm__map *map)
{
	atomic_store_explicit(&((struct pshm__header *)map->addr)->state, PSHM__STATE_READY,
	                      memory_order_release);
	return 0;
}

static int win_unmap(struct pshm__map *map)
{
	int rc = UnmapViewOfFile(map->addr) ? 0 : last_error();
	CloseHandle(map->handle);
	return rc;
}

/* Open name's mapping (rdonly: for reading) and map all of it. */
static int open_object(struct pshm__map *map, const char *name, int rdonly)
{
	object_name object;
	object_of(name, object);
	HANDLE handle = OpenFileMappingW(rdonly ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS, FALSE, object);
	if (handle == NULL)
		return last_error();
	int rc = map_handle(handle, 0, rdonly, map);
	if (rc < 0)
		CloseHandle(handle);
	return rc;
}

/* Whether the segment mapped in map is name's (NULL: any name's) by its
 * header, taken as attach (flags) takes one: 0, the header's name in named
 * if it is not NULL; else a negative code, and map is unmapped (its handle
 * kept). */
static int judge_mapped(struct pshm__map *map, const char *name, unsigned flags,
                        char named[PSHM_NAME_MAX + 1])
{
	struct pshm__head head;
	int rc = pshm__header_copy(map->addr, map->len, &head);
	if (rc == 0)
		rc = pshm__header_accept(&head, map->len, 0, name, PSHM_BACKEND_WINDOWS, flags);
	if (rc < 0) {
		UnmapViewOfFile(map->addr);
		return rc;
	}
	if (named != NULL)
		memcpy(named, head.u.hdr.name, PSHM_NAME_MAX + 1); /* checked: NUL-terminated */
	map->owner = 0;
	map->usable = (size_t)head.u.hdr.usable_size;
	map->flags = head.u.hdr.flags;
	map->made_by = PSHM_BACKEND_WINDOWS;
	return 0;
}

static int win_open_named(struct pshm__map *map, const char *name, unsigned flags)
{
	int rc = open_object(map, name, (flags & PSHM_RDONLY) != 0);
	if (rc == 0 && (rc = judge_mapped(map, name, flags, NULL)) < 0)
		CloseHandle(map->handle);
	return rc;
}

/* A descriptor here is a handle of the mapping (see pshm__dup_cloexec). */
static int win_open_fd(struct pshm__map *map, int fd, unsigned flags, char name[PSHM_NAME_MAX + 1])
{
	int rc = map_handle((HANDLE)(intptr_t)fd, 0, (flags & PSHM_RDONLY) != 0, map);
	return rc < 0 ? rc : judge_mapped(map, NULL, flags, name);
}

static int win_export_fd(const struct pshm__map *map, unsigned seals)
{
	(void)seals; /* a mapping never changes its size */
	HANDLE self = GetCurrentProcess(), copy;
	if (!DuplicateHandle(self, map->handle, self, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
		return last_error();
	return (int)(intptr_t)copy;
}

static int win_stat(const char *name, struct pshm__object *obj)
{
	struct pshm__map map;
	int rc = open_object(&map, name, 1);
	if (rc < 0)
		return rc;
	*obj = (struct pshm__object){.mode = 0600, .len = map.len, .changed = time(NULL),
	                             .attached = -1, .regular = 1, .exclusive_fd = -1,
	                             .ident.id = -1};
	rc = -EAGAIN;
	for (int attempt = 0; rc == -EAGAIN && attempt < 3; attempt++)
		rc = pshm__header_copy(map.addr, map.len, &obj->head);
	win_unmap(&map);
	return 0; /* still changing: judged on what was there */
}

/* A name goes with the last handle of its mapping: pshm_destroy's part is
 * its handle's (the detach that follows); pshm_remove has nothing to do
 * that it could do. */
static int win_unlink(const char *name, const struct pshm__ident *only)
{
	(void)name;
	return only != NULL ? 0 : -ENOTSUP;
}

const struct pshm__backend_ops pshm__backend_windows = {
	.id = PSHM_BACKEND_WINDOWS,
	.probe = NULL,
	.create_anon = win_create_anon,
	.create_named = win_create_named,
	.write_fields = win_write_fields,
	.publish = win_publish,
	.open_named = win_open_named,
	.stat = win_stat,
	.list = NULL,
	.open_fd = win_open_fd,
	.export_fd = win_export_fd,
	.resize = NULL,
	.remap = NULL,
	.unmap = win_unmap,
	.unlink = win_unlink,
};
