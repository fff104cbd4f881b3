/*
 * fuzz-input.c - libFuzzer harness for libpshm's input checks: names,
 * sizes, attribute objects and deadlines, each against an independent statement of
 * the rule (so a wrong answer is caught, not only a crash), and the public
 * calls fed the same bytes.  It links the library's sources to reach its
 * internal checks.  It creates no segment (the backends' one-time probes aside).
 *
 *   make fuzz                      both harnesses, FUZZ_SECONDS (30) each
 *   fuzz/fuzz-input fuzz/corpus-input -max_total_time=3600   for longer
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The naming rule as pshm.h words it. */
static int reference_name_ok(const char *s, size_t n)
{
	if (n < 1 || n > PSHM_NAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", s[i]) ||
		    s[i] == '\0')
			return 0;
	return 1;
}

static void check_name(const uint8_t *data, size_t size)
{
	char name[64];
	size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	size_t len = strlen(name);
	if (pshm__name_is_valid(name) != reference_name_ok(name, len))
		abort();
	/* The public calls agree: a bad name is -EINVAL before anything else.
	 * A good one is prefixed so it cannot name anything real. */
	if (!pshm__name_is_valid(name)) {
		pshm_t *shm = NULL;
		pshm_info_t info;
		if (pshm_attach(&shm, name, NULL) != -EINVAL || shm != NULL ||
		    pshm_create(&shm, name, 1, NULL) != -EINVAL || shm != NULL ||
		    pshm_remove(name, NULL) != -EINVAL || pshm_stat(name, NULL, &info) != -EINVAL)
			abort();
	}
}

static void check_size(const uint8_t *data, size_t size)
{
	size_t asked = 0;
	memcpy(&asked, data, size < sizeof(asked) ? size : sizeof(asked));
	size_t len = pshm__mapping_length(asked, pshm__page_size());
	size_t page = pshm__page_size();
	if (len == 0)
		return; /* refused: must be because it cannot be mapped */
	if (len % page != 0 || len < asked || len - asked < PSHM__HEADER_SIZE ||
	    len - asked - PSHM__HEADER_SIZE >= page || len > (size_t)PTRDIFF_MAX)
		abort();
}

static void check_attr(const uint8_t *data, size_t size)
{
	pshm_attr_t attr;
	memset(&attr, 0, sizeof(attr));
	memcpy(&attr, data, size < sizeof(attr) ? size : sizeof(attr));
	struct pshm__settings set;
	int rc = pshm__read_attr(&attr, &set);
	int valid = attr.pshm_private_magic == PSHM__ATTR_MAGIC &&
	            (attr.pshm_private_flags & ~PSHM__KNOWN_FLAGS) == 0 &&
	            (attr.pshm_private_mode & ~0777u) == 0 &&
	            (unsigned)attr.pshm_private_backend < PSHM_BACKEND_MAX;
	if (!valid && rc != -EINVAL)
		abort();
	if (valid && rc != 0 && rc != -ENOTSUP)
		abort();
	/* The setters on a good object accept exactly the good values. */
	pshm_attr_t good;
	pshm_attr_init(&good);
	if ((pshm_attr_set_flags(&good, attr.pshm_private_flags) == 0) !=
	    ((attr.pshm_private_flags & ~PSHM__KNOWN_FLAGS) == 0))
		abort();
	if ((pshm_attr_set_mode(&good, (mode_t)attr.pshm_private_mode) == 0) !=
	    ((attr.pshm_private_mode & ~0777u) == 0))
		abort();
}

/* Deadlines: any timespec, against the rule (tv_nsec in [0, 1e9)), through
 * the calls that take one, on a free mutex and a semaphore with a count of
 * one, which must be had at once when the deadline is valid (past or not). */
static void check_deadline(const uint8_t *data, size_t size)
{
	struct timespec deadline;
	if (size < sizeof(deadline))
		return;
	memcpy(&deadline, data, sizeof(deadline));
	int valid = deadline.tv_nsec >= 0 && deadline.tv_nsec < 1000000000L;
	static pshm_mutex_t m;
	static pshm_sem_t sem;
	if (pshm_mutex_init(&m) != 0 || pshm_sem_init(&sem, 1) != 0)
		abort();
	int locked = pshm_mutex_lock_until(&m, &deadline);
	int taken = pshm_sem_wait_until(&sem, &deadline);
	if (locked != (valid ? 0 : -EINVAL) || taken != (valid ? 0 : -EINVAL))
		abort();
	if ((valid && pshm_mutex_unlock(&m) != 0) || pshm_mutex_destroy(&m) != 0 ||
	    pshm_sem_destroy(&sem) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *rest = data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0:
		check_name(rest, n);
		break;
	case 1:
		check_size(rest, n);
		break;
	case 3:
		check_deadline(rest, n);
		break;
	default:
		check_attr(rest, n);
		break;
	}
	return 0;
}
