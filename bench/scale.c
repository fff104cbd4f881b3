/*
 * scale.c - experiment 5: does an operation get slower as the count grows?
 *
 * Processes: 1 to 64 processes attach one named segment at once, each
 * attaching and detaching it in a loop.  Reported: CPU time per
 * attach + detach (median over the processes; CPU time, so that 64
 * processes sharing a few cores measure contention, not waiting for a
 * core), and pshm_stat with that many processes holding the segment (it
 * counts them).  Baseline: one process.
 *
 * Segments: 10,000 named 4 KiB segments created, then destroyed; time per
 * operation in buckets of a fifth of the count.  Baseline: the first bucket.
 */
#define _POSIX_C_SOURCE 200809L
#include <pshm.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_PROCS 64
#define BUCKETS 5

/* What the children of one round report, in an anonymous segment. */
struct board {
	atomic_int holding;             /* children attached and waiting */
	double cpu_us[MAX_PROCS];       /* per attach + detach, or -1 on error */
};

static void attr_for(pshm_attr_t *attr, pshm_backend_t b)
{
	pshm_attr_init(attr);
	pshm_attr_set_backend(attr, b);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A child: wait for its start byte, attach + detach iters times, report,
 * then hold the segment attached until the parent closes done_fd's pipe. */
static void child(pshm_backend_t b, const char *name, int iters, struct board *board, int me,
                  int start_fd, int done_fd)
{
	char c;
	pshm_attr_t attr;
	attr_for(&attr, b);
	if (read(start_fd, &c, 1) < 0)
		_exit(1);
	double t0 = cpu_now();
	for (int i = 0; i < iters; i++) {
		pshm_t *shm;
		if (pshm_attach(&shm, name, &attr) < 0) {
			board->cpu_us[me] = -1;
			_exit(1);
		}
		pshm_detach(shm);
	}
	board->cpu_us[me] = (cpu_now() - t0) * 1e6 / iters;
	pshm_t *held;
	if (pshm_attach(&held, name, &attr) < 0)
		_exit(1);
	atomic_fetch_add(&board->holding, 1);
	while (read(done_fd, &c, 1) > 0) /* until EOF: the parent is done */
		;
	pshm_detach(held);
	_exit(0);
}

/* One round: procs children on segment name; adds the median CPU time per
 * attach + detach to per_op and the median time of pshm_stat with all of
 * them attached to stat_us.  -1 on error. */
/* Fork procs children that time their attaches of name, then hold it;
 * return once all of them hold it, with the fd whose closing releases them
 * in *done_fd. */
static void start_holders(pshm_backend_t b, const char *name, int procs, int iters,
                          struct board *board, pid_t pids[], int *done_fd)
{
	int go[2], done[2];
	if (pipe(go) < 0 || pipe(done) < 0) {
		perror("scale: pipe");
		exit(1);
	}
	atomic_store(&board->holding, 0);
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("scale: fork");
			exit(1);
		}
		if (pids[i] == 0) {
			close(go[1]);
			close(done[1]);
			child(b, name, iters, board, i, go[0], done[0]);
		}
	}
	close(go[0]);
	close(done[0]);
	char starts[MAX_PROCS];
	memset(starts, 's', sizeof(starts));
	if (write(go[1], starts, (size_t)procs) != procs)
		perror("scale: write");
	close(go[1]);
	while (atomic_load(&board->holding) < procs) {
		struct timespec nap = {0, 100000};
		nanosleep(&nap, NULL);
	}
	*done_fd = done[1];
}

/* The median time of pshm_stat of name, with procs processes attached. */
static double stat_median_us(pshm_backend_t b, const char *name, int procs)
{
	pshm_attr_t attr;
	attr_for(&attr, b);
	struct bench_sample s = {.label = ""};
	for (int i = 0; i < 20; i++) {
		pshm_info_t info;
		double t0 = bench_now();
		int rc = pshm_stat(name, &attr, &info);
		bench_add(&s, (bench_now() - t0) * 1e6);
		if (rc < 0 || (info.attached >= 0 && info.attached < procs)) {
			fprintf(stderr, "scale: pshm_stat: %s, %d attached of %d\n", pshm_strerror(rc),
			        info.attached, procs);
			break;
		}
	}
	return bench_median(&s);
}

static int round_of(pshm_backend_t b, const char *name, int procs, int iters, struct board *board,
                    struct bench_sample *per_op, struct bench_sample *stat_us)
{
	pid_t pids[MAX_PROCS];
	int done_fd;
	start_holders(b, name, procs, iters, board, pids, &done_fd);
	bench_add(stat_us, stat_median_us(b, name, procs));
	close(done_fd);

	int failed = 0;
	struct bench_sample children = {.label = ""};
	for (int i = 0; i < procs; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		bench_add(&children, board->cpu_us[i]);
	}
	if (failed) {
		fprintf(stderr, "scale: a child failed\n");
		return -1;
	}
	bench_add(per_op, bench_median(&children));
	return 0;
}

static const char *plural(int n)
{
	return n == 1 ? "" : "es";
}

