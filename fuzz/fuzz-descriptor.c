/*
 * fuzz-descriptor.c - libFuzzer harness for what a hostile sender can hand
 * a receiver: a file of arbitrary bytes and length, attached by descriptor
 * (pshm_attach_fd), then remapped and read whole; and arbitrary bytes sent
 * with a descriptor over a Unix socket to pshm_recv.  Nothing may crash or
 * read past the file; what is attached must be a whole segment, its size
 * within the file, its name one a segment can have; a message that is not
 * pshm_send's must be refused with its descriptor closed.
 *
 *   make fuzz                      every harness, FUZZ_SECONDS (30) each
 *   fuzz/fuzz-descriptor fuzz/corpus-descriptor -max_total_time=3600
 */
#define _GNU_SOURCE /* memfd_create */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* A file holding the input: its first byte says how long (0: exactly the
 * input; else that many pages, the input at its start). */
static int file_of(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	size_t len = data[0] == 0 ? size - 1 : (size_t)(data[0] % 16) * pshm__page_size();
	if (ftruncate(fd, (off_t)len) < 0)
		abort();
	size_t body = size - 1 < len ? size - 1 : len;
	if (body > 0 && pwrite(fd, data + 1, body, 0) != (ssize_t)body)
		abort();
	return fd;
}

/* Attach fd as a receiver would and read every byte it says it has. */
static void attach_and_read(int fd, size_t file_len)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_flags(&attr, PSHM_ANY_OWNER);
	pshm_t *shm = NULL;
	if (pshm_attach_fd(&shm, fd, &attr) != 0)
		return;
	const char *name = pshm_name(shm);
	if (pshm_size(shm) == 0 || pshm_size(shm) + PSHM__HEADER_SIZE > file_len ||
	    (name != NULL && !pshm__name_is_valid(name)))
		abort();
	const volatile unsigned char *bytes = pshm_addr(shm); /* read, not optimized out */
	unsigned sum = 0;
	for (size_t i = 0; i < pshm_size(shm); i += 64)
		sum += bytes[i];
	if (sum > pshm_size(shm) * 255)
		abort();
	if (pshm_remap(shm) != 0) /* nothing changed */
		abort();
	if (pshm_detach(shm) != 0)
		abort();
}

/* The lowest descriptor not open: what open() would give next. */
static int lowest_free(void)
{
	int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		abort();
	close(fd);
	return fd;
}

/* Send the input's bytes (at most 64) with fd to pshm_recv: it attaches only
 * what pshm_send would send, and keeps no descriptor either way. */
static void receive(const uint8_t *data, size_t size, int fd)
{
	static const char message[] = "libpshm segment 1\n";
	int before = lowest_free(), sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	size_t n = size < 64 ? size : 64;
	if (pshm__send_fd(sv[0], data, n, fd) != 0)
		abort();
	pshm_t *shm = NULL;
	int rc = pshm_recv(sv[1], &shm, NULL);
	int exact = n == sizeof(message) - 1 && memcmp(data, message, n) == 0;
	if ((!exact && rc != -EBADMSG) || (rc == 0) != (shm != NULL))
		abort();
	if (shm != NULL)
		pshm_detach(shm);
	close(sv[0]);
	close(sv[1]);
	if (lowest_free() != before)
		abort(); /* a descriptor received was kept */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int fd = file_of(data + 1, size - 1);
	off_t len = lseek(fd, 0, SEEK_END);
	if (data[0] % 2 == 0)
		attach_and_read(fd, (size_t)len);
	else
		receive(data + 2, size - 2, fd);
	close(fd);
	return 0;
}
