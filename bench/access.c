/*
 * access.c - experiment 1, the one libpshm grew from: is memory in a
 * segment as fast as private memory?  Traverse 1M ints in a private array and in a segment of
 * every backend, in the parent and in 8 forked children at once; then sweep
 * 256 MiB for reading and for writing.  Baseline: private malloc memory in
 * the same run.  The parent touches every page before timing (its first
 * touch is experiment 3's business); the children's first traversal,
 * which takes their page faults, is timed on its own, and again with
 * pshm_prefault called first.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
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

/* What is measured of each kind of memory, a group of rows each but
 * FIRST_PREFAULT, whose rows join FIRST's. */
enum { PARENT, CHILDREN, FIRST, FIRST_PREFAULT, READ, WRITE, CASES };

/* One kind of memory: private (no handles) or a backend's segments. */
struct memory {
	int *ints;             /* n ints to traverse */
	unsigned char *sweep;  /* bytes to sweep */
	pshm_t *ints_seg, *sweep_seg;
	struct bench_sample sample[CASES];
	char prefault_label[64];
};

/* The sizes of a run. */
struct sizes {
	size_t n, sweep;
	int runs, traversals;
};

static void label(struct memory *m, const char *name)
{
	for (int c = 0; c < CASES; c++)
		m->sample[c] = (struct bench_sample){.label = name};
	snprintf(m->prefault_label, sizeof(m->prefault_label), "%s, pshm_prefault first", name);
	m->sample[FIRST_PREFAULT].label = m->prefault_label;
}

/* In a child: take the faults of the whole segment at once. */
static void prefault(void *shm)
{
	int rc = pshm_prefault(shm, 0, pshm_size(shm));
	if (rc < 0 && rc != -ENOTSUP) {
		fprintf(stderr, "access: pshm_prefault: %s\n", pshm_strerror(rc));
		_exit(1);
	}
}

/* The children's first traversals of m's ints: plain, and for a segment
 * after pshm_prefault. */
static void first_traversals(struct memory *m, const struct sizes *z)
{
	bench_add(&m->sample[FIRST], seed_children_first_ms(m->ints, z->n, NULL, NULL));
	if (m->ints_seg != NULL)
		bench_add(&m->sample[FIRST_PREFAULT],
		          seed_children_first_ms(m->ints, z->n, prefault, m->ints_seg));
}

/* Private memory, filled: 0, or -1 if there is none. */
static int private_memory(struct memory *m, const struct sizes *z)
{
	label(m, "private malloc");
	m->ints = malloc(z->n * sizeof(int));
	m->sweep = malloc(z->sweep);
	if (m->ints == NULL || m->sweep == NULL) {
		perror("access: malloc");
		return -1;
	}
	seed_fill(m->ints, z->n);
	memset(m->sweep, 1, z->sweep);
	return 0;
}

/* Backend b's segments, filled; left empty where the backend is missing. */
static void segment_memory(struct memory *m, pshm_backend_t b, const struct sizes *z)
{
	label(m, pshm_backend_name(b));
	if (!pshm_backend_supported(b))
		return;
	m->ints_seg = segment(b, z->n * sizeof(int));
	m->sweep_seg = segment(b, z->sweep);
	if (m->ints_seg != NULL) {
		m->ints = pshm_addr(m->ints_seg);
		seed_fill(m->ints, z->n);
	}
	if (m->sweep_seg != NULL) {
		m->sweep = pshm_addr(m->sweep_seg);
		memset(m->sweep, 1, z->sweep);
	}
}

/*
 * Every kind, interleaved run by run, so that drift in the machine's speed
 * hits them all alike.  The sweeps come first: after a fork the parent's
 * private pages are copy-on-write, and the first write to each would fault,
 * which would measure fork, not memory.
 */
static void measure(struct memory *ms, int count, const struct sizes *z)
{
	for (int r = 0; r < z->runs; r++)
		for (struct memory *m = ms; m < ms + count; m++)
			if (m->sweep != NULL) {
				bench_add(&m->sample[READ], sweep_ms(m->sweep, z->sweep, 0));
				bench_add(&m->sample[WRITE], sweep_ms(m->sweep, z->sweep, 1));
			}
	for (int r = 0; r < z->runs; r++)
		for (struct memory *m = ms; m < ms + count; m++)
			if (m->ints != NULL) {
				bench_add(&m->sample[PARENT], seed_traversal_ms(m->ints, z->n, z->traversals));
				bench_add(&m->sample[CHILDREN], seed_children_ms(m->ints, z->n, z->traversals));
				first_traversals(m, z);
			}
}

/* A case's rows: the baseline (ms[0]), then each backend's or its skip. */
static void case_rows(struct bench_table *t, const char *group, struct memory *ms, int count,
                      int c)
{
	for (struct memory *m = ms; m < ms + count; m++) {
		if (m == ms || m->sample[c].n > 0)
			bench_table_row(t, group, &m->sample[c]);
		else
			bench_table_skip(t, group, m->sample[c].label, "backend not available");
	}
	if (c == FIRST) /* the segments again, prefaulted */
		for (struct memory *m = ms + 1; m < ms + count; m++)
			if (m->sample[FIRST_PREFAULT].n > 0)
				bench_table_row(t, group, &m->sample[FIRST_PREFAULT]);
}

static void report(struct memory *ms, int count, const struct sizes *z)
{
	struct bench_table *t = bench_table_new("access", "Access: traversals and sweeps", "ms", 1);
	char groups[CASES][64];
	snprintf(groups[PARENT], 64, "%zuK ints, parent", z->n >> 10);
	snprintf(groups[CHILDREN], 64, "%zuK ints, %d children at once", z->n >> 10, SEED_CHILDREN);
	snprintf(groups[FIRST], 64, "%zuK ints, %d children at once, first traversal", z->n >> 10,
	         SEED_CHILDREN);
	snprintf(groups[READ], 64, "%zu MiB read sweep", z->sweep >> 20);
	snprintf(groups[WRITE], 64, "%zu MiB write sweep", z->sweep >> 20);
	for (int c = 0; c < CASES; c++)
		if (c != FIRST_PREFAULT)
			case_rows(t, groups[c], ms, count, c);
	bench_table_finish(t, "Each traversal sums the ints; a child's figure is the median of its "
	                      "traversals, and the run's figure the median over the children. "
	                      "\"First traversal\": each child's first, the one that takes its page "
	                      "faults (private memory's page tables are copied at fork; a shared "
	                      "mapping's are not), timed with the pshm_prefault call where there is one. "
	                      "Goal: every segment >= 0.98x private; first traversals >= 0.9x "
	                      "with pshm_prefault.");
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	struct sizes z = {smoke ? 1u << 16 : 1u << 20, smoke ? (size_t)1 << 20 : (size_t)256 << 20,
	                  bench_runs(smoke, 15), smoke ? 2 : 50};
	/* [0] private memory, the baseline; then one per backend, by value. */
	struct memory ms[PSHM_BACKEND_MAX] = {{0}};
	int rc = private_memory(&ms[0], &z);
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; rc == 0 && b < PSHM_BACKEND_MAX; b++)
		segment_memory(&ms[b], b, &z);
	if (rc == 0) {
		measure(ms, PSHM_BACKEND_MAX, &z);
		report(ms, PSHM_BACKEND_MAX, &z);
	}
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
		if (ms[b].ints_seg != NULL)
			pshm_destroy(ms[b].ints_seg);
		if (ms[b].sweep_seg != NULL)
			pshm_destroy(ms[b].sweep_seg);
	}
	free(ms[0].ints);
	free(ms[0].sweep);
	return rc == 0 ? 0 : 1;
}
