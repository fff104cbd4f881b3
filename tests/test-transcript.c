/*
 * test-transcript.c - "the same behaviour on every backend", as one check:
 * a scenario of several processes (forked children and exec'd unrelated
 * ones) runs on each backend, every process reports what it observed, and
 * the transcripts must be identical to each other and to the expected one.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define TRANSCRIPT_MAX 4096
#define ECHO_REPLY_OFFSET 1024 /* as in pshm-helper.c */

struct transcript {
	char text[TRANSCRIPT_MAX];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void note(struct transcript *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* clang 14's analyzer misses the va_start just above. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	int n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof(t->text) - t->len, "transcript full");
	t->len += (size_t)n;
}

/* The helper's observation, one line, noted as "who: line". */
static void note_helper(struct transcript *t, const char *who, pshm_backend_t b, const char *name,
                        const char *cmd, const char *arg)
{
	char out[256];
	const char *args[] = {pshm_backend_name(b), name, cmd, arg, NULL};
	int status = test_run_helper(args, out, sizeof(out));
	if (status == 128 + SIGSEGV || status == 128 + SIGBUS)
		note(t, "%s: %sthen a fault\n", who, out);
	else
		note(t, "%s: %sexit %d\n", who, out, status);
}

struct child_report {
	char *data;
	int fd; /* where the child writes what it saw */
};

static int anonymous_child(void *arg)
{
	struct child_report *c = arg;
	char line[128];
	int n = snprintf(line, sizeof(line), "child saw \"%s\"\n", c->data);
	strcpy(c->data, "written by the child");
	return write(c->fd, line, (size_t)n) == n ? 0 : 3;
}

static void anonymous_part(struct transcript *t, pshm_backend_t b, const pshm_attr_t *attr)
{
	pshm_t *shm = NULL;
	note(t, "create anonymous: %s\n", pshm_strerror(pshm_create(&shm, NULL, 4096, attr)));
	cr_assert_not_null(shm);
	note(t, "size %zu, name %s\n", pshm_size(shm), pshm_name(shm) ? "set" : "none");
	strcpy(pshm_addr(shm), "written by the parent");

	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	struct child_report c = {pshm_addr(shm), fds[1]};
	int status = test_wait(test_fork(anonymous_child, &c));
	close(fds[1]);
	char line[128] = {0};
	cr_assert_gt(read(fds[0], line, sizeof(line) - 1), 0);
	close(fds[0]);
	note(t, "%schild exit %d\n", line, status);
	note(t, "parent saw \"%s\"\n", (char *)pshm_addr(shm));
	note(t, "destroy anonymous: %s\n", pshm_strerror(pshm_destroy(shm)));
	(void)b;
}

static void named_part(struct transcript *t, pshm_backend_t b, const pshm_attr_t *attr)
{
	char name[PSHM_NAME_MAX + 1];
	test_name(name, "transcript");
	pshm_t *shm = NULL, *dup = NULL;
	note(t, "create named: %s\n", pshm_strerror(pshm_create(&shm, name, 4096, attr)));
	cr_assert_not_null(shm);
	note(t, "create it again: %s\n", pshm_strerror(pshm_create(&dup, name, 4096, attr)));
	strcpy(pshm_addr(shm), "greetings");

	note_helper(t, "unrelated", b, name, "attach", NULL);
	note_helper(t, "unrelated", b, name, "echo", NULL);
	note(t, "creator saw \"%s\"\n", (char *)pshm_addr(shm) + ECHO_REPLY_OFFSET);

	memset(pshm_addr(shm), 0, 8);
	note_helper(t, "counter 1", b, name, "increment", "1000");
	note_helper(t, "counter 2", b, name, "increment", "2000");
	note(t, "creator counted %llu\n",
	     (unsigned long long)atomic_load((_Atomic uint64_t *)pshm_addr(shm)));

	strcpy(pshm_addr(shm), "read-only");
	note_helper(t, "read-only writer", b, name, "write-ro", NULL);
	note(t, "creator saw \"%s\"\n", (char *)pshm_addr(shm));

	note(t, "destroy named: %s\n", pshm_strerror(pshm_destroy(shm)));
	note(t, "attach after destroy: %s\n", pshm_strerror(pshm_attach(&dup, name, attr)));
	note_helper(t, "unrelated", b, name, "attach", NULL);
	note(t, "remove after destroy: %s\n", pshm_strerror(pshm_remove(name, attr)));
}

static void run_scenario(pshm_backend_t b, struct transcript *t)
{
	pshm_attr_t attr;
	test_attr(&attr, b, 0);
	t->len = 0;
	t->text[0] = '\0';
	anonymous_part(t, b, &attr);
	named_part(t, b, &attr);
}

static const char expected[] =
	"create anonymous: Success\n"
	"size 4096, name none\n"
	"child saw \"written by the parent\"\n"
	"child exit 0\n"
	"parent saw \"written by the child\"\n"
	"destroy anonymous: Success\n"
	"create named: Success\n"
	"create it again: A segment with that name already exists\n"
	"unrelated: attach=0 size=4096\n"
	"exit 0\n"
	"unrelated: read=greetings\n"
	"exit 0\n"
	"creator saw \"seen:greetings\"\n"
	"counter 1: done\n"
	"exit 0\n"
	"counter 2: done\n"
	"exit 0\n"
	"creator counted 3000\n"
	"read-only writer: attached\n"
	"then a fault\n"
	"creator saw \"read-only\"\n"
	"destroy named: Success\n"
	"attach after destroy: No segment with that name\n"
	"unrelated: attach=-2\n"
	"exit 0\n"
	"remove after destroy: No segment with that name\n";

Test(transcript, every_backend_tells_the_same_story, .timeout = 120)
{
	static struct transcript transcripts[PSHM_BACKEND_MAX];
	pshm_backend_t list[PSHM_BACKEND_MAX];
	size_t n = test_backends(list);
	cr_assert_geq(n, 1);
	for (size_t i = 0; i < n; i++) {
		run_scenario(list[i], &transcripts[i]);
		cr_log_info("transcript of %s:\n%s", pshm_backend_name(list[i]), transcripts[i].text);
	}
	for (size_t i = 1; i < n; i++)
		cr_assert_str_eq(transcripts[i].text, transcripts[0].text,
		                 "%s and %s differ:\n--- %s\n%s--- %s\n%s", pshm_backend_name(list[0]),
		                 pshm_backend_name(list[i]), pshm_backend_name(list[0]), transcripts[0].text,
		                 pshm_backend_name(list[i]), transcripts[i].text);
	cr_assert_str_eq(transcripts[0].text, expected, "the shared story is not the expected one:\n%s",
	                 transcripts[0].text);
}
