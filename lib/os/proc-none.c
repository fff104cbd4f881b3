/*
 * proc-none.c - where there is no /proc to read, nobody can tell how many
 * processes map a file (pshm_stat says "not known"), there are no PID
 * namespaces to tell apart, and no process's start time is known.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "os/sys.h"

int pshm__count_mappers(dev_t dev, ino_t ino)
{
	(void)dev;
	(void)ino;
	return -1;
}

uint64_t pshm__pid_namespace(void)
{
	return 0;
}

int pshm__task_stat(uint32_t id, char *state, unsigned long long *start)
{
	(void)id;
	(void)state;
	(void)start;
	return -1;
}
