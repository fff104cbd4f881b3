/*
 * mmap-win.c - the mmap backend on Windows: a named segment "NAME" is a
 * file DIR\pshm-mmap.NAME mapped shared, which stays until removed (the
 * persistent choice there; the windows backend's mappings go with their
 * last handle); an anonymous one an unnamed mapping of the paging file.
 *
 * DIR is %PSHM_MMAP_DIR% when set, else the user's temporary directory
 * (GetTempPath), which Windows keeps to its user.  Every handle holds its
 * file shared (os/hold-win.c), so that the cleaner knows an orphan.  A
 * mapped file cannot shrink on Windows: the header is judged through the
 * view.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "backend/win-mapping.h"
#include "os/sys.h"

#define FILE_PREFIX L"pshm-mmap."
#define PATH_CAP 1024 /* UTF-16 units of a path, its NUL included */

/* The directory, with its separator, into out: its length, or -ENAMETOOLONG. */
static int dir_path(wchar_t out[PATH_CAP])
{
	DWORD n = GetEnvironmentVariableW(L"PSHM_MMAP_DIR", out, PATH_CAP);
	if (n == 0)
		n = GetTempPathW(PATH_CAP, out);
	if (n == 0 || n >= PATH_CAP - 1)
		return n == 0 ? -ENOENT : -ENAMETOOLONG;
	if (out[n - 1] != L'\\' && out[n - 1] != L'/')
		out[n++] = L'\\';
	out[n] = L'\0';
	return (int)n;
}

/* DIR\pshm-mmap.NAME into out, or just the pattern DIR\pshm-mmap.* (name NULL). */
static int file_path(const char *name, wchar_t out[PATH_CAP])
{
	int n = dir_path(out);
	if (n < 0)
		return n;
	size_t at = (size_t)n, prefix = wcslen(FILE_PREFIX);
	if (at + prefix + (name != NULL ? strlen(name) : 1) + 1 > PATH_CAP)
		return -ENAMETOOLONG;
	wcscpy(out + at, FILE_PREFIX);
	at += prefix;
	for (const char *p = name != NULL ? name : "*"; *p != '\0'; p++)
		out[at++] = (wchar_t)(unsigned char)*p;
	out[at] = L'\0';
	return 0;
}

/* Open the file at path (disposition CREATE_NEW or OPEN_EXISTING; access
 * GENERIC_READ, GENERIC_WRITE, DELETE), shared with every other opener and
 * remover, into *out with what identifies it in *ident.  What is not a plain
 * file (a directory, a link: a reparse point) is PSHM_ENOTPSHM, never used. */
static int open_file(const wchar_t *path, DWORD disposition, DWORD access, HANDLE *out,
                     struct pshm__ident *ident)
{
	HANDLE file = CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	                          NULL, disposition,
	                          FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_OPEN_REPARSE_POINT |
	                              FILE_FLAG_BACKUP_SEMANTICS,
	                          NULL);
	if (file == INVALID_HANDLE_VALUE)
		return pshm__win_error();
	BY_HANDLE_FILE_INFORMATION info;
	int rc = GetFileInformationByHandle(file, &info) ? 0 : pshm__win_error();
	if (rc == 0 && (GetFileType(file) != FILE_TYPE_DISK ||
	                (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT))))
		rc = PSHM_ENOTPSHM;
	if (rc < 0) {
		CloseHandle(file);
		return rc;
	}
	*ident = (struct pshm__ident){.id = -1, .dev = (dev_t)info.dwVolumeSerialNumber,
	                              .file_id = (uint64_t)info.nFileIndexHigh << 32 | info.nFileIndexLow};
	*out = file;
	return 0;
}

static int fd_of(HANDLE file)
{
	return (int)(intptr_t)file;
}

/* Map len bytes of file (growing it to len where it is shorter) into map,
 * which keeps file; on failure the caller keeps it.  An empty file is one
 * being made: -EAGAIN. */
