/*
 * peers.c - libpshm against what a user would pick instead, in one run:
 * Apache APR (apr_shm), OSSP mm (mm_core), Boost.Interprocess, Python's
 * multiprocessing.shared_memory and the Python program libpshm grew from (array, dict,
 * Manager list, shared ctypes).  Every row, libpshm's and private memory's
 * included, is a separate program run the same way (bench/peer.h, and
 * bench/seed.py for Python), so that none is favoured by running inside
 * this one.  A peer that was not built (its library was not installed when
 * ./configure ran) is reported as skipped.
 *
 * Cases: the original experiment's traversal of 1M ints in the parent and in 8 children
 * (baseline: private malloc memory), and the life of a 4 KiB and a 64 MiB
 * segment, named and anonymous (baseline: libpshm's default backend without
 * the page reservation, which no peer makes).  A second table, alloc: the
 * allocators inside shared memory, 1M allocations and frees of 16 B to
 * 4 KiB, by 1 process and shared among 2 and 8 at once (baseline: glibc's malloc, each
 * process in its own memory).
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seedwork.h" /* SEED_CHILDREN */

#ifndef PSHM_SEED_SCRIPT /* the build gives the source tree's */
#define PSHM_SEED_SCRIPT "bench/seed.py"
#endif

struct peer {
	const char *label;   /* the row when it is skipped */
	const char *program; /* under bench/, or the Python interpreter */
	const char *variant; /* peer-pshm's first argument, or NULL */
	const char *missing; /* why it may not have been built */
	int heap;            /* whether it is a row of the alloc table */
};

static const struct peer peers[] = {
	{"private malloc", "peer-pshm", "private", NULL, 1},
	{"libpshm posix, PSHM_NORESERVE", "peer-pshm", "posix,noreserve", NULL, 0},
	{"libpshm posix", "peer-pshm", "posix", NULL, 1},
	{"libpshm sysv", "peer-pshm", "sysv", NULL, 1},
	{"libpshm mmap, PSHM_NORESERVE", "peer-pshm", "mmap,noreserve", NULL, 0},
	{"APR apr_shm", "peer-apr", NULL, "libapr1-dev or libaprutil1-dev was not found by ./configure",
	 1},
	{"OSSP mm (mm_core)", "peer-mm", NULL, "libmm-dev was not found by ./configure", 1},
	{"Boost.Interprocess", "peer-boost", NULL,
	 "a C++ compiler or libboost-dev was not found by ./configure", 1},
	{"Python", NULL, NULL, "python3 (3.8 or later) was not found by ./configure", 0},
};
#define NPEERS (sizeof(peers) / sizeof(peers[0]))

static char bench_dir[512];

/* Run one peer with args (NULL-terminated, at most 4) into c; 0, or -1 if
 * it is not there or failed, with why. */
