/*
 * test-header.c - the segment header (lib/header.c), on every backend:
 * attach tells a libpshm segment from anything else found under its name,
 * never hands back one whose creator has not finished, waits for a creator
 * that is about to finish, and calls half-made only what pshm_create can
 * leave (a size it makes, zeros where it has not written yet).  The objects here are made by hand, as a stray
 * program, a crashed creator or another libpshm version would leave them.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define USABLE 4096
/* Room for an object of two pages, whatever the page size (up to 64 KiB):
 * what pshm_create makes for USABLE bytes and the header. */
#define OBJECT_MAX (2 * 65536)
#define OBJECT_SIZE (2 * test_page_size())

/* A real header from this backend, for a USABLE-byte segment called name
 * (an anonymous segment's header is never written). */
static void real_image(pshm_backend_t b, const char *name, unsigned char image[OBJECT_MAX])
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	pshm_t *shm = NULL;
	char made[PSHM_NAME_MAX + 1];
	test_name(made, "image");
	cr_assert_eq(pshm_create(&shm, made, USABLE, &attr), 0);
	memset(image, 0, OBJECT_SIZE);
	memcpy(image, (unsigned char *)pshm_addr(shm) - HDR_SIZE, HDR_SIZE);
	cr_assert_eq(pshm_destroy(shm), 0);
	uint64_t magic;
	memcpy(&magic, image + HDR_MAGIC, sizeof(magic));
	cr_assert_eq(magic, HDR_MAGIC_VALUE, "the header layout moved: a format change");
	strncpy((char *)image + HDR_NAME, name, PSHM_NAME_MAX + 1);
}

static void put32(unsigned char *image, size_t offset, uint32_t value)
{
	memcpy(image + offset, &value, sizeof(value));
}

static void put64(unsigned char *image, size_t offset, uint64_t value)
{
	memcpy(image + offset, &value, sizeof(value));
}

/* What attach (read-write and read-only) says of an object holding image;
 * removes the object before asserting. */
static void expect_attach(pshm_backend_t b, const unsigned char *image, int want)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "raw");
	static unsigned char copy[OBJECT_MAX];
	memcpy(copy, image, OBJECT_SIZE);
	strncpy((char *)copy + HDR_NAME, name, PSHM_NAME_MAX + 1);
	int made = test_raw_create(b, name, copy, OBJECT_SIZE);
	cr_assert_eq(made, 0, "making the object by hand: %s", strerror(-made));

	pshm_attr_t attr;
	pshm_t *rw = NULL, *ro = NULL;
	test_attr(&attr, b, 0);
	int rc_rw = pshm_attach(&rw, name, &attr);
	test_attr(&attr, b, PSHM_RDONLY);
	int rc_ro = pshm_attach(&ro, name, &attr);
	int removed = test_raw_remove(b, name);

	cr_assert_eq(rc_rw, want, "attach: %d (%s), want %d (%s)", rc_rw, pshm_strerror(rc_rw), want,
	             pshm_strerror(want));
	cr_assert_eq(rc_ro, want, "read-only attach: %d (%s)", rc_ro, pshm_strerror(rc_ro));
	cr_assert_null(rw);
	cr_assert_null(ro);
	cr_assert_eq(removed, 0);
}

BACKEND_TEST(header, a_foreign_object_is_not_a_segment)
{
	unsigned char image[OBJECT_MAX];
	memset(image, 0xab, sizeof(image));
	expect_attach(backend, image, PSHM_ENOTPSHM);
}

BACKEND_TEST(header, a_ready_flag_without_the_magic_is_not_a_segment)
{
	unsigned char image[OBJECT_MAX];
	real_image(backend, "x", image);
	put64(image, HDR_MAGIC, 0x1234);
	expect_attach(backend, image, PSHM_ENOTPSHM);
}

/* A managed segment's creator makes its heap after the header's other
 * fields and before READY: such an object is a creator at work, not a
 * foreign one; the same bytes without the flag are somebody else's. */
BACKEND_TEST(header, a_heap_in_the_making_is_a_creator_not_yet_done)
{
	unsigned char image[OBJECT_MAX];
	real_image(backend, "x", image);
	put32(image, HDR_STATE, 0);
	memset(image + HDR_SIZE, 0x5a, 512);
	put32(image, HDR_FLAGS, 1);
	expect_attach(backend, image, PSHM_ENOTREADY);
	put32(image, HDR_FLAGS, 0);
	expect_attach(backend, image, PSHM_ENOTPSHM);
}

BACKEND_TEST(header, a_zeroed_object_is_a_creator_that_never_finished)
{
	unsigned char image[OBJECT_MAX] = {0};
	expect_attach(backend, image, PSHM_ENOTREADY);
}

