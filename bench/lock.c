/*
 * lock.c - experiment 6: what a lock costs.  An uncontended lock + unlock,
 * and processes (2 and 8) taking one lock in turn around a short critical
 * section, through libpshm's mutex and its segment header lock, against
 * the lock they replace: a robust, process-shared pthread mutex in the
 * same segment.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <pshm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

enum variant { RAW_PTHREAD, PSHM_MUTEX, PSHM_HEADER_LOCK, VARIANTS };

static const char *const labels[VARIANTS] = {
    "robust process-shared pthread mutex",
    "pshm_mutex_lock / unlock",
    "pshm_lock / unlock (the segment's header lock)",
};

/* Each lock, and the counter, in a cache line of its own, as the header
 * lock is (at 128 bytes into the segment). */
struct arena {
	_Alignas(64) pthread_mutex_t raw;
	_Alignas(64) pshm_mutex_t mutex;
	_Alignas(64) _Atomic int ready; /* processes at the start line */
	_Alignas(64) uint64_t counter;  /* what the critical section changes */
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, pshm_strerror(rc));
	exit(1);
}

static struct arena *new_arena(pshm_t **shm)
{
	int rc = pshm_create(shm, NULL, sizeof(struct arena), NULL);
	if (rc < 0)
		die("pshm_create", rc);
	struct arena *a = pshm_addr(*shm);
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	rc = pthread_mutex_init(&a->raw, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc != 0)
		die("pthread_mutex_init", -rc);
	rc = pshm_mutex_init(&a->mutex);
	if (rc < 0)
		die("pshm_mutex_init", rc);
	return a;
}

/* n lock + unlock pairs around an increment, one loop per variant so
 * that each calls its own functions directly. */
static void cycles(enum variant v, pshm_t *shm, struct arena *a, long n)
{
	switch (v) {
	case RAW_PTHREAD:
		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(&a->raw);
			a->counter++;
			pthread_mutex_unlock(&a->raw);
		}
		break;
	case PSHM_MUTEX:
		for (long i = 0; i < n; i++) {
			pshm_mutex_lock(&a->mutex);
			a->counter++;
			pshm_mutex_unlock(&a->mutex);
		}
		break;
	default:
		for (long i = 0; i < n; i++) {
			pshm_lock(shm);
			a->counter++;
			pshm_unlock(shm);
		}
		break;
	}
}

/* Nanoseconds per lock + unlock with `procs` processes taking the lock
 * `n` times each, all started together. */
static double ns_per_cycle(enum variant v, pshm_t *shm, struct arena *a, int procs, long n)
{
	atomic_store(&a->ready, 0);
	a->counter = 0;
	pid_t pids[64];
	for (int p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork", -1);
		if (pids[p] == 0) {
			atomic_fetch_add(&a->ready, 1);
			while (atomic_load(&a->ready) < procs + 1)
				; /* everybody starts at once */
			cycles(v, shm, a, n);
			_exit(0);
		}
	}
	while (atomic_load(&a->ready) < procs)
		;
	double t0 = bench_now();
	atomic_fetch_add(&a->ready, 1);
	for (int p = 0; p < procs; p++)
		waitpid(pids[p], NULL, 0);
	double ns = (bench_now() - t0) / ((double)n * procs) * 1e9;
	if (a->counter != (uint64_t)n * (uint64_t)procs)
		die("the lock let two processes in at once", -1);
	return ns;
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	int runs = bench_runs(smoke, 7);
	long n = smoke ? 10000 : 2000000;
	const int procs[] = {1, 2, 8};
	pshm_t *shm;
	struct arena *a = new_arena(&shm);
	struct bench_sample s[3][VARIANTS];
	for (int p = 0; p < 3; p++)
		for (int v = 0; v < VARIANTS; v++)
			s[p][v] = (struct bench_sample){.label = labels[v]};
	for (int r = 0; r < runs; r++) /* interleaved, run by run */
		for (int p = 0; p < 3; p++)
			for (int v = 0; v < VARIANTS; v++)
				bench_add(&s[p][v], ns_per_cycle((enum variant)v, shm, a, procs[p],
				                                 procs[p] == 1 ? n : n / procs[p]));
	struct bench_table *t = bench_table_new("lock", "Lock: uncontended and contended",
	                                        "ns per lock + unlock", 1);
	const char *groups[] = {"1 process (uncontended)", "2 processes, one lock",
	                        "8 processes, one lock"};
	for (int p = 0; p < 3; p++)
		for (int v = 0; v < VARIANTS; v++)
			bench_table_row(t, groups[p], &s[p][v]);
	bench_table_finish(t, "Each process takes the lock, increments a counter in the segment and "
	                      "unlocks; the figure is wall time over all the processes' lock + "
	                      "unlock pairs. The baseline is a robust, process-shared pthread mutex "
	                      "in the same anonymous segment. Goal: uncontended >= 0.95x, "
	                      "contended >= 1.00x.");
	pshm_destroy(shm);
	return 0;
}
