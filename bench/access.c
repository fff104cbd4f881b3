/*
 * access.c - experiment 1, the one libpshm grew from: is memory in a segment as fast as
 * private memory?  Traverse 1M ints in a private array and in a segment of
 * every backend, in the parent and in 8 forked children at once; then sweep
 * 256 MiB for reading and for writing.  Baseline: private malloc memory in
 * the same run.  Pages are touched before timing (first touch is
 * experiment 3's business).
 */
#define _POSIX_C_SOURCE 200809L
#include <pshm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "seedwork.h"

static volatile long sink; /* keeps the sweeps' sums from being optimised away */

static double sweep_ms(unsigned char *p, size_t len, int write)
{
	double t0 = bench_now();
	if (write) {
		memset(p, (int)(len & 0xff), len);
	} else {
		const uint64_t *w = (const uint64_t *)(void *)p;
		uint64_t x = 0;
		for (size_t i = 0; i < len / 8; i++)
			x ^= w[i];
		sink = (long)x;
	}
	return (bench_now() - t0) * 1e3;
}

static pshm_t *segment(pshm_backend_t b, size_t size)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, size, &attr);
	if (rc < 0) {
		fprintf(stderr, "access: %s: %s\n", pshm_backend_name(b), pshm_strerror(rc));
		return NULL;
	}
	return shm;
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	size_t n = smoke ? 1u << 16 : 1u << 20;
	size_t sweep = smoke ? (size_t)1 << 20 : (size_t)256 << 20;
	int runs = bench_runs(smoke, 15), traversals = smoke ? 2 : 50;
	static const pshm_backend_t backends[] = {PSHM_BACKEND_SYSV, PSHM_BACKEND_POSIX,
	                                          PSHM_BACKEND_MMAP};

	struct bench_table *t = bench_table_new("access", "Access: traversals and sweeps",
	                                        "ms", 1);
	char parent_group[64], children_group[64];
	snprintf(parent_group, sizeof(parent_group), "%zuK ints, parent", n >> 10);
	snprintf(children_group, sizeof(children_group), "%zuK ints, %d children at once", n >> 10,
	         SEED_CHILDREN);

	int *private = malloc(n * sizeof(int));
	unsigned char *private_sweep = malloc(sweep);
	if (private == NULL || private_sweep == NULL) {
		perror("access: malloc");
		free(private);
		free(private_sweep);
		return 1;
	}
	seed_fill(private, n);
	memset(private_sweep, 1, sweep);

	struct bench_sample base_parent = {.label = "private malloc"};
	struct bench_sample base_children = {.label = "private malloc"};
	struct bench_sample base_read = {.label = "private malloc"};
	struct bench_sample base_write = {.label = "private malloc"};
	struct bench_sample seg_parent[3], seg_children[3], seg_read[3], seg_write[3];
	pshm_t *segs[3] = {NULL}, *sweeps[3] = {NULL};
	for (int b = 0; b < 3; b++) {
		seg_parent[b] = seg_children[b] = seg_read[b] = seg_write[b] =
		    (struct bench_sample){.label = pshm_backend_name(backends[b])};
		if (!pshm_backend_supported(backends[b]))
			continue;
		segs[b] = segment(backends[b], n * sizeof(int));
		sweeps[b] = segment(backends[b], sweep);
		if (segs[b] != NULL)
			seed_fill(pshm_addr(segs[b]), n);
		if (sweeps[b] != NULL)
			memset(pshm_addr(sweeps[b]), 1, sweep);
	}

	/* Interleave the variants run by run, so that drift in the machine's
	 * speed hits them all alike.  The sweeps come first: after a fork the
	 * parent's private pages are copy-on-write, and the first write to
	 * each would fault, which would measure fork, not memory. */
	for (int r = 0; r < runs; r++) {
		bench_add(&base_read, sweep_ms(private_sweep, sweep, 0));
		bench_add(&base_write, sweep_ms(private_sweep, sweep, 1));
		for (int b = 0; b < 3; b++) {
			if (sweeps[b] != NULL) {
				bench_add(&seg_read[b], sweep_ms(pshm_addr(sweeps[b]), sweep, 0));
				bench_add(&seg_write[b], sweep_ms(pshm_addr(sweeps[b]), sweep, 1));
			}
		}
	}
	for (int r = 0; r < runs; r++) {
		bench_add(&base_parent, seed_traversal_ms(private, n, traversals));
		bench_add(&base_children, seed_children_ms(private, n, traversals));
		for (int b = 0; b < 3; b++) {
			if (segs[b] != NULL) {
				const int *a = pshm_addr(segs[b]);
				bench_add(&seg_parent[b], seed_traversal_ms(a, n, traversals));
				bench_add(&seg_children[b], seed_children_ms(a, n, traversals));
			}
		}
	}

	char read_group[64], write_group[64];
	snprintf(read_group, sizeof(read_group), "%zu MiB read sweep", sweep >> 20);
	snprintf(write_group, sizeof(write_group), "%zu MiB write sweep", sweep >> 20);
	const char *groups[4] = {parent_group, children_group, read_group, write_group};
	struct bench_sample *bases[4] = {&base_parent, &base_children, &base_read, &base_write};
	struct bench_sample *segsamples[4] = {seg_parent, seg_children, seg_read, seg_write};
	for (int g = 0; g < 4; g++) {
		bench_table_row(t, groups[g], bases[g]);
		for (int b = 0; b < 3; b++) {
			if (segsamples[g][b].n > 0)
				bench_table_row(t, groups[g], &segsamples[g][b]);
			else
				bench_table_skip(t, groups[g], pshm_backend_name(backends[b]),
				                 "backend not available");
		}
	}
	bench_table_finish(t, "Each traversal sums the ints; a child's figure is the median of its "
	                      "traversals, and the run's figure the median over the children. "
	                      "Goal: every segment >= 0.98x private.");
	for (int b = 0; b < 3; b++) {
		if (segs[b] != NULL)
			pshm_destroy(segs[b]);
		if (sweeps[b] != NULL)
			pshm_destroy(sweeps[b]);
	}
	free(private);
	free(private_sweep);
	return 0;
}
