/*
 * internal.h - what every floor above os/ shares: the segment header's
 * format, the settings read from attributes, and the backend ops table
 * through which core/ calls backend/.  Not installed.  lib/README is the
 * map of the floors (core/, backend/, heap/, sync/, os/) and their rooms.
 */
#ifndef PSHM_INTERNAL_H
#define PSHM_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "pshm.h"

/* ------------------------------------------------------------------------ */
/* The core's shared pieces: backends.c and attr.c                           */

struct pshm__backend_ops;

/* Whether b is a pshm_backend_t value (DEFAULT included). */
int pshm__is_backend_value(pshm_backend_t b);

/* The ops of backend b (DEFAULT: the default one) in *out if it works here
 * now: 0; -ENOTSUP if it is not built or never works here; or why it does
 * not work at the moment (-EMFILE, -ENOSPC...), which is not kept. */
int pshm__usable_backend(pshm_backend_t b, const struct pshm__backend_ops **out);

#define PSHM__ATTR_MAGIC 0x70736861u /* "pshA": pshm_attr_init ran */
#define PSHM__KNOWN_FLAGS \
	(PSHM_RDONLY | PSHM_NORESERVE | PSHM_ANY_OWNER | PSHM_PREFAULT | PSHM_HUGEPAGES | \
	 PSHM_MANAGED | PSHM_SEALED | PSHM_GLOBAL)

/* What a call's attributes say, checked again in case the caller wrote the
 * private fields. */
struct pshm__settings {
	const struct pshm__backend_ops *ops;
	mode_t mode;
	unsigned flags;
};

/* Settings from attr (NULL: the defaults): 0, -EINVAL, or why the backend
 * cannot be used. */
int pshm__read_attr(const pshm_attr_t *attr, struct pshm__settings *out);

/* The prologue of the calls that take a name and attributes: a bad name is
 * -EINVAL before whatever the attributes would say. */
int pshm__read_name_and_attr(const char *name, const pshm_attr_t *attr,
                             struct pshm__settings *out);

/* How a segment made or resized with flags (PSHM_NORESERVE, PSHM_HUGEPAGES)
 * is to be made: PSHM__MAKE_*. */
unsigned pshm__make_how(unsigned flags);

/* Whether name follows the rule of pshm.h's PSHM_NAME_MAX. */
int pshm__name_is_valid(const char *name);

/* Where shm's usable bytes are mapped, how many, and whether its creator
 * made a heap there (PSHM_MANAGED), for a call that
 * writes them (segment.c): 0, -EINVAL (shm NULL) or -EACCES (attached
 * PSHM_RDONLY). */
int pshm__usable_area(const pshm_t *shm, void **addr, size_t *size, int *managed);

/* Bytes to map for size usable ones, in whole pages of page bytes; 0 if
 * that is too many. */
size_t pshm__mapping_length(size_t size, size_t page);

/* ------------------------------------------------------------------------ */
/* The segment header: the first PSHM__HEADER_SIZE bytes of every segment.  */

#define PSHM__MAGIC UINT64_C(0x315345474d485350) /* "PSHMGES1" little-endian */
#define PSHM__FORMAT_VERSION 2u /* 2: the header lock is made at its first use */
#define PSHM__FORMAT_OLDEST 1u  /* 1: made by pshm_create; read the same */
#define PSHM__HEADER_SIZE 256u /* a multiple of PSHM_ALIGNMENT; what the
                                  fields below leave free is reserved */

/*
 * header.state: fresh pages are zero, so a segment is "creating" from the
 * moment it exists; the creator stores READY last, with release order, after
 * every other field.  Any other value means somebody else's data.
 */
/* header.flags */
#define PSHM__HEADER_MANAGED 0x1u /* PSHM_MANAGED: the creator makes the heap in
                                     the usable bytes after the other fields,
                                     before READY */

#define PSHM__STATE_CREATING 0u
#define PSHM__STATE_READY 0x59444552u /* "REDY" */

