/*
 * fuzz-heap.c - libFuzzer harness for a heap (PSHM_MANAGED) whose bytes
 * another process overwrote with anything: a made heap, some blocks
 * allocated and freed, then the input's bytes written over it; then what
 * every heap call does to it (open, allocate, free, resize, the repair
 * after a holder's death, finishing a dead grower's growth, growing into
 * a segment made larger, the check and the statistics).  None may read or
 * write outside the segment, crash or loop: a heap it cannot trust is
 * PSHM_ECORRUPT (or PSHM_ENOHEAP, PSHM_EVERSION when the header is not a
 * heap's, -ESTALE when it claims to reach past the segment).  Whatever the
 * check accepts must be a heap that growth, allocations and frees keep
 * whole.
 *
 *   make fuzz                      every harness, FUZZ_SECONDS (30) each
 *   fuzz/fuzz-heap fuzz/corpus-heap -max_total_time=3600   for longer
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap/heap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAP_BYTES 8192u

/* A heap with blocks in use, free blocks between them and an object. */
static void make_heap(unsigned char *base, uint64_t offs[8])
{
	struct pshm__heap_view v;
	if (pshm__heap_format(base, HEAP_BYTES) != 0 || pshm__heap_open(base, HEAP_BYTES, 1, &v) != 0)
		abort();
	for (unsigned i = 0; i < 8; i++)
		if (pshm__heap_take(&v, pshm__block_for(16u + 48u * i), 16, &offs[i]) != 0)
			abort();
	for (unsigned i = 0; i < 8; i += 3)
		if (pshm__heap_give(&v, offs[i], 0) != 0)
			abort();
	pshm__set_inflight(&v, 0);
	if (pshm__heap_verify(&v) != 0)
		abort();
}

/* The input: pairs of (where, byte) written over the heap, the header's
 * bytes most often; the first byte picks the calls after. */
static void overwrite(unsigned char *base, const uint8_t *data, size_t size)
{
	for (size_t i = 1; i + 2 < size; i += 3) {
		size_t at = ((size_t)data[i] | (size_t)data[i + 1] << 8) % HEAP_BYTES;
		base[at] = data[i + 2];
	}
}

/* The first block in use (not an object's, nor one on a quick list) that
 * the walk finds. */
static int first_in_use(const struct pshm__heap_view *v, uint64_t off, uint64_t head,
                        uint64_t size, void *arg)
{
	(void)v, (void)size;
	if ((head & (PSHM__BLOCK_USED | PSHM__BLOCK_OBJECT | PSHM__BLOCK_QUICK)) != PSHM__BLOCK_USED)
		return 0;
	*(uint64_t *)arg = off;
	return 1;
}

/* Allocations, frees and resizes of its blocks keep a heap the check
 * accepted whole. */
static void use_sound_heap(const struct pshm__heap_view *v, uint8_t how)
{
	uint64_t off;
	int rc = pshm__heap_take(v, pshm__block_for(16u + how), (uint64_t)16 << (how % 4), &off);
	if (rc == 0)
		rc = pshm__heap_give(v, off, 0);
	if (rc != 0 && rc != -ENOMEM)
		abort();
	uint64_t block = 0;
	(void)pshm__heap_walk(v, first_in_use, &block);
	rc = block == 0 ? 0 : pshm__heap_resize(v, block, pshm__block_for(how * 8u));
	if (rc != 0 && rc != -ENOMEM)
		abort();
	pshm__set_inflight(v, 0);
	if (pshm__heap_verify(v) != 0)
		abort();
}

/* A heap the check accepted grows whole into the segment's new bytes. */
static void grow_sound_heap(struct pshm__heap_view *v)
{
	if (pshm__heap_grow(v) != 0 || pshm__heap_verify(v) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned char *base = aligned_alloc(64, 2 * HEAP_BYTES);
	if (base == NULL)
		return 0;
	memset(base, 0, 2 * HEAP_BYTES);
	uint64_t offs[8];
	make_heap(base, offs);
	overwrite(base, data, size);
	struct pshm__heap_view v;
	size_t len = (data[0] & 2) ? 2 * HEAP_BYTES : HEAP_BYTES; /* the segment grew, or not */
	int rc = pshm__heap_open(base, len, 1, &v);
	if (rc == 0 && (data[0] & 1)) { /* as after a holder's death */
		pshm__heap_finish_growth(&v);
		rc = pshm__heap_repair(&v);
	}
	if (rc == 0) {
		pshm_heap_info_t info;
		pshm__heap_describe(&v, &info);
		if (pshm__heap_verify(&v) == 0) {
			grow_sound_heap(&v);
			use_sound_heap(&v, data[0]);
		} else {
			(void)pshm__heap_give(&v, offs[data[0] % 8], 0); /* must not crash */
		}
	} else if (rc != PSHM_ENOHEAP && rc != PSHM_EVERSION && rc != PSHM_ECORRUPT &&
	           rc != -ESTALE) {
		abort();
	}
	free(base);
	return 0;
}
