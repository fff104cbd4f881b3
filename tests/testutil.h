/*
 * testutil.h - what every libpshm test suite shares: the list of backends to
 * run on, unique segment names, and real child processes (fork, and exec of
 * the helper program as an unrelated process).
 */
#ifndef PSHM_TESTUTIL_H
#define PSHM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pshm.h>

/* Every segment name a test makes starts with this, so that the leak check
 * can tell the suite's leftovers from anything else on the machine. */
#define TEST_NAME_PREFIX "tst-"

/* The backends compiled in and usable here, in enum order; returns how many. */
size_t test_backends(pshm_backend_t out[PSHM_BACKEND_MAX]);

/* Criterion parameters: one run per backend of test_backends(). */
struct criterion_test_params test_backend_params(void);

/* A test run once on every backend, as `pshm_backend_t backend`. */
#define BACKEND_TEST(suite, name)                                   \
	ParameterizedTestParameters(suite, name)                    \
	{                                                           \
		return test_backend_params();                       \
	}                                                           \
	static void suite##_##name##_body(pshm_backend_t backend);  \
	ParameterizedTest(pshm_backend_t *param, suite, name, .timeout = 120) \
	{                                                           \
		cr_log_info("backend %s", pshm_backend_name(*param)); \
		suite##_##name##_body(*param);                      \
	}                                                           \
	static void suite##_##name##_body(pshm_backend_t backend)

/* One byte through a pipe, to put two processes in step: 0, or -1 when
 * the other end is gone.  Safe in forked children (they assert nothing). */
int test_signal(int fd);
int test_await(int fd);

/* A name no other test (in any process) uses: "tst-<pid>-<n>-<tag>", tag
 * cut to fit PSHM_NAME_MAX. */
void test_name(char out[PSHM_NAME_MAX + 1], const char *tag);

/* attr for backend b with flags; asserts that the setters succeed. */
void test_attr(pshm_attr_t *attr, pshm_backend_t b, unsigned flags);

/* Run fn(arg) in a forked child, whose exit status is fn's return value. */
pid_t test_fork(int (*fn)(void *arg), void *arg);

/* Wait for pid: its exit status, or 128 + the signal that killed it. */
int test_wait(pid_t pid);

/* Fill size bytes of shm's heap block at off with a pattern of its offset;
 * whether they still hold it.  For blocks that must survive deaths. */
void test_block_fill(pshm_t *shm, pshm_off_t off, size_t size);
int test_block_intact(pshm_t *shm, pshm_off_t off, size_t size);

/* Wait for pid until ms have passed: as test_wait, or -1 if it goes on. */
int test_wait_at_most(pid_t pid, long ms);

/* Exec the helper program with the given arguments (NULL-terminated, not
 * counting argv[0]), wait for it, and return its exit status as test_wait
 * does.  Its standard output, NUL-terminated, goes to out (outlen > 0). */
int test_run_helper(const char *const args[], char *out, size_t outlen);

/* test_run_helper in two halves, to run several helpers at once: start one
 * (its standard output readable on *out_fd), then collect it. */
pid_t test_spawn_helper(const char *const args[], int *out_fd);
int test_finish_helper(pid_t pid, int fd, char *out, size_t outlen);

#include "rawobj.h"

/* How many times pshm_list(attr) names name, or pshm_list's error. */
int test_times_listed(const pshm_attr_t *attr, const char *name);

/* Whether all len bytes at p are zero. */
int test_all_zero(const void *p, size_t len);

/* Whether PSHM_PREFAULT populates mappings here: libpshm was built to ask
 * (MADV_POPULATE_WRITE) and the system does it. */
int test_can_prefault(void);

/* Minor page faults this process has taken so far (getrusage). */
long test_minor_faults(void);

/* This process's PID namespace as libpshm records it (the inode of
 * /proc/self/ns/pid), or 0 where it cannot be read or libpshm was built
 * without /proc. */
uint64_t test_pid_namespace(void);

/* The largest SysV segment the system makes (SHMMAX: macOS's is 4 MiB), or
 * SIZE_MAX where it cannot be read. */
size_t test_sysv_limit(void);

/* What mapping a huge page itself, with mmap, gives this process: 0 where it
 * maps one, else an errno: ENOMEM where none is free, EINVAL where the
 * kernel or an emulator (qemu-i386) takes no huge mapping at all, ENOTSUP
 * where the system has none. */
int test_huge_mapping_error(void);

/* The default hugetlb page size, and how many such pages are set aside
 * (vm.nr_hugepages); 0 where unknown (/proc/meminfo). */
size_t test_huge_page_size(void);
size_t test_huge_pages_set_aside(void);

/* The kernel's page size, in KiB, of this process's mapping at addr
 * (/proc/self/smaps); -1 if unknown. */
long test_kernel_page_kib(const void *addr);

/* Forge, in named segment shm's header, a resize lock held by process pid
 * (which wrote its record too), as tests/rawobj.h lays the lock out. */
void test_forge_resizer(pshm_t *shm, pid_t pid);

/* Whether this process runs under valgrind (which changes some system
 * calls: it drops shmget's SHM_HUGETLB, for one). */
int test_under_valgrind(void);


#endif /* PSHM_TESTUTIL_H */
