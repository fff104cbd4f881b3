/*
 * internal.h - what the core (pshm.c) and the backends share.  Not installed.
 *
 * The core validates arguments, owns the handle and the segment header, and
 * dispatches through a backend's ops table; a backend only makes, finds,
 * maps and removes the kernel object, and never sees the header except to
 * tell apart two names that share a SysV key.
 */
#ifndef PSHM_INTERNAL_H
#define PSHM_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pshm.h"

/* ------------------------------------------------------------------------ */
/* The segment header: the first PSHM__HEADER_SIZE bytes of every segment.  */

#define PSHM__MAGIC UINT64_C(0x315345474d485350) /* "PSHMGES1" little-endian */
#define PSHM__FORMAT_VERSION 1u
#define PSHM__HEADER_SIZE 256u /* a multiple of PSHM_ALIGNMENT; what the
                                  fields below leave free is reserved */

/*
 * header.state: fresh pages are zero, so a segment is "creating" from the
 * moment it exists; the creator stores READY last, with release order, after
 * every other field.  Any other value means somebody else's data.
 */
#define PSHM__STATE_CREATING 0u
#define PSHM__STATE_READY 0x59444552u /* "REDY" */

struct pshm__header {
	_Atomic uint32_t state; /* first: read before anything else */
	uint32_t version;
	uint64_t magic;
	uint64_t usable_size; /* exact size asked for; the mapping is page-rounded */
	int64_t creator_pid;
	uint32_t backend;
	uint32_t reserved0;
	char name[PSHM_NAME_MAX + 2]; /* NUL-padded; "" for anonymous segments */
	unsigned char reserved1[56];
	pshm_mutex_t lock; /* pshm_lock(): initialized before state is READY */
};

_Static_assert(sizeof(struct pshm__header) <= PSHM__HEADER_SIZE, "header too big");
_Static_assert(offsetof(struct pshm__header, lock) == 128, "the header lock moved");
_Static_assert(PSHM__HEADER_SIZE % PSHM_ALIGNMENT == 0, "data area misaligned");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the ready flag must be lock-free across processes");

/*
 * pshm__header_check - is hdr (len mapped bytes) a ready libpshm segment
 * called name (NULL: do not compare)?  0 if so; -EAGAIN if its creator has
 * not finished; PSHM_ENOTPSHM, PSHM_EVERSION, PSHM_ECORRUPT or
 * PSHM_ECOLLISION (another name) otherwise.
 */
int pshm__header_check(const struct pshm__header *hdr, size_t len, const char *name);

/*
 * pshm__populate - PSHM_PREFAULT: fault in the len bytes mapped at addr, for
 * writing or only for reading.  0 (also where the system cannot, as it is a
 * hint), -ENOSPC if a page could not be had, or another negative errno.
 */
int pshm__populate(void *addr, size_t len, int writable);

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */

/* A mapped segment as a backend sees it. */
struct pshm__map {
	void *addr;  /* start of the mapping, where the header is */
	size_t len;  /* length of the mapping */
	int id;      /* SysV shmid; -1 for the fd-based backends */
	uid_t owner; /* the kernel object's owner (set by xOpenNamed) */
};

/* A segment's kernel object as xStat describes it. */
struct pshm__object {
	uid_t owner;
	mode_t mode;
	size_t len;     /* bytes it holds */
	time_t changed; /* when it was made or last changed */
	int attached;   /* processes that have it mapped; -1 not known */
};

/*
 * A backend is one constant table.  Every slot returns 0 or a negative code,
 * and on failure leaves nothing behind: no mapping, no fd, and no name that
 * it made itself.  A NULL slot means "not supported by this backend".
 */
struct pshm__backend_ops {
	pshm_backend_t id;
	const char *name;

	/* xProbe: 0 if the backend works on this system now; NULL = always. */
	int (*probe)(void);

	/* xCreateAnon: map len zeroed bytes, shared with later children and
	 * gone when the last of them unmaps or exits.  how: PSHM__MAKE_*. */
	int (*create_anon)(struct pshm__map *map, size_t len, unsigned how);

	/* xCreateNamed: create name exclusively (-EEXIST) with exactly mode,
	 * len zeroed bytes, and map it read-write; how as above. */
	int (*create_named)(struct pshm__map *map, const char *name, size_t len, mode_t mode,
	                    unsigned how);

	/* xOpenNamed: map the whole existing segment name (-ENOENT) and say
	 * who owns it.  -EAGAIN when it is too small to hold a header yet (its
	 * creator is sizing it). */
	int (*open_named)(struct pshm__map *map, const char *name, int rdonly);

