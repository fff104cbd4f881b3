/*
 * handoff.c - experiment 4: passing data between two processes.  1 GiB
 * from a producer to a consumer in 64 KiB chunks through a ring in a
 * segment, with libpshm's mutex and condition variables, against a pipe
 * and a Unix socket pair; and the wake-up latency of a ping-pong between
 * two processes through a condition variable, against a pipe round trip.
 */
#define _DEFAULT_SOURCE /* socketpair's AF_UNIX on older libcs */
#include <pshm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CHUNK ((size_t)64 << 10)
#define SLOTS 16

struct ring {
	pshm_mutex_t lock;
	pshm_cond_t not_empty, not_full;
	uint64_t head, tail; /* chunks produced, consumed */
	int turn;            /* ping-pong: whose move it is */
	unsigned char slot[SLOTS][CHUNK];
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Arrays by backend: [PSHM_BACKEND_MAX], of which DEFAULT's slot is unused. */

static pshm_t *new_ring(pshm_backend_t backend, struct ring **out)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, backend);
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, sizeof(struct ring), &attr);
	if (rc < 0) {
		fprintf(stderr, "pshm_create: %s\n", pshm_strerror(rc));
		exit(1);
	}
	struct ring *r = pshm_addr(shm);
	pshm_mutex_init(&r->lock);
	pshm_cond_init(&r->not_empty);
	pshm_cond_init(&r->not_full);
	*out = r;
	return shm;
}

/* ---- throughput ---------------------------------------------------------- */

static void ring_produce(struct ring *r, uint64_t chunks)
{
	unsigned char chunk[CHUNK];
	memset(chunk, 7, sizeof(chunk));
	for (uint64_t i = 0; i < chunks; i++) {
		pshm_mutex_lock(&r->lock);
		while (r->head - r->tail == SLOTS)
			pshm_cond_wait(&r->not_full, &r->lock);
		uint64_t slot = r->head % SLOTS;
		pshm_mutex_unlock(&r->lock);
		memcpy(r->slot[slot], chunk, CHUNK); /* outside the lock: the slot is ours */
		pshm_mutex_lock(&r->lock);
		r->head++;
		pshm_cond_signal(&r->not_empty);
		pshm_mutex_unlock(&r->lock);
	}
}

static uint64_t ring_consume(struct ring *r, uint64_t chunks)
{
	unsigned char chunk[CHUNK];
	uint64_t check = 0;
	for (uint64_t i = 0; i < chunks; i++) {
		pshm_mutex_lock(&r->lock);
		while (r->head == r->tail)
			pshm_cond_wait(&r->not_empty, &r->lock);
		uint64_t slot = r->tail % SLOTS;
		pshm_mutex_unlock(&r->lock);
		memcpy(chunk, r->slot[slot], CHUNK); /* the consumer takes its copy */
		check += chunk[CHUNK - 1];
		pshm_mutex_lock(&r->lock);
		r->tail++;
		pshm_cond_signal(&r->not_full);
		pshm_mutex_unlock(&r->lock);
	}
	return check;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static uint64_t read_all(int fd, uint64_t bytes)
{
	unsigned char buf[CHUNK];
	uint64_t got = 0, check = 0;
	while (got < bytes) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			die("read");
		got += (uint64_t)n;
		check += buf[n - 1];
	}
	return check;
}

enum channel { RING, PIPE, SOCKETS };

/* Milliseconds to hand `bytes` over the channel (a ring: in a segment of
 * backend). */
static double handoff_ms(enum channel ch, pshm_backend_t backend, uint64_t bytes)
{
	uint64_t chunks = bytes / CHUNK;
	struct ring *r = NULL;
	pshm_t *shm = ch == RING ? new_ring(backend, &r) : NULL;
	int fds[2] = {-1, -1};
	if (ch == PIPE && pipe(fds) < 0)
		die("pipe");
	if (ch == SOCKETS && socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		die("socketpair");
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (ch == RING) {
			ring_produce(r, chunks);
		} else {
			unsigned char chunk[CHUNK];
			memset(chunk, 7, sizeof(chunk));
			close(fds[0]);
			for (uint64_t i = 0; i < chunks; i++)
				write_all(fds[1], chunk, CHUNK);
		}
		_exit(0);
	}
	if (ch == RING) {
		ring_consume(r, chunks);
	} else {
		close(fds[1]);
		read_all(fds[0], chunks * CHUNK);
		close(fds[0]);
	}
	waitpid(pid, NULL, 0);
	double ms = (bench_now() - t0) * 1e3;
	if (shm != NULL)
		pshm_destroy(shm);
	return ms;
}

/* ---- latency ------------------------------------------------------------- */

/* Microseconds per round trip of `trips` ping-pongs, through a pipe or
 * (use_ring) a condition variable in a segment of backend. */