BACKEND_TEST(header, another_format_version_is_refused)
{
	unsigned char image[OBJECT_MAX];
	real_image(backend, "x", image);
	put32(image, HDR_VERSION, 99);
	expect_attach(backend, image, PSHM_EVERSION);
	put32(image, HDR_VERSION, 3); /* the next one */
	expect_attach(backend, image, PSHM_EVERSION);
	put32(image, HDR_VERSION, 0);
	expect_attach(backend, image, PSHM_EVERSION);
}

/* Format 1 (pshm_create made the header lock) and format 2 (the lock is
 * made at its first use) are read alike; a version 1 segment whose lock
 * was never made gets it at its first pshm_lock, as a version 2 one does. */
BACKEND_TEST(header, the_formats_before_this_one_are_attached_and_locked)
{
	for (uint32_t version = 1; version <= 2; version++) {
		unsigned char image[OBJECT_MAX];
		real_image(backend, "x", image);
		put32(image, HDR_VERSION, version);
		char name[PSHM_NAME_MAX + 1];
		test_name(name, "format");
		strncpy((char *)image + HDR_NAME, name, PSHM_NAME_MAX + 1);
		cr_assert_eq(test_raw_create(backend, name, image, OBJECT_SIZE), 0);
		pshm_attr_t attr;
		test_attr(&attr, backend, 0);
		pshm_t *shm = NULL;
		int rc = pshm_attach(&shm, name, &attr);
		int locked = rc == 0 ? pshm_lock(shm) : rc;
		int unlocked = locked == 0 ? pshm_unlock(shm) : locked;
		if (shm != NULL)
			pshm_detach(shm);
		cr_assert_eq(test_raw_remove(backend, name), 0);
		cr_assert_eq(rc, 0, "version %u: %s", version, pshm_strerror(rc));
		cr_assert_eq(locked, 0, "version %u: lock: %s", version, pshm_strerror(locked));
		cr_assert_eq(unlocked, 0, "version %u: unlock: %s", version, pshm_strerror(unlocked));
	}
}

BACKEND_TEST(header, a_size_beyond_the_object_is_corrupt)
{
	unsigned char image[OBJECT_MAX];
	real_image(backend, "x", image);
	put64(image, HDR_USABLE_SIZE, (uint64_t)1 << 40);
	expect_attach(backend, image, PSHM_ECORRUPT);
	put64(image, HDR_USABLE_SIZE, 0);
	expect_attach(backend, image, PSHM_ECORRUPT);
}

BACKEND_TEST(header, a_header_of_another_name_is_a_collision)
{
	unsigned char image[OBJECT_MAX];
	real_image(backend, "x", image);
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "raw");
	memcpy(image + HDR_NAME, "someone-else", sizeof("someone-else"));
	int made = test_raw_create(backend, name, image, OBJECT_SIZE);
	cr_assert_eq(made, 0);
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	test_raw_remove(backend, name);
	cr_assert_eq(rc, PSHM_ECOLLISION, "%s", pshm_strerror(rc));
}

struct late_creator {
	pshm_backend_t backend;
	const char *name;
};

/* Publish the ready flag 200 ms from now, as a creator finishing would,
 * then write in the segment as its creator would once pshm_create
 * returned. */
static int publish_later(void *arg)
{
	struct late_creator *c = arg;
	struct timespec nap = {0, 200L * 1000 * 1000};
	nanosleep(&nap, NULL);
	unsigned char *addr = test_raw_map(c->backend, c->name, OBJECT_SIZE);
	if (addr == NULL)
		return 3;
	atomic_store_explicit((_Atomic uint32_t *)(void *)(addr + HDR_STATE), HDR_READY,
	                      memory_order_release);
	strcpy((char *)addr + HDR_SIZE, "payload");
	test_raw_unmap(c->backend, addr, OBJECT_SIZE);
	return 0;
}

BACKEND_TEST(header, attach_waits_for_a_creator_about_to_finish)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "late");
	unsigned char image[OBJECT_MAX];
	real_image(backend, name, image);
	put32(image, HDR_STATE, 0);
	cr_assert_eq(test_raw_create(backend, name, image, OBJECT_SIZE), 0);

	struct late_creator c = {backend, name};
	pid_t pid = test_fork(publish_later, &c);
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	int status = test_wait(pid);
	if (rc < 0)
		test_raw_remove(backend, name);
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	cr_assert_eq(status, 0);
	cr_assert_eq(pshm_size(shm), USABLE);
	cr_assert_str_eq(pshm_addr(shm), "payload");
	cr_assert_eq(pshm_destroy(shm), 0);
}
