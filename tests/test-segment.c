/*
 * test-segment.c - the contract's segment behaviour, on every backend:
 * what one process writes the others see, across fork() for anonymous
 * segments and across unrelated processes (exec of pshm-helper) for named
 * ones; the lifecycle; and the errors a user can provoke.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define ECHO_REPLY_OFFSET 1024 /* as in pshm-helper.c */
#define COUNTING_PROCESSES 8
#define INCREMENTS 100000

static pshm_t *create_ok(pshm_backend_t b, const char *name, size_t size)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	pshm_t *shm = NULL;
	int rc = pshm_create(&shm, name, size, &attr);
	cr_assert_eq(rc, 0, "pshm_create(%s, %zu) on %s: %s", name ? name : "NULL", size,
	             pshm_backend_name(b), pshm_strerror(rc));
	return shm;
}

static int attach_rc(pshm_backend_t b, const char *name, unsigned flags, pshm_t **shm)
{
	pshm_attr_t attr;
	test_attr(&attr, b, flags);
	return pshm_attach(shm, name, &attr);
}

static pshm_t *attach_ok(pshm_backend_t b, const char *name, unsigned flags)
{
	pshm_t *shm = NULL;
	int rc = attach_rc(b, name, flags, &shm);
	cr_assert_eq(rc, 0, "pshm_attach(%s) on %s: %s", name, pshm_backend_name(b), pshm_strerror(rc));
	return shm;
}

/* The helper's output for: BACKEND NAME CMD [ARG]; asserts its exit status. */
static void helper(pshm_backend_t b, const char *name, const char *cmd, const char *arg,
                   int want_status, char *out, size_t outlen)
{
	const char *args[] = {pshm_backend_name(b), name, cmd, arg, NULL};
	int status = test_run_helper(args, out, outlen);
	cr_assert_eq(status, want_status, "pshm-helper %s %s %s: status %d, output: %s",
	             args[0], name, cmd, status, out);
}

/* ------------------------------------------------------------------------ */
/* 1. Anonymous segments: parent and forked child see each other's writes.  */

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)(i * 31u + (size_t)seed * 101u + (i >> 12));
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(i, seed);
}

static int matches(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(i, seed))
			return 0;
	return 1;
}

struct region {
	unsigned char *data;
	size_t size;
};

static int child_checks_then_rewrites(void *arg)
{
	struct region *r = arg;
	if (!matches(r->data, r->size, 1))
		return 3;
	fill(r->data, r->size, 2);
	return 0;
}

/* A new anonymous segment is zero-filled and shared with a forked child
 * both ways; then it is destroyed. */
static void shared_with_a_child_then_destroyed(pshm_t *shm)
{
	size_t size = pshm_size(shm);
	cr_assert(test_all_zero(pshm_addr(shm), size), "a new segment is zero-filled");
	struct region r = {pshm_addr(shm), size};
	fill(r.data, size, 1);
	cr_assert_eq(test_wait(test_fork(child_checks_then_rewrites, &r)), 0,
	             "the child does not see the parent's writes");
	cr_assert(matches(r.data, size, 2), "the parent does not see the child's writes");
	cr_assert_eq(pshm_destroy(shm), 0);
}

static void anonymous_roundtrip(pshm_backend_t b, size_t size)
{
	if (b == PSHM_BACKEND_SYSV && size + 256 > test_sysv_limit())
		cr_skip_test("SysV segments stop at %zu bytes here (SHMMAX)", test_sysv_limit());
	pshm_t *shm = create_ok(b, NULL, size);
	cr_assert_eq(pshm_size(shm), size);
	cr_assert_null(pshm_name(shm));
	cr_assert_eq(pshm_backend(shm), b);
	cr_assert_eq((uintptr_t)pshm_addr(shm) % PSHM_ALIGNMENT, 0);
	shared_with_a_child_then_destroyed(shm);
}

BACKEND_TEST(anonymous, one_byte) { anonymous_roundtrip(backend, 1); }
BACKEND_TEST(anonymous, one_page) { anonymous_roundtrip(backend, (size_t)sysconf(_SC_PAGESIZE)); }
BACKEND_TEST(anonymous, one_mib_plus_one) { anonymous_roundtrip(backend, (1u << 20) + 1); }
BACKEND_TEST(anonymous, sixty_four_mib) { anonymous_roundtrip(backend, 64u << 20); }

static int child_detaches(void *arg)
{
	return pshm_detach(arg) == 0 ? 0 : 3;
}

static int child_checks_first_byte(void *arg)
{
	struct region *r = arg;
	return r->data[0] == 0x5a ? 0 : 3;
}

