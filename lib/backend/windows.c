/*
 * windows.c - Windows file mappings backed by the paging file: a named
 * segment is a named mapping in the session's namespace, Local\pshm.NAME
 * (with PSHM_GLOBAL: every session's, Global\pshm.NAME), an anonymous one
 * an unnamed mapping.  Windows frees a mapping, its name with it, when its
 * last handle closes: nothing outlives the processes that use it, so there
 * is nothing to list, remove or clean (the mmap backend's files stay).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "backend/win-mapping.h"

/* "Local\pshm.NAME" or "Global\pshm.NAME" (global: PSHM_GLOBAL), as
 * Windows names objects (UTF-16; names are ASCII). */
#define LOCAL_PREFIX "Local\\pshm."
#define GLOBAL_PREFIX "Global\\pshm."
typedef wchar_t object_name[sizeof(GLOBAL_PREFIX) + PSHM_NAME_MAX + 1];

static void object_of(const char *name, int global, object_name out)
{
	size_t at = 0;
	for (const char *p = global ? GLOBAL_PREFIX : LOCAL_PREFIX; *p != '\0'; p++)
		out[at++] = (wchar_t)*p;
	for (const char *p = name; *p != '\0'; p++)
		out[at++] = (wchar_t)(unsigned char)*p;
	out[at] = L'\0';
}

static int win_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                            unsigned how)
{
	(void)mode; /* the mapping takes the creator's default security */
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP;
	object_name object;
	object_of(name, (how & PSHM__MAKE_GLOBAL) != 0, object);
	uint64_t size = len;
	HANDLE handle = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
	                                   (DWORD)(size >> 32), (DWORD)size, object);
	if (handle == NULL && (how & PSHM__MAKE_GLOBAL) && GetLastError() == ERROR_ACCESS_DENIED)
		return -EPERM; /* SeCreateGlobalPrivilege, which the caller has not */
	if (handle == NULL)
		return pshm__win_error();
	if (GetLastError() == ERROR_ALREADY_EXISTS) { /* exclusive: somebody's already */
		CloseHandle(handle);
		return -EEXIST;
	}
	int rc = pshm__win_map(handle, len, 0, map);
	if (rc < 0)
		CloseHandle(handle);
	return rc;
}

static int win_unmap(struct pshm__map *map)
{
	int rc = UnmapViewOfFile(map->addr) ? 0 : pshm__win_error();
	CloseHandle(map->handle);
	return rc;
}

/* Open name's mapping (flags: PSHM_RDONLY for reading, PSHM_GLOBAL) and
 * map all of it. */
static int open_object(struct pshm__map *map, const char *name, unsigned flags)
{
	object_name object;
	object_of(name, (flags & PSHM_GLOBAL) != 0, object);
	int rdonly = (flags & PSHM_RDONLY) != 0;
	HANDLE handle = OpenFileMappingW(rdonly ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS, FALSE, object);
	if (handle == NULL)
		return pshm__win_error();
	int rc = pshm__win_map(handle, 0, rdonly, map);
	if (rc < 0)
		CloseHandle(handle);
	return rc;
}

static int win_open_named(struct pshm__map *map, const char *name, unsigned flags)
{
	int rc = open_object(map, name, flags);
	if (rc == 0 && (rc = pshm__win_judge(map, name, PSHM_BACKEND_WINDOWS, flags, NULL)) < 0)
		CloseHandle(map->handle);
	return rc;
}

/* A descriptor here is a handle of the mapping (see pshm__dup_cloexec). */
static int win_open_fd(struct pshm__map *map, int fd, unsigned flags, char name[PSHM_NAME_MAX + 1])
{
	int rc = pshm__win_map((HANDLE)(intptr_t)fd, 0, (flags & PSHM_RDONLY) != 0, map);
	return rc < 0 ? rc : pshm__win_judge(map, NULL, PSHM_BACKEND_WINDOWS, flags, name);
}

static int win_export_fd(const struct pshm__map *map, unsigned seals)
{
	(void)seals; /* a mapping never changes its size */
	HANDLE self = GetCurrentProcess(), copy;
	if (!DuplicateHandle(self, map->handle, self, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
		return pshm__win_error();
	return (int)(intptr_t)copy;
}

static int win_stat(const char *name, unsigned flags, struct pshm__object *obj)
{
	struct pshm__map map;
	int rc = open_object(&map, name, PSHM_RDONLY | (flags & PSHM_GLOBAL));
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
	.create_anon = pshm__win_create_unnamed,
	.create_named = win_create_named,
	.write_fields = pshm__win_write_fields,
	.publish = pshm__win_publish,
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
