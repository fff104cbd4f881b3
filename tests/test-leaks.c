/*
 * test-leaks.c - runs after every other suite (see Makefile.am) and fails
 * if they left anything behind: a POSIX shm object, an mmap-backend file or
 * a SysV segment named by a test, or an anonymous segment that outlived its
 * processes.  Objects of other programs are not the suite's and are ignored.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "testutil.h"

struct leftovers {
	char names[2048];
	size_t len;
	int count;
};

static void add(struct leftovers *l, const char *where, const char *what)
{
	int n = snprintf(l->names + l->len, sizeof(l->names) - l->len, " %s:%s", where, what);
	if (n > 0 && (size_t)n < sizeof(l->names) - l->len)
		l->len += (size_t)n;
	l->count++;
}

/* Entries of dir whose names start with one of the prefixes. */
static void scan_dir(struct leftovers *l, const char *dir, const char *const prefixes[])
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		for (const char *const *p = prefixes; *p != NULL; p++)
			if (strncmp(e->d_name, *p, strlen(*p)) == 0)
				add(l, dir, e->d_name);
	closedir(d);
}

/* A SysV segment is the suite's if it holds a libpshm header naming a test
 * segment, or is an anonymous libpshm segment not marked for removal. */
static void scan_sysv(struct leftovers *l, int *listed)
{
	FILE *f = fopen("/proc/sysvipc/shm", "r");
	*listed = f != NULL;
	if (f == NULL)
		return;
	char line[512];
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		long key, id;
		unsigned long perms;
		if (sscanf(line, "%ld %ld %lo", &key, &id, &perms) != 3)
			continue;
		void *addr = shmat((int)id, NULL, SHM_RDONLY);
		if (addr == (void *)-1)
			continue; /* not ours to read, so not the suite's */
		const unsigned char *hdr = addr;
		uint64_t magic;
		memcpy(&magic, hdr + HDR_MAGIC, sizeof(magic));
		char name[PSHM_NAME_MAX + 2];
		memcpy(name, hdr + HDR_NAME, sizeof(name));
		name[PSHM_NAME_MAX + 1] = '\0';
		shmdt(addr);
		int dest = (perms & 01000) != 0; /* SHM_DEST */
		if (magic == HDR_MAGIC_VALUE &&
		    (strncmp(name, TEST_NAME_PREFIX, strlen(TEST_NAME_PREFIX)) == 0 ||
		     (key == IPC_PRIVATE && !dest)))
			add(l, "sysv", name[0] ? name : "(anonymous)");
	}
	fclose(f);
}

Test(leaks, the_suite_left_nothing_behind)
{
	struct leftovers l = {.len = 0, .count = 0};
	static const char *const posix[] = {"pshm." TEST_NAME_PREFIX, "pshm.anon.", NULL};
	static const char *const files[] = {"pshm-mmap." TEST_NAME_PREFIX, NULL};
	scan_dir(&l, "/dev/shm", posix);
	scan_dir(&l, test_mmap_dir(), files);
	int listed;
	scan_sysv(&l, &listed);
	if (!listed)
		cr_log_warn("no /proc/sysvipc/shm: SysV segments were not checked");
	cr_assert_eq(l.count, 0, "%d left behind:%s", l.count, l.names);
}
