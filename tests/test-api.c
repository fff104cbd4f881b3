/*
 * test-api.c - the parts of the API that do not depend on a backend:
 * backend names and selection (a backend first used in a shortage is not
 * written off), error descriptions, attributes, and the accessors' answers
 * for a NULL handle.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pshm.h>

#include "testutil.h"

Test(backend, names_are_the_contracts)
{
	cr_assert_str_eq(pshm_backend_name(PSHM_BACKEND_SYSV), "sysv");
	cr_assert_str_eq(pshm_backend_name(PSHM_BACKEND_POSIX), "posix");
	cr_assert_str_eq(pshm_backend_name(PSHM_BACKEND_MMAP), "mmap");
	cr_assert_str_eq(pshm_backend_name(PSHM_BACKEND_WINDOWS), "windows");
	cr_assert_str_eq(pshm_backend_name(PSHM_BACKEND_DEFAULT),
	                 pshm_backend_name(pshm_default_backend()));
	cr_assert_str_eq(pshm_backend_name(PSHM_BACKEND_MAX), "unknown");
	cr_assert_str_eq(pshm_backend_name((pshm_backend_t)-1), "unknown");
}

Test(backend, default_is_resolved_and_supported)
{
	pshm_backend_t def = pshm_default_backend();
	cr_assert_neq(def, PSHM_BACKEND_DEFAULT);
	cr_assert(def == PSHM_BACKEND_SYSV || def == PSHM_BACKEND_POSIX || def == PSHM_BACKEND_MMAP);
	cr_assert_eq(pshm_backend_supported(def), 1);
	cr_assert_eq(pshm_backend_supported(PSHM_BACKEND_DEFAULT), 1);
	cr_assert_eq(pshm_backend_supported(PSHM_BACKEND_MAX), 0);
	cr_assert_eq(pshm_backend_supported((pshm_backend_t)-7), 0);
}

Test(backend, handle_reports_the_backend_it_used)
{
	pshm_backend_t list[PSHM_BACKEND_MAX];
	size_t n = test_backends(list);
	cr_assert_geq(n, 1);
	for (size_t i = 0; i < n; i++) {
		pshm_attr_t attr;
		test_attr(&attr, list[i], 0);
		pshm_t *shm = NULL;
		cr_assert_eq(pshm_create(&shm, NULL, 100, &attr), 0);
		cr_assert_eq(pshm_backend(shm), list[i]);
		cr_assert_eq(pshm_destroy(shm), 0);
	}
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, NULL, 100, NULL), 0);
	cr_assert_eq(pshm_backend(shm), pshm_default_backend());
	cr_assert_eq(pshm_detach(shm), 0);
}

Test(error, every_code_has_its_own_description)
{
	static const int codes[] = {
		0, -EINVAL, -EEXIST, -ENOENT, -EACCES, -ENOMEM, -ENOSPC, -ENOTSUP,
		PSHM_ENOTPSHM, PSHM_EVERSION, PSHM_ENOTREADY, PSHM_ECOLLISION, PSHM_ECORRUPT,
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);
	for (size_t i = 0; i < n; i++) {
		const char *text = pshm_strerror(codes[i]);
		cr_assert_not_null(text);
		cr_assert_str_neq(text, "Unknown error", "code %d", codes[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(text, pshm_strerror(codes[j]), "codes %d and %d", codes[i], codes[j]);
	}
	cr_assert_str_eq(pshm_strerror(0), "Success");
}

Test(error, library_codes_are_below_minus_1000)
{
	cr_assert_lt(PSHM_ENOTPSHM, -1000);
	cr_assert_lt(PSHM_EVERSION, -1000);
	cr_assert_lt(PSHM_ENOTREADY, -1000);
	cr_assert_lt(PSHM_ECOLLISION, -1000);
	cr_assert_lt(PSHM_ECORRUPT, -1000);
}

Test(error, unknown_codes_are_described_not_crashed_on)
{
	cr_assert_str_eq(pshm_strerror(-999), "Unknown error");
	cr_assert_str_eq(pshm_strerror(5), "Unknown error");
	cr_assert_str_eq(pshm_strerror(INT32_MIN), "Unknown error");
	cr_assert_str_eq(pshm_strerror(-1999), "Unknown error");
}

Test(attr, setters_refuse_null_and_uninitialized)
{
	cr_assert_eq(pshm_attr_init(NULL), -EINVAL);
	cr_assert_eq(pshm_attr_set_backend(NULL, PSHM_BACKEND_SYSV), -EINVAL);
	cr_assert_eq(pshm_attr_set_mode(NULL, 0600), -EINVAL);
	cr_assert_eq(pshm_attr_set_flags(NULL, 0), -EINVAL);

	pshm_attr_t attr;
	memset(&attr, 0, sizeof(attr));
	cr_assert_eq(pshm_attr_set_backend(&attr, PSHM_BACKEND_SYSV), -EINVAL);
	cr_assert_eq(pshm_attr_set_mode(&attr, 0600), -EINVAL);
	cr_assert_eq(pshm_attr_set_flags(&attr, 0), -EINVAL);
}

Test(attr, setters_refuse_bad_values)
{
	pshm_attr_t attr;
	cr_assert_eq(pshm_attr_init(&attr), 0);
	cr_assert_eq(pshm_attr_set_backend(&attr, PSHM_BACKEND_MAX), -EINVAL);
	cr_assert_eq(pshm_attr_set_backend(&attr, (pshm_backend_t)-1), -EINVAL);
	cr_assert_eq(pshm_attr_set_mode(&attr, 01777), -EINVAL);
	cr_assert_eq(pshm_attr_set_mode(&attr, 04600), -EINVAL);
	cr_assert_eq(pshm_attr_set_flags(&attr, 0x80000000u), -EINVAL);
	cr_assert_eq(pshm_attr_set_flags(&attr, ~0u), -EINVAL);

	cr_assert_eq(pshm_attr_set_backend(&attr, PSHM_BACKEND_DEFAULT), 0);
	cr_assert_eq(pshm_attr_set_mode(&attr, 0), 0);
	cr_assert_eq(pshm_attr_set_mode(&attr, 0777), 0);
	cr_assert_eq(pshm_attr_set_flags(&attr, PSHM_RDONLY), 0);
	cr_assert_eq(pshm_attr_set_flags(&attr, 0), 0);
}

Test(attr, calls_refuse_an_uninitialized_or_tampered_attr)
{
	pshm_attr_t attr;
	memset(&attr, 0, sizeof(attr));
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), -EINVAL);
	cr_assert_eq(pshm_attach(&shm, "x", &attr), -EINVAL);
	cr_assert_eq(pshm_remove("x", &attr), -EINVAL);

	cr_assert_eq(pshm_attr_init(&attr), 0);
	attr.pshm_private_backend = 9;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), -EINVAL);
	cr_assert_eq(pshm_attr_init(&attr), 0);
	attr.pshm_private_flags = 0x100;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), -EINVAL);
	cr_assert_eq(pshm_attr_init(&attr), 0);
	attr.pshm_private_mode = 07777;
	cr_assert_eq(pshm_create(&shm, NULL, 64, &attr), -EINVAL);
	cr_assert_null(shm);
}

Test(attr, room_is_reserved_for_later_fields)
{
	cr_assert_geq(sizeof(pshm_attr_t), 64);
}

Test(handle, accessors_accept_null)
{
	cr_assert_null(pshm_addr(NULL));
	cr_assert_eq(pshm_size(NULL), 0);
	cr_assert_null(pshm_name(NULL));
	cr_assert_eq(pshm_backend(NULL), PSHM_BACKEND_DEFAULT);
	cr_assert_eq(pshm_detach(NULL), -EINVAL);
	cr_assert_eq(pshm_destroy(NULL), -EINVAL);
}

Test(handle, calls_refuse_null_arguments)
{
	pshm_t *shm = NULL;
	cr_assert_eq(pshm_create(NULL, NULL, 64, NULL), -EINVAL);
	cr_assert_eq(pshm_create(NULL, "x", 64, NULL), -EINVAL);
	cr_assert_eq(pshm_attach(NULL, "x", NULL), -EINVAL);
	cr_assert_eq(pshm_attach(&shm, NULL, NULL), -EINVAL);
	cr_assert_eq(pshm_remove(NULL, NULL), -EINVAL);
	cr_assert_null(shm);
}

/* The first use of a backend in a process, during a shortage of fds, says
 * so (-EMFILE), and the backend works once fds are free again: a shortage
 * is not "not supported" for the life of the process. */
BACKEND_TEST(backends, a_first_use_out_of_fds_is_emfile_and_not_remembered)
{
	if (test_under_valgrind())
		cr_skip_test("valgrind turns an fd the kernel gave into EMFILE: a file "
		             "made by the probe would be left behind");
	char out[64];
	const char *args[] = {pshm_backend_name(backend), "unused", "first-use", NULL};
	int status = test_run_helper(args, out, sizeof(out));
	cr_assert_eq(status, 0, "%s", out);
	int first = 1, then = 1;
	cr_assert_eq(sscanf(out, "first=%d then=%d", &first, &then), 2, "%s", out);
	cr_expect(first == 0 || first == -EMFILE, "first use: %s", pshm_strerror(first));
	cr_expect_eq(then, 0, "with fds free again: %s", pshm_strerror(then));
}