BACKEND_TEST(anonymous, a_child_detaching_its_copy_leaves_the_parent_working)
{
	pshm_t *shm = create_ok(backend, NULL, 4096);
	cr_assert_eq(test_wait(test_fork(child_detaches, shm)), 0);
	struct region r = {pshm_addr(shm), pshm_size(shm)};
	r.data[0] = 0x5a;
	cr_assert_eq(test_wait(test_fork(child_checks_first_byte, &r)), 0,
	             "a child forked after another detached does not see the segment");
	cr_assert_eq(pshm_detach(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* 2. Named segments between unrelated processes.                          */

BACKEND_TEST(named, an_unrelated_process_reads_and_writes_back)
{
	char name[PSHM_NAME_MAX + 1], out[256];
	test_name(name, "echo");
	pshm_t *shm = create_ok(backend, name, 4096);
	cr_assert_str_eq(pshm_name(shm), name);
	char *data = pshm_addr(shm);
	strcpy(data, "hello from the creator");

	helper(backend, name, "echo", NULL, 0, out, sizeof(out));
	cr_assert_str_eq(out, "read=hello from the creator\n");
	cr_assert_str_eq(data + ECHO_REPLY_OFFSET, "seen:hello from the creator",
	                 "the creator does not see what the other process wrote");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(named, attach_learns_the_exact_size)
{
	const size_t sizes[] = {1, 4095, 4096, 4097, (1u << 20) + 3};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[PSHM_NAME_MAX + 1], out[256], want[64];
		test_name(name, "size");
		pshm_t *shm = create_ok(backend, name, sizes[i]);
		cr_assert_eq(pshm_size(shm), sizes[i]);

		pshm_t *other = attach_ok(backend, name, 0);
		cr_assert_eq(pshm_size(other), sizes[i]);
		cr_assert_str_eq(pshm_name(other), name);
		cr_assert_eq(pshm_backend(other), backend);
		cr_assert_eq((uintptr_t)pshm_addr(other) % PSHM_ALIGNMENT, 0);
		((volatile char *)pshm_addr(shm))[sizes[i] - 1] = 'z';
		cr_assert_eq(((volatile char *)pshm_addr(other))[sizes[i] - 1], 'z',
		             "two handles in one process see different memory");
		cr_assert_eq(pshm_detach(other), 0);

		helper(backend, name, "attach", NULL, 0, out, sizeof(out));
		snprintf(want, sizeof(want), "attach=0 size=%zu\n", sizes[i]);
		cr_assert_str_eq(out, want);
		cr_assert_eq(pshm_destroy(shm), 0);
	}
}

/* ------------------------------------------------------------------------ */
/* 3. Eight processes counting with C11 atomics.                           */

struct counters {
	_Atomic uint64_t shared;
	uint64_t own[COUNTING_PROCESSES]; /* one plain counter per process */
};

struct counting_child {
	struct counters *c;
	int index;
};

static int child_counts(void *arg)
{
	struct counting_child *me = arg;
	for (int i = 0; i < INCREMENTS; i++) {
		atomic_fetch_add_explicit(&me->c->shared, 1, memory_order_relaxed);
		me->c->own[me->index]++;
	}
	return 0;
}

BACKEND_TEST(counters, eight_forked_children_add_exactly)
{
	pshm_t *shm = create_ok(backend, NULL, sizeof(struct counters));
	struct counters *c = pshm_addr(shm);
	pid_t pids[COUNTING_PROCESSES];
	struct counting_child kids[COUNTING_PROCESSES];
	for (int i = 0; i < COUNTING_PROCESSES; i++) {
		kids[i] = (struct counting_child){c, i};
		pids[i] = test_fork(child_counts, &kids[i]);
	}
	for (int i = 0; i < COUNTING_PROCESSES; i++)
		cr_assert_eq(test_wait(pids[i]), 0);
	cr_assert_eq(atomic_load(&c->shared), (uint64_t)COUNTING_PROCESSES * INCREMENTS);
	for (int i = 0; i < COUNTING_PROCESSES; i++)
		cr_assert_eq(c->own[i], INCREMENTS, "process %d's own counter", i);
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(counters, eight_unrelated_processes_add_exactly)
{
	char name[PSHM_NAME_MAX + 1], out[64], count[16];
	test_name(name, "count");
	snprintf(count, sizeof(count), "%d", INCREMENTS);
	pshm_t *shm = create_ok(backend, name, sizeof(struct counters));
	const char *args[] = {pshm_backend_name(backend), name, "increment", count, NULL};
	pid_t pids[COUNTING_PROCESSES];
	int fds[COUNTING_PROCESSES];
	for (int i = 0; i < COUNTING_PROCESSES; i++)
		pids[i] = test_spawn_helper(args, &fds[i]);
	for (int i = 0; i < COUNTING_PROCESSES; i++) {
		cr_assert_eq(test_finish_helper(pids[i], fds[i], out, sizeof(out)), 0, "%s", out);
		cr_assert_str_eq(out, "done\n");
	}
	struct counters *c = pshm_addr(shm);
	cr_assert_eq(atomic_load(&c->shared), (uint64_t)COUNTING_PROCESSES * INCREMENTS);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* 4. Detach and destroy.                                                  */

struct attached_child {
	pshm_backend_t backend;
	const char *name;
	pshm_t *inherited;
	int ready, go; /* pipe ends: child -> parent, parent -> child */
};

/* Attached by name, after destroy: write 0xA1, then see B's 0xB2. */
static int child_a(void *arg)
{
	struct attached_child *a = arg;
	pshm_detach(a->inherited); /* only its own attachment from here on */
	pshm_t *shm;
	if (attach_rc(a->backend, a->name, 0, &shm) < 0)
		return 3;
	volatile unsigned char *data = pshm_addr(shm);
	if (test_signal(a->ready) < 0 || test_await(a->go) < 0)
		return 4;
	data[8] = 0xA1;
	if (test_signal(a->ready) < 0 || test_await(a->go) < 0)
		return 4;
	int ok = data[9] == 0xB2;
	return pshm_detach(shm) == 0 && ok ? 0 : 5;
}

/* Attached by name, after destroy: see A's 0xA1, then write 0xB2. */
static int child_b(void *arg)
{
	struct attached_child *b = arg;
	pshm_detach(b->inherited);
	pshm_t *shm;
	if (attach_rc(b->backend, b->name, 0, &shm) < 0)
		return 3;
	volatile unsigned char *data = pshm_addr(shm);
	if (test_signal(b->ready) < 0 || test_await(b->go) < 0)
		return 4;
	int ok = data[8] == 0xA1;
	data[9] = 0xB2;
	if (test_signal(b->ready) < 0)
		return 4;
	return pshm_detach(shm) == 0 && ok ? 0 : 5;
}

static pid_t start_attached(struct attached_child *c, int (*fn)(void *), int up[2], int down[2])
{
	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(down), 0);
	c->ready = up[1];
	c->go = down[0];
	pid_t pid = test_fork(fn, c);
	close(up[1]);
	close(down[0]);
	cr_assert_eq(test_await(up[0]), 0, "child did not attach");
	return pid;
}

BACKEND_TEST(lifecycle, destroy_removes_the_name_while_attached_processes_go_on)
{
	char name[PSHM_NAME_MAX + 1], out[64];
	test_name(name, "destroy");
	pshm_t *shm = create_ok(backend, name, 4096);

	int a_up[2], a_down[2], b_up[2], b_down[2];
	struct attached_child a = {backend, name, shm, -1, -1};
	struct attached_child b = a;
	pid_t pa = start_attached(&a, child_a, a_up, a_down);
	pid_t pb = start_attached(&b, child_b, b_up, b_down);

	cr_assert_eq(pshm_destroy(shm), 0);
	pshm_t *again = NULL;
	cr_assert_eq(attach_rc(backend, name, 0, &again), -ENOENT, "destroy left the name");
	cr_assert_null(again);
	helper(backend, name, "attach", NULL, 0, out, sizeof(out));
	cr_assert_str_eq(out, "attach=-2\n");

	/* The name is free again: a new segment, not the old one. */
	pshm_t *fresh = create_ok(backend, name, 4096);
	cr_assert(test_all_zero(pshm_addr(fresh), 4096));

	cr_assert_eq(test_signal(a_down[1]), 0);
	cr_assert_eq(test_await(a_up[0]), 0); /* A wrote */
	cr_assert_eq(test_signal(b_down[1]), 0);
	cr_assert_eq(test_await(b_up[0]), 0); /* B read and wrote */
	cr_assert_eq(test_signal(a_down[1]), 0);
	cr_assert_eq(test_wait(pa), 0, "A did not see B's write after destroy");
	cr_assert_eq(test_wait(pb), 0, "B did not see A's write after destroy");
	cr_assert(test_all_zero(pshm_addr(fresh), 4096), "the new segment got the old one's writes");
	cr_assert_eq(pshm_destroy(fresh), 0);
	close(a_up[0]);
	close(a_down[1]);
	close(b_up[0]);
	close(b_down[1]);
}

static int child_attaches_writes_detaches(void *arg)
{
	struct attached_child *c = arg;
	pshm_t *shm;
	if (attach_rc(c->backend, c->name, 0, &shm) < 0)
		return 3;
	strcpy(pshm_addr(shm), "child was here");
	return pshm_detach(shm) == 0 ? 0 : 4;
}

BACKEND_TEST(lifecycle, detach_leaves_the_others_working)
{
	char name[PSHM_NAME_MAX + 1], out[64], want[64];
	test_name(name, "detach");
	pshm_t *shm = create_ok(backend, name, 4096);
	struct attached_child c = {backend, name, shm, -1, -1};
	cr_assert_eq(test_wait(test_fork(child_attaches_writes_detaches, &c)), 0);
	cr_assert_str_eq(pshm_addr(shm), "child was here");
	strcpy(pshm_addr(shm), "parent still here");
	cr_assert_str_eq(pshm_addr(shm), "parent still here");
	helper(backend, name, "attach", NULL, 0, out, sizeof(out));
	snprintf(want, sizeof(want), "attach=0 size=%d\n", 4096);
	cr_assert_str_eq(out, want, "a detach removed the segment");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(lifecycle, remove_by_name)
{
	char name[PSHM_NAME_MAX + 1], out[64];
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	test_name(name, "remove");
	cr_assert_eq(pshm_remove(name, &attr), -ENOENT);

	pshm_t *shm = create_ok(backend, name, 100);
	helper(backend, name, "remove", NULL, 0, out, sizeof(out));
	cr_assert_str_eq(out, "remove=0\n");
	pshm_t *again = NULL;
	cr_assert_eq(pshm_attach(&again, name, &attr), -ENOENT);
	cr_assert_eq(pshm_remove(name, &attr), -ENOENT);
	strcpy(pshm_addr(shm), "still mapped");
	cr_assert_str_eq(pshm_addr(shm), "still mapped");
	cr_assert_eq(pshm_destroy(shm), -ENOENT, "destroy after remove: the name is gone");
}

/* The name may hold another segment by the time a handle is destroyed:
 * destroy removes its own segment's name or nothing. */
BACKEND_TEST(lifecycle, destroy_never_removes_a_newer_segment_of_the_same_name)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	test_name(name, "reused");
	pshm_t *old = create_ok(backend, name, 100);
	cr_assert_eq(pshm_remove(name, &attr), 0);
	pshm_t *newer = create_ok(backend, name, 200);
	strcpy(pshm_addr(newer), "newer");

	int destroyed = pshm_destroy(old);
	pshm_t *found = NULL;
	int attached = pshm_attach(&found, name, &attr);
	cr_assert_eq(pshm_destroy(newer), 0, "the newer segment's name was removed");
	cr_assert_eq(destroyed, -ENOENT, "destroy of the old handle: %s", pshm_strerror(destroyed));
	cr_assert_eq(attached, 0, "%s", pshm_strerror(attached));
	cr_assert_str_eq(pshm_addr(found), "newer");
	cr_assert_eq(pshm_detach(found), 0);
}

/* ------------------------------------------------------------------------ */
/* 6. Errors a user meets.                                                 */

static int child_creates(void *arg)
{
	struct attached_child *c = arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, c->backend);
	pshm_t *shm = NULL;
	int rc = pshm_create(&shm, c->name, 64, &attr);
	return rc == -EEXIST && shm == NULL ? 0 : 3;
}

BACKEND_TEST(errors, create_is_exclusive)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "excl");
	pshm_t *shm = create_ok(backend, name, 4096);
	strcpy(pshm_addr(shm), "first");

	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *second = NULL;
	cr_assert_eq(pshm_create(&second, name, 4096, &attr), -EEXIST);
	cr_assert_eq(pshm_create(&second, name, 1u << 20, &attr), -EEXIST);
	cr_assert_null(second);
	struct attached_child c = {backend, name, shm, -1, -1};
	cr_assert_eq(test_wait(test_fork(child_creates, &c)), 0, "another process could create it again");
	cr_assert_str_eq(pshm_addr(shm), "first", "a failed create touched the segment");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(errors, attach_of_a_missing_name)
{
	char name[PSHM_NAME_MAX + 1], out[64];
	test_name(name, "missing");
	pshm_t *shm = NULL;
	cr_assert_eq(attach_rc(backend, name, 0, &shm), -ENOENT);
	cr_assert_eq(attach_rc(backend, name, PSHM_RDONLY, &shm), -ENOENT);
	cr_assert_null(shm);
	helper(backend, name, "attach", NULL, 0, out, sizeof(out));
	cr_assert_str_eq(out, "attach=-2\n");
}

static int child_writes_read_only(void *arg)
{
	struct attached_child *c = arg;
	pshm_t *shm;
	if (attach_rc(c->backend, c->name, PSHM_RDONLY, &shm) < 0)
		return 3;
	if (strcmp(pshm_addr(shm), "read me") != 0)
		return 4;
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	*(volatile char *)pshm_addr(shm) = 'X';
	return 5; /* the write went through */
}

static int is_fault(int status)
{
	return status == 128 + SIGSEGV || status == 128 + SIGBUS;
}

BACKEND_TEST(errors, a_read_only_attach_cannot_write)
{
	char name[PSHM_NAME_MAX + 1], out[64];
	test_name(name, "rdonly");
	pshm_t *shm = create_ok(backend, name, 4096);
	strcpy(pshm_addr(shm), "read me");

	pshm_t *ro = attach_ok(backend, name, PSHM_RDONLY);
	cr_assert_str_eq(pshm_addr(ro), "read me");
	cr_assert_eq(pshm_detach(ro), 0);

	struct attached_child c = {backend, name, shm, -1, -1};
	int status = test_wait(test_fork(child_writes_read_only, &c));
	cr_assert(is_fault(status), "forked read-only writer ended with %d, not a fault", status);

	const char *args[] = {pshm_backend_name(backend), name, "write-ro", NULL};
	status = test_run_helper(args, out, sizeof(out));
	cr_assert(is_fault(status), "unrelated read-only writer ended with %d, not a fault", status);
	cr_assert_str_eq(out, "attached\n");
	cr_assert_str_eq(pshm_addr(shm), "read me");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(errors, create_refuses_read_only)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, PSHM_RDONLY);
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), -EINVAL);
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "rdcreate");
	cr_assert_eq(pshm_create(&shm, name, 64, &attr), -EINVAL);
	cr_assert_null(shm);
	cr_assert_eq(attach_rc(backend, name, 0, &shm), -ENOENT);
}

