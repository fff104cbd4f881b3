/*
 * pshm-helper.c - the "unrelated process" of the tests: a separate program,
 * started with exec, that reaches a segment by name only.
 *
 *   pshm-helper BACKEND NAME attach        print "attach=RC size=N"
 *   pshm-helper BACKEND NAME echo          print the string at offset 0 as
 *                                          "read=STRING"; write "seen:STRING"
 *                                          at offset ECHO_REPLY_OFFSET
 *   pshm-helper BACKEND NAME increment N   add 1, N times, to the _Atomic
 *                                          uint64_t at offset 0
 *   pshm-helper BACKEND NAME locked-add N  add 1, N times, to the plain
 *                                          uint64_t at offset 0, each time
 *                                          under the header lock
 *   pshm-helper BACKEND NAME heap-push N   find or create the shared_list
 *                                          of a managed segment and push N
 *                                          nodes onto it; print "pushed=N
 *                                          created=0|1"
 *   pshm-helper BACKEND FD fd-CMD          CMD (attach, echo...) on the segment
 *                                          of descriptor FD (pshm_attach_fd)
 *   pshm-helper BACKEND SOCK recv-CMD      CMD on the segment received from
 *                                          the Unix socket SOCK (pshm_recv)
 *   pshm-helper BACKEND NAME write-ro      attach read-only, print "attached",
 *                                          then write (the write must fault)
 *   pshm-helper BACKEND NAME remove        print "remove=RC" of pshm_remove
 *   pshm-helper BACKEND NAME half-made     make NAME's object by hand as a
 *                                          creator killed half-way leaves it
 *                                          (one page, zeros but for its pid),
 *                                          and exit: its creator is dead
 *   pshm-helper BACKEND NAME clean-racing  pshm_remove_orphan(NAME), with
 *                                          NAME's orphan replaced by a new
 *                                          segment of the helper's own while
 *                                          the cleaner checks the creator:
 *                                          print "rc=RC swapped=0|1
 *                                          new=kept|lost"
 *   pshm-helper BACKEND NAME first-use     with every fd taken, create an
 *                                          anonymous segment (the backend's
 *                                          first use in this process), then
 *                                          again with fds free: print
 *                                          "first=RC then=RC"
 *
 * Exit status: 0 done, 1 a libpshm call failed (its code printed), 2 usage.
 */
#define _DEFAULT_SOURCE /* syscall */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pshm.h>

#include "rawobj.h"

#define ECHO_REPLY_OFFSET 1024

static int parse_backend(const char *s, pshm_backend_t *b)
{
	for (pshm_backend_t each = PSHM_BACKEND_SYSV; each < PSHM_BACKEND_MAX; each++) {
		if (strcmp(s, pshm_backend_name(each)) == 0) {
			*b = each;
			return 0;
		}
	}
	return -1;
}

static int attach(pshm_t **shm, pshm_backend_t b, const char *name, unsigned flags)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	pshm_attr_set_flags(&attr, flags);
	int rc = pshm_attach(shm, name, &attr);
	if (rc < 0)
		printf("attach=%d\n", rc);
	return rc;
}

/* Reach the segment: by name, or where cmd says "fd-CMD" by the
 * descriptor NAME (pshm_attach_fd), or where it says "recv-CMD" from the
 * Unix socket NAME (pshm_recv); *cmd is then CMD. */
static int reach(pshm_t **shm, pshm_backend_t b, const char *name, const char **cmd, unsigned flags)
{
	int rc;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_flags(&attr, flags);
	if (strncmp(*cmd, "fd-", 3) == 0) {
		*cmd += 3;
		rc = pshm_attach_fd(shm, atoi(name), &attr);
	} else if (strncmp(*cmd, "recv-", 5) == 0) {
		*cmd += 5;
		rc = pshm_recv(atoi(name), shm, &attr);
	} else {
		return attach(shm, b, name, flags);
	}
	if (rc < 0)
		printf("attach=%d\n", rc);
	return rc;
}

