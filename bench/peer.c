/*
 * peer.c - the common half of the peer bench programs; see peer.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int peer_main(int argc, char **argv, const struct peer_ops *ops)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s access INTS TRAVERSALS RUNS | lifecycle BYTES CYCLES RUNS\n",
		        argv[0]);
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
	else
		rc = 2;
	fflush(stdout);
	return rc;
}