/* ------------------------------------------------------------------------ */
/* 7. Bad input.                                                           */

BACKEND_TEST(input, bad_names_are_refused)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "/abs", "../../etc/passwd", "a b", "tab\there",
		"new\nline", "caf\xc3\xa9", "star*", "back\\slash", "colon:", "pct%s",
		"0123456789012345678901234567890", /* 31 characters */
	};
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pshm_t *shm = NULL;
		cr_assert_eq(pshm_create(&shm, bad[i], 64, &attr), -EINVAL, "create \"%s\"", bad[i]);
		cr_assert_eq(pshm_attach(&shm, bad[i], &attr), -EINVAL, "attach \"%s\"", bad[i]);
		cr_assert_eq(pshm_remove(bad[i], &attr), -EINVAL, "remove \"%s\"", bad[i]);
		cr_assert_null(shm);
	}
}

BACKEND_TEST(input, names_at_the_limits_work)
{
	char name[PSHM_NAME_MAX + 1], longest[PSHM_NAME_MAX + 1];
	test_name(name, "Az09._-");
	memset(longest, '_', PSHM_NAME_MAX);
	longest[PSHM_NAME_MAX] = '\0';
	memcpy(longest, name, strlen(name));
	const char *names[] = {name, longest};
	for (size_t i = 0; i < 2; i++) {
		pshm_t *shm = create_ok(backend, names[i], 64);
		pshm_t *other = attach_ok(backend, names[i], 0);
		cr_assert_str_eq(pshm_name(other), names[i]);
		cr_assert_eq(pshm_detach(other), 0);
		cr_assert_eq(pshm_destroy(shm), 0);
	}
}

