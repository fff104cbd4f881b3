/*
 * attr.c - attributes, and the rules for names and sizes: what every call
 * that takes them checks before anything reaches a backend.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define PSHM__DEFAULT_MODE 0600u

PSHM_EXTERN int pshm_attr_init(pshm_attr_t *attr)
{
	if (attr == NULL)
		return -EINVAL;
	memset(attr, 0, sizeof(*attr));
	attr->pshm_private_magic = PSHM__ATTR_MAGIC;
	attr->pshm_private_backend = PSHM_BACKEND_DEFAULT;
	attr->pshm_private_mode = PSHM__DEFAULT_MODE;
	attr->pshm_private_flags = 0;
	return 0;
}

static int attr_is_valid(const pshm_attr_t *attr)
{
	return attr != NULL && attr->pshm_private_magic == PSHM__ATTR_MAGIC;
}

PSHM_EXTERN int pshm_attr_set_backend(pshm_attr_t *attr, pshm_backend_t b)
{
	if (!attr_is_valid(attr) || !pshm__is_backend_value(b))
		return -EINVAL;
	attr->pshm_private_backend = b;
	return 0;
}

PSHM_EXTERN int pshm_attr_set_mode(pshm_attr_t *attr, pshm_mode_t mode)
{
	if (!attr_is_valid(attr) || (mode & ~(mode_t)0777) != 0)
		return -EINVAL;
	attr->pshm_private_mode = (unsigned)mode;
	return 0;
}

PSHM_EXTERN int pshm_attr_set_flags(pshm_attr_t *attr, unsigned flags)
{
	if (!attr_is_valid(attr) || (flags & ~PSHM__KNOWN_FLAGS) != 0)
		return -EINVAL;
	attr->pshm_private_flags = flags;
	return 0;
}

int pshm__read_attr(const pshm_attr_t *attr, struct pshm__settings *out)
{
	pshm_attr_t defaults;
	if (attr == NULL) {
		pshm_attr_init(&defaults);
		attr = &defaults;
	}
	if (!attr_is_valid(attr) || (attr->pshm_private_flags & ~PSHM__KNOWN_FLAGS) != 0 ||
	    (attr->pshm_private_mode & ~0777u) != 0 ||
	    !pshm__is_backend_value((pshm_backend_t)attr->pshm_private_backend))
		return -EINVAL;
	int rc = pshm__usable_backend((pshm_backend_t)attr->pshm_private_backend, &out->ops);
	if (rc < 0)
		return rc;
	out->mode = (mode_t)attr->pshm_private_mode;
	out->flags = attr->pshm_private_flags;
	return 0;
}

unsigned pshm__make_how(unsigned flags)
{
	return ((flags & PSHM_NORESERVE) ? 0 : PSHM__MAKE_RESERVE) |
	       ((flags & PSHM_HUGEPAGES) ? PSHM__MAKE_HUGE : 0) |
	       ((flags & PSHM_GLOBAL) ? PSHM__MAKE_GLOBAL : 0);
}

int pshm__name_is_valid(const char *name)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	size_t n = 0;
	for (const char *p = name; *p != '\0'; p++, n++) {
		unsigned char c = (unsigned char)*p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok || n == PSHM_NAME_MAX)
			return 0;
	}
	return 1;
}

int pshm__read_name_and_attr(const char *name, const pshm_attr_t *attr, struct pshm__settings *set)
{
	int rc = pshm__read_attr(attr, set);
	return pshm__name_is_valid(name) ? rc : -EINVAL;
}

size_t pshm__mapping_length(size_t size, size_t page)
{
	/* Nothing larger than PTRDIFF_MAX can be mapped and indexed. */
	size_t limit = (size_t)PTRDIFF_MAX - PSHM__HEADER_SIZE - page;
	if (size > limit)
		return 0;
	return (size + PSHM__HEADER_SIZE + page - 1) / page * page;
}