struct pshm__header {
	_Atomic uint32_t state; /* first: read before anything else */
	uint32_t version;
	uint64_t magic;
	uint64_t usable_size; /* exact size asked for; the mapping is page-rounded */
	int64_t creator_pid;
	uint32_t backend;
	uint32_t flags; /* PSHM__HEADER_*; 0 in older segments */
	char name[PSHM_NAME_MAX + 2]; /* NUL-padded; "" for anonymous segments */
	uint64_t creator_pidns; /* the creator's PID namespace (0: not known),
	                           so that its pid is judged only where it means
	                           the same process (zero in older segments) */
	/* pshm_lock()'s lock, zero until its first use makes it (version 1:
	 * made by pshm_create), so that making a segment writes only fields;
	 * lock_guard, a lock of mutex-owned.c's kind (free when zero), lets
	 * one process make it */
	_Alignas(8) unsigned char lock_guard[48];
	pshm_mutex_t lock;
	/* pshm_resize's lock, of mutex-owned.c's kind (free when zero): one
	 * resize at a time, so that the size recorded above and the file's
	 * always agree (zero in older segments: free) */
	_Alignas(8) unsigned char resize_lock[48];
};

_Static_assert(sizeof(struct pshm__header) <= PSHM__HEADER_SIZE, "header too big");
_Static_assert(offsetof(struct pshm__header, creator_pidns) == 72, "the pid namespace moved");
_Static_assert(offsetof(struct pshm__header, lock) == 128, "the header lock moved");
_Static_assert(offsetof(struct pshm__header, lock_guard) == 80, "the lock guard moved");
_Static_assert(offsetof(struct pshm__header, resize_lock) == 192, "the resize lock moved");
_Static_assert(PSHM__HEADER_SIZE % PSHM_ALIGNMENT == 0, "data area misaligned");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the ready flag must be lock-free across processes");

/*
 * The first bytes of a segment's object, copied out of it (pread, or from a
 * SysV mapping) before anything trusts them: a file that another process
 * truncates can be read, not mapped, safely.  Past the header they let a
 * half-made segment be told from a foreign object by the zeros its creator
 * has not written over yet.
 */
#define PSHM__HEAD_BYTES 4096u
struct pshm__head {
	union {
		struct pshm__header hdr;
		unsigned char bytes[PSHM__HEAD_BYTES];
	} u;
	size_t have; /* bytes copied: min(object size, PSHM__HEAD_BYTES) */
};

/* header.c: the format, for the core and for the backends. */

/* Fill in hdr, a new segment's header in this process's memory, for the
 * backend's publish slot: every field but the state (CREATING) and the
 * lock (zero: made at its first use). */
void pshm__header_fill(struct pshm__header *hdr, const char *name, size_t size,
                       pshm_backend_t backend, uint32_t flags);

/* Label the anonymous segment whose header is mapped at hdr (size usable
 * bytes, made by backend, with flags PSHM__HEADER_*), as pshm_export_fd
 * does before a descriptor of it leaves: the fields pshm__header_fill sets,
 * then READY; nothing if it is READY already. */
void pshm__header_label(struct pshm__header *hdr, size_t size, pshm_backend_t backend,
                        uint32_t flags);

/* The bytes of a header that pshm__header_fill sets, after the state word:
 * [PSHM__HEADER_FIELDS_START, PSHM__HEADER_FIELDS_END). */
#define PSHM__HEADER_FIELDS_START sizeof(uint32_t)
#define PSHM__HEADER_FIELDS_END offsetof(struct pshm__header, lock_guard)

/*
 * pshm__header_copy - copy the first bytes of a segment mapped at addr (len
 * bytes, which nothing can shrink under the copy: SysV, Windows) into head:
 * 0, or -EAGAIN if its creator published it meanwhile.  Threads of this
 * process may be using the segment: the header lock's bytes and its
 * guard's are never read (lock calls write them), and what follows the lock
 * only while the segment is being made, when nobody writes there yet (the
 * zeros that tell a half-made segment).
 */
int pshm__header_copy(const void *addr, size_t len, struct pshm__head *head);

/* Whether a PSHM_ENOTPSHM judgement deserves another look: for a tenth of
 * a second from the first (*until 0: none yet), since a copy of a creator's
 * first bytes taken while it wrote them (its header's fields, then a heap)
 * is not what they say a moment later; what is still foreign then is
 * somebody else's. */
int pshm__look_again(long long *until);