BACKEND_TEST(input, sizes_beyond_the_address_space_are_refused)
{
	const size_t bad[] = {0, SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX - 255, (size_t)PTRDIFF_MAX,
	                      (size_t)PTRDIFF_MAX - 100};
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "badsize");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pshm_t *shm = NULL;
		cr_assert_eq(pshm_create(&shm, NULL, bad[i], &attr), -EINVAL, "size %zu", bad[i]);
		cr_assert_eq(pshm_create(&shm, name, bad[i], &attr), -EINVAL, "size %zu", bad[i]);
		cr_assert_null(shm);
	}
	pshm_t *shm = NULL;
	cr_assert_eq(attach_rc(backend, name, 0, &shm), -ENOENT, "a refused create left a name");
}

BACKEND_TEST(input, a_size_the_system_cannot_give_fails_cleanly)
{
#if SIZE_MAX > UINT32_MAX
	const size_t huge = (size_t)1 << 50; /* 1 PiB: valid, but no machine maps it */
#else
	const size_t huge = 0;
	cr_skip_test("a 32-bit process may be given any size it may ask for: see the next test");
#endif
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "huge");
	pshm_t *shm = NULL;
	int rc = pshm_create(&shm, NULL, huge, &attr);
	cr_assert_lt(rc, 0);
	cr_assert_str_neq(pshm_strerror(rc), "Unknown error", "code %d", rc);
	rc = pshm_create(&shm, name, huge, &attr);
	cr_assert_lt(rc, 0);
	cr_assert_str_neq(pshm_strerror(rc), "Unknown error", "code %d", rc);
	cr_assert_null(shm);
	cr_assert_eq(attach_rc(backend, name, 0, &shm), -ENOENT, "a failed create left a name");
}

