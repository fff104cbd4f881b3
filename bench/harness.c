/*
 * harness.c - see harness.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_add(struct bench_sample *s, double value)
{
	if (s->n < BENCH_MAX_RUNS)
		s->runs[s->n++] = value;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(const struct bench_sample *s)
{
	if (s->n == 0)
		return 0;
	double sorted[BENCH_MAX_RUNS];
	memcpy(sorted, s->runs, (size_t)s->n * sizeof(double));
	qsort(sorted, (size_t)s->n, sizeof(double), by_value);
	return s->n % 2 ? sorted[s->n / 2] : (sorted[s->n / 2 - 1] + sorted[s->n / 2]) / 2;
}

double bench_min(const struct bench_sample *s)
{
	double m = s->n ? s->runs[0] : 0;
	for (int i = 1; i < s->n; i++)
		m = s->runs[i] < m ? s->runs[i] : m;
	return m;
}

double bench_max(const struct bench_sample *s)
{
	double m = s->n ? s->runs[0] : 0;
	for (int i = 1; i < s->n; i++)
		m = s->runs[i] > m ? s->runs[i] : m;
	return m;
}

#define MAX_ROWS 128
#define TEXT 160

struct row {
	char group[TEXT];
	char label[TEXT];
	double median, min, max;
	int runs;
	char skipped[TEXT]; /* why, when not measured */
};

struct bench_table {
	char name[64];
	char title[TEXT];
	char unit[64];
	int smaller_is_better;
	struct row rows[MAX_ROWS];
	int n;
};

struct bench_table *bench_table_new(const char *name, const char *title, const char *unit,
                                    int smaller_is_better)
{
	struct bench_table *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		perror("bench");
		exit(1);
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->title, sizeof(t->title), "%s", title);
	snprintf(t->unit, sizeof(t->unit), "%s", unit);
	t->smaller_is_better = smaller_is_better;
	return t;
}

static struct row *new_row(struct bench_table *t, const char *group, const char *label)
{
	if (t->n == MAX_ROWS) {
		fprintf(stderr, "bench: too many rows\n");
		exit(1);
	}
	struct row *r = &t->rows[t->n++];
	snprintf(r->group, sizeof(r->group), "%s", group);
	snprintf(r->label, sizeof(r->label), "%s", label);
	return r;
}

void bench_table_row(struct bench_table *t, const char *group, const struct bench_sample *s)
{
	struct row *r = new_row(t, group, s->label);
	r->median = bench_median(s);
	r->min = bench_min(s);
	r->max = bench_max(s);
	r->runs = s->n;
}

void bench_table_skip(struct bench_table *t, const char *group, const char *label, const char *why)
{
	struct row *r = new_row(t, group, label);
	snprintf(r->skipped, sizeof(r->skipped), "%s", why);
}

/* The machine: CPU model, cores, kernel. */
static void machine(char *out, size_t len)
{
	char cpu[TEXT] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f != NULL) {
		char line[512];
		while (fgets(line, sizeof(line), f) != NULL) {
			char *colon = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
				snprintf(cpu, sizeof(cpu), "%s", colon + 2);
				cpu[strcspn(cpu, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	snprintf(out, len, "%s, %ld cores online, %s %s %s", cpu, sysconf(_SC_NPROCESSORS_ONLN),
	         u.sysname, u.release, u.machine);
}

static const struct row *baseline_of(const struct bench_table *t, const struct row *r)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].group, r->group) == 0 && t->rows[i].skipped[0] == '\0')
			return &t->rows[i];
	return NULL;
}

/* Speed relative to the row's baseline: above 1 is faster; 0 if unknown. */
static double ratio_of(const struct bench_table *t, const struct row *r)
{
	const struct row *base = baseline_of(t, r);
	if (base == NULL || r->median == 0 || base->median == 0)
		return 0;
	return t->smaller_is_better ? base->median / r->median : r->median / base->median;
}

static void write_table(const struct bench_table *t, FILE *out, const char *where,
                        const char *notes)
{
	time_t now = time(NULL);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	fprintf(out, "## %s\n\nMachine: %s. Run: %s.\n\n", t->title, where, when);
	fprintf(out, "| case | variant | median (%s) | min - max | runs | vs baseline |\n", t->unit);
	fprintf(out, "| --- | --- | ---: | ---: | ---: | ---: |\n");
	for (int i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		if (r->skipped[0] != '\0') {
			fprintf(out, "| %s | %s | skipped: %s | | | |\n", r->group, r->label, r->skipped);
			continue;
		}
		const struct row *base = baseline_of(t, r);
		double ratio = ratio_of(t, r);
		fprintf(out, "| %s | %s | %.4g | %.4g - %.4g | %d | %s%.*fx |\n", r->group, r->label,
		        r->median, r->min, r->max, r->runs, base == r ? "baseline, " : "",
		        ratio < 0.1 ? 4 : 2, ratio);
	}
	fprintf(out, "\n\"vs baseline\" is the speed relative to the first row of the case: "
	             "above 1.00x is faster, below is slower.\n");
	if (notes != NULL)
		fprintf(out, "\n%s\n", notes);
}

/* A gnuplot script with the data inline: each measured row a bar from 1
 * (its baseline) to its ratio, on a log scale, so that faster and slower
 * read alike.  `make bench` renders it to NAME.png when gnuplot is there. */
