/*
 * test-descriptor.c - segments handed over by file descriptor: exported and
 * attached in an exec'd process, sent over a Unix socket to one, sealed
 * against shrinking; SysV and anonymous mmap segments say they have none;
 * and descriptors and messages a hostile sender could send.
 */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define SIZE ((size_t)8192)
#define GREETING "handed over"

/* A segment of backend, anonymous or named (into name), with GREETING. */
static pshm_t *make(pshm_backend_t backend, int named, char name[PSHM_NAME_MAX + 1])
{
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	if (named)
		test_name(name, "fd");
	pshm_t *shm;
	int rc = pshm_create(&shm, named ? name : NULL, SIZE, &attr);
	cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
	strcpy(pshm_addr(shm), GREETING);
	return shm;
}

/* Whether shm's backend gives descriptors for it. */
static int has_descriptor(pshm_t *shm)
{
	return pshm_backend(shm) == PSHM_BACKEND_POSIX ||
	       (pshm_backend(shm) == PSHM_BACKEND_MMAP && pshm_name(shm) != NULL);
}

/* Run the helper's CMD on what fd is (descriptor, socket; not
 * close-on-exec), inherited across exec; assert that it read GREETING and
 * wrote its reply. */
static void helper_echoes(pshm_t *shm, int fd, const char *cmd)
{
	char number[16], out[256];
	snprintf(number, sizeof(number), "%d", fd);
	const char *args[] = {pshm_backend_name(pshm_backend(shm)), number, cmd, NULL};
	int status = test_run_helper(args, out, sizeof(out));
	cr_assert_eq(status, 0, "helper %s: %d: %s", cmd, status, out);
	cr_expect_str_eq(out, "read=" GREETING "\n");
	cr_expect_str_eq((char *)pshm_addr(shm) + 1024, "seen:" GREETING);
}

/* SysV: the id, which shmat(2) maps to the same memory. */
static void sysv_offers_its_id(pshm_t *shm)
{
	int id = pshm_sysv_id(shm);
	cr_assert_geq(id, 0, "%s", pshm_strerror(id));
	char *raw = shmat(id, NULL, SHM_RDONLY);
	cr_assert_neq(raw, (char *)-1, "shmat: %s", strerror(errno));
	cr_expect_str_eq(raw + HDR_SIZE, GREETING);
	shmdt(raw);
}

/* A named segment of backend with GREETING, which has a descriptor; the
 * test is skipped where the backend gives none. */
static pshm_t *make_with_descriptor(pshm_backend_t backend, char name[PSHM_NAME_MAX + 1])
{
	pshm_t *shm = make(backend, 1, name);
	if (!has_descriptor(shm)) {
		cr_assert_eq(pshm_destroy(shm), 0);
		cr_skip_test("%s segments have no descriptor", pshm_backend_name(backend));
	}
	return shm;
}

BACKEND_TEST(descriptor, an_exported_descriptor_reaches_an_exec_d_process)
{
	for (int named = 0; named <= 1; named++) {
		char name[PSHM_NAME_MAX + 1];
		pshm_t *shm = make(backend, named, name);
		int fd = pshm_export_fd(shm, PSHM_INHERIT);
		if (!has_descriptor(shm)) {
			cr_expect_eq(fd, PSHM_ENODESC, "%s", pshm_strerror(fd));
			if (backend == PSHM_BACKEND_SYSV)
				sysv_offers_its_id(shm);
			else
				cr_expect_eq(pshm_sysv_id(shm), PSHM_ENODESC);
		} else {
			cr_assert_geq(fd, 0, "%s", pshm_strerror(fd));
			cr_expect_eq(pshm_sysv_id(shm), PSHM_ENODESC);
			helper_echoes(shm, fd, "fd-echo");
			close(fd);
		}
		cr_assert_eq(pshm_destroy(shm), 0);
	}
}