/* A 32-bit process: sizes near 4 GiB are refused, and the largest one the
 * contract allows (objects stop at PTRDIFF_MAX, as malloc's do) is mapped
 * where the address space has room for it, and shared with a child. */
/* In a child: the last byte of the segment. */
static int reads_last_byte(void *arg)
{
	pshm_t *shm = arg;
	return ((unsigned char *)pshm_addr(shm))[pshm_size(shm) - 1];
}

BACKEND_TEST(input, a_32_bit_process_maps_the_largest_size_it_may_ask_for)
{
	if (SIZE_MAX > UINT32_MAX)
		cr_skip_test("a 64-bit process: no machine has the memory for PTRDIFF_MAX bytes");
	const size_t largest = (size_t)PTRDIFF_MAX - 256 - (size_t)sysconf(_SC_PAGESIZE);
	pshm_attr_t attr;
	test_attr(&attr, backend, PSHM_NORESERVE);
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, NULL, (size_t)3 << 30, &attr), -EINVAL, "3 GiB");
	cr_assert_eq(pshm_create(&shm, NULL, SIZE_MAX - 4096, &attr), -EINVAL, "near 4 GiB");
	int rc = pshm_create(&shm, NULL, largest, &attr);
	if (rc == -ENOMEM || rc == -ENOSPC)
		cr_skip_test("no room for %zu bytes here: %s", largest, pshm_strerror(rc));
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	unsigned char *p = pshm_addr(shm);
	p[largest - 1] = 0x5a;
	pid_t pid = test_fork(reads_last_byte, shm);
	cr_assert_eq(test_wait(pid), 0x5a, "the child saw another last byte");
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* What making a segment costs the maker                                    */

