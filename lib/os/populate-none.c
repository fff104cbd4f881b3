/*
 * populate-none.c - systems with no call that faults a mapping in
 * (Windows): PSHM_PREFAULT is a hint, and stays one.
 */
#include "config.h"

#include <errno.h>

#include "os/sys.h"

int pshm__populate(void *addr, size_t len, int writable)
{
	(void)addr, (void)len, (void)writable;
	return -ENOTSUP;
}
