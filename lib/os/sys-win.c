/*
 * sys-win.c - the ground floor on Windows: the page size, random bytes,
 * whether a process exists, descriptors (handles), and the POSIX file calls
 * that Windows segments never need (they are file mappings, not files):
 * -ENOTSUP.
 */
#define _CRT_RAND_S /* rand_s */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <windows.h>

#include "os/sys.h"

size_t pshm__page_size(void)
{
	SYSTEM_INFO info;
	GetSystemInfo(&info);
	return info.dwPageSize > 0 ? (size_t)info.dwPageSize : 4096;
}

int pshm__openat(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd, (void)path, (void)flags, (void)mode;
	return -ENOTSUP;
}

ssize_t pshm__pread_head(int fd, void *buf, size_t len)
{
	(void)fd, (void)buf, (void)len;
	return -ENOTSUP;
}

int pshm__pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
	(void)fd, (void)buf, (void)len, (void)offset;
	return -ENOTSUP;
}

int pshm__allocate_file(int fd, off_t from, off_t length)
{
	(void)fd, (void)from, (void)length;
	return -ENOTSUP;
}

int pshm__file_size_allowed(size_t len)
{
	(void)len;
	return 0; /* no RLIMIT_FSIZE, and no signal for a file too large */
}

void pshm__random_bytes(void *buf, size_t len)
{
	unsigned char *out = buf;
	for (size_t i = 0; i < len; i++) {
		unsigned int r = 0;
		rand_s(&r); /* RtlGenRandom underneath */
		out[i] = (unsigned char)r;
	}
}

int pshm__process_exists(pshm_pid_t pid)
{
	HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
	if (process == NULL)
		return GetLastError() == ERROR_INVALID_PARAMETER ? 0 : -1; /* no such id */
	DWORD code = 0;
	int alive = GetExitCodeProcess(process, &code) ? code == STILL_ACTIVE : -1;
	CloseHandle(process);
	return alive;
}

pshm_pid_t pshm__self_pid(void)
{
	return (pshm_pid_t)GetCurrentProcessId(); /* no system call to save */
}

pshm_uid_t pshm__effective_user(void)
{
	return 0; /* Windows' users are SIDs: every owner reads 0 */
}

static HANDLE handle_of(int fd)
{
	return (HANDLE)(intptr_t)fd;
}

int pshm__dup_cloexec(int fd)
{
	HANDLE self = GetCurrentProcess(), copy;
	if (!DuplicateHandle(self, handle_of(fd), self, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
		return GetLastError() == ERROR_INVALID_HANDLE ? -EBADF : -EIO;
	return (int)(intptr_t)copy;
}

int pshm__let_inherit(int fd)
{
	return SetHandleInformation(handle_of(fd), HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) ? 0
	                                                                                     : -EBADF;
}

void pshm__close_descriptor(int fd)
{
	CloseHandle(handle_of(fd));
}
