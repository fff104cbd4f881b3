/*
 * test-heap.c - managed segments: allocation, named objects, statistics
 * and the heap check, on every backend, across forked children and
 * unrelated processes (pshm-helper's heap-push); and the bad cases: full
 * heaps, bad offsets, a heap overwritten or of another format.  What
 * happens when processes die inside heap calls is test-heapkill.c's.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define HEAP_SIZE (1u << 20)

static pshm_t *managed(pshm_backend_t b, const char *name, size_t size)
{
	pshm_attr_t attr;
	test_attr(&attr, b, PSHM_MANAGED);
	pshm_t *shm = NULL;
	int rc = pshm_create(&shm, name, size, &attr);
	cr_assert_eq(rc, 0, "pshm_create(PSHM_MANAGED, %zu) on %s: %s", size, pshm_backend_name(b),
	             pshm_strerror(rc));
	return shm;
}

static pshm_off_t alloc_ok(pshm_t *shm, size_t size)
{
	pshm_off_t off = PSHM_OFF_NULL;
	int rc = pshm_alloc(shm, size, &off);
	cr_assert_eq(rc, 0, "pshm_alloc(%zu): %s", size, pshm_strerror(rc));
	cr_assert_neq(off, PSHM_OFF_NULL);
	return off;
}

static pshm_heap_info_t stat_ok(pshm_t *shm)
{
	pshm_heap_info_t info;
	int rc = pshm_heap_stat(shm, &info);
	cr_assert_eq(rc, 0, "pshm_heap_stat: %s", pshm_strerror(rc));
	return info;
}

static void check_ok(pshm_t *shm)
{
	int rc = pshm_heap_check(shm);
	cr_assert_eq(rc, 0, "pshm_heap_check: %s", pshm_strerror(rc));
}

/* ------------------------------------------------------------------------ */
/* 1. A linked list from offsets, made by one process, read by another.     */

/* A forked child pushes n nodes onto the list object. */
static int push_nodes(void *arg)
{
	pshm_t *shm = arg;
	pshm_off_t at;
	if (pshm_object(shm, SHARED_LIST_NAME, sizeof(struct shared_list), shared_list_init,
	                NULL, &at) < 0)
		return 1;
	struct shared_list *list = pshm_ptr(shm, at);
	for (uint64_t i = 0; i < 1000; i++) {
		pshm_off_t node;
		if (pshm_alloc(shm, sizeof(struct shared_node), &node) < 0 ||
		    pshm_mutex_lock(&list->lock) != 0)
			return 2;
		struct shared_node *p = pshm_ptr(shm, node);
		p->value = (uint64_t)getpid() << 32 | i;
		p->next = list->head;
		list->head = node;
		list->count++;
		pshm_mutex_unlock(&list->lock);
	}
	return 0;
}

/* Walk the list: how many nodes, asserting each pusher's values come in
 * descending order (the last pushed first). */
static uint64_t walk_list(pshm_t *shm)
{
	pshm_off_t at;
	size_t size;
	cr_assert_eq(pshm_object_find(shm, SHARED_LIST_NAME, &at, &size), 0);
	cr_assert_eq(size, sizeof(struct shared_list));
	const struct shared_list *list = pshm_ptr(shm, at);
	const unsigned char *base = pshm_addr(shm);
	uint64_t n = 0;
	for (pshm_off_t node = list->head; node != PSHM_OFF_NULL; n++) {
		cr_assert_lt(node, pshm_size(shm), "node %llu outside", (unsigned long long)node);
		const struct shared_node *p = (const void *)(base + node);
		node = p->next;
		cr_assert_leq(n, list->count);
	}
	cr_assert_eq(n, list->count);
	return n;
}

BACKEND_TEST(heap, forked_children_build_one_list_from_offsets)
{
	pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
	pid_t kids[4];
	for (int i = 0; i < 4; i++)
		kids[i] = test_fork(push_nodes, shm);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(test_wait(kids[i]), 0);
	cr_assert_eq(walk_list(shm), 4000);
	pshm_heap_info_t info = stat_ok(shm);
	cr_expect_eq(info.blocks, 4001, "4000 nodes and the list: %zu", info.blocks);
	cr_expect_eq(info.objects, 1);
	check_ok(shm);
	pshm_destroy(shm);
}

