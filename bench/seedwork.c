/*
 * seedwork.c - the workload libpshm grew from ("seed"); see seedwork.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "seedwork.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static volatile long sink; /* keeps the sums from being optimised away */

void seed_fill(int *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (int)i;
}

static long traverse(const int *a, size_t n)
{
	long sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += a[i];
	return sum;
}

double seed_traversal_ms(const int *a, size_t n, int traversals)
{
	struct bench_sample s = {.label = ""};
	for (int r = 0; r < traversals; r++) {
		double t0 = bench_now();
		sink = traverse(a, n);
		bench_add(&s, (bench_now() - t0) * 1e3);
	}
	return bench_median(&s);
}

/* Read exactly len bytes, or fail. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t got = read(fd, p, len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

/* What a child measures: traversals of a (median ms), or with prepare,
 * prepare and then one traversal. */
struct child_job {
	const int *a;
	size_t n;
	int traversals;
	void (*prepare)(void *arg);
	void *arg;
};

static double child_measure(const struct child_job *j)
{
	if (j->prepare == NULL)
		return seed_traversal_ms(j->a, j->n, j->traversals);
	double t0 = bench_now();
	j->prepare(j->arg);
	sink = traverse(j->a, j->n);
	return (bench_now() - t0) * 1e3;
}

static double children_ms(const struct child_job *j);

double seed_children_ms(const int *a, size_t n, int traversals)
{
	const struct child_job j = {a, n, traversals, NULL, NULL};
	return children_ms(&j);
}

double seed_children_first_ms(const int *a, size_t n, void (*prepare)(void *arg), void *arg)
{
	const struct child_job j = {a, n, 1, prepare, arg};
	return children_ms(&j);
}

static double children_ms(const struct child_job *j)
{
	int report[2];
	if (pipe(report) < 0) {
		perror("bench: pipe");
		return -1;
	}
	pid_t pids[SEED_CHILDREN];
	for (int c = 0; c < SEED_CHILDREN; c++) {
		pids[c] = fork();
		if (pids[c] < 0) {
			perror("bench: fork");
			exit(1);
		}
		if (pids[c] == 0) {
			close(report[0]);
			double ms = child_measure(j);
			_exit(write(report[1], &ms, sizeof(ms)) == (ssize_t)sizeof(ms) ? 0 : 1);
		}
	}
	close(report[1]);
	struct bench_sample per_child = {.label = ""};
	int failed = 0;
	for (int c = 0; c < SEED_CHILDREN; c++) {
		double ms;
		if (read_all(report[0], &ms, sizeof(ms)) < 0)
			failed = 1;
		else
			bench_add(&per_child, ms);
	}
	close(report[0]);
	for (int c = 0; c < SEED_CHILDREN; c++) {
		int status, rc;
		while ((rc = waitpid(pids[c], &status, 0)) < 0 && errno == EINTR)
			;
		failed |= rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	return failed ? -1 : bench_median(&per_child);
}
