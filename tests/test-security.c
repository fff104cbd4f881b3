/*
 * test-security.c - other users and hostile file systems.  A segment that
 * another user owns is refused unless PSHM_ANY_OWNER asks for it; the mmap
 * backend refuses a directory where others could plant or swap its files;
 * no name reaches outside its namespace.  (Default modes and exclusive
 * creation are checked per backend in test-backend-*.c.)
 *
 * The other user is "nobody" (uid 65534), which needs root: run as anyone
 * else, those tests skip and say so.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define NOBODY 65534

static pshm_attr_t attr_for(pshm_backend_t b, unsigned flags)
{
	pshm_attr_t attr;
	test_attr(&attr, b, flags);
	return attr;
}

struct foreign {
	pshm_backend_t backend;
	const char *name;
};

/* As nobody, create the segment, readable and writable by all, and leave. */
static int create_as_nobody(void *arg)
{
	const struct foreign *f = arg;
	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 3;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, f->backend);
	pshm_attr_set_mode(&attr, 0666);
	pshm_t *shm;
	if (pshm_create(&shm, f->name, 4096, &attr) != 0)
		return 4;
	strcpy(pshm_addr(shm), "planted");
	return pshm_detach(shm) == 0 ? 0 : 5;
}

BACKEND_TEST(security, a_segment_of_another_user_needs_pshm_any_owner)
{
	if (geteuid() != 0)
		cr_skip_test("needs root, to create a segment as another user");
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "foreign");
	struct foreign f = {backend, name};
	int status = test_wait(test_fork(create_as_nobody, &f));
	if (status == 3)
		cr_skip_test("cannot become uid %d here", NOBODY);
	cr_assert_eq(status, 0, "the other user's create failed (step %d)", status);

	pshm_attr_t attr = attr_for(backend, 0);
	pshm_t *shm = NULL;
	int rc = pshm_attach(&shm, name, &attr);
	int refused = rc == PSHM_EOWNER;
	if (rc == 0)
		pshm_detach(shm);

	pshm_attr_t any = attr_for(backend, PSHM_ANY_OWNER);
	rc = pshm_attach(&shm, name, &any);
	int accepted = rc == 0 && strcmp(pshm_addr(shm), "planted") == 0;
	if (rc == 0)
		pshm_detach(shm);
	cr_assert_eq(pshm_remove(name, &attr), 0);
	cr_assert(refused, "attach without PSHM_ANY_OWNER was not refused");
	cr_assert(accepted, "attach with PSHM_ANY_OWNER failed: %s", pshm_strerror(rc));
}

Test(security, pshm_any_owner_is_for_attach_only)
{
	pshm_attr_t attr = attr_for(pshm_default_backend(), PSHM_ANY_OWNER);
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), -EINVAL);
	cr_assert_null(shm);
	attr = attr_for(pshm_default_backend(), PSHM_NORESERVE);
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "flags");
	cr_assert_eq(pshm_attach(&shm, name, &attr), -EINVAL);
	cr_assert_str_neq(pshm_strerror(PSHM_EOWNER), "Unknown error");
	cr_assert_str_neq(pshm_strerror(PSHM_EUNSAFE), "Unknown error");
}

/* ------------------------------------------------------------------------ */
/* The mmap backend's directory                                             */

#if PSHM_HAVE_MMAP

/* create, attach and remove of one name in directory dir: the codes. */
static void codes_in(const char *dir, int codes[3])
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "dir");
	pshm_attr_t attr = attr_for(PSHM_BACKEND_MMAP, 0);
	cr_assert_eq(setenv("PSHM_MMAP_DIR", dir, 1), 0);
	pshm_t *shm = NULL;
	codes[0] = pshm_create(&shm, name, 64, &attr);
	if (codes[0] == 0)
		pshm_detach(shm);
	codes[1] = pshm_attach(&shm, name, &attr);
	if (codes[1] == 0)
		pshm_detach(shm);
	codes[2] = pshm_remove(name, &attr);
	cr_assert_eq(unsetenv("PSHM_MMAP_DIR"), 0);
}

static void expect_codes(const char *dir, int want, const char *why)
{
	int got[3];
	codes_in(dir, got);
	const char *call[3] = {"create", "attach", "remove"};
	for (int i = 0; i < 3; i++)
		cr_expect_eq(got[i], want, "%s: %s gave %s", why, call[i], pshm_strerror(got[i]));
}

Test(security, a_directory_others_can_write_without_the_sticky_bit_is_refused)
{
	char dir[] = "/tmp/pshm-dir-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chmod(dir, 0777), 0);
	expect_codes(dir, PSHM_EUNSAFE, "mode 0777");
	cr_assert_eq(chmod(dir, 0770), 0);
	expect_codes(dir, PSHM_EUNSAFE, "mode 0770");

	cr_assert_eq(chmod(dir, 01777), 0); /* like /tmp and /dev/shm */
	int got[3];
	codes_in(dir, got);
	cr_expect_eq(got[0], 0, "mode 01777: create: %s", pshm_strerror(got[0]));
	cr_expect_eq(got[1], 0, "mode 01777: attach: %s", pshm_strerror(got[1]));
	cr_expect_eq(got[2], 0, "mode 01777: remove: %s", pshm_strerror(got[2]));
	cr_assert_eq(rmdir(dir), 0, "something was left in the directory");
}

Test(security, a_directory_that_is_a_symbolic_link_is_refused)
{
	char dir[] = "/tmp/pshm-dir-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char link[sizeof(dir) + 8];
	snprintf(link, sizeof(link), "%s.link", dir);
	cr_assert_eq(symlink(dir, link), 0);
	int got[3];
	codes_in(link, got);
	unlink(link);
	for (int i = 0; i < 3; i++)
		cr_expect(got[i] == -ELOOP || got[i] == -ENOTDIR, "call %d gave %s", i,
		          pshm_strerror(got[i]));
	cr_assert_eq(rmdir(dir), 0, "a segment was made through the link");
}

Test(security, a_directory_of_another_user_is_refused)
{
	if (geteuid() != 0)
		cr_skip_test("needs root, to give a directory to another user");
	char dir[] = "/tmp/pshm-dir-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chown(dir, NOBODY, NOBODY), 0);
	expect_codes(dir, PSHM_EUNSAFE, "owned by nobody");
	cr_assert_eq(rmdir(dir), 0);
}

#endif /* PSHM_HAVE_MMAP */

/* ------------------------------------------------------------------------ */
/* Names                                                                    */

BACKEND_TEST(security, no_name_escapes_its_namespace)
{
	static const char *const escapes[] = {
	    "../pshm-escape", "..", ".", "/pshm-escape", "a/../../pshm-escape",
	    "pshm-escape/", "pshm\\escape", "pshm escape", "pshm-escape\n", ".pshm-escape",
	};
	pshm_attr_t attr = attr_for(backend, 0);
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		pshm_t *shm = NULL;
		cr_expect_eq(pshm_create(&shm, escapes[i], 64, &attr), -EINVAL, "create \"%s\"", escapes[i]);
		cr_expect_null(shm);
		cr_expect_eq(pshm_attach(&shm, escapes[i], &attr), -EINVAL, "attach \"%s\"", escapes[i]);
		cr_expect_eq(pshm_remove(escapes[i], &attr), -EINVAL, "remove \"%s\"", escapes[i]);
	}
	struct stat st;
	cr_assert_neq(stat("/dev/pshm-escape", &st), 0);
	cr_assert_neq(stat("/pshm-escape", &st), 0);
}
