/*
 * test-windows.c - the contract on Windows, across processes: Windows has
 * no fork, so the suites of the other systems cannot run; this one starts
 * its children with _spawnl (CreateProcess), as unrelated programs, and
 * closes with "N passed, N failed, N skipped" as the plain runner does,
 * counting as skipped every other suite, which cannot run here.
 *
 *   test-windows              run every test
 *   test-windows ROLE NAME    a child's part (see the roles below)
 */
#include <errno.h>
#include <process.h>
#include <pshm.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#define ADDS 10000
#define ADDERS 4
#define HANDED_SIZE 5000 /* an anonymous segment's, handed to a child */

/* What the named segments of these tests hold. */
struct shared {
	pshm_mutex_t lock;
	pshm_cond_t changed; /* count changed */
	pshm_sem_t items;
	long long count;
	atomic_int held; /* the holder that is to die holds the lock */
	char text[64];
};

static const char *self;
static int failures, passes, skips;

#define CHECK(cond, ...)                                           \
	do {                                                       \
		if (!(cond)) {                                     \
			printf("FAIL %s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__);                       \
			printf("\n");                              \
			return 1;                                  \
		}                                                  \
	} while (0)

/* Whether this runs under Wine, which does not do all Windows does. */
static int under_wine(void)
{
	HMODULE ntdll = GetModuleHandleA("ntdll.dll");
	return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* A child running ROLE on segment name: its process handle. */
static intptr_t spawn(const char *role, const char *name)
{
	return _spawnl(_P_NOWAIT, self, self, role, name, NULL);
}

/* Wait for child: its exit status, or -1. */
static int finish(intptr_t child)
{
	int status = -1;
	return _cwait(&status, child, 0) == -1 ? -1 : status;
}

/* ------------------------------------------------------------------------ */
/* The children                                                             */

static int child_writes(pshm_t *shm)
{
	struct shared *s = pshm_addr(shm);
	strcpy(s->text, "written by a child");
	return 0;
}

static int child_adds(pshm_t *shm)
{
	struct shared *s = pshm_addr(shm);
	for (int i = 0; i < ADDS; i++) {
		if (pshm_mutex_lock(&s->lock) != 0)
			return 3;
		s->count++;
		if (pshm_mutex_unlock(&s->lock) != 0)
			return 4;
	}
	return 0;
}

static int child_dies_holding(pshm_t *shm)
{
	struct shared *s = pshm_addr(shm);
	if (pshm_mutex_lock(&s->lock) != 0)
		return 3;
	atomic_store(&s->held, 1);
	Sleep(60000); /* until TerminateProcess */
	return 4;
}

/* Wait up to 10 s for the parent to say go (count 1), then say done (2). */
static int child_waits_on_the_condition(pshm_t *shm)
{
	struct shared *s = pshm_addr(shm);
	if (pshm_mutex_lock(&s->lock) != 0)
		return 3;
	int rc = 0;
	while (s->count == 0 && rc == 0)
		rc = pshm_cond_timedwait(&s->changed, &s->lock, 10000);
	s->count = 2;
	pshm_cond_signal(&s->changed);
	pshm_mutex_unlock(&s->lock);
	return rc == 0 ? 0 : 4;
}

static int child_posts(pshm_t *shm)
{
	struct shared *s = pshm_addr(shm);
	for (int i = 0; i < ADDS; i++)
		if (pshm_sem_post(&s->items) != 0)
			return 3;
	return 0;
}

/* The role "handed" attaches the descriptor (handle) numbered by its
 * argument, "global" the segment it names in Global\, the others the
 * segment it names. */
static int attach_for(const char *role, const char *arg, pshm_t **shm)
{
	if (strcmp(role, "handed") == 0)
		return pshm_attach_fd(shm, atoi(arg), NULL);
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_flags(&attr, strcmp(role, "global") == 0 ? PSHM_GLOBAL : 0);
	if (strcmp(role, "file") == 0)
		pshm_attr_set_backend(&attr, PSHM_BACKEND_MMAP);
	if (strcmp(role, "leave") == 0) { /* made here, and left behind */
		pshm_attr_set_backend(&attr, PSHM_BACKEND_MMAP);
		return pshm_create(shm, arg, sizeof(struct shared), &attr);
	}
	return pshm_attach(shm, arg, &attr);
}

static int run_child(const char *role, const char *name)
{
	pshm_t *shm;
	if (attach_for(role, name, &shm) != 0)
		return 2;
	int rc = strcmp(role, "write") == 0    ? child_writes(shm)
	         : strcmp(role, "handed") == 0 ? (pshm_size(shm) == HANDED_SIZE ? child_writes(shm) : 6)
	         : strcmp(role, "global") == 0 ? child_writes(shm)
	         : strcmp(role, "file") == 0   ? child_writes(shm)
	         : strcmp(role, "leave") == 0  ? child_writes(shm)
	         : strcmp(role, "add") == 0  ? child_adds(shm)
	         : strcmp(role, "die") == 0  ? child_dies_holding(shm)
	         : strcmp(role, "wait") == 0 ? child_waits_on_the_condition(shm)
	         : strcmp(role, "post") == 0 ? child_posts(shm)
	                                     : 9;
	return pshm_detach(shm) == 0 ? rc : 5;
}

/* ------------------------------------------------------------------------ */
/* The tests                                                                */

/* A named segment with its mutex, condition and semaphore (0) made: its
 * handle, or NULL. */
static pshm_t *made(const char *name)
{
	pshm_t *shm = NULL;
	if (pshm_create(&shm, name, sizeof(struct shared), NULL) != 0)
		return NULL;
	struct shared *s = pshm_addr(shm);
	if (pshm_mutex_init(&s->lock) != 0 || pshm_cond_init(&s->changed) != 0 ||
	    pshm_sem_init(&s->items, 0) != 0) {
		pshm_destroy(shm);
		return NULL;
	}
	return shm;
}

static int an_anonymous_segment_is_zeroed_and_writable(void)
{
	pshm_t *shm;
	CHECK(pshm_create(&shm, NULL, 100000, NULL) == 0, "pshm_create");
	CHECK(pshm_backend(shm) == PSHM_BACKEND_WINDOWS, "backend %d", (int)pshm_backend(shm));
	CHECK(pshm_size(shm) == 100000, "size %zu", pshm_size(shm));
	unsigned char *p = pshm_addr(shm);
	for (size_t i = 0; i < pshm_size(shm); i++)
		CHECK(p[i] == 0, "byte %zu is %u", i, p[i]);
	memset(p, 0x5a, pshm_size(shm));
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

static int another_process_attaches_by_name_and_writes(void)
{
	pshm_t *shm = made("win-write");
	CHECK(shm != NULL, "made");
	int status = finish(spawn("write", "win-write"));
	const struct shared *s = pshm_addr(shm);
	CHECK(status == 0, "the child: %d", status);
	CHECK(strcmp(s->text, "written by a child") == 0, "read \"%s\"", s->text);
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

static int four_processes_add_exactly_under_the_mutex(void)
{
	pshm_t *shm = made("win-add");
	CHECK(shm != NULL, "made");
	intptr_t children[ADDERS];
	for (int i = 0; i < ADDERS; i++)
		children[i] = spawn("add", "win-add");
	for (int i = 0; i < ADDERS; i++)
		CHECK(finish(children[i]) == 0, "adder %d", i);
	const struct shared *s = pshm_addr(shm);
	CHECK(s->count == (long long)ADDERS * ADDS, "count %lld", s->count);
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

static int a_holder_terminated_leaves_owner_died(void)
{
	pshm_t *shm = made("win-die");
	CHECK(shm != NULL, "made");
	struct shared *s = pshm_addr(shm);
	intptr_t child = spawn("die", "win-die");
	for (int i = 0; i < 1000 && !atomic_load(&s->held); i++)
		Sleep(10);
	CHECK(atomic_load(&s->held), "the child never held the lock");
	CHECK(TerminateProcess((HANDLE)child, 9), "TerminateProcess");
	finish(child);
	CHECK(pshm_mutex_lock(&s->lock) == PSHM_EOWNERDEAD, "not owner-died");
	CHECK(pshm_mutex_consistent(&s->lock) == 0, "consistent");
	CHECK(pshm_mutex_unlock(&s->lock) == 0, "unlock");
	CHECK(pshm_mutex_lock(&s->lock) == 0, "the lock again");
	CHECK(pshm_mutex_unlock(&s->lock) == 0, "unlock");
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

static int a_condition_wakes_a_waiter_in_another_process(void)
{
	pshm_t *shm = made("win-cond");
	CHECK(shm != NULL, "made");
	struct shared *s = pshm_addr(shm);
	intptr_t child = spawn("wait", "win-cond");
	Sleep(200); /* most likely asleep by now: either way it must not matter */
	CHECK(pshm_mutex_lock(&s->lock) == 0, "lock");
	s->count = 1;
	CHECK(pshm_cond_signal(&s->changed) == 0, "signal");
	int rc = 0;
	while (s->count != 2 && rc == 0)
		rc = pshm_cond_timedwait(&s->changed, &s->lock, 10000);
	CHECK(pshm_mutex_unlock(&s->lock) == 0, "unlock");
	CHECK(rc == 0, "the child's answer: %d", rc);
	CHECK(finish(child) == 0, "the child");
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

static int a_semaphore_hands_every_post_to_another_process(void)
{
	pshm_t *shm = made("win-sem");
	CHECK(shm != NULL, "made");
	struct shared *s = pshm_addr(shm);
	intptr_t child = spawn("post", "win-sem");
	for (int i = 0; i < ADDS; i++)
		CHECK(pshm_sem_timedwait(&s->items, 10000) == 0, "item %d", i);
	CHECK(pshm_sem_trywait(&s->items) == -EAGAIN, "one more than was posted");
	CHECK(finish(child) == 0, "the child");
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

/* Export an anonymous segment (flags) and start a child with its number:
 * the child's exit status; the segment's text in text. */
static int hand_to_a_child(unsigned flags, char text[64])
{
	pshm_t *shm;
	CHECK(pshm_create(&shm, NULL, HANDED_SIZE, NULL) == 0, "pshm_create");
	int fd = pshm_export_fd(shm, flags);
	CHECK(fd >= 0, "pshm_export_fd: %d", fd);
	char number[16];
	snprintf(number, sizeof(number), "%d", fd);
	int status = finish(spawn("handed", number));
	CHECK(CloseHandle((HANDLE)(intptr_t)fd), "CloseHandle");
	memcpy(text, ((struct shared *)pshm_addr(shm))->text, 64);
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return status;
}

static int a_child_attaches_an_anonymous_segment_handed_down(void)
{
	char text[64];
	int status = hand_to_a_child(PSHM_INHERIT, text);
	CHECK(status == 0, "the child: %d", status);
	CHECK(strcmp(text, "written by a child") == 0, "read \"%s\"", text);
	return 0;
}

static int a_handle_not_made_inheritable_stays_with_its_process(void)
{
	char text[64];
	int status = hand_to_a_child(0, text);
	CHECK(status == 2, "the child: %d (2: it could not attach)", status);
	CHECK(text[0] == '\0', "read \"%s\"", text);
	return 0;
}

/* What `pshm ARGS` (tools\\pshm.exe, from where the tests run) prints,
 * into out (len bytes): its exit status, or -1. */
static int pshm_command(const char *args, char *out, size_t len)
{
	char line[256];
	snprintf(line, sizeof(line), "tools\\pshm.exe %s", args);
	FILE *p = _popen(line, "r");
	if (p == NULL)
		return -1;
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return _pclose(p);
}

static int the_pshm_command_describes_a_live_segment(void)
{
	char out[1024];
	pshm_t *shm;
	CHECK(pshm_create(&shm, "win-cli", 777, NULL) == 0, "pshm_create");
	int status = pshm_command("info win-cli", out, sizeof(out));
	CHECK(status == 0, "pshm info: %d: %s", status, out);
	CHECK(strstr(out, "state:        ready") != NULL, "%s", out);
	CHECK(strstr(out, "size:         777") != NULL, "%s", out);
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	status = pshm_command("info win-cli", out, sizeof(out));
	CHECK(status == 1, "pshm info of what is gone: %d: %s", status, out);
	status = pshm_command("create win-cli 4k", out, sizeof(out));
	CHECK(status == 1, "pshm create, whose mapping would go with it: %d", status);
	return 0;
}

static int names_are_exclusive_and_go_with_the_last_handle(void)
{
	pshm_t *shm, *other, *none = NULL;
	CHECK(pshm_create(&shm, "win-name", 64, NULL) == 0, "pshm_create");
	CHECK(pshm_create(&other, "win-name", 64, NULL) == -EEXIST, "a second create");
	CHECK(pshm_attach(&other, "win-name", NULL) == 0, "attach");
	CHECK(pshm_size(other) == 64, "the exact size: %zu", pshm_size(other));
	pshm_info_t info;
	CHECK(pshm_stat("win-name", NULL, &info) == 0, "pshm_stat");
	CHECK(info.state == PSHM_STATE_READY && info.size == 64, "state %d size %zu", info.state,
	      info.size);
	CHECK(pshm_remove("win-name", NULL) == -ENOTSUP, "pshm_remove");
	CHECK(pshm_detach(shm) == 0 && pshm_detach(other) == 0, "detach");
	CHECK(pshm_attach(&none, "win-name", NULL) == -ENOENT, "the name outlived its handles");
	CHECK(none == NULL, "a handle for nothing");
	return 0;
}

static int a_global_name_is_not_the_session_s_own(void)
{
	pshm_t *shm, *none = NULL;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	CHECK(pshm_attr_set_flags(&attr, PSHM_GLOBAL) == 0, "pshm_attr_set_flags");
	/* Wine lets anybody create there; Windows asks for a privilege. */
	int rc = pshm_create(&shm, "win-global", sizeof(struct shared), &attr);
	CHECK(rc == 0 || rc == -EPERM, "pshm_create(PSHM_GLOBAL): %d", rc);
	if (rc == -EPERM)
		return 0;
	/* Wine keeps one namespace for both: there this cannot be told. */
	rc = pshm_attach(&none, "win-global", NULL);
	if (under_wine() && rc == 0)
		pshm_detach(none);
	else
		CHECK(rc == -ENOENT && none == NULL, "found in Local\\: %d", rc);
	pshm_info_t info;
	CHECK(pshm_stat("win-global", &attr, &info) == 0 && info.size == sizeof(struct shared),
	      "pshm_stat(PSHM_GLOBAL)");
	int status = finish(spawn("global", "win-global"));
	CHECK(status == 0, "the child: %d", status);
	const struct shared *s = pshm_addr(shm);
	CHECK(strcmp(s->text, "written by a child") == 0, "read \"%s\"", s->text);
	CHECK(pshm_destroy(shm) == 0, "pshm_destroy");
	return 0;
}

/* pshm_list's callback: count the names equal to arg's. */
struct sought {
	const char *name;
	int seen;
};

static int count_name(const char *name, void *arg)
{
	struct sought *s = arg;
	s->seen += strcmp(name, s->name) == 0;
	return 0;
}

static pshm_attr_t file_backend(void)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, PSHM_BACKEND_MMAP);
	return attr;
}

static int a_file_segment_stays_until_removed(void)
{
	pshm_attr_t attr = file_backend();
	pshm_t *shm, *none = NULL;
	CHECK(pshm_create(&shm, "win-file", sizeof(struct shared), &attr) == 0, "pshm_create");
	CHECK(pshm_detach(shm) == 0, "detach");
	struct sought listed = {"win-file", 0};
	CHECK(pshm_list(&attr, count_name, &listed) == 0 && listed.seen == 1, "listed %d", listed.seen);
	CHECK(finish(spawn("file", "win-file")) == 0, "the child");
	CHECK(pshm_attach(&shm, "win-file", &attr) == 0, "attach again");
	const struct shared *s = pshm_addr(shm);
	CHECK(strcmp(s->text, "written by a child") == 0, "read \"%s\"", s->text);
	CHECK(pshm_size(shm) == sizeof(struct shared), "size %zu", pshm_size(shm));
	CHECK(pshm_detach(shm) == 0, "detach");
	CHECK(pshm_remove("win-file", &attr) == 0, "pshm_remove");
	CHECK(pshm_attach(&none, "win-file", &attr) == -ENOENT && none == NULL, "still there");
	return 0;
}

static int an_orphan_file_is_cleaned_and_one_in_use_is_not(void)
{
	pshm_attr_t attr = file_backend();
	pshm_t *shm;
	pshm_info_t info;
	CHECK(finish(spawn("leave", "win-orphan")) == 0, "the child that leaves it");
	CHECK(pshm_attach(&shm, "win-orphan", &attr) == 0, "attach");
	CHECK(pshm_stat("win-orphan", &attr, &info) == 0, "pshm_stat");
	CHECK(info.creator_alive == 0 && info.attached != 0 && !info.orphaned,
	      "alive %d attached %d orphaned %d", info.creator_alive, info.attached, info.orphaned);
	CHECK(pshm_remove_orphan("win-orphan", &attr) == -EBUSY, "removed while attached");
	CHECK(pshm_detach(shm) == 0, "detach");
	CHECK(pshm_stat("win-orphan", &attr, &info) == 0, "pshm_stat");
	CHECK(info.attached == 0 && info.orphaned, "attached %d orphaned %d", info.attached,
	      info.orphaned);
	CHECK(pshm_remove_orphan("win-orphan", &attr) == 0, "pshm_remove_orphan");
	CHECK(pshm_stat("win-orphan", &attr, &info) == -ENOENT, "still there");
	return 0;
}

static int a_directory_at_a_name_is_foreign_and_kept(void)
{
	char path[MAX_PATH];
	DWORD n = GetTempPathA(MAX_PATH - 32, path);
	CHECK(n > 0, "GetTempPath");
	strcat(path, "pshm-mmap.win-dir");
	CHECK(CreateDirectoryA(path, NULL), "CreateDirectory %s", path);
	pshm_attr_t attr = file_backend();
	pshm_t *shm = NULL;
	pshm_info_t info;
	int attached = pshm_attach(&shm, "win-dir", &attr);
	int removed = pshm_remove("win-dir", &attr);
	int stat = pshm_stat("win-dir", &attr, &info);
	DWORD kept = GetFileAttributesA(path);
	RemoveDirectoryA(path);
	CHECK(attached == PSHM_ENOTPSHM && shm == NULL, "attach: %d", attached);
	CHECK(removed == PSHM_ENOTPSHM, "pshm_remove: %d", removed);
	CHECK(stat == 0 && info.state == PSHM_STATE_FOREIGN, "pshm_stat: %d", stat);
	CHECK(kept != INVALID_FILE_ATTRIBUTES, "the directory was removed");
	return 0;
}

static int a_read_only_attachment_cannot_lock(void)
{
	pshm_t *shm, *ro;
	pshm_attr_t attr;
	CHECK(pshm_create(&shm, "win-ro", 64, NULL) == 0, "pshm_create");
	pshm_attr_init(&attr);
	pshm_attr_set_flags(&attr, PSHM_RDONLY);
	CHECK(pshm_attach(&ro, "win-ro", &attr) == 0, "attach read-only");
	CHECK(pshm_lock(ro) == -EACCES, "the header lock of a read-only attachment");
	CHECK(pshm_lock(shm) == 0 && pshm_unlock(shm) == 0, "the writer's header lock");
	CHECK(pshm_detach(ro) == 0 && pshm_destroy(shm) == 0, "detach");
	return 0;
}

static int a_managed_segment_is_shared_by_name(void)
{
	pshm_t *shm, *other;
	pshm_attr_t attr;
	pshm_off_t off, found;
	pshm_attr_init(&attr);
	pshm_attr_set_flags(&attr, PSHM_MANAGED);
	CHECK(pshm_create(&shm, "win-heap", 1 << 20, &attr) == 0, "pshm_create(PSHM_MANAGED)");
	CHECK(pshm_object(shm, "greeting", 32, NULL, NULL, &off) == 1, "pshm_object");
	strcpy(pshm_ptr(shm, off), "hello");
	CHECK(pshm_attach(&other, "win-heap", NULL) == 0, "attach");
	CHECK(pshm_object_find(other, "greeting", &found, NULL) == 0 && found == off, "find");
	CHECK(strcmp(pshm_ptr(other, found), "hello") == 0, "the object's bytes");
	CHECK(pshm_heap_check(other) == 0, "pshm_heap_check");
	CHECK(pshm_detach(other) == 0 && pshm_destroy(shm) == 0, "detach");
	return 0;
}

/* The other suites (PSHM_NOT_ON_WINDOWS, from Makefile.am's lists), each
 * skipped with its reason. */
static void say_what_cannot_run(void)
{
	const char *p = PSHM_NOT_ON_WINDOWS;
	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		int script = n > 3 && strncmp(p + n - 3, ".sh", 3) == 0;
		printf("SKIP %.*s: %s\n", (int)n, p,
		       script ? "a POSIX shell script (the pshm command is tried here)"
		              : "it forks, and Windows has no fork (the contract is tried here)");
		skips++;
		p += n + strspn(p + n, " ");
	}
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 3)
		return run_child(argv[1], argv[2]);
	static const struct {
		const char *name;
		int (*run)(void);
	} tests[] = {
#define TEST(t) {#t, t}
		TEST(an_anonymous_segment_is_zeroed_and_writable),
		TEST(another_process_attaches_by_name_and_writes),
		TEST(four_processes_add_exactly_under_the_mutex),
		TEST(a_holder_terminated_leaves_owner_died),
		TEST(a_condition_wakes_a_waiter_in_another_process),
		TEST(a_semaphore_hands_every_post_to_another_process),
		TEST(a_child_attaches_an_anonymous_segment_handed_down),
		TEST(a_handle_not_made_inheritable_stays_with_its_process),
		TEST(the_pshm_command_describes_a_live_segment),
		TEST(names_are_exclusive_and_go_with_the_last_handle),
		TEST(a_global_name_is_not_the_session_s_own),
		TEST(a_file_segment_stays_until_removed),
		TEST(an_orphan_file_is_cleaned_and_one_in_use_is_not),
		TEST(a_directory_at_a_name_is_foreign_and_kept),
		TEST(a_read_only_attachment_cannot_lock),
		TEST(a_managed_segment_is_shared_by_name),
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int failed = tests[i].run();
		printf("[%s] windows::%s\n", failed ? "FAIL" : "PASS", tests[i].name);
		failed ? failures++ : passes++;
	}
	say_what_cannot_run();
	printf("%d passed, %d failed, %d skipped\n", passes, failures, skips);
	return failures != 0;
}