static int do_echo(pshm_t *shm)
{
	char *data = pshm_addr(shm);
	size_t size = pshm_size(shm);
	if (size < (size_t)2 * ECHO_REPLY_OFFSET)
		return 2;
	const char *text = data;
	size_t len = strnlen(text, ECHO_REPLY_OFFSET - 8);
	printf("read=%.*s\n", (int)len, text);
	memcpy(data + ECHO_REPLY_OFFSET, "seen:", 5);
	memcpy(data + ECHO_REPLY_OFFSET + 5, text, len);
	data[ECHO_REPLY_OFFSET + 5 + len] = '\0';
	return 0;
}

static int do_increment(pshm_t *shm, const char *count)
{
	long n = strtol(count, NULL, 10);
	_Atomic uint64_t *counter = pshm_addr(shm);
	for (long i = 0; i < n; i++)
		atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
	printf("done\n");
	return 0;
}

static int do_locked_add(pshm_t *shm, const char *count)
{
	long n = strtol(count, NULL, 10);
	uint64_t *counter = pshm_addr(shm);
	for (long i = 0; i < n; i++) {
		int rc = pshm_lock(shm);
		if (rc < 0) {
			printf("lock=%d\n", rc);
			return 1;
		}
		++*counter;
		rc = pshm_unlock(shm);
		if (rc < 0) {
			printf("unlock=%d\n", rc);
			return 1;
		}
	}
	printf("done\n");
	return 0;
}

static int do_write_ro(pshm_t *shm)
{
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	printf("attached\n");
	fflush(stdout);
	*(volatile char *)pshm_addr(shm) = 1;
	printf("wrote\n");
	return 0;
}

static int do_half_made(pshm_backend_t b, const char *name)
{
	size_t len = test_page_size();
	unsigned char *page = calloc(1, len);
	if (page == NULL)
		return 1;
	int64_t pid = (int64_t)getpid();
	memcpy(page + HDR_CREATOR_PID, &pid, sizeof(pid));
	uint64_t pidns = 0; /* the creator's PID namespace, as libpshm records it */
#if PSHM_HAVE_PROC
	struct stat ns;
	if (stat("/proc/self/ns/pid", &ns) == 0)
		pidns = (uint64_t)ns.st_ino;
#endif
	memcpy(page + HDR_CREATOR_PIDNS, &pidns, sizeof(pidns));
	int rc = test_raw_create(b, name, page, len);
	free(page);
	printf("half-made=%d\n", rc);
	return rc < 0;
}

/* Take every free fd (under a low limit, so that it is quick); return how
 * many, their numbers in fds. */
static int take_every_fd(int fds[], int room)
{
	struct rlimit lim = {64, 64};
	setrlimit(RLIMIT_NOFILE, &lim);
	int n = 0;
	while (n < room && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	return n;
}

static int do_first_use(pshm_backend_t b)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	int fds[64];
	int n = take_every_fd(fds, 64);
	pshm_t *shm = NULL;
	int first = pshm_create(&shm, NULL, 4096, &attr);
	if (first == 0)
		pshm_destroy(shm);
	while (n > 0)
		close(fds[--n]);
	int then = pshm_create(&shm, NULL, 4096, &attr);
	if (then == 0)
		pshm_destroy(shm);
	printf("first=%d then=%d\n", first, then);
	return 0;
}

/* clean-racing: what the interposed kill() swaps, once. */
static struct {
	pshm_backend_t backend;
	const char *name;
	pshm_t *made; /* the new segment */
	int armed;
} race;

/*
 * kill(pid, 0) is how the cleaner asks whether a creator lives, between
 * judging the object under a name and removing it.  This program's own
 * kill (which libpshm's calls resolve to) plays the process that cleans
 * up and starts anew at that moment: it removes the orphan and creates
 * a new segment under the same name.  Then it does what kill does.
 */
