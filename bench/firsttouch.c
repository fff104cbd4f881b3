/*
 * firsttouch.c - experiment 3: what the first touch of 1 GiB costs, page
 * faults and all.  Each run makes a fresh 1 GiB region, writes one byte per
 * page, and times the making and the touching apart and together.
 * Baseline: a private anonymous mmap.  Variants: every backend as it comes
 * (pages reserved at creation), with PSHM_NORESERVE, with PSHM_PREFAULT;
 * MAP_POPULATE and transparent huge pages for the private baseline, and huge
 * pages for a segment when the machine allows them (hugetlb pages reserved,
 * or shmem transparent huge pages switched on).
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE, MAP_HUGETLB, MADV_HUGEPAGE */
#include <pshm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

/* At most: five private or raw mappings, and five variants of each of the
 * three backends. */
#define VARIANTS (5 + (PSHM_BACKEND_MAX - 1) * 5)

/* One way of making the region: returns its first byte (NULL on error) and
 * sets *undo for release(). */
struct variant {
	const char *label;
	pshm_backend_t backend; /* PSHM_BACKEND_DEFAULT: a private mapping */
	unsigned flags;         /* libpshm flags, or MAP_* flags for a private one */
	int shared;             /* a raw mapping: MAP_SHARED instead of MAP_PRIVATE */
	int anonymous;          /* a segment without a name */
	int huge;               /* madvise(MADV_HUGEPAGE) before touching */
	struct bench_sample make, touch, total;
};

static size_t page_size;

static void touch_pages(volatile unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i += page_size)
		p[i] = 1;
}

/* madvise wants a page-aligned start: a segment's data starts past its
 * header. */
static void advise_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t start = ((uintptr_t)p + page_size - 1) & ~(uintptr_t)(page_size - 1);
	if (madvise((void *)start, len - (start - (uintptr_t)p), MADV_HUGEPAGE) < 0)
		perror("firsttouch: madvise(MADV_HUGEPAGE)");
#else
	(void)p;
	(void)len;
#endif
}

/* One run of v over len bytes: 0, or -1 if the region could not be made. */
static int run_once(struct variant *v, size_t len)
{
	void *p;
	pshm_t *shm = NULL;
	double t0 = bench_now();
	if (v->backend == PSHM_BACKEND_DEFAULT) {
		int type = v->shared ? MAP_SHARED : MAP_PRIVATE;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, type | MAP_ANONYMOUS | (int)v->flags, -1, 0);
		if (p == MAP_FAILED) {
			perror("firsttouch: mmap");
			return -1;
		}
	} else {
		pshm_attr_t attr;
		pshm_attr_init(&attr);
		pshm_attr_set_backend(&attr, v->backend);
		pshm_attr_set_flags(&attr, v->flags);
		/* Named unless asked: the reservation that PSHM_NORESERVE skips is
		 * made for named segments (an anonymous one lives in memory, not in
		 * a file system that can fill up). */
		char name[32];
		snprintf(name, sizeof(name), "bench-touch-%ld", (long)getpid());
		int rc = pshm_create(&shm, v->anonymous ? NULL : name, len, &attr);
		if (rc < 0) {
			fprintf(stderr, "firsttouch: %s: %s\n", v->label, pshm_strerror(rc));
			return -1;
		}
		p = pshm_addr(shm);
	}
	if (v->huge)
		advise_huge(p, len);
	double t1 = bench_now();
	touch_pages(p, len);
	double t2 = bench_now();
	bench_add(&v->make, (t1 - t0) * 1e3);
	bench_add(&v->touch, (t2 - t1) * 1e3);
	bench_add(&v->total, (t2 - t0) * 1e3);
	if (shm != NULL)
		pshm_destroy(shm);
	else
		munmap(p, len);
	return 0;
}

/* The first line of a file, or "" if it cannot be read. */
static void read_line(const char *path, char *out, size_t len)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Bytes of hugetlb pages free (/proc/meminfo), 0 if none or unknown; and
 * the size of one in *page. */
static size_t hugetlb_free(size_t *page)
{
	*page = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	if (f == NULL)
		return 0;
	char line[256];
	unsigned long pages = 0, kib = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "HugePages_Free: %lu", &pages);
		sscanf(line, "Hugepagesize: %lu kB", &kib);
	}
	fclose(f);
	*page = (size_t)kib * 1024;
	return (size_t)pages * *page;
}

/* Whether a transparent-huge-page setting lets madvise(MADV_HUGEPAGE) in:
 * the selected value is in brackets. */
static int thp_allows_madvise(const char *setting)
{
	return strstr(setting, "[always]") != NULL || strstr(setting, "[madvise]") != NULL ||
	       strstr(setting, "[advise]") != NULL || strstr(setting, "[within_size]") != NULL ||
	       strstr(setting, "[force]") != NULL;
}

/* What this machine allows, read once: the variants and the skips. */
struct machine {
	size_t len;          /* bytes made and touched */
	char thp[256];       /* transparent_hugepage/enabled */
	char shmem_thp[256]; /* ... and shmem_enabled */
	int private_huge, shared_huge;
	size_t huge_page, hugetlb; /* free hugetlb bytes */
	size_t hugetlb_needed;     /* for a segment: its header takes a page more */
};

static void read_machine(struct machine *m, size_t len)
{
	m->len = len;
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", m->thp, sizeof(m->thp));
	read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", m->shmem_thp,
	          sizeof(m->shmem_thp));
	m->private_huge = thp_allows_madvise(m->thp);
	m->shared_huge = thp_allows_madvise(m->shmem_thp);
	m->hugetlb = hugetlb_free(&m->huge_page);
	m->hugetlb_needed = len + m->huge_page;
}