BACKEND_TEST(descriptor, a_segment_sent_over_a_unix_socket_reaches_an_unrelated_process)
{
	for (int named = 0; named <= 1; named++) {
		char name[PSHM_NAME_MAX + 1];
		pshm_t *shm = make(backend, named, name);
		int sv[2];
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		int rc = pshm_send(sv[0], shm, 0);
		if (!has_descriptor(shm)) {
			cr_expect_eq(rc, PSHM_ENODESC, "%s", pshm_strerror(rc));
		} else {
			cr_assert_eq(rc, 0, "%s", pshm_strerror(rc));
			cr_assert_eq(fcntl(sv[1], F_SETFD, 0), 0); /* inherited */
			helper_echoes(shm, sv[1], "recv-echo");
		}
		close(sv[0]);
		close(sv[1]);
		cr_assert_eq(pshm_destroy(shm), 0);
	}
}

BACKEND_TEST(descriptor, a_named_segment_attached_by_descriptor_keeps_its_name)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_with_descriptor(backend, name);
	int fd = pshm_export_fd(shm, 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "not inherited unless asked");
	pshm_t *got;
	cr_assert_eq(pshm_attach_fd(&got, fd, NULL), 0);
	close(fd); /* the handle holds its own */
	cr_expect_str_eq(pshm_name(got), name);
	cr_expect_eq(pshm_backend(got), backend);
	cr_expect_eq(pshm_size(got), SIZE);
	cr_expect_str_eq(pshm_addr(got), GREETING);
	cr_assert_eq(pshm_destroy(got), 0, "its name, removed");
	pshm_attr_t attr;
	test_attr(&attr, backend, 0);
	pshm_t *again;
	cr_expect_eq(pshm_attach(&again, name, &attr), -ENOENT);
	cr_expect_eq(pshm_destroy(shm), -ENOENT, "removed already");
}

/* Whether libpshm's anonymous POSIX segments are memfds that can be sealed
 * here: built to (not as on macOS) and the kernel does. */
static int memfds_are_sealed(void)
{
#if HAVE_MEMFD_CREATE && HAVE_DECL_F_ADD_SEALS
	int fd = memfd_create("probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int sealed = fd >= 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0;
	if (fd >= 0)
		close(fd);
	return sealed;
#else
	return 0;
#endif
}

/* An anonymous POSIX segment exported sealed (grow too: flags). */
static int export_sealed(pshm_t **shm, unsigned flags)
{
	pshm_attr_t attr;
	test_attr(&attr, PSHM_BACKEND_POSIX, 0);
	cr_assert_eq(pshm_create(shm, NULL, SIZE, &attr), 0);
	int fd = pshm_export_fd(*shm, flags);
	cr_assert_geq(fd, 0, "%s", pshm_strerror(fd));
	return fd;
}

/* Whether a process that attached fd PSHM_SEALED can touch every byte. */
static int attach_sealed_and_touch(void *arg)
{
	pshm_attr_t attr;
	pshm_t *shm;
	if (pshm_attr_init(&attr) != 0 || pshm_attr_set_flags(&attr, PSHM_SEALED) != 0 ||
	    pshm_attach_fd(&shm, *(int *)arg, &attr) != 0)
		return 1;
	memset(pshm_addr(shm), 7, pshm_size(shm));
	return pshm_detach(shm) == 0 ? 0 : 2;
}

Test(descriptor, an_anonymous_segment_handed_over_cannot_be_made_to_shrink)
{
	if (!pshm_backend_supported(PSHM_BACKEND_POSIX) || !memfds_are_sealed())
		cr_skip_test("no POSIX backend, or no sealed memfds here");
	pshm_t *shm;
	int fd = export_sealed(&shm, 0);
	cr_expect_eq(ftruncate(fd, 0), -1, "the sender could shrink it");
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(test_wait(test_fork(attach_sealed_and_touch, &fd)), 0,
	             "a receiver asking for seals could not take it, or died touching it");
	close(fd);
	pshm_detach(shm);

	fd = export_sealed(&shm, PSHM_SEAL_GROW);
	cr_expect_eq(ftruncate(fd, (off_t)1 << 20), -1, "PSHM_SEAL_GROW: the sender could grow it");
	close(fd);
	pshm_detach(shm);
}

Test(descriptor, a_receiver_asking_for_seals_refuses_a_descriptor_without_them)
{
	pshm_backend_t named[] = {PSHM_BACKEND_POSIX, PSHM_BACKEND_MMAP};
	for (size_t i = 0; i < 2; i++) {
		if (!pshm_backend_supported(named[i]))
			continue;
		char name[PSHM_NAME_MAX + 1];
		pshm_t *shm = make(named[i], 1, name), *got;
		int fd = pshm_export_fd(shm, 0);
		cr_assert_geq(fd, 0);
		pshm_attr_t attr;
		test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_SEALED);
		cr_expect_eq(pshm_attach_fd(&got, fd, &attr), PSHM_EUNSEALED,
		             "%s: a named segment's file can shrink", pshm_backend_name(named[i]));
		close(fd);
		cr_assert_eq(pshm_destroy(shm), 0);
	}
}

