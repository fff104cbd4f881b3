/*
 * harness.h - what the benchmarks share: timing, repeated runs reduced to
 * median and spread, Markdown tables with the ratio to a baseline measured
 * in the same run, and the machine they ran on.
 *
 * Every program takes --smoke (tiny sizes, one run: CI keeps them building
 * and running) and writes its table to stdout and to bench/results/NAME.md.
 */
#ifndef PSHM_BENCH_HARNESS_H
#define PSHM_BENCH_HARNESS_H

#include <stddef.h>

#define BENCH_MAX_RUNS 64

/* Monotonic time in seconds. */
double bench_now(void);

/* The runs of one measurement, in seconds (or any unit, as long as the
 * baseline's is the same). */
struct bench_sample {
	const char *label;
	double runs[BENCH_MAX_RUNS];
	int n;
};

void bench_add(struct bench_sample *s, double value);
double bench_median(const struct bench_sample *s);
double bench_min(const struct bench_sample *s);
double bench_max(const struct bench_sample *s);

/* A table of samples; the first added row of each group is its baseline. */
struct bench_table;

/* Start a table: title, what the numbers are ("ms per traversal"), whether
 * smaller is better (times) or larger (rates). */
struct bench_table *bench_table_new(const char *name, const char *title, const char *unit,
                                    int smaller_is_better);
/* Add a row: group (rows compare against the group's first row), label. */
void bench_table_row(struct bench_table *t, const char *group, const struct bench_sample *s);
/* A row for what could not be measured, and why. */
void bench_table_skip(struct bench_table *t, const char *group, const char *label, const char *why);
/* Print the table (and the machine) and write bench/results/NAME.md. */
void bench_table_finish(struct bench_table *t, const char *notes);

/*
 * Samples collected from another program (a peer library's bench, in C,
 * C++ or Python), which prints one line per measured run:
 *     KEY<TAB>LABEL<TAB>VALUE
 * KEY says which case of the table the value belongs to, LABEL the row;
 * VALUE is a number, or "skipped: " and why the peer cannot do it.
 */
#define BENCH_MAX_COLLECTED 64
struct bench_collected {
	char key[32];
	char label[96];
	char skipped[160]; /* VALUE was "skipped: why": the why */
	struct bench_sample sample;
};
struct bench_collection {
	struct bench_collected rows[BENCH_MAX_COLLECTED];
	int n;
};

/* Run argv (argv[0] a path), adding every line it prints to c.  0, or -1
 * if it could not be run or did not exit 0 (its standard error passes
 * through). */
int bench_collect(char *const argv[], struct bench_collection *c);

/* Add to t, in group, a row for every sample collected under key. */
void bench_table_collected(struct bench_table *t, const char *group,
                           const struct bench_collection *c, const char *key);

/* Parse argv: 1 for --smoke; exits with a usage message otherwise. */
int bench_smoke(int argc, char **argv);

/* How many times to repeat a measurement: 1 in smoke mode. */
int bench_runs(int smoke, int runs);

#endif