/*
 * pshm__header_check - what head (copied from an object of len bytes) says
 * of it as backend's segment called name (NULL: any name): 0 ready; -EAGAIN
 * half-made (exactly what pshm_create leaves before it is done: a size it
 * makes, zeros where it has not written yet); PSHM_ENOTPSHM, PSHM_EVERSION,
 * PSHM_ECORRUPT or PSHM_ECOLLISION (another name) otherwise.
 */
int pshm__header_check(const struct pshm__head *head, size_t len, const char *name,
                       pshm_backend_t backend);

/* pshm__header_accept - may pshm_attach (flags PSHM_RDONLY, PSHM_ANY_OWNER)
 * take an object of owner and len bytes with this head: PSHM_EOWNER for
 * another user's without PSHM_ANY_OWNER, else pshm__header_check. */
int pshm__header_accept(const struct pshm__head *head, size_t len, pshm_uid_t owner,
                        const char *name, pshm_backend_t backend, unsigned flags);

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */

/*
 * Which kernel object a name led to.  While a process holds the object
 * (mapped or open) no other object has the same identity; once it is freed
 * a file's (dev, ino) may come back, though tmpfs hands them out in order.
 */
struct pshm__ident {
	int id;    /* SysV shmid; -1 for files */
	dev_t dev; /* a file's device and inode */
	ino_t ino;
	char *dir; /* mmap: the directory it was found in (malloc'd, freed by
	              unmap); NULL: the directory in effect now */
	uint64_t file_id; /* Windows: a file's index on its volume (dev) */
};

/* A mapped segment as a backend sees it. */
struct pshm__map {
	int fd;        /* the object's fd while it is mapped (fd backends: for
	                  pshm_export_fd and pshm_resize), else -1 */
	void *addr;    /* start of the mapping, where the header is */
	size_t len;    /* length of the mapping */
	pshm_uid_t owner; /* the kernel object's owner (set by open_named) */
	size_t usable; /* usable bytes, from the header checked by open_named
	                  (the mapping is not read: its file may shrink) */
	pshm_backend_t made_by; /* the backend its header names (open_fd) */
	uint32_t flags;         /* PSHM__HEADER_* of the header checked by open_named
	                           and open_fd */
	void *handle;           /* Windows: the file mapping's handle */
	struct pshm__ident ident;
};

/* A segment's kernel object as the stat slot describes it, without mapping it. */
struct pshm__object {
	pshm_uid_t owner;
	mode_t mode;
	size_t len;     /* bytes it holds */
	time_t changed; /* when it was made or last changed */
	int attached;   /* processes that have it mapped; -1 not known */
	int regular;    /* 0: not a regular file (a FIFO, socket, directory,
	                   symbolic link...): foreign, and head is empty */
	int exclusive_fd; /* a descriptor holding the file exclusively, since no
	                     handle held it (pshm__held_by_anyone): no attach
	                     starts until the stat slot's caller closes it; -1 */
	struct pshm__ident ident;
	struct pshm__head head;
};

/*
 * A backend is one constant table.  Every slot returns 0 or a negative code,
 * and on failure leaves nothing behind: no mapping, no fd, and no name that
 * it made itself.  A NULL slot means "not supported by this backend".  Any
 * object found under a name may have been planted by another user: it is
 * opened without blocking, and its type checked and its header copied out
 * before anything is mapped.
 */
struct pshm__backend_ops {
	pshm_backend_t id;

	/* probe: 0 if the backend works here now; -ENOTSUP if it never will
	 * (the answer is kept); another code if not now (asked again next
	 * time).  NULL = always works. */
	int (*probe)(void);

	/* create_anon: map len zeroed bytes, shared with later children and
	 * gone when the last of them unmaps or exits.  how: PSHM__MAKE_*. */
	int (*create_anon)(struct pshm__map *map, size_t len, unsigned how);

	/* create_named: create name exclusively (-EEXIST) with exactly mode,
	 * len zeroed bytes, and map it read-write; how as above.  The segment
	 * is half-made (its header all zero) until publish. */
	int (*create_named)(struct pshm__map *map, const char *name, size_t len, mode_t mode,
	                    unsigned how);