/* Making and removing a segment writes none of its pages in this process:
 * an anonymous segment's header is never written, a named POSIX or mmap
 * one's is written through its file.  (A SysV header is written in place:
 * its page is faulted in.)  So no page faults, and no memory left used. */
BACKEND_TEST(segment, making_and_removing_a_segment_faults_no_page_in)
{
	enum { CYCLES = 100 };
	for (int named = 0; named <= 1; named++) {
		if (named && backend == PSHM_BACKEND_SYSV)
			continue;
		char name[PSHM_NAME_MAX + 1];
		test_name(name, "nofault");
		pshm_destroy(create_ok(backend, named ? name : NULL, 4096)); /* the library's own first use */
		long before = test_minor_faults();
		for (int i = 0; i < CYCLES; i++)
			cr_assert_eq(pshm_destroy(create_ok(backend, named ? name : NULL, 4096)), 0);
		long faults = test_minor_faults() - before;
		cr_assert_lt(faults, CYCLES / 2, "%s: %ld page faults making and removing %d segments",
		             named ? "named" : "anonymous", faults, CYCLES);
	}
}

/* ------------------------------------------------------------------------ */
/* PSHM_PREFAULT: the page faults are taken at create or attach, not later. */

#define PREFAULT_PAGES 1024

/* Page faults taken while writing every page of shm. */
static long faults_writing(pshm_t *shm)
{
	long before = test_minor_faults();
	memset(pshm_addr(shm), 0x5a, pshm_size(shm));
	return test_minor_faults() - before;
}

struct prefault_child {
	pshm_backend_t backend;
	const char *name;
	unsigned flags;
};

/* Attach with the given flags and write every page: exit 0 if that took
 * fewer faults than a quarter of the pages, 1 if more, >1 on error. */
static int child_attaches_and_writes(void *arg)
{
	const struct prefault_child *c = arg;
	pshm_t *shm;
	if (attach_rc(c->backend, c->name, c->flags, &shm) < 0)
		return 3;
	long faults = faults_writing(shm);
	pshm_detach(shm);
	return faults < PREFAULT_PAGES / 4 ? 0 : 1;
}

BACKEND_TEST(prefault, pages_are_faulted_in_at_create_and_attach_not_on_first_touch)
{
	if (!test_can_prefault())
		cr_skip_test("this system cannot populate a mapping (MADV_POPULATE_WRITE: Linux 5.14; not qemu-user)");
	long page = sysconf(_SC_PAGESIZE);
	size_t size = (size_t)page * PREFAULT_PAGES;
	char name[PSHM_NAME_MAX + 1];
	pshm_attr_t attr;

	/* Without the flag every page faults on its first write: the
	 * measurement can see them. */
	test_name(name, "noprefault");
	pshm_t *plain = create_ok(backend, name, size);
	long faults = faults_writing(plain);
	cr_assert_geq(faults, PREFAULT_PAGES / 2, "only %ld faults writing %d fresh pages", faults,
	              PREFAULT_PAGES);
	struct prefault_child c = {backend, name, 0};
	cr_assert_eq(test_wait(test_fork(child_attaches_and_writes, &c)), 1,
	             "an attach without PSHM_PREFAULT took almost no faults");
	cr_assert_eq(pshm_destroy(plain), 0);

	test_name(name, "prefault");
	test_attr(&attr, backend, PSHM_PREFAULT | PSHM_NORESERVE);
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, name, size, &attr), 0);
	faults = faults_writing(shm);
	cr_assert_lt(faults, PREFAULT_PAGES / 4, "%ld faults writing %d prefaulted pages", faults,
	             PREFAULT_PAGES);
	c = (struct prefault_child){backend, name, PSHM_PREFAULT};
	cr_assert_eq(test_wait(test_fork(child_attaches_and_writes, &c)), 0,
	             "an attach with PSHM_PREFAULT still faulted on each page");
	cr_assert_eq(pshm_destroy(shm), 0);

	pshm_t *anon = NULL;
	cr_assert_eq(pshm_create(&anon, NULL, size, &attr), 0);
	faults = faults_writing(anon);
	cr_assert_lt(faults, PREFAULT_PAGES / 4, "%ld faults in a prefaulted anonymous segment", faults);
	cr_assert_eq(pshm_destroy(anon), 0);
}

