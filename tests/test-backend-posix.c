/*
 * test-backend-posix.c - what only the POSIX backend (lib/backend/posix.c)
 * does: the shm object behind a name, its mode, anonymous segments that
 * never get a name, and objects whose creator has not sized them yet.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/inotify.h> /* to see what a process makes in /dev/shm */
#endif

#include "testutil.h"

static const pshm_backend_t posix = PSHM_BACKEND_POSIX;

/* The mode of the shm object, through shm_open: no path is assumed. */
static int object_mode(const char *name)
{
	char object[64];
	snprintf(object, sizeof(object), "/pshm.%s", name);
	int fd = shm_open(object, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = fstat(fd, &st);
	close(fd);
	return rc < 0 ? -1 : (int)(st.st_mode & 07777);
}

Test(posix, a_name_is_a_shm_object_with_the_mode_asked)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *shm = NULL;

	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(object_mode(name), 0600, "default mode");
	cr_assert_eq(pshm_destroy(shm), 0);
	cr_assert_eq(object_mode(name), -1, "destroy left the object");

	umask(0077); /* must not trim the mode asked for */
	cr_assert_eq(pshm_attr_set_mode(&attr, 0640), 0);
	test_name(name, "mode");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), 0);
	cr_assert_eq(object_mode(name), 0640);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* The file behind this process's mapping at addr, as /proc/self/maps
 * shows it ("" if anonymous); -1 if there is no such file to read. */
static int mapped_file(const void *addr, char out[256])
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return -1;
	char line[512];
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		int path = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path) < 2 || path == 0)
			continue;
		if ((unsigned long)addr >= lo && (unsigned long)addr < hi) {
			snprintf(out, 256, "%s", line + path);
			out[strcspn(out, "\n")] = '\0';
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* Whatever other processes do in /dev/shm meanwhile: the file behind an
 * anonymous segment has no name anybody could open (a memfd, or a shm
 * object unlinked at once: "(deleted)" either way). */
Test(posix, an_anonymous_segment_never_has_a_name)
{
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 1u << 16, &attr), 0);
	char file[256];
	int rc = mapped_file(pshm_addr(shm), file);
	cr_assert_eq(pshm_destroy(shm), 0);
	if (rc < 0)
		cr_skip_test("no /proc/self/maps to read");
	cr_assert(strstr(file, "(deleted)") != NULL, "the segment is the file \"%s\"", file);
}

/* Whether the process pid made an object in /dev/shm while the inotify
 * descriptor `in` watched: its probe's name would be "pshm.anon.PID.N". */
static int made_probe_object(int in, pid_t pid)
{
#if defined(__linux__)
	char mark[64];
	snprintf(mark, sizeof(mark), "pshm.anon.%ld.", (long)pid);
	_Alignas(struct inotify_event) char buf[8192];
	ssize_t n;
	int made = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			made |= e->len > 0 && strncmp(e->name, mark, strlen(mark)) == 0;
			p += sizeof(*e) + e->len;
		}
	}
	return made;
#else
	(void)in;
	(void)pid;
	return 0;
#endif
}

/* The first use of the backend in a process (its probe) makes no object: a
 * process killed while it probed would leave it (test-leaks found one, left
 * by a creator that test-orphans kills at a random moment). */
Test(posix, the_first_use_in_a_process_makes_no_object)
{
#if defined(__linux__)
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, "/dev/shm", IN_CREATE) < 0)
		cr_skip_test("no inotify on /dev/shm here");
	char name[PSHM_NAME_MAX + 1], out[128];
	test_name(name, "probe");
	const char *args[] = {"posix", name, "attach", NULL};
	int fd;
	pid_t pid = test_spawn_helper(args, &fd);
	cr_assert_eq(test_finish_helper(pid, fd, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "attach=-2\n", "its first use attached nothing");
	cr_expect(!made_probe_object(in, pid), "the probe made an object in /dev/shm");
	close(in);
#else
	cr_skip_test("inotify is Linux's");
#endif
}

static void expect_attach(size_t object_size, int want)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "unsized");
	cr_assert_eq(test_raw_create(posix, name, NULL, object_size), 0);
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	int removed = pshm_remove(name, &attr);
	cr_assert_eq(rc, want, "size %zu: %s", object_size, pshm_strerror(rc));
	cr_assert_eq(removed, 0, "pshm_remove cannot clean up the object");
}

/* An empty object is one pshm_create has made and not sized yet; one of
 * 100 bytes is nothing pshm_create makes. */
Test(posix, an_object_not_yet_sized_is_not_ready)
{
	expect_attach(0, PSHM_ENOTREADY);
	expect_attach(100, PSHM_ENOTPSHM);
}

/* Where the system takes names shorter than "/pshm." and PSHM_NAME_MAX
 * characters (macOS: 31 bytes), a long name is a hash: its segment is
 * listed by its own name, and another segment found under the same hash
 * is told apart by the name in its header. */
Test(posix, a_name_too_long_for_the_system_is_hashed_and_told_from_a_twin)
{
	if (strlen("/pshm.") + PSHM_NAME_MAX <= PSHM_SHM_NAME_MAX)
		cr_skip_test("this build takes names of %d characters whole", PSHM_NAME_MAX);
	char a[PSHM_NAME_MAX + 1], b[PSHM_NAME_MAX + 1], file_a[256], file_b[256];
	test_name(a, "hashed-a-long-name-to-fill-it-up");
	test_name(b, "hashed-b-long-name-to-fill-it-up");
	pshm_attr_t attr;
	test_attr(&attr, posix, 0);
	pshm_t *sa, *sb;
	cr_assert_eq(pshm_create(&sa, a, 64, &attr), 0);
	cr_assert_eq(pshm_create(&sb, b, 64, &attr), 0);
	cr_assert_eq(mapped_file(pshm_addr(sa), file_a), 0);
	cr_assert_eq(mapped_file(pshm_addr(sb), file_b), 0);
	cr_assert_not_null(strstr(file_a, "/pshm#"), "not hashed: %s", file_a);
	int listed = test_times_listed(&attr, a);
	cr_assert_eq(listed, 1, "listed %d times by its own name", listed);

	cr_assert_eq(rename(file_b, file_a), 0, "b's object put at a's hash");
	pshm_t *twin = NULL;
	int rc = pshm_attach(&twin, a, &attr);
	cr_assert_eq(rc, PSHM_ECOLLISION, "%s", pshm_strerror(rc));
	cr_assert_eq(pshm_destroy(sa), -ENOENT, "a's name holds b's segment now");
	cr_assert_eq(unlink(file_a), 0);
	cr_assert_eq(pshm_destroy(sb), -ENOENT);
}
