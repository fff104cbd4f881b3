/*
 * error.c - pshm_strerror: one list of every code libpshm returns.
 *
 * The descriptions are our own constant strings rather than strerror()'s, so
 * the call is thread-safe and its answer never changes with the locale.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>

#include "internal.h"

#define PSHM__ERROR_MAP(XX)                                                               \
	XX(0, "Success")                                                                  \
	XX(-EINVAL, "Invalid argument")                                                   \
	XX(-EEXIST, "A segment with that name already exists")                            \
	XX(-ENOENT, "No segment with that name")                                          \
	XX(-EACCES, "Permission denied")                                                  \
	XX(-EPERM, "Operation not permitted")                                             \
	XX(-ENOMEM, "Out of memory, or over a system limit on shared memory")             \
	XX(-ENOSPC, "No space left for the segment, or too many segments")                \
	XX(-ENOTSUP, "Backend not supported on this system")                              \
	XX(-ENOSYS, "Function not implemented by the system")                             \
	XX(-EMFILE, "Too many open files in this process")                                \
	XX(-ENFILE, "Too many open files in the system")                                  \
	XX(-ENAMETOOLONG, "Path of the segment is too long")                              \
	XX(-ELOOP, "The segment's path is a symbolic link")                               \
	XX(-EFBIG, "Segment too large for the file system")                               \
	XX(-EOVERFLOW, "Segment too large to map in this process")                        \
	XX(-EIDRM, "The segment was removed")                                             \
	XX(-ENODEV, "The file system does not support shared mappings")                   \
	XX(-EROFS, "Read-only file system")                                               \
	XX(-EBUSY, "Resource busy")                                                       \
	XX(-EAGAIN, "Resource temporarily unavailable")                                   \
	XX(-EINTR, "Interrupted by a signal")                                             \
	XX(-EBADF, "Not an open file descriptor")                                         \
	XX(-EPIPE, "The peer closed the socket")                                          \
	XX(-ECONNRESET, "The peer closed the connection")                                 \
	XX(-EBADMSG, "The message carried no segment")                                    \
	XX(-ENOTDIR, "The segment directory is missing or not one")                      \
	XX(-EISDIR, "The segment's path is a directory")                                  \
	XX(-EIO, "Input/output error")                                                    \
	XX(-ETIMEDOUT, "Timed out")                                                       \
	XX(-EDEADLK, "The calling thread already holds the mutex")                        \
	XX(PSHM_ENOTPSHM, "Not a libpshm segment")                                        \
	XX(PSHM_EVERSION, "libpshm segment of an unsupported format version")             \
	XX(PSHM_ENOTREADY, "Segment not ready: its creator has not finished creating it") \
	XX(PSHM_ECOLLISION, "The segment found under that name belongs to another name")  \
	XX(PSHM_ECORRUPT, "Segment header does not match the segment's size, or its heap is corrupt") \
	XX(PSHM_EOWNERDEAD, "The mutex's owner died holding it: repair, then mark it consistent") \
	XX(PSHM_ENOTRECOVERABLE, "The mutex is unusable: its owner died and it was not made consistent") \
	XX(PSHM_EOWNER, "The segment belongs to another user")                          \
	XX(PSHM_EUNSAFE, "The segment directory is writable by others without the sticky bit, or owned by another user") \
	XX(PSHM_ENOHEAP, "The segment has no heap: it was not created PSHM_MANAGED") \
	XX(PSHM_ENODESC, "The segment has no file descriptor (SysV, or anonymous mmap)") \
	XX(PSHM_EUNSEALED, "The descriptor is not sealed against shrinking")

PSHM_EXTERN const char *pshm_strerror(int err)
{
	switch (err) {
#define PSHM__ERROR_CASE(code, text) \
	case code:                   \
		return text;
		PSHM__ERROR_MAP(PSHM__ERROR_CASE)
#undef PSHM__ERROR_CASE
	default:
		return "Unknown error";
	}
}