int kill(pid_t pid, int sig)
{
	if (race.armed && sig == 0) {
		race.armed = 0;
		pshm_attr_t attr;
		pshm_attr_init(&attr);
		pshm_attr_set_backend(&attr, race.backend);
		if (pshm_remove(race.name, &attr) == 0 &&
		    pshm_create(&race.made, race.name, 64, &attr) == 0)
			strcpy(pshm_addr(race.made), "new");
	}
	return (int)syscall(SYS_kill, pid, sig);
}

static int do_clean_racing(pshm_backend_t b, const char *name)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	race.backend = b;
	race.name = name;
	race.armed = 1;
	int rc = pshm_remove_orphan(name, &attr);
	pshm_t *found = NULL;
	int kept = race.made != NULL && pshm_attach(&found, name, &attr) == 0 &&
	           strcmp(pshm_addr(found), "new") == 0;
	if (found != NULL)
		pshm_detach(found);
	printf("rc=%d swapped=%d new=%s\n", rc, race.made != NULL, kept ? "kept" : "lost");
	if (race.made != NULL)
		pshm_destroy(race.made);
	return 0;
}

static int do_heap_push(pshm_t *shm, const char *count)
{
	long n = strtol(count, NULL, 10);
	pshm_off_t at;
	int created = pshm_object(shm, SHARED_LIST_NAME, sizeof(struct shared_list),
	                          shared_list_init, NULL, &at);
	if (created < 0) {
		printf("object=%d\n", created);
		return 1;
	}
	struct shared_list *list = pshm_ptr(shm, at);
	for (long i = 0; i < n; i++) {
		pshm_off_t node;
		int rc = pshm_alloc(shm, sizeof(struct shared_node), &node);
		if (rc == 0)
			rc = pshm_mutex_lock(&list->lock);
		if (rc < 0) {
			printf("alloc/lock=%d\n", rc);
			return 1;
		}
		struct shared_node *p = pshm_ptr(shm, node);
		p->value = (uint64_t)getpid() << 32 | (uint64_t)i;
		p->next = list->head;
		list->head = node;
		list->count++;
		pshm_mutex_unlock(&list->lock);
	}
	printf("pushed=%ld created=%d\n", n, created);
	return 0;
}

int main(int argc, char **argv)
{
	pshm_backend_t b;
	if (argc < 4 || parse_backend(argv[1], &b) < 0)
		return 2;
	const char *name = argv[2], *cmd = argv[3];

	if (strcmp(cmd, "half-made") == 0)
		return do_half_made(b, name);
	if (strcmp(cmd, "first-use") == 0)
		return do_first_use(b);
	if (strcmp(cmd, "clean-racing") == 0)
		return do_clean_racing(b, name);
	if (strcmp(cmd, "remove") == 0) {
		pshm_attr_t attr;
		pshm_attr_init(&attr);
		pshm_attr_set_backend(&attr, b);
		printf("remove=%d\n", pshm_remove(name, &attr));
		return 0;
	}

	int rdonly = strcmp(cmd, "write-ro") == 0;
	pshm_t *shm;
	if (reach(&shm, b, name, &cmd, rdonly ? PSHM_RDONLY : 0) < 0)
		return strcmp(cmd, "attach") == 0 ? 0 : 1;

	int status = 2;
	if (strcmp(cmd, "attach") == 0) {
		printf("attach=0 size=%zu\n", pshm_size(shm));
		status = 0;
	} else if (strcmp(cmd, "echo") == 0) {
		status = do_echo(shm);
	} else if (strcmp(cmd, "increment") == 0 && argc == 5) {
		status = do_increment(shm, argv[4]);
	} else if (strcmp(cmd, "locked-add") == 0 && argc == 5) {
		status = do_locked_add(shm, argv[4]);
	} else if (strcmp(cmd, "heap-push") == 0 && argc == 5) {
		status = do_heap_push(shm, argv[4]);
	} else if (rdonly) {
		status = do_write_ro(shm);
	}
	int rc = pshm_detach(shm);
	if (rc < 0) {
		printf("detach=%d\n", rc);
		return 1;
	}
	return status;
}
