/*
 * hold-win.c - files held while attached, on Windows: a byte-range lock
 * far past any segment's end (LockFileEx: shared by every handle that has
 * the file attached, exclusive for the cleaner's look).  Windows drops a
 * process's locks when it closes the handle or dies.  Unlike flock, a lock
 * is the process's own: a child that inherits the handle holds nothing
 * until it attaches itself.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <windows.h>

#include "os/sys.h"

#define HOLD_OFFSET_HIGH 0x40000000u /* the byte at 2^62 */
#define CLEANER_WAIT_MS 20           /* the longest a cleaner's look is waited for */

/* Lock the hold byte of the file handle fd (flags: LOCKFILE_EXCLUSIVE_LOCK
 * or 0), never waiting: whether it was had. */
static BOOL lock_hold_byte(int fd, DWORD flags)
{
	OVERLAPPED at = {.Offset = 0, .OffsetHigh = HOLD_OFFSET_HIGH};
	return LockFileEx((HANDLE)(intptr_t)fd, flags | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at);
}

int pshm__hold_shared(int fd)
{
	for (int waited = 0; waited <= CLEANER_WAIT_MS; waited++) {
		if (lock_hold_byte(fd, 0))
			return waited > 0;
		if (GetLastError() != ERROR_LOCK_VIOLATION)
			return -ENOTSUP;
		Sleep(1);
	}
	return -EWOULDBLOCK;
}

int pshm__held_by_anyone(int fd)
{
	if (lock_hold_byte(fd, LOCKFILE_EXCLUSIVE_LOCK))
		return 0;
	return GetLastError() == ERROR_LOCK_VIOLATION ? 1 : -1;
}
