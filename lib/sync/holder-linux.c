/*
 * holder-linux.c - lock holders on Linux: a thread id names the holder (a
 * thread that dies is gone even while its process lives), /proc gives its
 * start time and whether it is a zombie (os/proc-linux.c), and get_robust_list
 * tells whether the kernel keeps this process's robust futex list.  The
 * CPUs a thread may run on are its affinity mask (taskset, a container's
 * cpuset), not all those online.
 */
#define _GNU_SOURCE /* syscall, sched_getaffinity, CPU_COUNT */
#include "config.h"

#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sync/sync.h"

int pshm__cpus_to_run_on(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	return online > 0 ? (int)online : 1;
}

int pshm__kernel_robust(void)
{
	static _Atomic int known; /* 0: not asked; 1: yes; 2: no */
	int answer = atomic_load_explicit(&known, memory_order_relaxed);
	if (answer == 0) {
		/* Only whether the call exists: musl registers its list only when
		 * it first locks a robust mutex, so the head may still be NULL. */
		void *head = NULL;
		size_t len = 0;
		answer = syscall(SYS_get_robust_list, 0, &head, &len) == 0 ? 1 : 2;
		atomic_store_explicit(&known, answer, memory_order_relaxed);
	}
	return answer == 1;
}

static uint32_t token_of(unsigned long long start)
{
	uint32_t token = (uint32_t)(start ^ (start >> 32));
	return token != 0 ? token : 1; /* 0 means "not known" */
}

uint32_t pshm__holder_self(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

uint32_t pshm__holder_token(void)
{
	char state;
	unsigned long long start;
	return pshm__task_stat(pshm__holder_self(), &state, &start) == 0 ? token_of(start) : 0;
}

int pshm__holder_gone(uint32_t id, uint32_t token)
{
	if (pshm__process_exists((pshm_pid_t)id) == 0)
		return 1;
	char state;
	unsigned long long start;
	if (pshm__task_stat(id, &state, &start) != 0)
		return 0; /* hidden (hidepid) or closed: not known, so alive */
	if (state == 'Z' || state == 'X')
		return 1; /* dead, not yet reaped by its parent */
	return token != 0 && token_of(start) != token;
}