/* ------------------------------------------------------------------------ */
/* What a hostile sender could send                                         */

/* An unlinked file of /tmp holding len bytes: a header as libpshm writes
 * one (usable, backend, name), or bytes of 0xab if name is NULL. */
static int forged_file(size_t len, uint64_t usable, uint32_t backend, const char *name)
{
	char path[] = "/tmp/pshm-forged-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	unsigned char *bytes = malloc(len + 1);
	cr_assert_not_null(bytes);
	memset(bytes, name == NULL ? 0xab : 0, len);
	if (name != NULL) {
		cr_assert_geq(len, HDR_SIZE);
		test_ready_header(bytes, 2, usable, backend, name);
	}
	cr_assert_eq(pwrite(fd, bytes, len, 0), (ssize_t)len);
	free(bytes);
	return fd;
}

/* Skip the test in a build with no backend that has descriptors (SysV
 * only), where pshm_attach_fd is -ENOTSUP whatever it is given. */
static void need_descriptors(void)
{
	if (!pshm_backend_supported(PSHM_BACKEND_POSIX) && !pshm_backend_supported(PSHM_BACKEND_MMAP))
		cr_skip_test("no backend with descriptors is built");
}

/* What pshm_attach_fd says of fd, which it must leave open. */
static int attach_rc(int fd, unsigned flags)
{
	pshm_attr_t attr;
	test_attr(&attr, PSHM_BACKEND_DEFAULT, flags);
	pshm_t *shm = NULL;
	int rc = pshm_attach_fd(&shm, fd, &attr);
	if (rc == 0)
		pshm_detach(shm);
	cr_expect_geq(fcntl(fd, F_GETFD), 0, "the caller's descriptor was closed");
	return rc;
}