static int run_peer(const struct peer *p, const char *const args[], struct bench_collection *c,
                    char *why, size_t whylen)
{
	char path[600];
	char *argv[8];
	int n = 0;
	if (p->program == NULL) {
		if (PSHM_PYTHON[0] == '\0' || access(PSHM_PYTHON, X_OK) < 0) {
			snprintf(why, whylen, "%s", p->missing);
			return -1;
		}
		argv[n++] = (char *)PSHM_PYTHON;
		argv[n++] = (char *)PSHM_SEED_SCRIPT;
	} else {
		snprintf(path, sizeof(path), "%s/%s", bench_dir, p->program);
		if (access(path, X_OK) < 0) {
			snprintf(why, whylen, "%s", p->missing != NULL ? p->missing : "not built");
			return -1;
		}
		argv[n++] = path;
		if (p->variant != NULL)
			argv[n++] = (char *)p->variant;
	}
	for (int i = 0; args[i] != NULL; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (bench_collect(argv, c) < 0) {
		snprintf(why, whylen, "it failed (its error is above)");
		return -1;
	}
	return 0;
}

/* Every peer's run of args from peers[first] on, or a skipped row for each
 * that cannot, into the table's groups for keys[0] and keys[1], in the
 * order of peers[]. */
static void run_all(struct bench_table *t, const char *const args[], const char *const keys[2],
                    const char *const groups[2], size_t first)
{
	struct bench_collection *c = calloc(NPEERS, sizeof(*c));
	char whys[NPEERS][160];
	int ok[NPEERS];
	if (c == NULL) {
		perror("peers");
		exit(1);
	}
	for (size_t i = first; i < NPEERS; i++)
		ok[i] = run_peer(&peers[i], args, &c[i], whys[i], sizeof(whys[i])) == 0;
	for (int k = 0; k < 2; k++)
		for (size_t i = first; i < NPEERS; i++)
			if (ok[i])
				bench_table_collected(t, groups[k], &c[i], keys[k]);
			else
				bench_table_skip(t, groups[k], peers[i].label, whys[i]);
	free(c);
}

static void bench_dir_of(const char *argv0)
{
	snprintf(bench_dir, sizeof(bench_dir), "%s", argv0);
	char *slash = strrchr(bench_dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(bench_dir, sizeof(bench_dir), ".");
}

/* peers[0], private memory, is the baseline of the traversals only: it
 * has no segments to make. */
#define FIRST_WITH_SEGMENTS 1

static void access_cases(struct bench_table *t, int smoke)
{
	const char *args[] = {"access", smoke ? "65536" : "1048576", smoke ? "2" : "50",
	                      smoke ? "1" : "7", NULL};
	const char *keys[] = {"parent", "children"};
	char parent[64], children[64];
	snprintf(parent, sizeof(parent), "%sK ints, parent (ms)", smoke ? "64" : "1024");
	snprintf(children, sizeof(children), "%sK ints, %d children at once (ms)",
	         smoke ? "64" : "1024", SEED_CHILDREN);
	const char *groups[] = {parent, children};
	run_all(t, args, keys, groups, 0);
}

static void lifecycle_cases(struct bench_table *t, int smoke)
{
	static const struct {
		const char *bytes, *cycles, *name;
	} sizes[] = {{"4096", "2000", "4 KiB"}, {"67108864", "50", "64 MiB"}};
	for (int s = 0; s < 2; s++) {
		const char *args[] = {"lifecycle", sizes[s].bytes, smoke ? "2" : sizes[s].cycles,
		                      smoke ? "1" : "7", NULL};
		const char *keys[] = {"named", "anonymous"};
		char named[96], anonymous[96];
		snprintf(named, sizeof(named), "%s named: create, attach, detach both, remove (us)",
		         sizes[s].name);
		snprintf(anonymous, sizeof(anonymous), "%s anonymous: create, destroy (us)",
		         sizes[s].name);
		const char *groups[] = {named, anonymous};
		run_all(t, args, keys, groups, FIRST_WITH_SEGMENTS);
	}
}

/* The alloc table: each allocator, by 1, 2 and 8 processes at once. */
static void alloc_cases(int smoke)
{
	struct bench_table *t = bench_table_new("alloc", "Allocators in shared memory: "
	                                        "allocations and frees of 16 B to 4 KiB",
	                                        "ns per call", 1);
	static const char *const procs[] = {"1", "2", "8"};
	for (int p = 0; p < 3; p++) {
		char each[16], key[16], group[64];
		snprintf(each, sizeof(each), "%d", (smoke ? 10000 : 1000000) / atoi(procs[p]));
		const char *args[] = {"alloc", procs[p], each, smoke ? "1" : "5", NULL};
		snprintf(key, sizeof(key), "alloc%s", procs[p]);
		snprintf(group, sizeof(group), "%s process%s at once, 1M calls in all", procs[p],
		         p == 0 ? "" : "es");
		for (size_t i = 0; i < NPEERS; i++) {
			if (!peers[i].heap)
				continue;
			struct bench_collection *c = calloc(1, sizeof(*c));
			char why[160];
			if (c != NULL && run_peer(&peers[i], args, c, why, sizeof(why)) == 0)
				bench_table_collected(t, group, c, key);
			else
				bench_table_skip(t, group, peers[i].label, c != NULL ? why : "out of memory");
			free(c);
		}
	}
	bench_table_finish(
	    t, "Each process allocates blocks of 16 B to 4 KiB (as many of each power of two) into "
	       "1,024 slots, or frees a slot's block, at random, writing each block's first byte; "
	       "1M calls in all, shared among the processes; the time is the wall time of all "
	       "processes from a common start, per call. The "
	       "baseline is glibc's malloc in each process's private memory (nothing shared, no "
	       "lock between processes). Every shared allocator runs in a 64 MiB segment: libpshm "
	       "a PSHM_MANAGED one; Boost a managed_shared_memory; OSSP mm an mm_create pool; APR "
	       "apr_rmm over apr_shm with an apr_proc_mutex of APR's default kind. 8 processes run "
	       "on 2 CPUs here.");
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	bench_dir_of(argv[0]);
	struct bench_table *t = bench_table_new("peers", "Peers: the original traversals and a "
	                                        "segment's life", "ms or us, see case", 1);
	access_cases(t, smoke);
	lifecycle_cases(t, smoke);
	bench_table_finish(
	    t, "Every row is its own program, run the same way (bench/peer.h; bench/seed.py for "
	       "Python). The traversal baseline is private malloc memory; the lifecycle baseline is "
	       "libpshm's posix backend without its page reservation (PSHM_NORESERVE), as no peer "
	       "reserves pages: the \"libpshm posix\" row is the default, reserving them so that a "
	       "full /dev/shm is -ENOSPC at creation instead of SIGBUS later. OSSP mm has no named "
	       "segments; Python's shared_memory no anonymous ones. Python rows use 3 traversals "
	       "per run; the Manager list is timed over 2,000 ints and scaled to the full count.");
	alloc_cases(smoke);
	return 0;
}