BACKEND_TEST(heap, unrelated_programs_share_a_named_heap_and_one_creates_the_list)
{
	char name[PSHM_NAME_MAX + 1], outs[4][128];
	test_name(name, "heap");
	pshm_t *shm = managed(backend, name, HEAP_SIZE);
	const char *args[] = {pshm_backend_name(backend), name, "heap-push", "500", NULL};
	pid_t pids[4];
	int fds[4];
	for (int i = 0; i < 4; i++)
		pids[i] = test_spawn_helper(args, &fds[i]);
	int created = 0;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(test_finish_helper(pids[i], fds[i], outs[i], sizeof(outs[i])), 0,
		             "helper: %s", outs[i]);
		created += strstr(outs[i], "created=1") != NULL;
		cr_assert(strstr(outs[i], "pushed=500") != NULL, "helper: %s", outs[i]);
	}
	cr_expect_eq(created, 1, "exactly one helper creates the list");
	cr_assert_eq(walk_list(shm), 2000);
	check_ok(shm);
	pshm_destroy(shm);
}

/* ------------------------------------------------------------------------ */
/* 2. Allocation: alignment, a full heap, resizing, bad offsets.            */

BACKEND_TEST(heap, blocks_are_aligned_as_asked_and_do_not_overlap)
{
	pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
	pshm_off_t offs[64];
	for (size_t i = 0; i < 64; i++) {
		size_t align = (size_t)16 << (i % 9); /* 16 .. 4096 */
		cr_assert_eq(pshm_alloc_aligned(shm, 1 + i * 37, align, &offs[i]), 0);
		cr_assert_eq(offs[i] % align, 0, "offset %llu for alignment %zu",
		             (unsigned long long)offs[i], align);
		memset(pshm_ptr(shm, offs[i]), (int)i, 1 + i * 37);
	}
	for (size_t i = 0; i < 64; i++) {
		const unsigned char *p = pshm_ptr(shm, offs[i]);
		for (size_t j = 0; j < 1 + i * 37; j++)
			cr_assert_eq(p[j], (unsigned char)i, "block %zu byte %zu overwritten", i, j);
	}
	pshm_off_t off;
	cr_expect_eq(pshm_alloc_aligned(shm, 8, 8, &off), -EINVAL);
	cr_expect_eq(pshm_alloc_aligned(shm, 8, 48, &off), -EINVAL);
	cr_expect_eq(pshm_alloc_aligned(shm, 8, (size_t)2 << 20, &off), -EINVAL);
	check_ok(shm);
	pshm_destroy(shm);
}

/* Allocate blocks of size until the heap is full: how many. */
static size_t fill_heap(pshm_t *shm, size_t size, pshm_off_t *offs, size_t max)
{
	size_t n = 0;
	int rc = 0;
	while (n < max && (rc = pshm_alloc(shm, size, &offs[n])) == 0)
		n++;
	cr_assert_eq(rc, -ENOMEM, "after %zu blocks: %s", n, pshm_strerror(rc));
	return n;
}

BACKEND_TEST(heap, a_full_heap_says_enomem_and_freeing_everything_gives_it_all_back)
{
	pshm_t *shm = managed(backend, NULL, (size_t)64 * 1024);
	pshm_heap_info_t empty = stat_ok(shm);
	cr_assert_eq(empty.in_use, 0);
	cr_assert_eq(empty.free, empty.size);
	pshm_off_t off;
	cr_expect_eq(pshm_alloc(shm, empty.largest_free + 1, &off), -ENOMEM);
	pshm_off_t *offs = calloc(4096, sizeof(*offs));
	size_t n = fill_heap(shm, 40, offs, 4096);
	cr_assert_gt(n, 500);
	check_ok(shm);
	for (size_t i = 0; i < n; i += 2) /* every other one: nothing merges */
		cr_assert_eq(pshm_free(shm, offs[i]), 0);
	check_ok(shm);
	for (size_t i = 1; i < n; i += 2)
		cr_assert_eq(pshm_free(shm, offs[i]), 0);
	check_ok(shm);
	/* Some of the freed blocks wait on quick lists for blocks of their
	 * size: a larger allocation takes them back first. */
	cr_assert_eq(pshm_alloc(shm, empty.largest_free, &off), 0, "the whole heap in one block");
	cr_assert_eq(pshm_free(shm, off), 0);
	pshm_heap_info_t after = stat_ok(shm);
	cr_expect_eq(after.in_use, 0);
	cr_expect_eq(after.blocks, 0);
	cr_expect_eq(after.largest_free, empty.largest_free, "free blocks merged back into one");
	check_ok(shm);
	free(offs);
	pshm_destroy(shm);
}

BACKEND_TEST(heap, realloc_keeps_the_bytes_in_place_or_moved)
{
	pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
	/* larger than a slot's blocks (small ones come in batches, side by side) */
	pshm_off_t off = alloc_ok(shm, 10000), first = off;
	for (int i = 0; i < 100; i++)
		((unsigned char *)pshm_ptr(shm, off))[i] = (unsigned char)i;
	cr_assert_eq(pshm_realloc(shm, &off, 12000), 0);
	cr_expect_eq(off, first, "the free space after the block is taken in place");
	pshm_off_t wall = alloc_ok(shm, 16); /* now it cannot grow where it is */
	cr_assert_eq(pshm_realloc(shm, &off, 20000), 0);
	cr_expect_neq(off, first, "moved");
	for (int i = 0; i < 100; i++)
		cr_assert_eq(((unsigned char *)pshm_ptr(shm, off))[i], (unsigned char)i);
	cr_assert_eq(pshm_realloc(shm, &off, 10), 0);
	cr_expect_eq(((unsigned char *)pshm_ptr(shm, off))[9], 9);
	pshm_off_t none = PSHM_OFF_NULL;
	cr_assert_eq(pshm_realloc(shm, &none, 64), 0, "from nothing: an allocation");
	cr_assert_neq(none, PSHM_OFF_NULL);
	pshm_off_t kept = off;
	cr_expect_eq(pshm_realloc(shm, &off, (size_t)HEAP_SIZE * 2), -ENOMEM);
	cr_expect_eq(off, kept, "a failed realloc leaves the block");
	cr_expect_eq(pshm_realloc(shm, &off, 0), -EINVAL);
	check_ok(shm);
	cr_assert_eq(pshm_free(shm, off) | pshm_free(shm, wall) | pshm_free(shm, none), 0);
	cr_expect_eq(stat_ok(shm).blocks, 0);
	pshm_destroy(shm);
}

Test(heap, freeing_what_is_not_a_block_in_use_is_einval_and_harms_nothing)
{
	pshm_t *shm = managed(PSHM_BACKEND_DEFAULT, NULL, HEAP_SIZE);
	pshm_off_t a = alloc_ok(shm, 64), b = alloc_ok(shm, 64);
	pshm_off_t obj;
	cr_assert_eq(pshm_object(shm, "thing", 32, NULL, NULL, &obj), 1);
	cr_expect_eq(pshm_free(shm, PSHM_OFF_NULL), 0, "like free(NULL)");
	cr_assert_eq(pshm_free(shm, a), 0);
	cr_expect_eq(pshm_free(shm, a), -EINVAL, "twice");
	cr_expect_eq(pshm_free(shm, b + 16), -EINVAL, "inside a block");
	cr_expect_eq(pshm_free(shm, b + 8), -EINVAL, "misaligned");
	cr_expect_eq(pshm_free(shm, 16), -EINVAL, "in the heap's header");
	cr_expect_eq(pshm_free(shm, (pshm_off_t)HEAP_SIZE * 4), -EINVAL, "outside");
	cr_expect_eq(pshm_free(shm, obj), -EINVAL, "a named object's bytes");
	pshm_off_t moved = a;
	cr_expect_eq(pshm_realloc(shm, &moved, 128), -EINVAL, "realloc of a freed block");
	check_ok(shm);
	cr_expect_eq(stat_ok(shm).blocks, 2);
	pshm_destroy(shm);
}

Test(heap, offsets_and_pointers_convert_within_the_segment_only)
{
	pshm_t *shm = managed(PSHM_BACKEND_DEFAULT, NULL, HEAP_SIZE);
	pshm_off_t off = alloc_ok(shm, 64);
	char *p = pshm_ptr(shm, off);
	cr_expect_eq(p, (char *)pshm_addr(shm) + off);
	cr_expect_eq(pshm_off(shm, p), off);
	cr_expect_eq(pshm_off(shm, p + 10), off + 10);
	cr_expect_null(pshm_ptr(shm, PSHM_OFF_NULL));
	cr_expect_null(pshm_ptr(shm, HEAP_SIZE));
	cr_expect_null(pshm_ptr(NULL, off));
	cr_expect_eq(pshm_off(shm, (char *)pshm_addr(shm) + HEAP_SIZE), PSHM_OFF_NULL);
	cr_expect_eq(pshm_off(shm, &off), PSHM_OFF_NULL, "the stack is not in the segment");
	cr_expect_eq(pshm_off(shm, NULL), PSHM_OFF_NULL);
	cr_expect_eq(pshm_off(NULL, p), PSHM_OFF_NULL);
	pshm_destroy(shm);
}

/* ------------------------------------------------------------------------ */
/* 3. Named objects.                                                        */

static int fill_sevens(void *obj, size_t size, void *arg)
{
	memset(obj, 7, size);
	++*(int *)arg;
	return 0;
}

static int refuse(void *obj, size_t size, void *arg)
{
	(void)obj, (void)size, (void)arg;
	return -1234;
}

/* init that tries to allocate: the heap is locked by its own caller. */
static int allocate_inside(void *obj, size_t size, void *arg)
{
	(void)size;
	pshm_off_t off;
	*(int *)obj = pshm_alloc(arg, 16, &off);
	return 0;
}

static int count_listed(const char *name, pshm_off_t off, size_t size, void *arg)
{
	(void)off;
	int *seen = arg;
	if (strcmp(name, "alpha") == 0 && size == 100)
		seen[0]++;
	else if (strcmp(name, "beta") == 0 && size == 200)
		seen[1]++;
	else
		seen[2]++;
	return 0;
}

BACKEND_TEST(heap, objects_are_found_or_created_listed_and_removed_by_name)
{
	pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
	pshm_off_t a, again, b;
	int inits = 0;
	cr_assert_eq(pshm_object(shm, "alpha", 100, fill_sevens, &inits, &a), 1, "created");
	cr_assert_eq(pshm_object(shm, "alpha", 100, fill_sevens, &inits, &again), 0, "found");
	cr_expect_eq(again, a);
	cr_expect_eq(inits, 1, "init ran once");
	cr_expect_eq(((unsigned char *)pshm_ptr(shm, a))[99], 7);
	cr_expect_eq(a % 16, 0);
	cr_assert_eq(pshm_object(shm, "beta", 200, NULL, NULL, &b), 1);
	cr_expect(test_all_zero(pshm_ptr(shm, b), 200), "zero-filled without init");
	cr_expect_eq(pshm_object(shm, "alpha", 101, NULL, NULL, &again), -EEXIST);
	cr_expect_eq(pshm_object(shm, "gamma", 10, refuse, NULL, &again), -1234);
	cr_expect_eq(pshm_object_find(shm, "gamma", NULL, NULL), -ENOENT, "init refused it");
	int seen[3] = {0};
	cr_assert_eq(pshm_object_list(shm, count_listed, seen), 0);
	cr_expect(seen[0] == 1 && seen[1] == 1 && seen[2] == 0, "listed %d %d %d", seen[0],
	          seen[1], seen[2]);
	cr_expect_eq(stat_ok(shm).objects, 2);
	cr_assert_eq(pshm_object_remove(shm, "alpha"), 0);
	cr_expect_eq(pshm_object_remove(shm, "alpha"), -ENOENT);
	cr_expect_eq(pshm_object_find(shm, "alpha", NULL, NULL), -ENOENT);
	cr_assert_eq(pshm_object(shm, "delta", 16, allocate_inside, shm, &again), 1);
	cr_expect_eq(*(int *)pshm_ptr(shm, again), -EDEADLK, "init may not use the heap");
	check_ok(shm);
	pshm_destroy(shm);
}

Test(heap, object_names_and_sizes_are_checked)
{
	pshm_t *shm = managed(PSHM_BACKEND_DEFAULT, NULL, HEAP_SIZE);
	char longest[PSHM_OBJECT_NAME_MAX + 2];
	memset(longest, 'n', sizeof(longest));
	longest[PSHM_OBJECT_NAME_MAX] = '\0';
	pshm_off_t off;
	cr_expect_eq(pshm_object(shm, longest, 8, NULL, NULL, &off), 1, "63 bytes");
	longest[PSHM_OBJECT_NAME_MAX] = 'n';
	longest[PSHM_OBJECT_NAME_MAX + 1] = '\0';
	cr_expect_eq(pshm_object(shm, longest, 8, NULL, NULL, &off), -EINVAL, "64 bytes");
	cr_expect_eq(pshm_object(shm, "", 8, NULL, NULL, &off), -EINVAL);
	cr_expect_eq(pshm_object(shm, NULL, 8, NULL, NULL, &off), -EINVAL);
	cr_expect_eq(pshm_object(shm, "x", 0, NULL, NULL, &off), -EINVAL);
	cr_expect_eq(pshm_object(shm, "x", 8, NULL, NULL, NULL), -EINVAL);
	cr_expect_eq(pshm_object(shm, "x", HEAP_SIZE, NULL, NULL, &off), -ENOMEM);
	cr_expect_eq(pshm_object(shm, "x", SIZE_MAX, NULL, NULL, &off), -ENOMEM);
	cr_expect_eq(pshm_object_list(shm, NULL, NULL), -EINVAL);
	cr_expect_eq(pshm_object_remove(shm, NULL), -EINVAL);
	cr_expect_eq(pshm_object_find(shm, "", NULL, NULL), -EINVAL);
	check_ok(shm);
	pshm_destroy(shm);
}

/* A child that waits for the word, then asks for the objects "race-0" ..
 * "race-6" and adds one to each one's counter; its exit status has bit i
 * set if it created "race-i". */
#define RACED_OBJECTS 7 /* an exit status's bits, below the failure codes */
struct race {
	pshm_t *shm;
	int go[2];
};

static int ask_for_objects(void *arg)
{
	struct race *r = arg;
	if (test_await(r->go[0]) < 0)
		return 255;
	int created = 0;
	for (int i = 0; i < RACED_OBJECTS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "race-%d", i);
		pshm_off_t off;
		int rc = pshm_object(r->shm, name, 64, NULL, NULL, &off);
		if (rc < 0)
			return 254;
		created |= rc << i;
		atomic_fetch_add((_Atomic uint64_t *)pshm_ptr(r->shm, off), 1);
	}
	return created;
}

