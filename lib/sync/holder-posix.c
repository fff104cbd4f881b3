/*
 * holder-posix.c - lock holders where there is no /proc: a process id
 * names the holder, os/ says whether it still exists (kill).  A zombie
 * looks alive until its parent reaps it, a thread that dies in a live
 * process is not seen, and a holder's id given to a later process is not
 * told apart: each errs towards "alive", never takes a live holder's lock.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include "sync/sync.h"

int pshm__cpus_to_run_on(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	return online > 0 ? (int)online : 1;
}

int pshm__kernel_robust(void)
{
	return 1; /* where robust mutexes are built, the kernel keeps them */
}

uint32_t pshm__holder_self(void)
{
	return (uint32_t)getpid();
}

uint32_t pshm__holder_token(void)
{
	return 0;
}

int pshm__holder_gone(uint32_t id, uint32_t token)
{
	(void)token;
	return pshm__process_exists((pshm_pid_t)id) == 0;
}
