/*
 * hugepages.c - the huge page size that PSHM_HUGEPAGES asks for: the
 * kernel's default hugetlb page size, "Hugepagesize:" in /proc/meminfo.
 * Where there is no such file (not Linux) there are no huge pages that
 * libpshm knows how to ask for, and the size is 0.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "os/sys.h"

#define NOT_READ SIZE_MAX

static size_t read_huge_page_size(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (f == NULL)
		return 0;
	char line[128];
	unsigned long kib = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Hugepagesize: %lu kB", &kib) == 1)
			break;
	fclose(f);
	return (size_t)kib * 1024;
}

size_t pshm__huge_page_size(void)
{
	if (!(HAVE_DECL_MAP_HUGETLB || HAVE_DECL_SHM_HUGETLB || HAVE_DECL_MFD_HUGETLB))
		return 0; /* built without a way to ask for them */
	static _Atomic size_t cached = NOT_READ;
	size_t size = atomic_load_explicit(&cached, memory_order_relaxed);
	if (size == NOT_READ) { /* racing readers read the same answer */
		size = read_huge_page_size();
		atomic_store_explicit(&cached, size, memory_order_relaxed);
	}
	return size;
}
