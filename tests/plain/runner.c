/*
 * runner.c - the main() of a suite built against the plain Criterion API
 * (criterion/criterion.h beside it): every registered test, sorted by
 * suite and name, runs in a forked child of its own, one after the other,
 * under an alarm, and what it leaves running is killed after it; one line per test that fails or skips, then
 * "N passed, N failed, N skipped".  Exits 0 when nothing failed.
 *
 * Options: --filter=SUITE/NAME (a prefix) runs only those; Criterion's
 * others (--jobs=N...) are accepted and ignored.
 */
#define _POSIX_C_SOURCE 200809L
#include "criterion/criterion.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIPPED_STATUS 77       /* a child's exit status: the test skipped */
#define DEFAULT_TIMEOUT_S 600u  /* where a test names none: a hang fails */

static struct cr_plain_test *registered;
static size_t registered_count;
static int expectations_failed; /* in the child: a cr_expect failed */
static char current[256];       /* in the child: the test running */

void cr_plain_register(struct cr_plain_test *test)
{
	test->next = registered;
	registered = test;
	registered_count++;
}

const char *cr_plain_current(void)
{
	return current;
}

void cr_plain_failing(const char *file, int line, const char *what)
{
	printf("FAIL %s: %s:%d: %s:", current, file, line, what);
}

void cr_plain_failed(int fatal)
{
	printf("\n");
	fflush(stdout);
	expectations_failed = 1;
	if (fatal)
		exit(1);
}

void cr_plain_skipping(void)
{
	printf("SKIP %s:", current);
}

void cr_plain_skipped(void)
{
	printf("\n");
	fflush(stdout);
	exit(SKIPPED_STATUS);
}

static int by_suite_and_name(const void *a, const void *b)
{
	const struct cr_plain_test *x = *(struct cr_plain_test *const *)a;
	const struct cr_plain_test *y = *(struct cr_plain_test *const *)b;
	int c = strcmp(x->suite, y->suite);
	return c != 0 ? c : strcmp(x->name, y->name);
}

struct tally {
	unsigned passed, failed, skipped;
};

/* Run test (with param, NULL for a Test) in a child and count the outcome. */
static void run_one(const struct cr_plain_test *test, void *param, const char *label,
                    struct tally *tally)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* its own group, so that what it leaves running is ended */
		snprintf(current, sizeof(current), "%s", label);
		double t = test->options.timeout;
		alarm(t > 0 ? (unsigned)t : DEFAULT_TIMEOUT_S);
		test->run(param);
		fflush(stdout);
		exit(expectations_failed ? 1 : 0);
	}
	int status = 0;
	pid_t got;
	do
		got = pid > 0 ? waitpid(pid, &status, 0) : pid;
	while (got < 0 && errno == EINTR);
	if (pid > 0)
		kill(-pid, SIGKILL); /* children a failed test left behind (ESRCH: none) */
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		tally->passed++;
	} else if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == SKIPPED_STATUS) {
		tally->skipped++;
	} else {
		tally->failed++;
		if (pid < 0)
			printf("FAIL %s: fork: %s\n", label, strerror(errno));
		else if (WIFSIGNALED(status))
			printf("FAIL %s: killed by signal %d%s\n", label, WTERMSIG(status),
			       WTERMSIG(status) == SIGALRM ? " (timed out)" : "");
		else
			printf("FAIL %s: exited with status %d\n", label, WEXITSTATUS(status));
	}
}

/* Run test once, or once per parameter, if its label starts with filter. */
static void run_test(const struct cr_plain_test *test, const char *filter, struct tally *tally)
{
	char label[256];
	snprintf(label, sizeof(label), "%s/%s", test->suite, test->name);
	if (strncmp(label, filter, strlen(filter)) != 0)
		return;
	if (test->params == NULL) {
		run_one(test, NULL, label, tally);
		return;
	}
	struct criterion_test_params params = test->params();
	for (size_t i = 0; i < params.length; i++) {
		char one[300];
		snprintf(one, sizeof(one), "%s/%zu", label, i);
		run_one(test, (char *)params.params + i * params.size, one, tally);
	}
}

int main(int argc, char **argv)
{
	const char *filter = "";
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--filter=", 9) == 0)
			filter = argv[i] + 9;
	struct cr_plain_test **tests = calloc(registered_count + 1, sizeof(struct cr_plain_test *));
	if (tests == NULL)
		return 1;
	size_t n = 0;
	for (struct cr_plain_test *t = registered; t != NULL; t = t->next)
		tests[n++] = t;
	qsort(tests, n, sizeof(struct cr_plain_test *), by_suite_and_name);
	struct tally tally = {0, 0, 0};
	for (size_t i = 0; i < n; i++)
		run_test(tests[i], filter, &tally);
	free(tests);
	printf("%u passed, %u failed, %u skipped\n", tally.passed, tally.failed, tally.skipped);
	return tally.failed == 0 ? 0 : 1;
}