	/* write_fields: write hdr's fields (pshm__header_fill's) into the
	 * segment create_named made, its state still CREATING; publish: then
	 * its state READY, last.  Between them the creator may write the
	 * usable bytes (PSHM__HEADER_MANAGED).  -ENOSPC from a full file
	 * system, never SIGBUS. */
	int (*write_fields)(struct pshm__map *map, const struct pshm__header *hdr);
	int (*publish)(struct pshm__map *map);

	/* open_named: map the whole existing segment name (-ENOENT) once
	 * pshm__header_accept (flags: PSHM_RDONLY, PSHM_ANY_OWNER) takes it, in
	 * the namespace flags say (PSHM_GLOBAL);
	 * -EAGAIN while it is half-made. */
	int (*open_named)(struct pshm__map *map, const char *name, unsigned flags);

	/* stat: what the kernel knows of name's object and its first bytes;
	 * the caller closes obj->exclusive_fd where it is not -1. */
	int (*stat)(const char *name, unsigned flags, struct pshm__object *obj);

	/* list: call fn for every name that may be a segment of this backend
	 * (the core checks the names); fn's nonzero value stops it and is
	 * returned.  NULL: this backend cannot list. */
	int (*list)(int (*fn)(const char *name, void *arg), void *arg);

	/* unmap: undo a create/open mapping in this process. */
	int (*unmap)(struct pshm__map *map);

	/* open_fd: what open_named does for the object open on fd (map keeps
	 * it), with any name (the header's into name) and whichever backend
	 * made it (map->made_by); -EAGAIN if it looks half-made.  export_fd: a new descriptor
	 * (O_CLOEXEC) of map's object, with seals (PSHM__SEAL_*) added first;
	 * PSHM_ENODESC for a mapping that has none.  NULL: no descriptors. */
	int (*open_fd)(struct pshm__map *map, int fd, unsigned flags, char name[PSHM_NAME_MAX + 1]);
	int (*export_fd)(const struct pshm__map *map, unsigned seals);

	/* resize: with the header's resize lock held, make map's named
	 * segment usable bytes in a file of len (how: PSHM__MAKE_RESERVE;
	 * PSHM__MAKE_GROW_ONLY: -ENOTSUP if that is less than recorded),
	 * recorded in its header so that no reader sees more usable bytes
	 * than the file holds, and map all of it.  remap: map the size the
	 * header records now (rdonly: read-only).  NULL: fixed sizes. */
	int (*resize)(struct pshm__map *map, size_t usable, size_t len, unsigned how);
	int (*remap)(struct pshm__map *map, int rdonly);

	/* unlink: remove name so no later open finds it.  only NULL
	 * (pshm_remove): whatever segment is there; else only the object only
	 * identifies (pshm_destroy, pshm_remove_orphan), -ENOENT if the name
	 * now holds another. */
	int (*unlink)(const char *name, const struct pshm__ident *only);
};

/* How create_anon and create_named make a segment. */
#define PSHM__MAKE_RESERVE 0x1u /* allocate the memory now where the backend
                                   could otherwise fail later (SIGBUS) */
#define PSHM__MAKE_GLOBAL 0x4u  /* in the namespace of every session
                                   (on Windows, Global) */
#define PSHM__MAKE_HUGE 0x2u    /* back it with huge pages (len is a multiple
                                   of pshm__huge_page_size()); -ENOTSUP where
                                   the backend cannot */
#define PSHM__MAKE_GROW_ONLY 0x8u /* resize: never to less than the size
                                     recorded (a managed segment's heap) */

/* The ops of made_by if its segments have descriptors (DEFAULT: of any
 * backend built here whose segments have them): 0, -ENOTSUP (not built
 * here) or PSHM_ENOTPSHM (no descriptors: a header that says so is not
 * ours). */
int pshm__fd_backend(pshm_backend_t made_by, const struct pshm__backend_ops **out);

extern const struct pshm__backend_ops pshm__backend_sysv;
extern const struct pshm__backend_ops pshm__backend_posix;
extern const struct pshm__backend_ops pshm__backend_mmap;
extern const struct pshm__backend_ops pshm__backend_windows;

#include "os/sys.h" /* the system-call helpers, below everything else */

#endif /* PSHM_INTERNAL_H */
