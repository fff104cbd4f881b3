/*
 * mappers-linux.c - how many processes map a file, from /proc/PID/maps:
 * the one way on Linux to tell whether anyone still uses a POSIX or mmap
 * segment (SysV keeps its own count, shm_nattch).
 */
#define _DEFAULT_SOURCE /* major, minor */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

/* 1 if the maps file of pid maps (dev, ino), 0 if not, -1 if unreadable. */
static int maps_file(const char *pid, unsigned dev_major, unsigned dev_minor, ino_t ino)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	int fd = pshm__open_retry(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd == -ENOENT || fd == -ESRCH ? 0 : -1; /* gone: maps nothing */
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
	fclose(f);
	return found;
}

int pshm__count_mappers(dev_t dev, ino_t ino, int others_may_map)
{
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return -1;
	int count = 0;
	const struct dirent *entry;
	while (count >= 0 && (entry = readdir(proc)) != NULL) {
		if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
			continue; /* not a process */
		int maps = maps_file(entry->d_name, major(dev), minor(dev), ino);
		if (maps > 0)
			count++;
		else if (maps < 0 && others_may_map)
			count = -1; /* a process we cannot see into may map it */
	}
	closedir(proc);
	return count;
}
