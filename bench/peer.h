/*
 * peer.h - the common half of the bench programs for peer libraries (APR,
 * OSSP mm, Boost.Interprocess): a peer fills a table of what its library
 * does, and peer_main runs the seed's workload and the lifecycle on it and
 * prints what bench/peers collects (harness.h, bench_collect):
 *
 *     PEER access INTS TRAVERSALS RUNS   parent/children ms per traversal
 *     PEER lifecycle BYTES CYCLES RUNS   named/anonymous us per cycle
 */
#ifndef PSHM_BENCH_PEER_H
#define PSHM_BENCH_PEER_H

#include <stddef.h>

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
};

#define PEER_CANNOT (-2)

int peer_main(int argc, char **argv, const struct peer_ops *ops);

#ifdef __cplusplus
}
#endif

#endif
