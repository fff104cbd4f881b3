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

/* A token from process's creation time; 0 (not known) if it cannot be read. */
static uint32_t token_of(HANDLE process)
{
	FILETIME created, exited, kernel, user;
	if (!GetProcessTimes(process, &created, &exited, &kernel, &user))
		return 0;
	uint32_t token = created.dwLowDateTime ^ created.dwHighDateTime;
	return token != 0 ? token : 1;
}

uint32_t pshm__holder_token(void)
{
	return token_of(GetCurrentProcess());
}

int pshm__holder_gone(uint32_t id, uint32_t token)
{
	HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)id);
	if (process == NULL)
		return GetLastError() == ERROR_INVALID_PARAMETER; /* no such process */
	DWORD code = 0;
	int gone = GetExitCodeProcess(process, &code) && code != STILL_ACTIVE;
	if (!gone && token != 0) {
		uint32_t now = token_of(process);
		gone = now != 0 && now != token; /* the id was given to another */
	}
	CloseHandle(process);
	return gone;
}
