/*
 * demo.c - the experiment libpshm grew from, on every backend libpshm has here: a parent
 * fills an anonymous segment with 1M ints, 8 forked children each read all
 * of it, and everyone says what they saw and how long it took.  A private
 * malloc'd array is traversed the same way, as the baseline.
 *
 * Run it with `make demo`.  Exit status 0 when every child saw the right
 * data on every backend.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pshm.h>

#define INTS (1u << 20)
#define CHILDREN 8

struct report {
	long long sum;
	double ms;
};

/* The segment: the ints, then one report per child. */
struct shared {
	int ints[INTS];
	struct report reports[CHILDREN];
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long traverse(const int *ints)
{
	long long sum = 0;
	for (unsigned i = 0; i < INTS; i++)
		sum += ints[i];
	return sum;
}

static const long long expected_sum = (long long)INTS * (INTS - 1) / 2;

static int run_on(pshm_backend_t backend)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, backend);
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, sizeof(struct shared), &attr);
	if (rc < 0) {
		fprintf(stderr, "%s: pshm_create: %s\n", pshm_backend_name(backend), pshm_strerror(rc));
		return 1;
	}
	struct shared *s = pshm_addr(shm);

	double start = now_ms();
	for (unsigned i = 0; i < INTS; i++)
		s->ints[i] = (int)i;
	printf("%-5s  parent filled %u ints in %.2f ms\n", pshm_backend_name(backend), INTS,
	       now_ms() - start);

	fflush(stdout);
	pid_t pids[CHILDREN];
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		if (pids[c] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[c] == 0) {
			double t0 = now_ms();
			long long sum = traverse(s->ints);
			s->reports[c] = (struct report){sum, now_ms() - t0};
			_exit(0);
		}
	}
	int failed = 0;
	for (int c = 0; c < CHILDREN; c++) {
		int status;
		while (waitpid(pids[c], &status, 0) < 0 && errno == EINTR)
			;
		const struct report *r = &s->reports[c];
		int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->sum == expected_sum;
		failed |= !ok;
		printf("       child %d saw sum %lld (%s) in %.2f ms\n", c + 1, r->sum,
		       ok ? "right" : "WRONG", r->ms);
	}
	pshm_destroy(shm);
	return failed;
}

int main(void)
{
	int *private_ints = malloc(INTS * sizeof(int));
	if (private_ints == NULL)
		return 1;
	for (unsigned i = 0; i < INTS; i++)
		private_ints[i] = (int)i;
	double t0 = now_ms();
	long long sum = traverse(private_ints);
	printf("baseline: a private array of %u ints traversed in %.2f ms (sum %lld)\n\n", INTS,
	       now_ms() - t0, sum);
	free(private_ints);

	int failed = 0;
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
		if (!pshm_backend_supported(b)) {
			printf("%-5s  not available here\n", pshm_backend_name(b));
			continue;
		}
		failed |= run_on(b);
	}
	printf("\n%s (default backend: %s)\n", failed ? "FAILED" : "every child saw the parent's data",
	       pshm_backend_name(PSHM_BACKEND_DEFAULT));
	return failed;
}
