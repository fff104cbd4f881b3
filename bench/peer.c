/*
 * peer.c - the common half of the peer bench programs; see peer.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "seedwork.h"

static int access_runs(const struct peer_ops *ops, size_t n, int traversals, int runs)
{
	void *handle;
	int *a = ops->make(n * sizeof(int), &handle);
	if (a == NULL)
		return 1;
	seed_fill(a, n);
	int rc = 0;
	for (int r = 0; r < runs && rc == 0; r++) {
		double children = seed_children_ms(a, n, traversals);
		if (children < 0) {
			rc = 1;
			break;
		}
		printf("parent\t%s\t%.6g\n", ops->label, seed_traversal_ms(a, n, traversals));
		printf("children\t%s\t%.6g\n", ops->label, children);
	}
	ops->unmake(handle);
	return rc;
}

/* Time cycles lives of a segment and print the us per cycle under key:
 * 0, or -1 on error. */
static int cycles_of(const struct peer_ops *ops, const char *key, size_t len, int cycles)
{
	char name[64];
	snprintf(name, sizeof(name), "bench-peer-%ld", (long)getpid());
	int named = strcmp(key, "named") == 0;
	double t0 = bench_now();
	for (int i = 0; i < cycles; i++) {
		int rc = named ? ops->named_cycle(name, len) : ops->anonymous_cycle(len);
		if (rc == PEER_CANNOT) {
			printf("%s\t%s\tskipped: %s\n", key, ops->label, ops->cannot);
			return 0;
		}
		if (rc < 0)
			return -1;
	}
	printf("%s\t%s\t%.6g\n", key, ops->label, (bench_now() - t0) * 1e6 / cycles);
	return 0;
}

static int lifecycle_runs(const struct peer_ops *ops, size_t len, int cycles, int runs)
{
	for (int r = 0; r < runs; r++) {
		if (ops->named_cycle != NULL && cycles_of(ops, "named", len, cycles) < 0)
			return 1;
		if (cycles_of(ops, "anonymous", len, cycles) < 0)
			return 1;
	}
	return 0;
}

#define HEAP_BYTES ((size_t)64 << 20)
#define HEAP_SLOTS 1024 /* blocks a process holds at most: some 350 KiB */

/* One process's share of the alloc case: count allocations and frees of
 * sizes from 16 bytes to 4 KiB (as many of each power of two), each
 * block's first byte written.  0, or 1 if the heap was full. */
static int heap_work(const struct peer_ops *ops, void *heap, int count, uint32_t seed)
{
	static uintptr_t tokens[HEAP_SLOTS];
	for (int i = 0; i < count; i++) {
		seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5; /* xorshift32 */
		uintptr_t *slot = &tokens[seed % HEAP_SLOTS];
		if (*slot != 0) {
			ops->heap_free(heap, *slot);
			*slot = 0;
			continue;
		}
		size_t span = (size_t)16 << ((seed >> 10) % 9);
		size_t size = 16 + (seed >> 14) % span;
		char *p = ops->heap_alloc(heap, size < 4096 ? size : 4096, slot);
		if (p == NULL)
			return 1;
		p[0] = 1;
	}
	return 0;
}

/* procs processes working on heap at once: ns per operation of all, or -1. */
static double heap_round(const struct peer_ops *ops, void *heap, int procs, int count)
{
	int go[2];
	pid_t kids[64];
	if (procs > 64 || pipe(go) < 0)
		return -1;
	for (int p = 0; p < procs; p++) {
		kids[p] = fork();
		if (kids[p] == 0) {
			char byte;
			close(go[1]);
			(void)!read(go[0], &byte, 1); /* 0 when the parent closes: go */
			_exit(heap_work(ops, heap, count, 2463534242u + 7919u * (uint32_t)p));
		}
	}
	close(go[0]);
	double t0 = bench_now();
	close(go[1]);
	int failed = 0;
	for (int p = 0; p < procs; p++) {
		int status;
		failed |= kids[p] < 0 || waitpid(kids[p], &status, 0) < 0 || status != 0;
	}
	double ns = (bench_now() - t0) * 1e9 / ((double)procs * count);
	return failed ? -1 : ns;
}

static int alloc_runs(const struct peer_ops *ops, int procs, int count, int runs)
{
	char key[16];
	snprintf(key, sizeof(key), "alloc%d", procs);
	if (ops->heap_make == NULL) {
		printf("%s\t%s\tskipped: no allocator in shared memory\n", key, ops->label);
		return 0;
	}
	for (int r = 0; r < runs; r++) {
		void *heap = ops->heap_make(HEAP_BYTES);
		if (heap == NULL)
			return 1;
		double ns = heap_round(ops, heap, procs, count);
		ops->heap_unmake(heap);
		if (ns < 0) {
			fprintf(stderr, "%s: a process failed (a full heap?)\n", ops->heap_label);
			return 1;
		}
		printf("%s\t%s\t%.6g\n", key, ops->heap_label, ns);
	}
	return 0;
}

int peer_main(int argc, char **argv, const struct peer_ops *ops)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s access INTS TRAVERSALS RUNS | lifecycle BYTES CYCLES RUNS"
		                " | alloc PROCS OPS RUNS\n", argv[0]);
		return 2;
	}
	size_t count = strtoul(argv[2], NULL, 10);
	int times = atoi(argv[3]), runs = atoi(argv[4]);
	if (count == 0 || times <= 0 || runs <= 0) {
		fprintf(stderr, "%s: counts must be positive\n", argv[0]);
		return 2;
	}
	int rc;
	if (strcmp(argv[1], "access") == 0)
		rc = access_runs(ops, count, times, runs);
	else if (strcmp(argv[1], "lifecycle") == 0)
		rc = lifecycle_runs(ops, count, times, runs);
	else if (strcmp(argv[1], "alloc") == 0)
		rc = alloc_runs(ops, (int)count, times, runs);
	else
		rc = 2;
	fflush(stdout);
	return rc;
}
