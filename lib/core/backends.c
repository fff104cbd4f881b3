/*
 * backends.c - which backends this build has, and whether each works here:
 * only this table knows which ones were compiled in.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>

#include "internal.h"

static const struct pshm__backend_ops *const backends[PSHM_BACKEND_MAX] = {
	[PSHM_BACKEND_DEFAULT] = NULL,
#if PSHM_HAVE_SYSV
	[PSHM_BACKEND_SYSV] = &pshm__backend_sysv,
#endif
#if PSHM_HAVE_POSIX
	[PSHM_BACKEND_POSIX] = &pshm__backend_posix,
#endif
#if PSHM_HAVE_MMAP
	[PSHM_BACKEND_MMAP] = &pshm__backend_mmap,
#endif
#if PSHM_HAVE_WINDOWS
	[PSHM_BACKEND_WINDOWS] = &pshm__backend_windows,
#endif
};

/* Probe results: 0 not known yet, 1 usable, 2 never (-ENOTSUP).  A probe
 * that fails for want of a resource (fds, memory, kernel.shmmni) is not
 * kept: it says nothing of the next call.  Racing probes agree. */
static _Atomic int probe_result[PSHM_BACKEND_MAX];

int pshm__is_backend_value(pshm_backend_t b)
{
	return (unsigned)b < PSHM_BACKEND_MAX;
}

static pshm_backend_t resolve(pshm_backend_t b)
{
	return b == PSHM_BACKEND_DEFAULT ? (pshm_backend_t)PSHM_DEFAULT_BACKEND_ID : b;
}

int pshm__usable_backend(pshm_backend_t b, const struct pshm__backend_ops **out)
{
	if (!pshm__is_backend_value(b))
		return -EINVAL;
	b = resolve(b);
	const struct pshm__backend_ops *ops = backends[b];
	if (ops == NULL)
		return -ENOTSUP;
	int known = atomic_load_explicit(&probe_result[b], memory_order_relaxed);
	if (known == 0) {
		int rc = ops->probe == NULL ? 0 : ops->probe();
		if (rc < 0 && rc != -ENOTSUP)
			return rc;
		known = rc == 0 ? 1 : 2;
		atomic_store_explicit(&probe_result[b], known, memory_order_relaxed);
	}
	*out = ops;
	return known == 1 ? 0 : -ENOTSUP;
}

int pshm__fd_backend(pshm_backend_t made_by, const struct pshm__backend_ops **out)
{
	for (unsigned b = 0; made_by == PSHM_BACKEND_DEFAULT && b < PSHM_BACKEND_MAX; b++)
		if (backends[b] != NULL && backends[b]->open_fd != NULL)
			made_by = (pshm_backend_t)b;
	if (made_by == PSHM_BACKEND_DEFAULT)
		return -ENOTSUP;
	if (!pshm__is_backend_value(made_by))
		return PSHM_ENOTPSHM;
	if (backends[made_by] == NULL)
		return -ENOTSUP;
	if (backends[made_by]->open_fd == NULL)
		return PSHM_ENOTPSHM;
	*out = backends[made_by];
	return 0;
}

PSHM_EXTERN pshm_backend_t pshm_default_backend(void)
{
	return (pshm_backend_t)PSHM_DEFAULT_BACKEND_ID;
}

PSHM_EXTERN const char *pshm_backend_name(pshm_backend_t b)
{
	static const char *const names[] = {"default", "sysv", "posix", "mmap", "windows"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == PSHM_BACKEND_MAX, "a backend without a name");
	if (!pshm__is_backend_value(b))
		return "unknown";
	return names[resolve(b)];
}

PSHM_EXTERN int pshm_backend_supported(pshm_backend_t b)
{
	const struct pshm__backend_ops *ops;
	return pshm__usable_backend(b, &ops) == 0;
}