static int map_file(HANDLE file, size_t len, int rdonly, struct pshm__map *map)
{
	uint64_t size = len;
	HANDLE mapping = CreateFileMappingW(file, NULL, rdonly ? PAGE_READONLY : PAGE_READWRITE,
	                                    (DWORD)(size >> 32), (DWORD)size, NULL);
	if (mapping == NULL)
		return GetLastError() == ERROR_FILE_INVALID ? -EAGAIN : pshm__win_error();
	int rc = pshm__win_map(mapping, len, rdonly, map);
	if (rc < 0)
		CloseHandle(mapping);
	else
		map->fd = fd_of(file);
	return rc;
}

/* Remove the file open on file (with DELETE access) by its handle: the
 * file itself, whatever its name holds by now. */
static int remove_open(HANDLE file)
{
	FILE_DISPOSITION_INFO gone = {.DeleteFile = TRUE};
	return SetFileInformationByHandle(file, FileDispositionInfo, &gone, sizeof(gone))
	           ? 0
	           : pshm__win_error();
}

static int mw_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                           unsigned how)
{
	(void)mode; /* the file takes its directory's security */
	wchar_t path[PATH_CAP];
	int rc = (how & PSHM__MAKE_HUGE) ? -ENOTSUP : file_path(name, path);
	HANDLE file;
	struct pshm__ident ident;
	if (rc == 0)
		rc = open_file(path, CREATE_NEW, GENERIC_READ | GENERIC_WRITE | DELETE, &file, &ident);
	if (rc < 0)
		return rc;
	(void)pshm__hold_shared(fd_of(file)); /* held while attached */
	rc = map_file(file, len, 0, map);
	if (rc < 0) {
		remove_open(file);
		CloseHandle(file);
		return rc;
	}
	map->ident = ident;
	return 0;
}

static int mw_unmap(struct pshm__map *map)
{
	int rc = UnmapViewOfFile(map->addr) ? 0 : pshm__win_error();
	CloseHandle(map->handle);
	if (map->fd >= 0)
		CloseHandle((HANDLE)(intptr_t)map->fd);
	return rc;
}

/* The size of file, or a negative code. */
static long long file_size(HANDLE file)
{
	LARGE_INTEGER size;
	if (!GetFileSizeEx(file, &size))
		return pshm__win_error();
	return size.QuadPart;
}

static int mw_open_named(struct pshm__map *map, const char *name, unsigned flags)
{
	wchar_t path[PATH_CAP];
	int rdonly = (flags & PSHM_RDONLY) != 0;
	HANDLE file;
	struct pshm__ident ident;
	int rc = file_path(name, path);
	if (rc == 0)
		rc = open_file(path, OPEN_EXISTING, GENERIC_READ | (rdonly ? 0 : GENERIC_WRITE), &file,
		               &ident);
	if (rc < 0)
		return rc;
	(void)pshm__hold_shared(fd_of(file));
	long long size = file_size(file);
	rc = size < 0 ? (int)size : (uint64_t)size > SIZE_MAX / 2 ? -EOVERFLOW : 0;
	if (rc == 0)
		rc = map_file(file, (size_t)size, rdonly, map);
	if (rc == 0 && (rc = pshm__win_judge(map, name, PSHM_BACKEND_MMAP, flags, NULL)) < 0)
		CloseHandle(map->handle);
	if (rc < 0) {
		CloseHandle(file);
		return rc;
	}
	map->ident = ident;
	return 0;
}

/* A FILETIME as seconds since 1970. */
static time_t unix_time(FILETIME t)
{
	uint64_t ticks = (uint64_t)t.dwHighDateTime << 32 | t.dwLowDateTime; /* 100 ns since 1601 */
	return ticks < 116444736000000000ull ? 0 : (time_t)((ticks - 116444736000000000ull) / 10000000);
}