BACKEND_TEST(prefault, a_read_only_attach_prefaults_for_reading)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "prefault-ro");
	pshm_t *shm = create_ok(backend, name, 4096);
	strcpy(pshm_addr(shm), "read me");
	pshm_t *ro = attach_ok(backend, name, PSHM_RDONLY | PSHM_PREFAULT);
	cr_assert_str_eq(pshm_addr(ro), "read me");
	cr_assert_eq(pshm_detach(ro), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* pshm_prefault: a process that inherited a segment takes its faults at
 * once, for the part it asks. */

/* Page faults taken while reading pages [first, first + count) of shm. */
static long faults_reading(pshm_t *shm, size_t first, size_t count)
{
	long page = sysconf(_SC_PAGESIZE);
	const volatile unsigned char *p = pshm_addr(shm);
	long before = test_minor_faults();
	size_t sum = 0;
	for (size_t i = first; i < first + count; i++)
		sum += p[i * (size_t)page];
	long faults = test_minor_faults() - before;
	return sum == 0x5a * count ? faults : -1; /* what the parent wrote */
}

/* In a child of the segment's creator: prefault the second half, then read
 * it, then the first half.  Exit 0 if the second half took almost no
 * faults and the first half took them, 1 if not, >1 on error. */
static int child_prefaults_half(void *arg)
{
	pshm_t *shm = arg;
	size_t half = PREFAULT_PAGES / 2, page = (size_t)sysconf(_SC_PAGESIZE);
	if (pshm_prefault(shm, half * page, pshm_size(shm) - half * page) != 0)
		return 2;
	long prefaulted = faults_reading(shm, half, half);
	long not = faults_reading(shm, 0, half);
	if (prefaulted < 0 || not < 0)
		return 3;
	/* Without it, a SysV page faults once each, the others once in 16
	 * (the kernel maps pages around a fault in a file). */
	return prefaulted < 8 && not >= (long)half / 32 ? 0 : 1;
}

BACKEND_TEST(prefault, a_child_that_inherited_a_segment_takes_its_faults_in_one_call)
{
	if (!test_can_prefault())
		cr_skip_test("this system cannot populate a mapping (MADV_POPULATE_WRITE: Linux 5.14; not qemu-user)");
	size_t size = (size_t)sysconf(_SC_PAGESIZE) * PREFAULT_PAGES;
	pshm_t *shm = create_ok(backend, NULL, size);
	memset(pshm_addr(shm), 0x5a, size);
	cr_assert_eq(test_wait(test_fork(child_prefaults_half, shm)), 0,
	             "the prefaulted half faulted in the child, or the other half did not");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(prefault, a_range_beyond_the_segment_is_einval)
{
	pshm_t *shm = create_ok(backend, NULL, 10000);
	int whole = pshm_prefault(shm, 0, 10000);
	cr_assert(whole == 0 || whole == -ENOTSUP, "%s", pshm_strerror(whole));
	cr_assert_eq(pshm_prefault(NULL, 0, 1), -EINVAL);
	cr_assert_eq(pshm_prefault(shm, 0, 10001), -EINVAL);
	cr_assert_eq(pshm_prefault(shm, 10001, 0), -EINVAL);
	cr_assert_eq(pshm_prefault(shm, 9999, 2), -EINVAL);
	cr_assert_eq(pshm_prefault(shm, 1, SIZE_MAX), -EINVAL, "offset + len wrapped around");
	cr_assert_eq(pshm_prefault(shm, 10000, 0), 0, "an empty range at the end");
	cr_assert_eq(pshm_prefault(shm, 9999, 1), whole, "the last byte");
	cr_assert_eq(pshm_destroy(shm), 0);
}

BACKEND_TEST(prefault, without_the_kernel_s_help_it_says_enotsup_and_touches_nothing)
{
	if (test_can_prefault())
		cr_skip_test("this system populates mappings");
#if HAVE_DECL_MADV_POPULATE_WRITE
	cr_skip_test("built to populate, run where it cannot (qemu-user takes the advice and does nothing)");
#endif
	pshm_t *shm = create_ok(backend, NULL, 4096);
	cr_assert_eq(pshm_prefault(shm, 0, 4096), -ENOTSUP);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* ------------------------------------------------------------------------ */
/* PSHM_HUGEPAGES                                                           */

/* Huge pages this suite wants set aside to test the success path: every
 * backend's tests may run at once, two or three pages each. */
#define HUGE_PAGES_WANTED 16

/* 0 if PSHM_HUGEPAGES must work here; otherwise the code it must fail
 * with, or 1 when that cannot be told (some pages, too few: skip). */
#if HAVE_MEMFD_CREATE && HAVE_DECL_MFD_HUGETLB
#define POSIX_HUGE_PAGES 1
#else
#define POSIX_HUGE_PAGES 0
#endif

/* Whether this build asks backend b's kernel object for huge pages. */
static int built_with_huge_pages(pshm_backend_t b)
{
	static const int built[PSHM_BACKEND_MAX] = {
		[PSHM_BACKEND_SYSV] = HAVE_DECL_SHM_HUGETLB,
		[PSHM_BACKEND_POSIX] = POSIX_HUGE_PAGES,
		[PSHM_BACKEND_MMAP] = HAVE_DECL_MAP_HUGETLB,
	};
	return b < PSHM_BACKEND_MAX && built[b];
}

static int huge_pages_expected(pshm_backend_t b)
{
	if (test_huge_page_size() == 0 || !built_with_huge_pages(b))
		return -ENOTSUP;
	/* With none set aside the kernel says ENOMEM; qemu-i386 refuses every
	 * huge mapping with EINVAL before the kernel is asked. */
	int refused = test_huge_mapping_error();
	if (refused == EINVAL)
		cr_skip_test("this process cannot ask for a huge page at all (an emulator?)");
	size_t set_aside = test_huge_pages_set_aside();
	if (set_aside == 0)
		return -ENOMEM;
	if (set_aside >= HUGE_PAGES_WANTED && refused != 0)
		cr_skip_test("huge pages are set aside but this process cannot map one (an emulator?)");
	return set_aside >= HUGE_PAGES_WANTED ? 0 : 1;
}

/* pshm_create with PSHM_HUGEPAGES; skips the test where SysV refuses the
 * caller the privilege or valgrind drops the flag, which say nothing of
 * libpshm. */
static int create_huge(pshm_backend_t b, const char *name, size_t size, pshm_t **shm)
{
	if (b == PSHM_BACKEND_SYSV && test_under_valgrind())
		cr_skip_test("valgrind drops shmget's SHM_HUGETLB");
	pshm_attr_t attr;
	test_attr(&attr, b, PSHM_HUGEPAGES);
	*shm = NULL;
	int rc = pshm_create(shm, name, size, &attr);
	if (rc == -EPERM && b == PSHM_BACKEND_SYSV && geteuid() != 0)
		cr_skip_test("SysV huge pages need CAP_IPC_LOCK or vm.hugetlb_shm_group");
	return rc;
}

BACKEND_TEST(hugepages, an_anonymous_segment_is_backed_by_huge_pages)
{
	int want = huge_pages_expected(backend);
	if (want == 1)
		cr_skip_test("fewer than %d huge pages set aside (vm.nr_hugepages)", HUGE_PAGES_WANTED);
	size_t huge = test_huge_page_size();
	size_t size = huge != 0 ? huge + huge / 2 : (size_t)3 << 20;
	pshm_t *shm;
	int rc = create_huge(backend, NULL, size, &shm);
	if (want != 0) {
		cr_assert_eq(rc, want, "no huge pages to be had: %s, not %s", pshm_strerror(rc),
		             pshm_strerror(want));
		cr_assert_null(shm);
		return;
	}
	cr_assert_eq(rc, 0, "pshm_create: %s", pshm_strerror(rc));
	cr_assert_eq(pshm_size(shm), size);
	cr_assert_eq(test_kernel_page_kib(pshm_addr(shm)), (long)(huge / 1024),
	             "the segment is not mapped with %zu KiB pages", huge / 1024);
	shared_with_a_child_then_destroyed(shm);
}

BACKEND_TEST(hugepages, named_segments_have_them_on_sysv_only)
{
	char name[PSHM_NAME_MAX + 1], out[128];
	test_name(name, "huge");
	pshm_t *shm;
	int rc = create_huge(backend, name, 4096, &shm);
	int want = backend == PSHM_BACKEND_SYSV ? huge_pages_expected(backend) : -ENOTSUP;
	if (want == 1)
		cr_skip_test("fewer than %d huge pages set aside (vm.nr_hugepages)", HUGE_PAGES_WANTED);
	if (want != 0) {
		cr_assert_eq(rc, want, "%s, not %s", pshm_strerror(rc), pshm_strerror(want));
		pshm_t *none = NULL;
		cr_assert_eq(attach_rc(backend, name, 0, &none), -ENOENT, "the failed create left a name");
		return;
	}
	cr_assert_eq(rc, 0, "pshm_create: %s", pshm_strerror(rc));
	cr_assert_eq(test_kernel_page_kib(pshm_addr(shm)), (long)(test_huge_page_size() / 1024));
	strcpy(pshm_addr(shm), "huge");
	helper(backend, name, "echo", NULL, 0, out, sizeof(out));
	cr_assert_str_eq(out, "read=huge\n");
	cr_assert_str_eq((char *)pshm_addr(shm) + ECHO_REPLY_OFFSET, "seen:huge");
	pshm_t *other = attach_ok(backend, name, 0);
	cr_assert_eq(test_kernel_page_kib(pshm_addr(other)), (long)(test_huge_page_size() / 1024));
	cr_assert_eq(pshm_detach(other), 0);
	cr_assert_eq(pshm_destroy(shm), 0);
}
