/*
 * testutil.c - shared test helpers; see testutil.h.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise, for test_can_prefault */
#include "config.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

size_t test_backends(pshm_backend_t out[PSHM_BACKEND_MAX])
{
	size_t n = 0;
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++)
		if (pshm_backend_supported(b))
			out[n++] = b;
	return n;
}

struct criterion_test_params test_backend_params(void)
{
	static pshm_backend_t list[PSHM_BACKEND_MAX];
	size_t n = test_backends(list);
	return cr_make_param_array(pshm_backend_t, list, n);
}

int test_signal(int fd)
{
	char byte = 1;
	ssize_t n;
	do
		n = write(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

int test_await(int fd)
{
	char byte;
	ssize_t n;
	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

int test_all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

void test_name(char out[PSHM_NAME_MAX + 1], const char *tag)
{
	static atomic_uint counter;
	snprintf(out, PSHM_NAME_MAX + 1, TEST_NAME_PREFIX "%ld-%u-%s", (long)getpid(),
	         atomic_fetch_add(&counter, 1), tag);
}

void test_attr(pshm_attr_t *attr, pshm_backend_t b, unsigned flags)
{
	cr_assert_eq(pshm_attr_init(attr), 0);
	cr_assert_eq(pshm_attr_set_backend(attr, b), 0);
	cr_assert_eq(pshm_attr_set_flags(attr, flags), 0);
}

pid_t test_fork(int (*fn)(void *arg), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(fn(arg)); /* never return into Criterion's runner */
	return pid;
}

int test_wait(pid_t pid)
{
	int status;
	pid_t got;
	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	cr_assert_eq(got, pid, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static unsigned char block_pattern(pshm_off_t off, size_t i)
{
	return (unsigned char)(off * 7u + i * 13u);
}

void test_block_fill(pshm_t *shm, pshm_off_t off, size_t size)
{
	unsigned char *p = pshm_ptr(shm, off);
	for (size_t i = 0; i < size; i++)
		p[i] = block_pattern(off, i);
}

int test_block_intact(pshm_t *shm, pshm_off_t off, size_t size)
{
	const unsigned char *p = pshm_ptr(shm, off);
	for (size_t i = 0; i < size; i++)
		if (p[i] != block_pattern(off, i))
			return 0;
	return 1;
}

int test_wait_at_most(pid_t pid, long ms)
{
	for (long waited = 0; waited < ms; waited += 10) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		nanosleep(&(struct timespec){0, 10000000L}, NULL);
	}
	return -1;
}

/*
 * The helper's command line: $PSHM_TEST_EXEC first where it is set, the
 * program that runs a binary of this build (qemu-user for another
 * architecture: there is no binfmt_misc to start one by itself).
 */
pid_t test_spawn_helper(const char *const args[], int *out_fd)
{
	const char *argv[16];
	const char *emulator = getenv("PSHM_TEST_EXEC");
	size_t argc = 0;
	if (emulator != NULL && emulator[0] != '\0')
		argv[argc++] = emulator;
	argv[argc++] = PSHM_HELPER;
	for (size_t i = 0; args[i] != NULL; i++) {
		cr_assert_lt(argc, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv); /* the emulator: by $PATH */
		_exit(127);
	}
	close(fds[1]);
	*out_fd = fds[0];
	return pid;
}

int test_finish_helper(pid_t pid, int fd, char *out, size_t outlen)
{
	size_t used = 0;
	for (;;) {
		char spill[256]; /* drains what does not fit, so the child never blocks */
		int full = used == outlen - 1;
		ssize_t n = full ? read(fd, spill, sizeof(spill)) : read(fd, out + used, outlen - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!full)
			used += (size_t)n;
	}
	out[used] = '\0';
	close(fd);
	return test_wait(pid);
}

int test_run_helper(const char *const args[], char *out, size_t outlen)
{
	int fd;
	pid_t pid = test_spawn_helper(args, &fd);
	return test_finish_helper(pid, fd, out, outlen);
}

struct listed {
	const char *name;
	int times;
};

static int count_listed(const char *name, void *arg)
{
	struct listed *l = arg;
	if (strcmp(name, l->name) == 0)
		l->times++;
	return 0;
}

int test_times_listed(const pshm_attr_t *attr, const char *name)
{
	struct listed l = {name, 0};
	int rc = pshm_list(attr, count_listed, &l);
	return rc < 0 ? rc : l.times;
}

int test_can_prefault(void)
{
#if HAVE_DECL_MADV_POPULATE_WRITE /* libpshm asks for it only then */
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	/* The page must be there after: qemu-user takes any madvise and does
	 * nothing. */
	unsigned char resident = 0;
	int ok = madvise(p, (size_t)page, MADV_POPULATE_WRITE) == 0 &&
	         mincore(p, (size_t)page, &resident) == 0 && (resident & 1);
	munmap(p, (size_t)page);
	return ok;
#else
	return 0;
#endif
}

uint64_t test_pid_namespace(void)
{
#if PSHM_HAVE_PROC /* else libpshm knows of no namespaces */
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
#else
	return 0;
#endif
}

long test_minor_faults(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return ru.ru_minflt;
}

/* A "Name: N" line of /proc/meminfo, or 0. */
static unsigned long meminfo(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (f == NULL)
		return 0;
	char line[128];
	unsigned long value = 0;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			value = strtoul(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return value;
}

size_t test_huge_page_size(void)
{
	return (size_t)meminfo("Hugepagesize") * 1024;
}

size_t test_huge_pages_set_aside(void)
{
	return (size_t)meminfo("HugePages_Total");
}

size_t test_sysv_limit(void)
{
	unsigned long long max = 0;
	FILE *f = fopen("/proc/sys/kernel/shmmax", "r");
	if (f != NULL) {
		if (fscanf(f, "%llu", &max) != 1)
			max = 0;
		fclose(f);
	}
	return max == 0 || max > SIZE_MAX ? SIZE_MAX : (size_t)max;
}

int test_huge_mapping_error(void)
{
#ifdef MAP_HUGETLB
	size_t len = test_huge_page_size();
	if (len == 0)
		return ENOTSUP;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB,
	               -1, 0);
	if (p == MAP_FAILED)
		return errno;
	long kib = test_kernel_page_kib(p);
	munmap(p, len);
	return kib == (long)(len / 1024) ? 0 : ENOTSUP;
#else
	return ENOTSUP;
#endif
}

long test_kernel_page_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (f == NULL)
		return -1;
	char line[512];
	int inside = 0;
	long kib = -1;
	uintptr_t a = (uintptr_t)addr;
	while (kib < 0 && fgets(line, sizeof(line), f) != NULL) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			inside = a >= start && a < end;
		else if (inside && sscanf(line, "KernelPageSize: %ld kB", &kib) != 1)
			kib = -1;
	}
	fclose(f);
	return kib;
}

void test_forge_resizer(pshm_t *shm, pid_t pid)
{
	unsigned char *lock = (unsigned char *)pshm_addr(shm) - HDR_SIZE + HDR_RESIZE_LOCK;
	uint32_t word = (uint32_t)pid;
	uint64_t holder = (uint64_t)pid << 32, ns = test_pid_namespace();
	memcpy(lock + GUARD_HOLDER, &holder, sizeof(holder));
	memcpy(lock + GUARD_NAMESPACE, &ns, sizeof(ns));
	memcpy(lock + GUARD_WORD, &word, sizeof(word));
}

int test_under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");
	return preload != NULL && strstr(preload, "vgpreload") != NULL;
}
