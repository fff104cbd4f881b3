/*
 * holder-win.c - lock holders on Windows: a process id names the holder,
 * its creation time tells it from a later process given the same id, and
 * OpenProcess with its exit code says whether it still runs.  Windows keeps
 * no robust futex lists: every mutex is of mutex-owned.c's kind.
 */
#include "config.h"

#include <stdint.h>
#include <windows.h>

#include "sync/sync.h"

int pshm__cpus_to_run_on(void)
{
	DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
	return n > 0 ? (int)n : 1;
}

int pshm__kernel_robust(void)
{
	return 0;
}

uint32_t pshm__holder_self(void)
{
	return (uint32_t)GetCurrentProcessId();
}

/* A token from the creation time of process id; 0 (not known) if it
 * cannot be read. */
static uint32_t token_of(DWORD id)
{
	HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, id);
	FILETIME created, exited, kernel, user;
	int known = process != NULL && GetProcessTimes(process, &created, &exited, &kernel, &user);
	if (process != NULL)
		CloseHandle(process);
	if (!known)
		return 0;
	uint32_t token = created.dwLowDateTime ^ created.dwHighDateTime;
	return token != 0 ? token : 1;
}

uint32_t pshm__holder_token(void)
{
	return token_of(GetCurrentProcessId());
}

int pshm__holder_gone(uint32_t id, uint32_t token)
{
	int exists = pshm__process_exists((pshm_pid_t)id);
	if (exists <= 0)
		return exists == 0; /* not known: alive */
	uint32_t now = token != 0 ? token_of((DWORD)id) : 0;
	return now != 0 && now != token; /* the id was given to another */
}