static void write_plot(const struct bench_table *t, FILE *out, const char *where)
{
	int rows = 0;
	fprintf(out, "$data << EOD\n");
	for (int i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		double ratio = ratio_of(t, r);
		if (r->skipped[0] != '\0' || ratio <= 0)
			continue;
		char text[2 * TEXT + 4];
		snprintf(text, sizeof(text), "%s: %s", r->group, r->label);
		for (char *c = text; *c != '\0'; c++)
			if (*c == '"' || *c == '\t')
				*c = '\'';
		fprintf(out, "%d\t%g\t\"%s\"\n", rows++, ratio, text);
	}
	fprintf(out, "EOD\n");
	fprintf(out,
	        "set terminal pngcairo size 1200,%d font 'sans,9'\n"
	        "set output '%s.png'\n"
	        "set title \"%s\\n%s\" noenhanced\n"
	        "set xlabel 'speed relative to the baseline of the case (log scale; right of 1 is "
	        "faster)'\n"
	        "set logscale x\n"
	        "set format x '%%g'\n"
	        "set yrange [%d:-1]\n"
	        "set ytics noenhanced\n"
	        "set grid x\n"
	        "set style fill solid 0.6\n"
	        "unset key\n"
	        "set arrow from 1, graph 0 to 1, graph 1 nohead lw 2\n"
	        "plot $data using 2:1:(($2 < 1) ? $2 : 1):(($2 < 1) ? 1 : $2):($1 - 0.35):($1 + 0.35)"
	        ":ytic(3) with boxxyerror lc rgb '#4477aa', \\\n"
	        "     $data using (($2 < 1) ? 1 : $2):1:(sprintf('%%.3gx', $2)) with labels left "
	        "offset 0.5,0 font 'sans,8'\n",
	        160 + rows * 16, t->name, t->title, where, rows);
}

/* Write bench/results/NAME.SUFFIX with writer. */
static void write_result(const struct bench_table *t, const char *suffix, const char *where,
                         const char *notes, int plot)
{
	char path[128];
	snprintf(path, sizeof(path), "bench/results/%s.%s", t->name, suffix);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		return;
	}
	if (plot)
		write_plot(t, f, where);
	else
		write_table(t, f, where, notes);
	if (fclose(f) != 0)
		perror(path);
}

void bench_table_finish(struct bench_table *t, const char *notes)
{
	char where[2 * TEXT];
	machine(where, sizeof(where));
	write_table(t, stdout, where, notes);
	if ((mkdir("bench", 0755) < 0 && errno != EEXIST) ||
	    (mkdir("bench/results", 0755) < 0 && errno != EEXIST)) {
		perror("bench: bench/results");
	} else {
		write_result(t, "md", where, notes, 0);
		write_result(t, "gp", where, NULL, 1);
	}
	free(t);
}

static struct bench_collected *collected(struct bench_collection *c, const char *key,
                                         const char *label)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->rows[i].key, key) == 0 && strcmp(c->rows[i].label, label) == 0)
			return &c->rows[i];
	if (c->n == BENCH_MAX_COLLECTED)
		return NULL;
	struct bench_collected *r = &c->rows[c->n++];
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->label, sizeof(r->label), "%s", label);
	r->skipped[0] = '\0';
	r->sample = (struct bench_sample){.label = r->label};
	return r;
}

/* One "KEY<TAB>LABEL<TAB>VALUE" line into c; -1 if it is not one. */
static int collect_line(char *line, struct bench_collection *c)
{
	char *key = strtok(line, "\t\n");
	char *label = strtok(NULL, "\t\n");
	char *value = strtok(NULL, "\t\n");
	char *end;
	if (key == NULL || label == NULL || value == NULL)
		return -1;
	struct bench_collected *r = collected(c, key, label);
	if (r == NULL)
		return -1;
	static const char skip[] = "skipped: ";
	if (strncmp(value, skip, sizeof(skip) - 1) == 0) {
		snprintf(r->skipped, sizeof(r->skipped), "%s", value + sizeof(skip) - 1);
		return 0;
	}
	double v = strtod(value, &end);
	if (end == value)
		return -1;
	bench_add(&r->sample, v);
	return 0;
}

int bench_collect(char *const argv[], struct bench_collection *c)
{
	int out[2];
	if (pipe(out) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	int bad = f == NULL;
	char line[256];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (collect_line(line, c) < 0) {
			fprintf(stderr, "bench: %s said: %s", argv[0], line);
			bad = 1;
		}
	if (f != NULL)
		fclose(f);
	else
		close(out[0]);
	int status, rc;
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return bad || rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ? -1 : 0;
}

void bench_table_collected(struct bench_table *t, const char *group,
                           const struct bench_collection *c, const char *key)
{
	for (int i = 0; i < c->n; i++) {
		const struct bench_collected *r = &c->rows[i];
		if (strcmp(r->key, key) != 0)
			continue;
		if (r->sample.n > 0)
			bench_table_row(t, group, &r->sample);
		else
			bench_table_skip(t, group, r->label, r->skipped[0] ? r->skipped : "no result");
	}
}

int bench_smoke(int argc, char **argv)
{
	if (argc == 1)
		return 0;
	if (argc == 2 && strcmp(argv[1], "--smoke") == 0)
		return 1;
	fprintf(stderr, "usage: %s [--smoke]\n", argv[0]);
	exit(2);
}

int bench_runs(int smoke, int runs)
{
	return smoke ? 1 : runs;
}