	/* xStat: what the kernel knows of name's object, without mapping it. */
	int (*stat)(const char *name, struct pshm__object *obj);

	/* xList: call fn for every name that may be a segment of this backend
	 * (the core checks the names); fn's nonzero value stops it and is
	 * returned.  NULL: this backend cannot list. */
	int (*list)(int (*fn)(const char *name, void *arg), void *arg);

	/* xUnmap: undo a create/open mapping in this process. */
	int (*unmap)(struct pshm__map *map);

	/* xUnlink: remove name so no later open finds it.  map is the caller's
	 * own mapping of that segment (pshm_destroy), or NULL (pshm_remove). */
	int (*unlink)(const char *name, const struct pshm__map *map);
};

/* How xCreateAnon and xCreateNamed make a segment. */
#define PSHM__MAKE_RESERVE 0x1u /* allocate the memory now where the backend
                                   could otherwise fail later (SIGBUS) */
#define PSHM__MAKE_HUGE 0x2u    /* back it with huge pages (len is a multiple
                                   of pshm__huge_page_size()); -ENOTSUP where
                                   the backend cannot */

extern const struct pshm__backend_ops pshm__backend_sysv;
extern const struct pshm__backend_ops pshm__backend_posix;
extern const struct pshm__backend_ops pshm__backend_mmap;

/* ------------------------------------------------------------------------ */
/* Helpers shared by the backends                                            */

/* The system page size (sysconf, read once). */
size_t pshm__page_size(void);

/* The size of the huge pages PSHM_HUGEPAGES asks for, or 0 where the
 * system has none that libpshm knows how to ask for (read once). */
size_t pshm__huge_page_size(void);

/* Negated errno for the last failed call; never 0 (-EIO if errno was 0). */
int pshm__neg_errno(void);

/* fd-based segments (POSIX and mmap backends), in fd-segment.c. */

/* How much of a new file pshm__fd_init_map allocates up front, so that a
 * full file system says -ENOSPC then and not SIGBUS at a touch later. */
enum pshm__reserve {
	PSHM__RESERVE_NOTHING, /* a memfd: there is no file system to fill */
	PSHM__RESERVE_HEADER,  /* PSHM_NORESERVE: the header's page, written at once */
	PSHM__RESERVE_ALL,
};

/* Set fd's mode exactly (the umask trimmed what open() got), then
 * pshm__fd_init_map with PSHM__RESERVE_ALL, or _HEADER if !reserve. */
int pshm__fd_init_named(int fd, mode_t mode, size_t len, int reserve, struct pshm__map *map);

/* Size fd to len, allocate what reserve says and map it read-write. */
int pshm__fd_init_map(int fd, size_t len, enum pshm__reserve reserve, struct pshm__map *map);

/* Map all of the existing object behind fd; -EAGAIN while it is smaller than
 * a header. */
int pshm__fd_map_existing(int fd, int rdonly, struct pshm__map *map);

/* xStat for an fd-based segment open on fd. */
int pshm__fd_stat(int fd, struct pshm__object *obj);

/* How many processes map the file (dev, ino): mappers-linux.c reads /proc,
 * mappers-none.c cannot tell.  -1 when not known; others_may_map: whether
 * processes of other users could have it mapped (their maps are unreadable). */
int pshm__count_mappers(dev_t dev, ino_t ino, int others_may_map);

/* Call fn for each entry of the directory open on dirfd (which it takes
 * over and closes) whose name starts with prefix, with the prefix cut. */
int pshm__list_dir(int dirfd, const char *prefix, int (*fn)(const char *name, void *arg),
                   void *arg);

/* munmap map (for the xUnmap slot). */
int pshm__fd_unmap(struct pshm__map *map);

/* open(2) retried on EINTR; returns the fd or a negative code. */
int pshm__open_retry(const char *path, int flags, mode_t mode);

/* ------------------------------------------------------------------------ */
/* Sleeping on a word of shared memory (wait-futex.c or wait-poll.c)         */

/*
 * pshm__wait - sleep while *word == expected, until pshm__wake() on word or
 * until deadline (CLOCK_MONOTONIC; NULL: no limit).  0 when woken or when
 * *word differs (possibly spuriously: callers re-check), -ETIMEDOUT when the
 * deadline passed.  word may be mapped at other addresses in other processes.
 */
int pshm__wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline);

/* pshm__wake - wake one (all == 0) or every sleeper in pshm__wait on word. */
void pshm__wake(_Atomic uint32_t *word, int all);

#endif /* PSHM_INTERNAL_H */
