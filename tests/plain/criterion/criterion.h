/*
 * criterion/criterion.h - the part of Criterion's API that libpshm's suites
 * use, for builds where Criterion is not installed: cross-compiled and
 * emulated architectures, other C libraries (configure --without-criterion).
 * The suites compile unchanged against it; tests/plain/runner.c runs them,
 * each test in a forked child, one at a time, and closes with
 * "N passed, N failed, N skipped".
 */
#ifndef PSHM_PLAIN_CRITERION_H
#define PSHM_PLAIN_CRITERION_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Options of Test() and ParameterizedTest(): ".timeout = SECONDS". */
struct cr_plain_options {
	int unused; /* so that the options may be empty */
	double timeout;
};

/* The parameters of a ParameterizedTest, as cr_make_param_array gives them. */
struct criterion_test_params {
	size_t size;
	void *params;
	size_t length;
};

#define cr_make_param_array(Type, Array, Len) \
	((struct criterion_test_params){.size = sizeof(Type), .params = (Array), .length = (Len)})

/* One test, registered before main by a constructor. */
struct cr_plain_test {
	const char *suite;
	const char *name;
	void (*run)(void *param); /* param: NULL for a Test */
	struct criterion_test_params (*params)(void); /* NULL for a Test */
	struct cr_plain_options options;
	struct cr_plain_test *next;
};

void cr_plain_register(struct cr_plain_test *test);

#define CR_PLAIN_REGISTER(suite, name, run, params, ...)                                        \
	static struct cr_plain_test suite##_##name##_plain_test = {#suite, #name, run, params,       \
	                                                      {0, __VA_ARGS__}, NULL};           \
	__attribute__((constructor)) static void suite##_##name##_plain_register(void)          \
	{                                                                                        \
		cr_plain_register(&suite##_##name##_plain_test);                                     \
	}

#define Test(suite, name, ...)                                                    \
	static void suite##_##name##_plain_body(void);                                  \
	static void suite##_##name##_plain_run(void *param)                             \
	{                                                                         \
		(void)param;                                                      \
		suite##_##name##_plain_body();                                          \
	}                                                                         \
	CR_PLAIN_REGISTER(suite, name, suite##_##name##_plain_run, NULL, __VA_ARGS__)   \
	static void suite##_##name##_plain_body(void)

/* Checks: each reports where it failed and what it checked, then the
 * caller's message.  The fatal ones end the test; the cr_expect ones let it
 * go on, failed. */
void cr_plain_failing(const char *file, int line, const char *what);
void cr_plain_failed(int fatal);
void cr_plain_skipping(void);
__attribute__((noreturn)) void cr_plain_skipped(void);
const char *cr_plain_current(void);

#define CR_PLAIN_CHECK(fatal, ok, what, ...)                         \
	do {                                                         \
		if (!(ok)) {                                         \
			cr_plain_failing(__FILE__, __LINE__, what);  \
			printf(" " __VA_ARGS__);                     \
			cr_plain_failed(fatal);                      \
		}                                                    \
	} while (0)

#define cr_assert(c, ...) CR_PLAIN_CHECK(1, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) CR_PLAIN_CHECK(1, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_null(p, ...) CR_PLAIN_CHECK(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) CR_PLAIN_CHECK(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) CR_PLAIN_CHECK(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) CR_PLAIN_CHECK(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) CR_PLAIN_CHECK(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) CR_PLAIN_CHECK(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) CR_PLAIN_CHECK(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) CR_PLAIN_CHECK(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) \
	CR_PLAIN_CHECK(1, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) \
	CR_PLAIN_CHECK(1, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)

#define cr_expect(c, ...) CR_PLAIN_CHECK(0, (c), #c, __VA_ARGS__)
#define cr_expect_null(p, ...) CR_PLAIN_CHECK(0, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_eq(a, b, ...) CR_PLAIN_CHECK(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) CR_PLAIN_CHECK(0, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) CR_PLAIN_CHECK(0, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) CR_PLAIN_CHECK(0, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) CR_PLAIN_CHECK(0, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) CR_PLAIN_CHECK(0, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) \
	CR_PLAIN_CHECK(0, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) \
	CR_PLAIN_CHECK(0, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)

#define cr_skip_test(...) \
	(cr_plain_skipping(), printf(" " __VA_ARGS__), cr_plain_skipped())
#define CR_PLAIN_LOG(level, ...)                                              \
	(fprintf(stderr, "[" level "] %s: ", cr_plain_current()),             \
	 fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))
#define cr_log_info(...) CR_PLAIN_LOG("info", __VA_ARGS__)
#define cr_log_warn(...) CR_PLAIN_LOG("warning", __VA_ARGS__)

#endif /* PSHM_PLAIN_CRITERION_H */