Test(descriptor, descriptors_of_what_is_no_segment_are_refused_unread)
{
	need_descriptors();
	int pipefd[2], sv[2];
	cr_assert_eq(pipe(pipefd), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	int null = open("/dev/null", O_RDWR);
	cr_assert(dir >= 0 && null >= 0);
	/* none of these is read: a pipe or a socket would block */
	cr_expect_eq(attach_rc(pipefd[0], 0), PSHM_ENOTPSHM, "a pipe");
	cr_expect_eq(attach_rc(sv[0], 0), PSHM_ENOTPSHM, "a socket");
	cr_expect_eq(attach_rc(dir, PSHM_RDONLY), PSHM_ENOTPSHM, "a directory");
	cr_expect_eq(attach_rc(null, 0), PSHM_ENOTPSHM, "a device");
	int fds[] = {pipefd[0], pipefd[1], sv[0], sv[1], dir, null};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	pshm_t *shm;
	cr_expect_eq(pshm_attach_fd(&shm, dir, NULL), -EBADF, "a closed descriptor");
	cr_expect_eq(pshm_attach_fd(&shm, -1, NULL), -EBADF);
}

Test(descriptor, files_that_lie_in_a_header_are_refused)
{
	need_descriptors();
	size_t page = test_page_size();
	uint32_t made_by = pshm_backend_supported(PSHM_BACKEND_POSIX) ? PSHM_BACKEND_POSIX
	                                                              : PSHM_BACKEND_MMAP;
	struct {
		int fd;
		int want;
		const char *what;
	} files[] = {
		{forged_file(0, 0, 0, NULL), PSHM_ENOTREADY, "an empty file"},
		{forged_file(page, 0, 0, NULL), PSHM_ENOTPSHM, "bytes that are no header"},
		{forged_file(page, 1 << 20, made_by, "big"), PSHM_ECORRUPT,
		 "a size larger than the file"},
		{forged_file(page, 100, PSHM_BACKEND_SYSV, "sysv"),
		 pshm_backend_supported(PSHM_BACKEND_SYSV) ? PSHM_ENOTPSHM : -ENOTSUP,
		 "a SysV segment, which has no descriptor (or a backend not built)"},
		{forged_file(page, 100, 99, "what"), PSHM_ENOTPSHM, "no backend"},
		{forged_file(page, 100, made_by, "../../etc/x"), PSHM_ENOTPSHM,
		 "a name no segment has (pshm_destroy would remove it)"},
		{forged_file(page, 100, made_by, ""), 0, "a well-made anonymous one"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int rc = attach_rc(files[i].fd, PSHM_ANY_OWNER);
		cr_expect_eq(rc, files[i].want, "%s: %s", files[i].what, pshm_strerror(rc));
		close(files[i].fd);
	}
}

BACKEND_TEST(descriptor, a_read_only_descriptor_attaches_only_read_only)
{
	char name[PSHM_NAME_MAX + 1];
	pshm_t *shm = make_with_descriptor(backend, name);
	char path[64];
	int fd = pshm_export_fd(shm, 0);
	cr_assert_geq(fd, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	close(fd);
	if (ro < 0) {
		cr_assert_eq(pshm_destroy(shm), 0);
		cr_skip_test("no /proc to reopen a descriptor read-only");
	}
	cr_expect_eq(attach_rc(ro, 0), -EACCES);
	pshm_t *got;
	pshm_attr_t attr;
	test_attr(&attr, PSHM_BACKEND_DEFAULT, PSHM_RDONLY);
	cr_assert_eq(pshm_attach_fd(&got, ro, &attr), 0);
	cr_expect_str_eq(pshm_addr(got), GREETING);
	cr_expect_eq(pshm_resize(got, 2 * SIZE, 0), -EACCES);
	pshm_detach(got);
	close(ro);
	cr_assert_eq(pshm_destroy(shm), 0);
}

/* How many descriptors this process has open (of the first 1024). */
static int open_descriptors(void)
{
	int count = 0;
	for (int fd = 0; fd < 1024; fd++)
		count += fcntl(fd, F_GETFD) >= 0;
	return count;
}

/* Send text with the descriptors fds (count of them, 0: none) on sock. */
static void send_raw(int sock, const char *text, const int *fds, size_t count)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (count > 0) {
		m.msg_control = control.space;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * count);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * count);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
	}
	cr_assert_eq(sendmsg(sock, &m, 0), (ssize_t)strlen(text));
}

