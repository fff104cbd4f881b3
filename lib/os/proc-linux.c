/*
 * proc-linux.c - what this process can know of the others, from /proc:
 * how many processes map a file (/proc/PID/maps: the one way on Linux to
 * count the processes that use a POSIX or mmap segment; SysV keeps its
 * own count, shm_nattch), which PID namespace a process lives in, and a
 * process's or thread's state and start time (a lock holder's).
 *
 * A count is only a count when every process could be read: one whose maps
 * are closed to us (another user's, one that made itself undumpable as
 * ssh-agent does, one we ran out of fds for) or one we cannot see at all (a
 * cleaner in a container that shares /dev/shm with the host) may map the
 * file, so the count is then "not known".
 */
#define _DEFAULT_SOURCE /* major, minor */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "os/sys.h"

/* The inode of the first PID namespace, the one the system booted in
 * (PROC_PID_INIT_INO, fixed since Linux 3.8). */
#define INITIAL_PID_NAMESPACE 0xEFFFFFFCu

/* 1 if the maps file of pid maps (dev, ino), 0 if not (or pid is gone),
 * -1 if it cannot be read. */
static int maps_file(const char *pid, unsigned dev_major, unsigned dev_minor, ino_t ino)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	int fd = pshm__openat(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0)
		return fd == -ENOENT || fd == -ESRCH ? 0 : -1;
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned maj, min;
		unsigned long long inode;
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3)
			found = maj == dev_major && min == dev_minor && inode == (unsigned long long)ino;
	}
	/* A read error is not the end of the file: an exiting process gives
	 * ESRCH (it maps nothing any more), anything else leaves it unread. */
	int unread = !found && ferror(f) && errno != ESRCH;
	fclose(f);
	return unread ? -1 : found;
}

/* Whether /proc shows every process of the system: this process lives in
 * the first PID namespace and /proc is that namespace's. */
static int sees_every_process(void)
{
	char self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n <= 0)
		return 0;
	self[n] = '\0';
	return pshm__pid_namespace() == INITIAL_PID_NAMESPACE && atol(self) == (long)pshm__self_pid();
}

int pshm__count_mappers(dev_t dev, ino_t ino)
{
	if (!sees_every_process())
		return -1;
	int dirfd = pshm__openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY, 0);
	DIR *proc = dirfd < 0 ? NULL : fdopendir(dirfd);
	if (proc == NULL) {
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	int count = 0;
	const struct dirent *entry;
	while (count >= 0 && (entry = readdir(proc)) != NULL) {
		if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
			continue; /* not a process */
		int maps = maps_file(entry->d_name, major(dev), minor(dev), ino);
		count = maps < 0 ? -1 : count + maps;
	}
	closedir(proc);
	return count;
}

/*
 * A process's own PID namespace never changes, but a child forked after
 * unshare(CLONE_NEWPID) lives in another: the answer is kept with the
 * process that read it (pshm__self_pid, which a fork child asks anew),
 * since reading it costs a path lookup in /proc on every pshm_create.
 * (A child made by a raw clone(), which runs no fork handlers, is told its
 * parent's id, and its parent's namespace, as sys.c says.)
 */
static _Atomic uint64_t known_ns;  /* 0: not read in this process */
static _Atomic pid_t known_ns_pid; /* the process that read it */

uint64_t pshm__pid_namespace(void)
{
	pid_t self = pshm__self_pid();
	uint64_t ns = atomic_load_explicit(&known_ns, memory_order_relaxed);
	if (ns != 0 && atomic_load_explicit(&known_ns_pid, memory_order_relaxed) == self)
		return ns;
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) < 0)
		return 0;
	atomic_store_explicit(&known_ns_pid, self, memory_order_relaxed);
	atomic_store_explicit(&known_ns, (uint64_t)st.st_ino, memory_order_relaxed);
	return (uint64_t)st.st_ino;
}

/* /proc/ID/task/ID/stat, not /proc/ID/stat, reads the same whoever reads
 * it: qemu-user makes up the latter (a start time included) when a process
 * reads its own. */
int pshm__task_stat(uint32_t id, char *state, unsigned long long *start)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%lu/task/%lu/stat", (unsigned long)id,
	         (unsigned long)id);
	int fd = pshm__openat(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	ssize_t n = pshm__pread_head(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	/* "ID (COMM) STATE PPID ...": COMM may hold anything, ')' included;
	 * the start time is the 20th field after the state. */
	const char *end = strrchr(text, ')');
	if (end == NULL || sscanf(end + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
	                                   " %*s %*s %*s %*s %*s %*s %llu",
	                          state, start) != 2)
		return -1;
	return 0;
}
