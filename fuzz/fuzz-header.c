/*
 * fuzz-header.c - libFuzzer harness for the check every attach makes of a
 * segment it finds: pshm__header_check over arbitrary first bytes of an
 * object of arbitrary length (a corrupted, truncated or foreign segment).
 * It must never read past what was copied, whatever it accepts must be a
 * whole, ready segment of that name, and what it calls half-made must have
 * a creating state word and a size of whole pages.
 *
 *   make fuzz                      both harnesses, FUZZ_SECONDS (30) each
 *   fuzz/fuzz-header fuzz/corpus-header -max_total_time=3600   for longer
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the name to look for, the second the object's
	 * length (in pages, or exactly what was copied); the rest is what was
	 * copied, kept in an exact-size block so ASan sees its end. */
	static const char *const names[] = {NULL, "a", "fuzz", "x-y.z_0123456789abcdefghijklmno"};
	if (size < 2)
		return 0;
	const char *name = names[data[0] % 4];
	struct pshm__head *head = calloc(1, sizeof(*head));
	if (head == NULL)
		return 0;
	head->have = size - 2 < PSHM__HEAD_BYTES ? size - 2 : PSHM__HEAD_BYTES;
	memcpy(head->u.bytes, data + 2, head->have);
	size_t len = data[1] == 0 ? head->have : (size_t)data[1] * pshm__page_size();
	const struct pshm__header *hdr = &head->u.hdr;
	int rc = pshm__header_check(head, len, name, PSHM_BACKEND_POSIX);
	if (rc == 0) {
		if (len < PSHM__HEADER_SIZE || hdr->usable_size == 0 ||
		    hdr->usable_size > len - PSHM__HEADER_SIZE || hdr->magic != PSHM__MAGIC ||
		    hdr->version < PSHM__FORMAT_OLDEST || hdr->version > PSHM__FORMAT_VERSION ||
		    memchr(hdr->name, '\0', sizeof(hdr->name)) == NULL ||
		    (name != NULL && strcmp(hdr->name, name) != 0))
			abort();
	} else if (rc == -EAGAIN) {
		if (len != 0 && (hdr->state != PSHM__STATE_CREATING || len % pshm__page_size() != 0))
			abort();
	} else if (rc != PSHM_ENOTPSHM && rc != PSHM_EVERSION && rc != PSHM_ECORRUPT &&
	           rc != PSHM_ECOLLISION) {
		abort();
	}
	free(head);
	return 0;
}