Test(descriptor, pshm_recv_takes_only_what_pshm_send_sends)
{
	if (!pshm_backend_supported(PSHM_BACKEND_POSIX))
		cr_skip_test("the POSIX backend is not built");
	pshm_t *shm = make(PSHM_BACKEND_POSIX, 0, NULL), *got;
	int seg = pshm_export_fd(shm, 0), sv[2];
	cr_assert_geq(seg, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int before = open_descriptors();

	send_raw(sv[0], "libpshm segment 1\n", NULL, 0);
	cr_expect_eq(pshm_recv(sv[1], &got, NULL), -EBADMSG, "no descriptor");
	send_raw(sv[0], "something else 1\n", &seg, 1);
	cr_expect_eq(pshm_recv(sv[1], &got, NULL), -EBADMSG, "another message");
	send_raw(sv[0], "libpshm segment 1\nand more", &seg, 1);
	cr_expect_eq(pshm_recv(sv[1], &got, NULL), -EBADMSG, "a longer message, cut short");
	cr_expect_eq(open_descriptors(), before, "its descriptor was kept");

	int three[] = {seg, seg, seg};
	send_raw(sv[0], "libpshm segment 1\n", three, 3);
	cr_assert_eq(pshm_recv(sv[1], &got, NULL), 0, "the first of three");
	cr_expect_str_eq(pshm_addr(got), GREETING);
	pshm_detach(got);
	cr_expect_eq(open_descriptors(), before, "the other two were kept");

	cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	cr_expect_eq(pshm_recv(sv[1], &got, NULL), -EAGAIN, "nothing to read");
	close(sv[0]);
	cr_expect_eq(pshm_recv(sv[1], &got, NULL), -ECONNRESET, "the peer gone");
	int rc = pshm_send(sv[1], shm, 0);
	cr_expect(rc == -EPIPE || rc == -ECONNRESET, "sending to nobody: %s", pshm_strerror(rc));
	close(sv[1]);
	close(seg);
	pshm_detach(shm);
}

/* An empty message is anybody's to send (to a datagram socket, without a
 * connection): -EBADMSG, not the peer's end, which a server would take
 * for the end of its work; a hang-up is still -ECONNRESET. */
Test(descriptor, an_empty_message_is_ebadmsg_and_only_a_hang_up_is_econnreset)
{
	static const int types[] = {SOCK_DGRAM, SOCK_SEQPACKET};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int sv[2];
		pshm_t *got = NULL;
		cr_assert_eq(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv), 0);
		cr_assert_eq(send(sv[0], "", 0, 0), 0);
		cr_expect_eq(pshm_recv(sv[1], &got, NULL), -EBADMSG, "an empty message (%s)",
		             types[i] == SOCK_DGRAM ? "datagram" : "seqpacket");
		cr_expect_null(got);
		close(sv[0]);
		if (types[i] == SOCK_SEQPACKET)
			cr_expect_eq(pshm_recv(sv[1], &got, NULL), -ECONNRESET, "the peer gone");
		close(sv[1]);
	}
}

/* A heap made in an anonymous segment is the receiver's heap too: it finds
 * the sender's object and allocates next to it. */
Test(descriptor, an_anonymous_managed_segment_handed_over_keeps_its_heap)
{
	if (!pshm_backend_supported(PSHM_BACKEND_POSIX))
		cr_skip_test("the POSIX backend is not built");
	pshm_attr_t attr;
	test_attr(&attr, PSHM_BACKEND_POSIX, PSHM_MANAGED);
	pshm_t *shm, *got;
	cr_assert_eq(pshm_create(&shm, NULL, (size_t)64 * 1024, &attr), 0);
	pshm_off_t made, found, more;
	cr_assert_eq(pshm_object(shm, "greeting", 32, NULL, NULL, &made), 1);
	strcpy(pshm_ptr(shm, made), GREETING);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(pshm_send(sv[0], shm, 0), 0);
	cr_assert_eq(pshm_recv(sv[1], &got, NULL), 0);
	size_t size;
	cr_assert_eq(pshm_object_find(got, "greeting", &found, &size), 0);
	cr_expect_eq(found, made);
	cr_expect_str_eq(pshm_ptr(got, found), GREETING);
	cr_assert_eq(pshm_alloc(got, 100, &more), 0, "the receiver allocates in the same heap");
	pshm_heap_info_t info;
	cr_assert_eq(pshm_heap_stat(shm, &info), 0);
	cr_expect_eq(info.objects, 1);
	cr_expect_eq(info.blocks, 2, "the sender sees the receiver's block");
	cr_expect_eq(pshm_heap_check(shm), 0);
	memset(pshm_addr(shm), 0, 8); /* the heap's magic overwritten */
	cr_expect_eq(pshm_heap_check(got), PSHM_ECORRUPT, "the receiver knows a heap was made");
	close(sv[0]);
	close(sv[1]);
	pshm_detach(got);
	pshm_detach(shm);
}