/* Private memory, and the kernel's shared memory before libpshm adds
 * anything; how many went into vs. */
static int private_variants(const struct machine *m, struct variant *vs)
{
	int n = 0;
	vs[n++] = (struct variant){.label = "private anonymous mmap"};
	vs[n++] = (struct variant){.label = "private, MAP_POPULATE", .flags = MAP_POPULATE};
	if (m->private_huge)
		vs[n++] = (struct variant){.label = "private, MADV_HUGEPAGE", .huge = 1};
#ifdef MAP_HUGETLB
	if (m->hugetlb >= m->len)
		vs[n++] = (struct variant){.label = "private, MAP_HUGETLB", .flags = MAP_HUGETLB};
#endif
	vs[n++] = (struct variant){.label = "raw shared anonymous mmap", .shared = 1};
	return n;
}

/* Every backend's segments, as far as the machine allows; how many went
 * into vs. */
static int segment_variants(const struct machine *m, struct variant *vs)
{
	static char labels[PSHM_BACKEND_MAX][5][64];
	int n = 0;
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++) {
		if (!pshm_backend_supported(b))
			continue;
		const char *name = pshm_backend_name(b);
		snprintf(labels[b][0], 64, "%s", name);
		snprintf(labels[b][1], 64, "%s, PSHM_NORESERVE", name);
		snprintf(labels[b][2], 64, "%s, PSHM_PREFAULT", name);
		snprintf(labels[b][3], 64, "%s, NORESERVE + MADV_HUGEPAGE", name);
		snprintf(labels[b][4], 64, "%s anonymous, PSHM_HUGEPAGES", name);
		vs[n++] = (struct variant){.label = labels[b][0], .backend = b};
		vs[n++] = (struct variant){.label = labels[b][1], .backend = b, .flags = PSHM_NORESERVE};
		vs[n++] = (struct variant){.label = labels[b][2], .backend = b, .flags = PSHM_PREFAULT};
		if (m->shared_huge)
			vs[n++] = (struct variant){.label = labels[b][3], .backend = b,
			                           .flags = PSHM_NORESERVE, .huge = 1};
		if (m->hugetlb >= m->hugetlb_needed)
			vs[n++] = (struct variant){.label = labels[b][4], .backend = b,
			                           .flags = PSHM_HUGEPAGES, .anonymous = 1};
	}
	return n;
}

/* The rows of what this machine does not allow, and why. */
static void skipped_rows(struct bench_table *t, const char *group, const struct machine *m)
{
	char why[320];
	if (!m->private_huge) {
		snprintf(why, sizeof(why), "transparent huge pages are off (%s)", m->thp);
		bench_table_skip(t, group, "private, MADV_HUGEPAGE", why);
	}
	if (m->hugetlb < m->hugetlb_needed) {
		snprintf(why, sizeof(why), "%zu MiB of hugetlb pages free (vm.nr_hugepages)",
		         m->hugetlb >> 20);
		if (m->hugetlb < m->len)
			bench_table_skip(t, group, "private, MAP_HUGETLB", why);
		bench_table_skip(t, group, "segments with PSHM_HUGEPAGES", why);
	}
	if (!m->shared_huge) {
		snprintf(why, sizeof(why), "shmem transparent huge pages are off (shmem_enabled: %s)",
		         m->shmem_thp[0] != '\0' ? m->shmem_thp : "not found");
		bench_table_skip(t, group, "segments with MADV_HUGEPAGE", why);
	}
}

static void report(const struct machine *m, const struct variant *vs, int n)
{
	struct bench_table *t = bench_table_new("firsttouch", "First touch: page faults", "ms", 1);
	char total[64], make[64], touch[64];
	snprintf(total, sizeof(total), "%zu MiB: make + touch every page", m->len >> 20);
	snprintf(make, sizeof(make), "%zu MiB: make", m->len >> 20);
	snprintf(touch, sizeof(touch), "%zu MiB: touch every page", m->len >> 20);
	for (int i = 0; i < n; i++)
		bench_table_row(t, total, &vs[i].total);
	skipped_rows(t, total, m);
	for (int i = 0; i < n; i++)
		bench_table_row(t, make, &vs[i].make);
	for (int i = 0; i < n; i++)
		bench_table_row(t, touch, &vs[i].touch);
	bench_table_finish(
	    t, "One byte written per page; a fresh region each run, destroyed untimed. "
	       "\"make\" is mmap or pshm_create of a named segment (which reserves the pages "
	       "of POSIX and mmap segments unless PSHM_NORESERVE, and faults them all in with PSHM_PREFAULT). "
	       "Baseline: the private anonymous mapping; the raw shared anonymous mapping shows "
	       "what the kernel's shared memory costs before libpshm adds anything. Huge pages for segments are the "
	       "caller's madvise(MADV_HUGEPAGE) on pshm_addr() (transparent huge pages), or "
	       "PSHM_HUGEPAGES (hugetlb pages set aside with vm.nr_hugepages).");
}

int main(int argc, char **argv)
{
	int smoke = bench_smoke(argc, argv);
	int runs = bench_runs(smoke, 7);
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	struct machine m;
	read_machine(&m, smoke ? (size_t)8 << 20 : (size_t)1 << 30);

	struct variant vs[VARIANTS];
	int n = private_variants(&m, vs);
	n += segment_variants(&m, vs + n);
	for (int i = 0; i < n; i++)
		vs[i].make.label = vs[i].touch.label = vs[i].total.label = vs[i].label;

	/* Interleaved run by run, so that drift in the machine hits all alike. */
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < n; i++)
			if (run_once(&vs[i], m.len) < 0)
				return 1;
	report(&m, vs, n);
	return 0;
}
