/*
 * seedwork.h - the workload of the experiment libpshm grew from (the
 * "seed": 1M ints summed in a parent and in 8 children at once), shared by
 * bench/access and every peer
 * program so that all of them run the very same loops: fill an array of
 * ints, sum it in the calling process, and sum it in several forked
 * children at once.  C, and usable from C++ (the Boost.Interprocess peer).
 */
#ifndef PSHM_BENCH_SEEDWORK_H
#define PSHM_BENCH_SEEDWORK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEED_CHILDREN 8

/* a[i] = i. */
void seed_fill(int *a, size_t n);

/* Median ms of traversals sums of a's n ints, in this process. */
double seed_traversal_ms(const int *a, size_t n, int traversals);

/* SEED_CHILDREN forked children sum a at once, traversals times each; the
 * median over the children of each child's median ms, or -1 if a child
 * failed.  The children report through a pipe, so a needs to be the only
 * memory they share. */
double seed_children_ms(const int *a, size_t n, int traversals);

/* The same children, each timing prepare(arg) (if not NULL) and its first
 * traversal of a, the one that takes the page faults. */
double seed_children_first_ms(const int *a, size_t n, void (*prepare)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif
