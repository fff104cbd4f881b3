/*
 * test-badinput.c - the bad-input matrix in one table: every public call
 * against NULLs, zero and overflowing sizes, bad names, flags, modes and
 * backends, attribute objects never initialized, handles duplicated by
 * fork, the wrong backend, and objects under the name that are not (whole)
 * libpshm segments.  Each case states the one code it must give; run on
 * every backend.  Nothing may crash, and test-leaks checks nothing is left.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

struct ctx {
	pshm_backend_t backend;
	pshm_attr_t attr; /* initialized for backend */
	char name[PSHM_NAME_MAX + 1];
};

static pshm_attr_t with_flags(const struct ctx *c, unsigned flags)
{
	pshm_attr_t attr = c->attr;
	cr_assert_eq(pshm_attr_set_flags(&attr, flags), 0);
	return attr;
}

static int create_size(const struct ctx *c, size_t size)
{
	pshm_t *shm = NULL;
	int rc = pshm_create(&shm, c->name, size, &c->attr);
	cr_assert(rc < 0 || shm != NULL);
	if (rc == 0)
		pshm_destroy(shm);
	return rc;
}

static int create_named(const struct ctx *c, const char *name)
{
	pshm_t *shm = NULL;
	int rc = pshm_create(&shm, name, 64, &c->attr);
	if (rc == 0)
		pshm_destroy(shm);
	return rc;
}

static int attach_named(const struct ctx *c, const char *name)
{
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &c->attr);
	if (rc == 0)
		pshm_detach(shm);
	return rc;
}

/* A hand-made object under c->name holding bytes, then attach. */
static int attach_raw(const struct ctx *c, const void *bytes, size_t len)
{
	cr_assert_eq(test_raw_create(c->backend, c->name, bytes, len), 0);
	int rc = attach_named(c, c->name);
	cr_assert_eq(test_raw_remove(c->backend, c->name), 0);
	return rc;
}

/* A ready header of format 1 (which this library reads as its own). */
static void ready_header(unsigned char h[HDR_SIZE], uint64_t usable, const char *name)
{
	test_ready_header(h, 1, usable, 0, name);
}

/* ---- the cases: each returns the code the call gave --------------------- */

static int create_null_handle(const struct ctx *c) { return pshm_create(NULL, c->name, 64, &c->attr); }
static int create_size_0(const struct ctx *c) { return create_size(c, 0); }
static int create_size_max(const struct ctx *c) { return create_size(c, SIZE_MAX); }
static int create_size_max_minus_page(const struct ctx *c) { return create_size(c, SIZE_MAX - 4096); }
static int create_size_max_minus_header(const struct ctx *c) { return create_size(c, SIZE_MAX - 255); }
static int create_size_ptrdiff_max(const struct ctx *c) { return create_size(c, (size_t)PTRDIFF_MAX); }
static int create_name_empty(const struct ctx *c) { return create_named(c, ""); }
static int create_name_dot(const struct ctx *c) { return create_named(c, "."); }
static int create_name_dotdot(const struct ctx *c) { return create_named(c, ".."); }
static int create_name_hidden(const struct ctx *c) { return create_named(c, ".x"); }
static int create_name_slash(const struct ctx *c) { return create_named(c, "a/b"); }
static int create_name_leading_slash(const struct ctx *c) { return create_named(c, "/a"); }
static int create_name_31_chars(const struct ctx *c) { return create_named(c, "abcdefghijklmnopqrstuvwxyz01234"); }
static int create_name_non_ascii(const struct ctx *c) { return create_named(c, "caf\xc3\xa9"); }
static int create_name_space(const struct ctx *c) { return create_named(c, "a b"); }
static int create_name_control(const struct ctx *c) { return create_named(c, "a\tb"); }

static int create_flag_rdonly(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_RDONLY);
	pshm_t *shm = NULL;
	return pshm_create(&shm, c->name, 64, &attr);
}

static int create_flag_any_owner(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_ANY_OWNER);
	pshm_t *shm = NULL;
	return pshm_create(&shm, c->name, 64, &attr);
}

static int create_attr_never_initialized(const struct ctx *c)
{
	pshm_attr_t attr;
	memset(&attr, 0xa5, sizeof(attr));
	pshm_t *shm = NULL;
	return pshm_create(&shm, c->name, 64, &attr);
}

static int create_attr_mode_forged(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	attr.pshm_private_mode = 04777; /* written behind the setters' back */
	pshm_t *shm = NULL;
	return pshm_create(&shm, c->name, 64, &attr);
}

static int create_attr_backend_forged(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	attr.pshm_private_backend = 99;
	pshm_t *shm = NULL;
	return pshm_create(&shm, c->name, 64, &attr);
}

static int create_attr_flags_forged(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	attr.pshm_private_flags = 0x80000000u;
	pshm_t *shm = NULL;
	return pshm_create(&shm, c->name, 64, &attr);
}

static int create_twice(const struct ctx *c)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, c->name, 64, &c->attr), 0);
	int rc = create_named(c, c->name);
	cr_assert_eq(pshm_destroy(shm), 0);
	return rc;
}

static int attach_null_handle(const struct ctx *c) { return pshm_attach(NULL, c->name, &c->attr); }
static int attach_null_name(const struct ctx *c) { return attach_named(c, NULL); }
static int attach_name_dotdot(const struct ctx *c) { return attach_named(c, "../x"); }
static int attach_missing(const struct ctx *c) { return attach_named(c, c->name); }

static int attach_flag_noreserve(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_NORESERVE);
	pshm_t *shm = NULL;
	return pshm_attach(&shm, c->name, &attr);
}

static int attach_flag_hugepages(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_HUGEPAGES);
	pshm_t *shm = NULL;
	return pshm_attach(&shm, c->name, &attr);
}

static int attach_wrong_backend(const struct ctx *c)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, c->name, 64, &c->attr), 0);
	int rc = -ENOENT; /* what it must say; stays so with one backend */
	pshm_backend_t all[PSHM_BACKEND_MAX];
	size_t n = test_backends(all);
	for (size_t i = 0; i < n; i++) {
		if (all[i] == c->backend)
			continue;
		pshm_attr_t other;
		test_attr(&other, all[i], 0);
		pshm_t *wrong = NULL;
		int got = pshm_attach(&wrong, c->name, &other);
		if (got == 0)
			pshm_detach(wrong);
		if (got != -ENOENT)
			rc = got;
	}
	cr_assert_eq(pshm_destroy(shm), 0);
	return rc;
}

static int attach_foreign_object(const struct ctx *c)
{
	unsigned char junk[4096];
	memset(junk, 0x5a, sizeof(junk));
	return attach_raw(c, junk, sizeof(junk));
}

/* pshm_create never leaves an object of 100 bytes (it sizes its files in
 * one step, to whole pages): foreign, even though it is all zeros. */
static int attach_too_small_for_a_header(const struct ctx *c)
{
	unsigned char zeros[100] = {0};
	return attach_raw(c, zeros, sizeof(zeros));
}

static int attach_header_size_too_big(const struct ctx *c)
{
	unsigned char seg[8192] = {0};
	ready_header(seg, 1u << 30, c->name);
	return attach_raw(c, seg, sizeof(seg));
}

static int attach_header_size_zero(const struct ctx *c)
{
	unsigned char seg[8192] = {0};
	ready_header(seg, 0, c->name);
	return attach_raw(c, seg, sizeof(seg));
}

static int attach_header_name_unterminated(const struct ctx *c)
{
	unsigned char seg[8192] = {0};
	ready_header(seg, 100, c->name);
	memset(seg + HDR_NAME, 'x', PSHM_NAME_MAX + 2);
	return attach_raw(c, seg, sizeof(seg));
}

static int attach_header_other_version(const struct ctx *c)
{
	unsigned char seg[8192] = {0};
	ready_header(seg, 100, c->name);
	uint32_t version = 99;
	memcpy(seg + HDR_VERSION, &version, 4);
	return attach_raw(c, seg, sizeof(seg));
}

static int attach_header_bad_state(const struct ctx *c)
{
	unsigned char seg[8192] = {0};
	ready_header(seg, 100, c->name);
	uint32_t state = 0xdeadbeef;
	memcpy(seg + HDR_STATE, &state, 4);
	return attach_raw(c, seg, sizeof(seg));
}

static int detach_null(const struct ctx *c) { (void)c; return pshm_detach(NULL); }
static int destroy_null(const struct ctx *c) { (void)c; return pshm_destroy(NULL); }
static int remove_null(const struct ctx *c) { return pshm_remove(NULL, &c->attr); }
static int remove_missing(const struct ctx *c) { return pshm_remove(c->name, &c->attr); }
static int remove_bad_name(const struct ctx *c) { return pshm_remove("a/b", &c->attr); }

struct fork_copy {
	pshm_t *shm;
	int go_fd; /* read before acting */
};

static int destroy_in_child(void *arg)
{
	const struct fork_copy *copy = arg;
	if (test_await(copy->go_fd) < 0)
		return 99;
	return -pshm_destroy(copy->shm); /* the parent destroyed it first */
}

static int detach_in_child(void *arg)
{
	return -pshm_detach(arg);
}

static int destroy_twice_through_fork(const struct ctx *c)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, c->name, 64, &c->attr), 0);
	int go[2];
	cr_assert_eq(pipe(go), 0);
	struct fork_copy copy = {shm, go[0]};
	pid_t child = test_fork(destroy_in_child, &copy);
	cr_assert_eq(pshm_destroy(shm), 0);
	cr_assert_eq(test_signal(go[1]), 0);
	int status = test_wait(child);
	close(go[0]);
	close(go[1]);
	return -status;
}

static int detach_in_parent_and_child(const struct ctx *c)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &c->attr), 0);
	int child = test_wait(test_fork(detach_in_child, shm));
	int parent = pshm_detach(shm);
	return child != 0 ? -child : parent;
}

static int accessors_on_null(const struct ctx *c)
{
	(void)c;
	int ok = pshm_addr(NULL) == NULL && pshm_size(NULL) == 0 && pshm_name(NULL) == NULL &&
	         pshm_backend(NULL) == PSHM_BACKEND_DEFAULT;
	return ok ? 0 : -1;
}

static int attr_init_null(const struct ctx *c) { (void)c; return pshm_attr_init(NULL); }

static int attr_set_backend_99(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	return pshm_attr_set_backend(&attr, (pshm_backend_t)99);
}

static int attr_set_backend_negative(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	return pshm_attr_set_backend(&attr, (pshm_backend_t)-1);
}

static int attr_set_mode_setuid(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	return pshm_attr_set_mode(&attr, 04600);
}

static int attr_set_flags_unknown(const struct ctx *c)
{
	pshm_attr_t attr = c->attr;
	return pshm_attr_set_flags(&attr, 0x100);
}

static int attr_setter_never_initialized(const struct ctx *c)
{
	(void)c;
	pshm_attr_t attr;
	memset(&attr, 0, sizeof(attr));
	return pshm_attr_set_mode(&attr, 0600);
}

static int backend_queries_out_of_range(const struct ctx *c)
{
	(void)c;
	int ok = strcmp(pshm_backend_name((pshm_backend_t)42), "unknown") == 0 &&
	         pshm_backend_supported((pshm_backend_t)42) == 0 &&
	         strcmp(pshm_strerror(-123456), "Unknown error") == 0 &&
	         strcmp(pshm_strerror(123), "Unknown error") == 0;
	return ok ? 0 : -1;
}

static int stat_null_info(const struct ctx *c) { return pshm_stat(c->name, &c->attr, NULL); }

static int remove_orphan_of_foreign(const struct ctx *c)
{
	unsigned char junk[4096];
	memset(junk, 0x77, sizeof(junk));
	cr_assert_eq(test_raw_create(c->backend, c->name, junk, sizeof(junk)), 0);
	int rc = pshm_remove_orphan(c->name, &c->attr);
	cr_assert_eq(test_raw_remove(c->backend, c->name), 0);
	return rc;
}

static int lock_read_only(const struct ctx *c)
{
	pshm_t *owner, *reader;
	cr_assert_eq(pshm_create(&owner, c->name, 64, &c->attr), 0);
	pshm_attr_t ro = with_flags(c, PSHM_RDONLY);
	cr_assert_eq(pshm_attach(&reader, c->name, &ro), 0);
	int rc = pshm_lock(reader);
	pshm_detach(reader);
	pshm_destroy(owner);
	return rc;
}

static int mutex_never_initialized(const struct ctx *c)
{
	(void)c;
	pshm_mutex_t m;
	memset(&m, 0x3c, sizeof(m));
	return pshm_mutex_lock(&m);
}

static int cond_wait_null_mutex(const struct ctx *c)
{
	(void)c;
	pshm_cond_t cv;
	cr_assert_eq(pshm_cond_init(&cv), 0);
	return pshm_cond_timedwait(&cv, NULL, 1);
}

/* A managed segment's heap call, on an anonymous heap of c's backend. */
static int on_heap(const struct ctx *c, size_t size, int (*call)(pshm_t *shm))
{
	pshm_attr_t attr = with_flags(c, PSHM_MANAGED);
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, size, &attr);
	if (rc == 0) {
		rc = call(shm);
		pshm_destroy(shm);
	}
	return rc;
}

static int create_managed(const struct ctx *c, size_t size, unsigned more)
{
	pshm_attr_t attr = with_flags(c, PSHM_MANAGED | more);
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, size, &attr);
	if (rc == 0)
		pshm_destroy(shm);
	return rc;
}

static int create_managed_too_small(const struct ctx *c) { return create_managed(c, PSHM_HEAP_MIN - 1, 0); }
static int create_managed_noreserve(const struct ctx *c) { return create_managed(c, 65536, PSHM_NORESERVE); }
static int attach_flag_managed(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_MANAGED);
	pshm_t *shm;
	return pshm_attach(&shm, c->name, &attr);
}

static int alloc_0(pshm_t *shm) { pshm_off_t off; return pshm_alloc(shm, 0, &off); }
static int alloc_size_max(pshm_t *shm) { pshm_off_t off; return pshm_alloc(shm, SIZE_MAX, &off); }
static int alloc_null_off(pshm_t *shm) { return pshm_alloc(shm, 16, NULL); }
static int alloc_align_48(pshm_t *shm) { pshm_off_t off; return pshm_alloc_aligned(shm, 16, 48, &off); }
static int alloc_align_max(pshm_t *shm) { pshm_off_t off; return pshm_alloc_aligned(shm, 16, SIZE_MAX / 2 + 1, &off); }
static int free_never_allocated(pshm_t *shm) { return pshm_free(shm, 4096); }
static int free_past_the_end(pshm_t *shm) { return pshm_free(shm, UINT64_MAX - 15); }
static int realloc_null_off(pshm_t *shm) { return pshm_realloc(shm, NULL, 16); }
static int object_name_64(pshm_t *shm)
{
	char name[65];
	memset(name, 'o', 64);
	name[64] = '\0';
	pshm_off_t off;
	return pshm_object(shm, name, 16, NULL, NULL, &off);
}
static int object_list_null_fn(pshm_t *shm) { return pshm_object_list(shm, NULL, NULL); }
static int heap_stat_null_info(pshm_t *shm) { return pshm_heap_stat(shm, NULL); }

static int heap_alloc_0(const struct ctx *c) { return on_heap(c, 65536, alloc_0); }
static int heap_alloc_size_max(const struct ctx *c) { return on_heap(c, 65536, alloc_size_max); }
static int heap_alloc_null_off(const struct ctx *c) { return on_heap(c, 65536, alloc_null_off); }
static int heap_alloc_align_48(const struct ctx *c) { return on_heap(c, 65536, alloc_align_48); }
static int heap_alloc_align_max(const struct ctx *c) { return on_heap(c, 65536, alloc_align_max); }
static int heap_free_never_allocated(const struct ctx *c) { return on_heap(c, 65536, free_never_allocated); }
static int heap_free_past_the_end(const struct ctx *c) { return on_heap(c, 65536, free_past_the_end); }
static int heap_realloc_null_off(const struct ctx *c) { return on_heap(c, 65536, realloc_null_off); }
static int heap_object_name_64(const struct ctx *c) { return on_heap(c, 65536, object_name_64); }
static int heap_object_list_null_fn(const struct ctx *c) { return on_heap(c, 65536, object_list_null_fn); }
static int heap_stat_null(const struct ctx *c) { return on_heap(c, 65536, heap_stat_null_info); }
static int heap_check_null_handle(const struct ctx *c) { (void)c; return pshm_heap_check(NULL); }

static int heap_alloc_unmanaged(const struct ctx *c)
{
	pshm_t *shm;
	cr_assert_eq(pshm_create(&shm, NULL, 65536, &c->attr), 0);
	pshm_off_t off;
	int rc = pshm_alloc(shm, 16, &off);
	pshm_destroy(shm);
	return rc;
}

static int lock_until_null_deadline(const struct ctx *c)
{
	(void)c;
	pshm_mutex_t m;
	cr_assert_eq(pshm_mutex_init(&m), 0);
	return pshm_mutex_lock_until(&m, NULL);
}

static int lock_until_nanoseconds_over(const struct ctx *c)
{
	(void)c;
	pshm_mutex_t m;
	cr_assert_eq(pshm_mutex_init(&m), 0);
	struct timespec bad = {0, 1000000000L};
	return pshm_mutex_lock_until(&m, &bad);
}

static int cond_wait_until_negative_nanoseconds(const struct ctx *c)
{
	(void)c;
	pshm_cond_t cv;
	pshm_mutex_t m;
	cr_assert_eq(pshm_cond_init(&cv), 0);
	cr_assert_eq(pshm_mutex_init(&m), 0);
	struct timespec bad = {0, -1};
	return pshm_cond_wait_until(&cv, &m, &bad);
}

static int sem_init_null(const struct ctx *c) { (void)c; return pshm_sem_init(NULL, 1); }
static int sem_init_over_max(const struct ctx *c)
{
	(void)c;
	pshm_sem_t s;
	return pshm_sem_init(&s, PSHM_SEM_VALUE_MAX + 1u);
}
static int sem_post_never_initialized(const struct ctx *c)
{
	(void)c;
	pshm_sem_t s;
	memset(&s, 0x3c, sizeof(s));
	return pshm_sem_post(&s);
}
static int sem_timedwait_negative(const struct ctx *c)
{
	(void)c;
	pshm_sem_t s;
	cr_assert_eq(pshm_sem_init(&s, 0), 0);
	return pshm_sem_timedwait(&s, -5);
}
static int sem_trywait_empty(const struct ctx *c)
{
	(void)c;
	pshm_sem_t s;
	cr_assert_eq(pshm_sem_init(&s, 0), 0);
	return pshm_sem_trywait(&s);
}

static int open_null_handle(const struct ctx *c) { return pshm_open(NULL, c->name, 64, &c->attr); }
static int open_size_0(const struct ctx *c)
{
	pshm_t *shm;
	return pshm_open(&shm, c->name, 0, &c->attr);
}
static int open_flag_rdonly(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_RDONLY);
	pshm_t *shm;
	return pshm_open(&shm, c->name, 64, &attr);
}
static int open_name_dotdot(const struct ctx *c)
{
	pshm_t *shm;
	return pshm_open(&shm, "..", 64, &c->attr);
}
static int unique_prefix_slash(const struct ctx *c)
{
	pshm_t *shm;
	return pshm_create_unique(&shm, "a/b", 64, &c->attr);
}
static int unique_prefix_too_long(const struct ctx *c)
{
	pshm_t *shm;
	return pshm_create_unique(&shm, "abcdefghijklmnopqr", 64, &c->attr);
}

/* call on a named segment of c's backend, of 64 bytes (attached read-only:
 * rdonly), which it then destroys. */