/* What file holds: its header (when it has one to read) and who holds it. */
static void describe(HANDLE file, struct pshm__object *obj)
{
	BY_HANDLE_FILE_INFORMATION info;
	if (GetFileInformationByHandle(file, &info))
		obj->changed = unix_time(info.ftLastWriteTime);
	long long size = file_size(file);
	obj->len = size > 0 && (uint64_t)size <= SIZE_MAX / 2 ? (size_t)size : 0;
	struct pshm__map view;
	if (obj->len > 0 && map_file(file, obj->len, 1, &view) == 0) {
		int rc = -EAGAIN;
		for (int attempt = 0; rc == -EAGAIN && attempt < 3; attempt++)
			rc = pshm__header_copy(view.addr, view.len, &obj->head);
		UnmapViewOfFile(view.addr);
		CloseHandle(view.handle);
	}
	int held = pshm__held_by_anyone(fd_of(file));
	obj->attached = held == 0 ? 0 : -1; /* held: by how many is not known */
	obj->exclusive_fd = held == 0 ? fd_of(file) : -1;
}

static int mw_stat(const char *name, unsigned flags, struct pshm__object *obj)
{
	(void)flags; /* one directory */
	wchar_t path[PATH_CAP];
	HANDLE file;
	*obj = (struct pshm__object){.mode = 0600, .attached = -1, .exclusive_fd = -1};
	int rc = file_path(name, path);
	if (rc == 0)
		rc = open_file(path, OPEN_EXISTING, GENERIC_READ, &file, &obj->ident);
	if (rc == PSHM_ENOTPSHM)
		return 0; /* not a regular file: foreign */
	if (rc < 0)
		return rc;
	obj->regular = 1;
	describe(file, obj);
	if (obj->exclusive_fd < 0)
		CloseHandle(file);
	return 0;
}

static int mw_unlink(const char *name, const struct pshm__ident *only)
{
	wchar_t path[PATH_CAP];
	HANDLE file;
	struct pshm__ident ident;
	int rc = file_path(name, path);
	if (rc == 0)
		rc = open_file(path, OPEN_EXISTING, DELETE, &file, &ident);
	if (rc < 0)
		return rc;
	if (only == NULL || (ident.dev == only->dev && ident.file_id == only->file_id))
		rc = remove_open(file);
	CloseHandle(file);
	return rc;
}

/* fn for each name of DIR\pshm-mmap.* (ASCII names only: no segment has another). */
static int mw_list(int (*fn)(const char *name, void *arg), void *arg)
{
	wchar_t pattern[PATH_CAP];
	int rc = file_path(NULL, pattern);
	WIN32_FIND_DATAW found;
	HANDLE search = rc < 0 ? INVALID_HANDLE_VALUE : FindFirstFileW(pattern, &found);
	if (search == INVALID_HANDLE_VALUE)
		return rc < 0 ? rc : GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : pshm__win_error();
	do {
		const wchar_t *w = found.cFileName + wcslen(FILE_PREFIX);
		char name[PSHM_NAME_MAX + 2];
		size_t n = 0;
		while (w[n] != L'\0' && w[n] < 0x80 && n <= PSHM_NAME_MAX) {
			name[n] = (char)w[n];
			n++;
		}
		name[n] = '\0';
		if (w[n] == L'\0')
			rc = fn(name, arg);
	} while (rc == 0 && FindNextFileW(search, &found));
	FindClose(search);
	return rc;
}

const struct pshm__backend_ops pshm__backend_mmap = {
	.id = PSHM_BACKEND_MMAP,
	.probe = NULL,
	.create_anon = pshm__win_create_unnamed,
	.create_named = mw_create_named,
	.write_fields = pshm__win_write_fields,
	.publish = pshm__win_publish,
	.open_named = mw_open_named,
	.stat = mw_stat,
	.list = mw_list,
	.open_fd = NULL,
	.export_fd = NULL,
	.resize = NULL,
	.remap = NULL,
	.unmap = mw_unmap,
	.unlink = mw_unlink,
};
