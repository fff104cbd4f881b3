/*
 * fuzz-header.c - libFuzzer harness for the check every attach makes of a
 * segment it finds: pshm__header_check over arbitrary bytes of arbitrary
 * length (a corrupted, truncated or foreign segment).  It must never read
 * past the mapping, and whatever it accepts must be a whole, ready segment
 * of that name.
 *
 *   make fuzz                      both harnesses, FUZZ_SECONDS (30) each
 *   fuzz/fuzz-header fuzz/corpus-header -max_total_time=3600   for longer
 */
#include "../lib/pshm.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the name to look for; the rest is the mapping,
	 * copied to an exact-size, aligned block so ASan sees its end. */
	static const char *const names[] = {NULL, "a", "fuzz", "x-y.z_0123456789abcdefghijklmno"};
	if (size == 0)
		return 0;
	const char *name = names[data[0] % 4];
	size_t len = size - 1;
	void *map = NULL;
	if (len > 0 && posix_memalign(&map, 64, len) != 0)
		return 0;
	if (len > 0)
		memcpy(map, data + 1, len);
	const struct pshm__header *hdr = map;
	int rc = pshm__header_check(hdr, len, name);
	if (rc == 0) {
		if (len < PSHM__HEADER_SIZE || hdr->usable_size == 0 ||
		    hdr->usable_size > len - PSHM__HEADER_SIZE || hdr->magic != PSHM__MAGIC ||
		    hdr->version != PSHM__FORMAT_VERSION || memchr(hdr->name, '\0', sizeof(hdr->name)) == NULL ||
		    (name != NULL && strcmp(hdr->name, name) != 0))
			abort();
	} else if (rc != -EAGAIN && rc != PSHM_ENOTPSHM && rc != PSHM_EVERSION &&
	           rc != PSHM_ECORRUPT && rc != PSHM_ECOLLISION) {
		abort();
	}
	free(map);
	return 0;
}