static int on_named(const struct ctx *c, int rdonly, int (*call)(pshm_t *shm))
{
	pshm_t *owner, *shm;
	cr_assert_eq(pshm_create(&owner, c->name, 64, &c->attr), 0);
	pshm_attr_t ro = with_flags(c, PSHM_RDONLY);
	cr_assert_eq(pshm_attach(&shm, c->name, rdonly ? &ro : &c->attr), 0);
	int rc = call(shm);
	pshm_detach(shm);
	pshm_destroy(owner);
	return rc;
}
static int grow_twice(pshm_t *shm) { return pshm_resize(shm, 128, 0); }
static int resize_to_0(pshm_t *shm) { return pshm_resize(shm, 0, 0); }
static int resize_to_max(pshm_t *shm) { return pshm_resize(shm, SIZE_MAX, 0); }
static int resize_flag_managed(pshm_t *shm) { return pshm_resize(shm, 128, PSHM_MANAGED); }
static int export_flag_unknown(pshm_t *shm) { return pshm_export_fd(shm, 0x80); }
static int send_flag_unknown(pshm_t *shm) { return pshm_send(-1, shm, 0x80); }
static int send_flag_inherit(pshm_t *shm) { return pshm_send(-1, shm, PSHM_INHERIT); }
static int resize_read_only(const struct ctx *c) { return on_named(c, 1, grow_twice); }
static int resize_size_0(const struct ctx *c) { return on_named(c, 0, resize_to_0); }
static int resize_size_max(const struct ctx *c) { return on_named(c, 0, resize_to_max); }
static int resize_flag_unknown(const struct ctx *c) { return on_named(c, 0, resize_flag_managed); }
static int resize_null(const struct ctx *c) { (void)c; return pshm_resize(NULL, 64, 0); }
static int remap_null(const struct ctx *c) { (void)c; return pshm_remap(NULL); }
static int export_fd_null(const struct ctx *c) { (void)c; return pshm_export_fd(NULL, 0); }
static int export_fd_flags(const struct ctx *c) { return on_named(c, 0, export_flag_unknown); }
static int send_fd_flags(const struct ctx *c) { return on_named(c, 0, send_flag_unknown); }
static int send_fd_inherit(const struct ctx *c) { return on_named(c, 0, send_flag_inherit); }
static int sysv_id_null(const struct ctx *c) { (void)c; return pshm_sysv_id(NULL); }
static int attach_fd_null_handle(const struct ctx *c)
{
	(void)c;
	return pshm_attach_fd(NULL, 0, NULL);
}
static int attach_fd_negative(const struct ctx *c)
{
	(void)c;
	pshm_t *shm;
	return pshm_attach_fd(&shm, -1, NULL);
}
static int attach_fd_flag_noreserve(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_NORESERVE);
	pshm_t *shm;
	return pshm_attach_fd(&shm, STDIN_FILENO, &attr);
}
static int attach_flag_sealed(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_SEALED);
	pshm_t *shm;
	return pshm_attach(&shm, c->name, &attr);
}
static int create_flag_sealed(const struct ctx *c)
{
	pshm_attr_t attr = with_flags(c, PSHM_SEALED);
	pshm_t *shm;
	return pshm_create(&shm, c->name, 64, &attr);
}
static int recv_null_handle(const struct ctx *c)
{
	(void)c;
	return pshm_recv(STDIN_FILENO, NULL, NULL);
}
static int recv_not_a_socket(const struct ctx *c)
{
	(void)c;
	pshm_t *shm;
	return pshm_recv(-1, &shm, NULL);
}

