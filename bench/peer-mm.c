/*
 * peer-mm.c - OSSP mm's low-level shared memory (mm_core_create), through
 * its public API, for bench/peers (see peer.h).  mm shares memory with
 * children forked afterwards only: it has no segments that unrelated
 * processes can find, so there is no named cycle.  Its file argument names
 * the lock file of the segment's mutex.  Its allocator is mm_malloc on an
 * MM pool (mm_create), which locks the pool for each call.
 */
#define _POSIX_C_SOURCE 200809L
#include <mm.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "peer.h"

static char lock_path[64];

static void *make(size_t len, void **handle)
{
	if (len > mm_core_maxsegsize()) {
		fprintf(stderr, "peer-mm: %zu bytes: more than mm_core_maxsegsize()\n", len);
		return NULL;
	}
	void *core = mm_core_create(len, lock_path);
	if (core == NULL) {
		fprintf(stderr, "peer-mm: mm_core_create: %s\n", mm_lib_error_get());
		return NULL;
	}
	*handle = core;
	return core;
}

static void unmake(void *handle)
{
	mm_core_delete(handle);
}

static int anonymous_cycle(size_t len)
{
	if (len > mm_core_maxsegsize())
		return PEER_CANNOT;
	void *core = mm_core_create(len, lock_path);
	if (core == NULL) {
		fprintf(stderr, "peer-mm: mm_core_create: %s\n", mm_lib_error_get());
		return -1;
	}
	mm_core_delete(core);
	return 0;
}

static void *heap_make(size_t len)
{
	MM *pool = mm_create(len, lock_path);
	if (pool == NULL)
		fprintf(stderr, "peer-mm: mm_create: %s\n", mm_lib_error_get());
	return pool;
}

static void heap_unmake(void *heap)
{
	mm_destroy(heap);
}

static void *heap_alloc(void *heap, size_t size, uintptr_t *token)
{
	void *p = mm_malloc(heap, size);
	*token = (uintptr_t)p;
	return p;
}

static void heap_free(void *heap, uintptr_t token)
{
	mm_free(heap, (void *)token);
}

int main(int argc, char **argv)
{
	char why[96];
	snprintf(why, sizeof(why), "mm_core_maxsegsize() is %zu bytes", mm_core_maxsegsize());
	const struct peer_ops ops = {.label = "OSSP mm (mm_core)", .make = make, .unmake = unmake,
	                             .anonymous_cycle = anonymous_cycle, .cannot = why,
	                             .heap_label = "OSSP mm (mm_malloc)", .heap_make = heap_make,
	                             .heap_unmake = heap_unmake, .heap_alloc = heap_alloc,
	                             .heap_free = heap_free};
	snprintf(lock_path, sizeof(lock_path), "/tmp/bench-mm-%ld", (long)getpid());
	return peer_main(argc, argv, &ops);
}
