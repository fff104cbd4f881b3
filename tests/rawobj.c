/*
 * rawobj.c - segments' objects by hand (see rawobj.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "rawobj.h"

const char *test_mmap_dir(void)
{
	const char *dir = getenv("PSHM_MMAP_DIR");
	return dir != NULL && dir[0] != '\0' ? dir : PSHM_TEST_MMAP_DIR;
}

int test_sysv_key(const char *name)
{
	uint32_t hash = 2166136261u;
	for (const char *p = "libpshm:"; *p != '\0'; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	for (const char *p = name; *p != '\0'; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	hash &= 0x7fffffffu;
	return hash == 0 ? 1 : (int)hash;
}

static void raw_path(char out[PATH_MAX], pshm_backend_t b, const char *name)
{
	if (b == PSHM_BACKEND_POSIX)
		snprintf(out, PATH_MAX, "/pshm.%s", name);
	else
		snprintf(out, PATH_MAX, "%s/pshm-mmap.%s", test_mmap_dir(), name);
}

static int write_all(int fd, const void *bytes, size_t len)
{
	const char *p = bytes;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int test_raw_create(pshm_backend_t b, const char *name, const void *bytes, size_t len)
{
	if (b == PSHM_BACKEND_SYSV) {
		int id = shmget(test_sysv_key(name), len, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0)
			return -errno;
		void *addr = shmat(id, NULL, 0);
		if (addr == (void *)-1) {
			int err = errno;
			shmctl(id, IPC_RMID, NULL);
			return -err;
		}
		if (bytes != NULL)
			memcpy(addr, bytes, len);
		shmdt(addr);
		return 0;
	}
	char path[PATH_MAX];
	raw_path(path, b, name);
	int fd = b == PSHM_BACKEND_POSIX ? shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600)
	                                 : open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = bytes != NULL ? write_all(fd, bytes, len)
	                       : (ftruncate(fd, (off_t)len) < 0 ? -errno : 0);
	close(fd);
	if (rc < 0)
		test_raw_remove(b, name);
	return rc;
}

int test_raw_remove(pshm_backend_t b, const char *name)
{
	if (b == PSHM_BACKEND_SYSV) {
		int id = shmget(test_sysv_key(name), 0, 0);
		if (id < 0 || shmctl(id, IPC_RMID, NULL) < 0)
			return -errno;
		return 0;
	}
	char path[PATH_MAX];
	raw_path(path, b, name);
	int rc = b == PSHM_BACKEND_POSIX ? shm_unlink(path) : unlink(path);
	return rc < 0 ? -errno : 0;
}

void *test_raw_map(pshm_backend_t b, const char *name, size_t len)
{
	if (b == PSHM_BACKEND_SYSV) {
		int id = shmget(test_sysv_key(name), 0, 0);
		void *addr = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
		return addr == (void *)-1 ? NULL : addr;
	}
	char path[PATH_MAX];
	raw_path(path, b, name);
	int fd = b == PSHM_BACKEND_POSIX ? shm_open(path, O_RDWR, 0) : open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return addr == MAP_FAILED ? NULL : addr;
}

void test_raw_unmap(pshm_backend_t b, void *addr, size_t len)
{
	if (b == PSHM_BACKEND_SYSV)
		shmdt(addr);
	else
		munmap(addr, len);
}

void test_raw_path(char out[PATH_MAX], pshm_backend_t b, const char *name)
{
	if (b == PSHM_BACKEND_POSIX)
		snprintf(out, PATH_MAX, "/dev/shm/pshm.%s", name);
	else
		raw_path(out, b, name);
}

void test_ready_header(unsigned char h[HDR_SIZE], uint32_t version, uint64_t usable,
                       uint32_t backend, const char *name)
{
	memset(h, 0, HDR_SIZE);
	uint32_t state = HDR_READY;
	uint64_t magic = HDR_MAGIC_VALUE;
	memcpy(h + HDR_STATE, &state, 4);
	memcpy(h + HDR_VERSION, &version, 4);
	memcpy(h + HDR_MAGIC, &magic, 8);
	memcpy(h + HDR_USABLE_SIZE, &usable, 8);
	memcpy(h + HDR_BACKEND, &backend, 4);
	memcpy(h + HDR_NAME, name, strlen(name));
}

size_t test_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

int shared_list_init(void *obj, size_t size, void *arg)
{
	(void)arg;
	if (size != sizeof(struct shared_list))
		return -EINVAL;
	return pshm_mutex_init(&((struct shared_list *)obj)->lock);
}