static const struct bad_case {
	const char *what;
	int (*call)(const struct ctx *c);
	int want;
} cases[] = {
#define CASE(fn, want) {#fn, fn, want}
    CASE(create_null_handle, -EINVAL),
    CASE(create_size_0, -EINVAL),
    CASE(create_size_max, -EINVAL),
    CASE(create_size_max_minus_page, -EINVAL),
    CASE(create_size_max_minus_header, -EINVAL),
    CASE(create_size_ptrdiff_max, -EINVAL),
    CASE(create_name_empty, -EINVAL),
    CASE(create_name_dot, -EINVAL),
    CASE(create_name_dotdot, -EINVAL),
    CASE(create_name_hidden, -EINVAL),
    CASE(create_name_slash, -EINVAL),
    CASE(create_name_leading_slash, -EINVAL),
    CASE(create_name_31_chars, -EINVAL),
    CASE(create_name_non_ascii, -EINVAL),
    CASE(create_name_space, -EINVAL),
    CASE(create_name_control, -EINVAL),
    CASE(create_flag_rdonly, -EINVAL),
    CASE(create_flag_any_owner, -EINVAL),
    CASE(create_attr_never_initialized, -EINVAL),
    CASE(create_attr_mode_forged, -EINVAL),
    CASE(create_attr_backend_forged, -EINVAL),
    CASE(create_attr_flags_forged, -EINVAL),
    CASE(create_twice, -EEXIST),
    CASE(attach_null_handle, -EINVAL),
    CASE(attach_null_name, -EINVAL),
    CASE(attach_name_dotdot, -EINVAL),
    CASE(attach_missing, -ENOENT),
    CASE(attach_flag_noreserve, -EINVAL),
    CASE(attach_flag_hugepages, -EINVAL),
    CASE(attach_wrong_backend, -ENOENT),
    CASE(attach_foreign_object, PSHM_ENOTPSHM),
    CASE(attach_too_small_for_a_header, PSHM_ENOTPSHM),
    CASE(attach_header_size_too_big, PSHM_ECORRUPT),
    CASE(attach_header_size_zero, PSHM_ECORRUPT),
    CASE(attach_header_name_unterminated, PSHM_ECORRUPT),
    CASE(attach_header_other_version, PSHM_EVERSION),
    CASE(attach_header_bad_state, PSHM_ENOTPSHM),
    CASE(detach_null, -EINVAL),
    CASE(destroy_null, -EINVAL),
    CASE(remove_null, -EINVAL),
    CASE(remove_missing, -ENOENT),
    CASE(remove_bad_name, -EINVAL),
    CASE(destroy_twice_through_fork, -ENOENT),
    CASE(detach_in_parent_and_child, 0),
    CASE(accessors_on_null, 0),
    CASE(attr_init_null, -EINVAL),
    CASE(attr_set_backend_99, -EINVAL),
    CASE(attr_set_backend_negative, -EINVAL),
    CASE(attr_set_mode_setuid, -EINVAL),
    CASE(attr_set_flags_unknown, -EINVAL),
    CASE(attr_setter_never_initialized, -EINVAL),
    CASE(backend_queries_out_of_range, 0),
    CASE(stat_null_info, -EINVAL),
    CASE(remove_orphan_of_foreign, -EPERM),
    CASE(lock_read_only, -EACCES),
    CASE(mutex_never_initialized, -EINVAL),
    CASE(cond_wait_null_mutex, -EINVAL),
    CASE(create_managed_too_small, -EINVAL),
    CASE(create_managed_noreserve, -EINVAL),
    CASE(attach_flag_managed, -EINVAL),
    CASE(heap_alloc_0, -EINVAL),
    CASE(heap_alloc_size_max, -ENOMEM),
    CASE(heap_alloc_null_off, -EINVAL),
    CASE(heap_alloc_align_48, -EINVAL),
    CASE(heap_alloc_align_max, -EINVAL),
    CASE(heap_free_never_allocated, -EINVAL),
    CASE(heap_free_past_the_end, -EINVAL),
    CASE(heap_realloc_null_off, -EINVAL),
    CASE(heap_object_name_64, -EINVAL),
    CASE(heap_object_list_null_fn, -EINVAL),
    CASE(heap_stat_null, -EINVAL),
    CASE(heap_check_null_handle, -EINVAL),
    CASE(heap_alloc_unmanaged, PSHM_ENOHEAP),
    CASE(lock_until_null_deadline, -EINVAL),
    CASE(lock_until_nanoseconds_over, -EINVAL),
    CASE(cond_wait_until_negative_nanoseconds, -EINVAL),
    CASE(sem_init_null, -EINVAL),
    CASE(sem_init_over_max, -EINVAL),
    CASE(sem_post_never_initialized, -EINVAL),
    CASE(sem_timedwait_negative, -EINVAL),
    CASE(sem_trywait_empty, -EAGAIN),
    CASE(open_null_handle, -EINVAL),
    CASE(open_size_0, -EINVAL),
    CASE(open_flag_rdonly, -EINVAL),
    CASE(open_name_dotdot, -EINVAL),
    CASE(unique_prefix_slash, -EINVAL),
    CASE(unique_prefix_too_long, -EINVAL),
    CASE(resize_read_only, -EACCES),
    CASE(resize_size_0, -EINVAL),
    CASE(resize_size_max, -EINVAL),
    CASE(resize_flag_unknown, -EINVAL),
    CASE(resize_null, -EINVAL),
    CASE(remap_null, -EINVAL),
    CASE(export_fd_null, -EINVAL),
    CASE(export_fd_flags, -EINVAL),
    CASE(send_fd_flags, -EINVAL),
    CASE(send_fd_inherit, -EINVAL),
    CASE(sysv_id_null, -EINVAL),
    CASE(attach_fd_null_handle, -EINVAL),
    CASE(attach_fd_negative, -EBADF),
    CASE(attach_fd_flag_noreserve, -EINVAL),
    CASE(attach_flag_sealed, -EINVAL),
    CASE(create_flag_sealed, -EINVAL),
    CASE(recv_null_handle, -EINVAL),
    CASE(recv_not_a_socket, -EBADF),
#undef CASE
};

BACKEND_TEST(badinput, every_case_gives_its_code)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	cr_assert_geq(n, 40);
	for (size_t i = 0; i < n; i++) {
		struct ctx c = {.backend = backend};
		test_attr(&c.attr, backend, 0);
		test_name(c.name, "bad");
		int got = cases[i].call(&c);
		cr_expect_eq(got, cases[i].want, "%s: got %d (%s), want %d (%s)", cases[i].what, got,
		             pshm_strerror(got), cases[i].want, pshm_strerror(cases[i].want));
		pshm_info_t info;
		cr_expect_eq(pshm_stat(c.name, &c.attr, &info), -ENOENT, "%s left its name behind",
		             cases[i].what);
	}
}
