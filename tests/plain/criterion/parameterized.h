/*
 * criterion/parameterized.h - Criterion's parameterized tests, for the
 * plain runner (see criterion.h beside it): the parameters are asked for
 * once, and each runs as a test of its own.
 */
#ifndef PSHM_PLAIN_PARAMETERIZED_H
#define PSHM_PLAIN_PARAMETERIZED_H

#include "criterion.h"

#define ParameterizedTestParameters(suite, name) \
	static struct criterion_test_params suite##_##name##_plain_params(void)

#define ParameterizedTest(param, suite, name, ...)                                              \
	static void suite##_##name##_plain_body(param);                                               \
	static void suite##_##name##_plain_run(void *p)                                               \
	{                                                                                       \
		suite##_##name##_plain_body(p);                                                       \
	}                                                                                       \
	CR_PLAIN_REGISTER(suite, name, suite##_##name##_plain_run, suite##_##name##_plain_params,          \
	                  __VA_ARGS__)                                                          \
	static void suite##_##name##_plain_body(param)

#endif /* PSHM_PLAIN_PARAMETERIZED_H */
