/*
 * peer.h - the common half of the bench programs for peer libraries (APR,
 * OSSP mm, Boost.Interprocess): a peer fills a table of what its library
 * does, and peer_main runs the seed's workload and the lifecycle on it and
 * prints what bench/peers collects (harness.h, bench_collect):
 *
 *     PEER access INTS TRAVERSALS RUNS   parent/children ms per traversal
 *     PEER lifecycle BYTES CYCLES RUNS   named/anonymous us per cycle
 *     PEER alloc PROCS OPS RUNS          allocPROCS: ns per allocation or
 *                                        free, PROCS processes at once
 */
#ifndef PSHM_BENCH_PEER_H
#define PSHM_BENCH_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct peer_ops {
	const char *label; /* the row in every table: "APR apr_shm" */
	/* len bytes of shared memory that children forked later share: its
	 * address, or NULL (the library's error on stderr); *handle for
	 * unmake. */
	void *(*make)(size_t len, void **handle);
	void (*unmake)(void *handle);
	/* One life of a named segment of len bytes: create, attach a second
	 * handle, detach both, remove.  0, -1 or PEER_CANNOT.  NULL: the library has no
	 * segments that unrelated processes can find. */
	int (*named_cycle)(const char *name, size_t len);
	/* One life of an anonymous one: create, destroy.  0, -1 or PEER_CANNOT. */
	int (*anonymous_cycle)(size_t len);
	/* Why a cycle returned PEER_CANNOT: a limit of the library, reported
	 * as a skipped row, not as a failure. */
	const char *cannot;

	/* The library's allocator inside shared memory (NULL: it has none).
	 * heap_make: a heap of len bytes that children forked later share
	 * (NULL on error, said on stderr).  heap_alloc, in any of them: size
	 * bytes, their address, and in *token what heap_free takes (nonzero);
	 * NULL when the heap is full. */
	const char *heap_label; /* the row: "Boost managed_shared_memory" */
	void *(*heap_make)(size_t len);
	void (*heap_unmake)(void *heap);
	void *(*heap_alloc)(void *heap, size_t size, uintptr_t *token);
	void (*heap_free)(void *heap, uintptr_t token);
};

#define PEER_CANNOT (-2)

int peer_main(int argc, char **argv, const struct peer_ops *ops);

#ifdef __cplusplus
}
#endif

#endif