BACKEND_TEST(heap, processes_asking_at_once_get_one_object_and_one_creates_it)
{
	struct race r = {.shm = managed(backend, NULL, HEAP_SIZE)};
	cr_assert_eq(pipe(r.go), 0);
	pid_t kids[8];
	for (int k = 0; k < 8; k++)
		kids[k] = test_fork(ask_for_objects, &r);
	for (int k = 0; k < 8; k++)
		cr_assert_eq(test_signal(r.go[1]), 0);
	int creations[RACED_OBJECTS] = {0};
	for (int k = 0; k < 8; k++) {
		int status = test_wait(kids[k]);
		cr_assert_lt(status, 1 << RACED_OBJECTS, "child %d: %d", k, status);
		for (int i = 0; i < RACED_OBJECTS; i++)
			creations[i] += (status >> i) & 1;
	}
	for (int i = 0; i < RACED_OBJECTS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "race-%d", i);
		pshm_off_t off;
		cr_assert_eq(pshm_object_find(r.shm, name, &off, NULL), 0);
		cr_expect_eq(creations[i], 1, "%s: %d creators", name, creations[i]);
		cr_expect_eq(*(uint64_t *)pshm_ptr(r.shm, off), 8, "%s: all 8 got the same one", name);
	}
	cr_expect_eq(stat_ok(r.shm).objects, RACED_OBJECTS);
	close(r.go[0]);
	close(r.go[1]);
	pshm_destroy(r.shm);
}

/* ------------------------------------------------------------------------ */
/* 4. What is not a heap, or no longer one.                                 */

static uint64_t *heap_word(pshm_t *shm, long long off)
{
	return (uint64_t *)(void *)((char *)pshm_addr(shm) + off);
}

BACKEND_TEST(heap, a_block_head_overwritten_is_ecorrupt_from_then_on_not_a_crash)
{
	pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
	pshm_off_t a = alloc_ok(shm, 64);
	alloc_ok(shm, 64);
	memset(pshm_ptr(shm, a), 0xff, 64 + 24); /* past its end, over the next head */
	cr_expect_eq(pshm_heap_check(shm), PSHM_ECORRUPT);
	pshm_off_t off;
	cr_expect_eq(pshm_alloc(shm, 16, &off), PSHM_ECORRUPT, "and every later call");
	cr_expect_eq(pshm_free(shm, a), PSHM_ECORRUPT);
	int rc = pshm_object(shm, "x", 8, NULL, NULL, &off);
	cr_expect_eq(rc, PSHM_ECORRUPT, "pshm_object: %s", pshm_strerror(rc));
	pshm_heap_info_t info;
	rc = pshm_heap_stat(shm, &info);
	cr_expect_eq(rc, PSHM_ECORRUPT, "pshm_heap_stat: %s", pshm_strerror(rc));
	pshm_destroy(shm);
}

Test(heap, free_lists_and_counters_overwritten_are_found_by_the_check)
{
	static const long long targets[] = {112 /* blocks */, 208 /* a free list */,
	                                    3000 /* a chain of objects */,
	                                    HEAP_QUICK + 6 * 8 /* the quick list of 48 */,
	                                    HEAP_FIRST_BLOCK};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		pshm_t *shm = managed(PSHM_BACKEND_DEFAULT, NULL, HEAP_SIZE);
		pshm_off_t off;
		cr_assert_eq(pshm_object(shm, "o", 8, NULL, NULL, &off), 1);
		alloc_ok(shm, 64);
		cr_assert_eq(pshm_free(shm, alloc_ok(shm, 40)), 0); /* onto a quick list */
		check_ok(shm);
		for (long long at = targets[i]; at < targets[i] + 64; at += 8)
			*heap_word(shm, at) ^= UINT64_C(0x0123456789abcdef);
		cr_expect_eq(pshm_heap_check(shm), PSHM_ECORRUPT, "bytes %lld..: not seen", targets[i]);
		pshm_destroy(shm);
	}
}

/* A heap whose magic was overwritten, in a segment whose header says
 * PSHM_MANAGED, is a heap overwritten (pshm_heap(3)), not a segment made
 * without one: every call says PSHM_ECORRUPT, never PSHM_ENOHEAP. */
