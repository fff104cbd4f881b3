/*
 * open.c - finding or making a named segment in one call (pshm_open), and
 * making one under a name nobody has (pshm_create_unique).  Both stand on
 * pshm_create's exclusive creation, which is what makes them atomic: of
 * processes racing for a name exactly one creates it, and pshm_attach
 * hands the others the segment only once its creator has finished.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

/* Rounds of create-or-attach before giving up on a name that others keep
 * removing and making again. */
#define OPEN_ROUNDS 100
/* Names tried before pshm_create_unique gives up: each is taken only if
 * another process made the very same random name. */
#define UNIQUE_TRIES 16
#define UNIQUE_CHARS 12
#define UNIQUE_DEFAULT_PREFIX "pshm"

/* The attributes pshm_attach takes of set: the backend, PSHM_PREFAULT,
 * PSHM_GLOBAL. */
static int attach_attributes(const struct pshm__settings *set, pshm_attr_t *out)
{
	int rc = pshm_attr_init(out);
	if (rc == 0)
		rc = pshm_attr_set_backend(out, set->ops->id);
	if (rc == 0)
		rc = pshm_attr_set_flags(out, set->flags & (PSHM_PREFAULT | PSHM_GLOBAL));
	return rc;
}

PSHM_EXTERN int pshm_open(pshm_t **shm, const char *name, size_t size, const pshm_attr_t *attr)
{
	struct pshm__settings set;
	int rc = pshm__read_name_and_attr(name, attr, &set);
	if (shm == NULL || size == 0 || (rc == 0 && (set.flags & (PSHM_RDONLY | PSHM_ANY_OWNER))))
		return -EINVAL;
	pshm_attr_t to_attach;
	if (rc == 0)
		rc = attach_attributes(&set, &to_attach);
	for (int round = 0; rc == 0 && round < OPEN_ROUNDS; round++) {
		rc = pshm_create(shm, name, size, attr);
		if (rc != -EEXIST)
			return rc == 0 ? 1 : rc;
		rc = pshm_attach(shm, name, &to_attach);
		if (rc != -ENOENT)
			return rc; /* 0: found */
		rc = 0; /* removed between the two: again */
	}
	return rc < 0 ? rc : -EAGAIN;
}

/* prefix, '-' and UNIQUE_CHARS random letters and digits into name. */
static void random_name(char name[PSHM_NAME_MAX + 1], const char *prefix)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char bytes[UNIQUE_CHARS];
	pshm__random_bytes(bytes, sizeof(bytes));
	size_t n = strlen(prefix);
	memcpy(name, prefix, n);
	name[n++] = '-';
	for (size_t i = 0; i < UNIQUE_CHARS; i++)
		name[n++] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
	name[n] = '\0';
}

PSHM_EXTERN int pshm_create_unique(pshm_t **shm, const char *prefix, size_t size,
                                   const pshm_attr_t *attr)
{
	if (prefix == NULL)
		prefix = UNIQUE_DEFAULT_PREFIX;
	if (shm == NULL || !pshm__name_is_valid(prefix) ||
	    strlen(prefix) > PSHM_UNIQUE_PREFIX_MAX)
		return -EINVAL;
	int rc = -EEXIST;
	for (int i = 0; i < UNIQUE_TRIES && (rc == -EEXIST || rc == PSHM_ECOLLISION); i++) {
		char name[PSHM_NAME_MAX + 1];
		random_name(name, prefix);
		rc = pshm_create(shm, name, size, attr);
	}
	return rc == PSHM_ECOLLISION ? -EEXIST : rc;
}