static int processes(struct bench_table *t, int smoke, struct board *board)
{
	static const int counts[] = {1, 2, 4, 8, 16, 32, 64};
	int ncounts = smoke ? 3 : (int)(sizeof(counts) / sizeof(counts[0]));
	int runs = bench_runs(smoke, 5), iters = smoke ? 20 : 1000;
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
		char op_group[96], stat_group[96];
		snprintf(op_group, sizeof(op_group), "%s: attach + detach, CPU us each",
		         pshm_backend_name(b));
		snprintf(stat_group, sizeof(stat_group), "%s: pshm_stat with all attached, us",
		         pshm_backend_name(b));
		if (!pshm_backend_supported(b)) {
			bench_table_skip(t, op_group, "every count", "backend not available");
			continue;
		}
		char name[32];
		snprintf(name, sizeof(name), "bench-scale-%ld", (long)getpid());
		pshm_attr_t attr;
		attr_for(&attr, b);
		pshm_t *shm;
		int rc = pshm_create(&shm, name, 4096, &attr);
		if (rc < 0) {
			fprintf(stderr, "scale: %s: %s\n", pshm_backend_name(b), pshm_strerror(rc));
			return -1;
		}
		struct bench_sample per_op[7], stat_us[7];
		static char labels[7][32];
		for (int c = 0; c < ncounts; c++) {
			snprintf(labels[c], sizeof(labels[c]), "%d process%s", counts[c],
			         plural(counts[c]));
			per_op[c] = stat_us[c] = (struct bench_sample){.label = labels[c]};
		}
		for (int r = 0; r < runs && rc == 0; r++)
			for (int c = 0; c < ncounts && rc == 0; c++)
				rc = round_of(b, name, counts[c], iters, board, &per_op[c], &stat_us[c]);
		pshm_destroy(shm);
		if (rc < 0)
			return -1;
		for (int c = 0; c < ncounts; c++)
			bench_table_row(t, op_group, &per_op[c]);
		for (int c = 0; c < ncounts; c++)
			bench_table_row(t, stat_group, &stat_us[c]);
	}
	return 0;
}

/* Create count segments, then destroy them, adding the time per operation
 * of each fifth to creates[] and destroys[].  Returns how many could be
 * made (fewer than count when the kernel's limit comes first). */
static int fill_and_empty(pshm_backend_t b, int count, struct bench_sample *creates,
                          struct bench_sample *destroys, int *err)
{
	pshm_t **shms = calloc((size_t)count, sizeof(pshm_t *));
	if (shms == NULL) {
		perror("scale: calloc");
		exit(1);
	}
	pshm_attr_t attr;
	attr_for(&attr, b);
	int per_bucket = count / BUCKETS, made = 0;
	*err = 0;
	for (int k = 0; k < BUCKETS && *err == 0; k++) {
		double t0 = bench_now();
		int i;
		for (i = 0; i < per_bucket; i++) {
			char name[32];
			snprintf(name, sizeof(name), "bench-n%ld-%d", (long)getpid(), made);
			*err = pshm_create(&shms[made], name, 4096, &attr);
			if (*err < 0)
				break;
			made++;
		}
		if (i == per_bucket)
			bench_add(&creates[k], (bench_now() - t0) * 1e6 / per_bucket);
	}
	for (int k = 0; k < BUCKETS && (k + 1) * per_bucket <= made; k++) {
		double t0 = bench_now();
		for (int i = k * per_bucket; i < (k + 1) * per_bucket; i++)
			pshm_destroy(shms[i]);
		bench_add(&destroys[k], (bench_now() - t0) * 1e6 / per_bucket);
	}
	for (int i = made / per_bucket * per_bucket; i < made; i++)
		pshm_destroy(shms[i]);
	free(shms);
	return made;
}

static void segments(struct bench_table *t, int smoke)
{
	int count = smoke ? 100 : 10000, runs = bench_runs(smoke, 3);
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
		char create_group[96], destroy_group[96];
		snprintf(create_group, sizeof(create_group), "%s: %d segments, create, us each",
		         pshm_backend_name(b), count);
		snprintf(destroy_group, sizeof(destroy_group), "%s: %d segments, destroy, us each",
		         pshm_backend_name(b), count);
		if (!pshm_backend_supported(b)) {
			bench_table_skip(t, create_group, "every count", "backend not available");
			continue;
		}
		struct bench_sample creates[BUCKETS], destroys[BUCKETS];
		static char labels[BUCKETS][48];
		for (int k = 0; k < BUCKETS; k++) {
			snprintf(labels[k], sizeof(labels[k]), "#%d to #%d", k * (count / BUCKETS) + 1,
			         (k + 1) * (count / BUCKETS));
			creates[k] = destroys[k] = (struct bench_sample){.label = labels[k]};
		}
		int made = count, err = 0;
		for (int r = 0; r < runs; r++)
			made = fill_and_empty(b, count, creates, destroys, &err);
		char why[160];
		snprintf(why, sizeof(why), "the system's limit came first (SysV on Linux: kernel.shmmni): segment #%d: %s",
		         made + 1, pshm_strerror(err));
		for (int k = 0; k < BUCKETS; k++) {
			if (creates[k].n > 0)
				bench_table_row(t, create_group, &creates[k]);
			else
				bench_table_skip(t, create_group, labels[k], why);
		}
		for (int k = 0; k < BUCKETS; k++)
			if (destroys[k].n > 0)
				bench_table_row(t, destroy_group, &destroys[k]);
	}
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	pshm_t *board_shm;
	int rc = pshm_create(&board_shm, NULL, sizeof(struct board), NULL);
	if (rc < 0) {
		fprintf(stderr, "scale: %s\n", pshm_strerror(rc));
		return 1;
	}
	struct bench_table *t = bench_table_new("scale", "Scale: processes and segments", "see case",
	                                        1);
	if (processes(t, smoke, pshm_addr(board_shm)) < 0)
		return 1;
	segments(t, smoke);
	bench_table_finish(
	    t, "Processes start together and each attaches and detaches the segment in a loop; "
	       "CPU time, so that more processes than cores measure contention rather than "
	       "waiting for a core. pshm_stat counts the processes attached (SysV: shm_nattch; "
	       "POSIX and mmap: a scan of /proc/*/maps on Linux). Segments are named, 4 KiB. "
	       "Baseline: one process, or the first fifth of the segments.");
	pshm_destroy(board_shm);
	return 0;
}