BACKEND_TEST(heap, an_overwritten_heap_magic_is_ecorrupt_not_enoheap)
{
	unsigned seed = 24;
	for (int round = 0; round < 20; round++) {
		pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
		uint64_t noise = (uint64_t)rand_r(&seed) << 32 | (uint64_t)rand_r(&seed);
		*heap_word(shm, 0) = round == 0 ? 0 : noise;
		pshm_off_t off;
		pshm_heap_info_t info;
		cr_expect_eq(pshm_alloc(shm, 16, &off), PSHM_ECORRUPT, "magic %#llx",
		             (unsigned long long)*heap_word(shm, 0));
		cr_expect_eq(pshm_heap_check(shm), PSHM_ECORRUPT);
		cr_expect_eq(pshm_heap_stat(shm, &info), PSHM_ECORRUPT);
		cr_expect_eq(pshm_object_find(shm, "x", NULL, NULL), PSHM_ECORRUPT);
		pshm_destroy(shm);
	}
}

BACKEND_TEST(heap, a_segment_without_a_heap_or_of_another_format_is_refused)
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *plain;
	cr_assert_eq(pshm_create(&plain, NULL, HEAP_SIZE, &attr), 0);
	memset(pshm_addr(plain), 0x5a, 4096); /* somebody's own data */
	pshm_off_t off;
	cr_expect_eq(pshm_alloc(plain, 16, &off), PSHM_ENOHEAP);
	cr_expect_eq(pshm_heap_check(plain), PSHM_ENOHEAP);
	cr_expect_eq(pshm_object_find(plain, "x", NULL, NULL), PSHM_ENOHEAP);
	pshm_destroy(plain);

	pshm_t *shm = managed(backend, NULL, HEAP_SIZE);
	uint32_t version = *(uint32_t *)heap_word(shm, HEAP_VERSION);
	*(uint32_t *)heap_word(shm, HEAP_VERSION) = 3; /* a format of a later library */
	cr_expect_eq(pshm_alloc(shm, 16, &off), PSHM_EVERSION);
	*(uint32_t *)heap_word(shm, HEAP_VERSION) = version;
	uint64_t end = *heap_word(shm, HEAP_END);
	*heap_word(shm, HEAP_END) = (uint64_t)HEAP_SIZE * 2;
	cr_expect_eq(pshm_alloc(shm, 16, &off), PSHM_ECORRUPT, "a heap larger than its segment");
	*heap_word(shm, HEAP_END) = end;
	check_ok(shm);
	pshm_destroy(shm);
}

BACKEND_TEST(heap, a_read_only_attachment_cannot_take_the_heap_lock)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "heapro");
	pshm_t *shm = managed(backend, name, HEAP_SIZE);
	pshm_attr_t attr;
	test_attr(&attr, backend, PSHM_RDONLY);
	pshm_t *ro;
	cr_assert_eq(pshm_attach(&ro, name, &attr), 0);
	pshm_off_t off;
	cr_expect_eq(pshm_alloc(ro, 16, &off), -EACCES);
	cr_expect_eq(pshm_object_find(ro, "x", NULL, NULL), -EACCES);
	cr_expect_eq(pshm_heap_check(ro), -EACCES);
	cr_expect_neq(pshm_ptr(ro, 64), NULL, "but offsets still convert");
	pshm_detach(ro);
	pshm_destroy(shm);
}

Test(heap, managed_is_for_creating_reserved_segments_of_heap_min_or_more)
{
	pshm_attr_t attr;
	pshm_t *shm;
	test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_MANAGED);
	cr_expect_eq(pshm_create(&shm, NULL, PSHM_HEAP_MIN - 1, &attr), -EINVAL);
	cr_assert_eq(pshm_create(&shm, NULL, PSHM_HEAP_MIN, &attr), 0);
	pshm_off_t off;
	cr_expect_eq(pshm_alloc(shm, 64, &off), 0, "the smallest heap holds a block");
	check_ok(shm);
	pshm_destroy(shm);
	test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_MANAGED | PSHM_NORESERVE);
	cr_expect_eq(pshm_create(&shm, NULL, HEAP_SIZE, &attr), -EINVAL);
	test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_MANAGED);
	cr_expect_eq(pshm_attach(&shm, "whatever", &attr), -EINVAL);
	cr_expect_eq(pshm_alloc(NULL, 16, &off), -EINVAL);
	cr_expect_eq(pshm_heap_stat(NULL, NULL), -EINVAL);
}