static double pingpong_us(int use_ring, pshm_backend_t backend, int trips)
{
	struct ring *r = NULL;
	pshm_t *shm = use_ring ? new_ring(backend, &r) : NULL;
	int to_child[2] = {-1, -1}, to_parent[2] = {-1, -1};
	if (!use_ring && (pipe(to_child) < 0 || pipe(to_parent) < 0))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	char byte = 0;
	if (pid == 0) {
		for (int i = 0; i < trips; i++) {
			if (use_ring) {
				pshm_mutex_lock(&r->lock);
				while (r->turn != 1)
					pshm_cond_wait(&r->not_empty, &r->lock);
				r->turn = 0;
				pshm_cond_signal(&r->not_full);
				pshm_mutex_unlock(&r->lock);
			} else if (read(to_child[0], &byte, 1) != 1 || write(to_parent[1], &byte, 1) != 1) {
				_exit(1);
			}
		}
		_exit(0);
	}
	double t0 = bench_now();
	for (int i = 0; i < trips; i++) {
		if (use_ring) {
			pshm_mutex_lock(&r->lock);
			r->turn = 1;
			pshm_cond_signal(&r->not_empty);
			while (r->turn != 0)
				pshm_cond_wait(&r->not_full, &r->lock);
			pshm_mutex_unlock(&r->lock);
		} else if (write(to_child[1], &byte, 1) != 1 || read(to_parent[0], &byte, 1) != 1) {
			die("pipe round trip");
		}
	}
	double us = (bench_now() - t0) / trips * 1e6;
	waitpid(pid, NULL, 0);
	if (shm != NULL) {
		pshm_destroy(shm);
	} else {
		close(to_child[0]);
		close(to_child[1]);
		close(to_parent[0]);
		close(to_parent[1]);
	}
	return us;
}

/* A row per backend, skipped where it is not available. */
static void backend_rows(struct bench_table *t, const char *group,
                         const struct bench_sample samples[PSHM_BACKEND_MAX])
{
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++)
		if (samples[b].n > 0)
			bench_table_row(t, group, &samples[b]);
		else
			bench_table_skip(t, group, samples[b].label, "backend not available");
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	int runs = bench_runs(smoke, 7);
	uint64_t bytes = smoke ? (uint64_t)16 << 20 : (uint64_t)1 << 30;
	int trips = smoke ? 1000 : 50000;

	struct bench_sample pipes = {.label = "pipe"};
	struct bench_sample sockets = {.label = "Unix socket pair"};
	struct bench_sample pipe_rt = {.label = "pipe"};
	struct bench_sample ring[PSHM_BACKEND_MAX], cond_rt[PSHM_BACKEND_MAX];
	static char ring_labels[PSHM_BACKEND_MAX][80], cond_labels[PSHM_BACKEND_MAX][80];
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
		const char *name = pshm_backend_name(b);
		snprintf(ring_labels[b], sizeof(ring_labels[b]),
		         "libpshm %s segment, mutex + condition variables", name);
		snprintf(cond_labels[b], sizeof(cond_labels[b]), "libpshm %s, condition variable",
		         name);
		ring[b] = (struct bench_sample){.label = ring_labels[b]};
		cond_rt[b] = (struct bench_sample){.label = cond_labels[b]};
	}
	for (int r = 0; r < runs; r++) { /* interleaved, run by run */
		bench_add(&pipes, handoff_ms(PIPE, PSHM_BACKEND_DEFAULT, bytes));
		bench_add(&sockets, handoff_ms(SOCKETS, PSHM_BACKEND_DEFAULT, bytes));
		bench_add(&pipe_rt, pingpong_us(0, PSHM_BACKEND_DEFAULT, trips));
		for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
			if (!pshm_backend_supported(b))
				continue;
			bench_add(&ring[b], handoff_ms(RING, b, bytes));
			bench_add(&cond_rt[b], pingpong_us(1, b, trips));
		}
	}
	char group[64];
	snprintf(group, sizeof(group), "%llu MiB in 64 KiB chunks (ms)",
	         (unsigned long long)(bytes >> 20));
	const char *latency = "ping-pong round trip (us)";
	struct bench_table *t = bench_table_new("handoff", "Handoff: producer to consumer, and wake-up",
	                                        "ms or us", 1);
	bench_table_row(t, group, &pipes);
	bench_table_row(t, group, &sockets);
	backend_rows(t, group, ring);
	bench_table_row(t, latency, &pipe_rt);
	backend_rows(t, latency, cond_rt);
	bench_table_finish(t, "The ring copies each chunk in and out (as a pipe does), 16 slots of "
	                      "64 KiB; a consumer reading in place would save one copy. The baseline "
	                      "of each case is the pipe.");
	return 0;
}
