/*
 * win-mapping.c - what the Windows backends share: errors, views, the
 * header written and judged through a view.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend/win-mapping.h"

int pshm__win_error(void)
{
	switch (GetLastError()) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return -ENOENT;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return -EEXIST;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		return -EACCES;
	case ERROR_PRIVILEGE_NOT_HELD:
		return -EPERM;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_COMMITMENT_LIMIT:
		return -ENOMEM;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return -ENOSPC;
	case ERROR_INVALID_PARAMETER:
	case ERROR_INVALID_NAME:
	case ERROR_FILENAME_EXCED_RANGE:
		return -EINVAL;
	case ERROR_INVALID_HANDLE:
		return -EBADF;
	default:
		return -EIO;
	}
}

int pshm__win_map(HANDLE handle, size_t len, int rdonly, struct pshm__map *map)
{
	void *addr = MapViewOfFile(handle, rdonly ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS, 0, 0, len);
	MEMORY_BASIC_INFORMATION info;
	if (addr != NULL && len == 0 && VirtualQuery(addr, &info, sizeof(info)) != 0)
		len = info.RegionSize;
	if (addr == NULL || len == 0) {
		int rc = addr == NULL ? pshm__win_error() : -EIO;
		if (addr != NULL)
			UnmapViewOfFile(addr);
		return rc;
	}
	map->addr = addr;
	map->len = len;
	map->handle = handle;
	map->fd = -1;
	map->ident = (struct pshm__ident){.id = -1};
	return 0;
}

/* Committed now: a full paging file is -ENOMEM here, never a fault later. */
int pshm__win_create_unnamed(struct pshm__map *map, size_t len, unsigned how)
{
	if (how & PSHM__MAKE_HUGE)
		return -ENOTSUP;
	uint64_t size = len;
	HANDLE handle = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
	                                   (DWORD)(size >> 32), (DWORD)size, NULL);
	if (handle == NULL)
		return pshm__win_error();
	int rc = pshm__win_map(handle, len, 0, map);
	if (rc < 0)
		CloseHandle(handle);
	return rc;
}

int pshm__win_judge(struct pshm__map *map, const char *name, pshm_backend_t backend,
                    unsigned flags, char named[PSHM_NAME_MAX + 1])
{
	struct pshm__head head;
	int rc = pshm__header_copy(map->addr, map->len, &head);
	if (rc == 0)
		rc = pshm__header_accept(&head, map->len, 0, name, backend, flags);
	if (rc < 0) {
		UnmapViewOfFile(map->addr);
		return rc;
	}
	if (named != NULL)
		memcpy(named, head.u.hdr.name, PSHM_NAME_MAX + 1); /* checked: NUL-terminated */
	map->owner = 0;
	map->usable = (size_t)head.u.hdr.usable_size;
	map->flags = head.u.hdr.flags;
	map->made_by = backend;
	return 0;
}

int pshm__win_write_fields(struct pshm__map *map, const struct pshm__header *hdr)
{
	memcpy((char *)map->addr + PSHM__HEADER_FIELDS_START,
	       (const char *)hdr + PSHM__HEADER_FIELDS_START,
	       PSHM__HEADER_FIELDS_END - PSHM__HEADER_FIELDS_START);
	return 0;
}

int pshm__win_publish(struct pshm__map *map)
{
	atomic_store_explicit(&((struct pshm__header *)map->addr)->state, PSHM__STATE_READY,
	                      memory_order_release);
	return 0;
}
