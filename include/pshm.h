/*
 * pshm.h - libpshm, a portable shared-memory library.
 *
 * One opaque handle, one set of calls, three backends underneath (SysV,
 * POSIX, mmap).  Every call that can fail returns 0 on success or a negative
 * error code: a negated errno value (-EINVAL, -ENOENT, ...) or one of the
 * PSHM_E* codes below, which lie under -1000.  Nothing is printed and errno is
 * not the channel; pshm_strerror() describes any code.
 *
 * The full reference is the pshm(3) manual page.  Contents, in order:
 *   Backends        which of SysV, POSIX and mmap, at run time
 *   Errors          PSHM_E* codes, pshm_strerror
 *   Attributes      pshm_attr_t: backend, mode, flags
 *   Segments        create, attach, open, detach, destroy, remove
 *   Descriptors     export, attach by descriptor, send and receive
 *   Sizes that change   pshm_resize, pshm_remap
 *   Inspecting and cleaning up   pshm_stat, pshm_list, pshm_remove_orphan
 *   Synchronization mutexes, condition variables, the header lock
 *   Semaphores      counting semaphores in a segment
 *   Managed segments    a heap in the segment, named objects
 *
 * Copyright (c) 2026 The libpshm authors.  MIT licence, see COPYING.
 */
#ifndef PSHM_H
#define PSHM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What the calls export and import.  Windows: the DLL exports them
 * (libtool defines DLL_EXPORT while building it) and its users import them;
 * a program linked with the static library defines PSHM_STATIC first.
 * Elsewhere: only what is marked leaves the library (-fvisibility=hidden).
 */
#if defined(_WIN32) && defined(PSHM_BUILDING)
#if defined(DLL_EXPORT)
#define PSHM_EXTERN __declspec(dllexport)
#else
#define PSHM_EXTERN
#endif
#elif defined(_WIN32) && !defined(PSHM_STATIC)
#define PSHM_EXTERN __declspec(dllimport)
#elif defined(PSHM_BUILDING) && defined(__GNUC__)
#define PSHM_EXTERN __attribute__((visibility("default")))
#else
#define PSHM_EXTERN
#endif

/*
 * The system's types for an owner, permission bits and a process id, where
 * it has them (the same types, so the same ABI, as the POSIX calls); on
 * Windows, which has no uid_t and whose MSVC has no mode_t or pid_t, types
 * of libpshm's own.
 */
#if defined(_WIN32)
typedef unsigned int pshm_uid_t;  /* an owner: Windows' are SIDs, not numbers (0) */
typedef unsigned int pshm_mode_t; /* permission bits, as POSIX numbers them */
typedef int pshm_pid_t;           /* a process id */
#else
#include <sys/types.h>
typedef uid_t pshm_uid_t;
typedef mode_t pshm_mode_t;
typedef pid_t pshm_pid_t;
#endif

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */

typedef enum pshm_backend {
	PSHM_BACKEND_DEFAULT = 0, /* the one chosen by ./configure */
	PSHM_BACKEND_SYSV = 1,    /* shmget / shmat / shmdt / shmctl(IPC_RMID) */
	PSHM_BACKEND_POSIX = 2,   /* shm_open + ftruncate + mmap(MAP_SHARED) */
	PSHM_BACKEND_MMAP = 3,    /* anonymous: mmap(MAP_SHARED|MAP_ANONYMOUS);
	                             named: a MAP_SHARED file in a directory */
	PSHM_BACKEND_WINDOWS = 4, /* Windows: CreateFileMapping on the paging file,
	                             named in the session's Local\ namespace */
	PSHM_BACKEND_MAX          /* one past the last: every backend is
	                             PSHM_BACKEND_DEFAULT < b < PSHM_BACKEND_MAX
	                             (it grows when backends are added) */
} pshm_backend_t;

/*
 * pshm_backend_name - the backend's short name: "sysv", "posix", "mmap" or
 * "windows".
 * PSHM_BACKEND_DEFAULT gives the name of the backend it resolves to.  A value
 * outside the enum gives "unknown" (never NULL).
 */
PSHM_EXTERN const char *pshm_backend_name(pshm_backend_t b);

/*
 * pshm_backend_supported - 1 if backend b is compiled in and usable on this
 * system right now, else 0.  PSHM_BACKEND_DEFAULT asks about the default.
 * A backend that cannot be tried now for want of a resource (fds, memory)
 * is asked again next time.
 */
PSHM_EXTERN int pshm_backend_supported(pshm_backend_t b);

/*
 * pshm_default_backend - the backend that PSHM_BACKEND_DEFAULT stands for, as
 * chosen by ./configure --with-default-backend.  Never PSHM_BACKEND_DEFAULT.
 */
PSHM_EXTERN pshm_backend_t pshm_default_backend(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* Codes of libpshm's own, for what errno cannot say. */
enum {
	PSHM_ENOTPSHM = -1001,   /* the object under that name is not a libpshm segment */
	PSHM_EVERSION = -1002,   /* a libpshm segment of a format this library does not read */
	PSHM_ENOTREADY = -1003,  /* the segment's creator has not finished creating it
	                            (still at work, or died half-way) */
	PSHM_ECOLLISION = -1004, /* the segment found belongs to another name (on SysV,
	                            two names whose keys collide) */
	PSHM_ECORRUPT = -1005,   /* the segment header contradicts the segment's real size */
	PSHM_EOWNERDEAD = -1006, /* the mutex's owner died holding it; the caller now
	                            holds it and must repair the data, then call
	                            pshm_mutex_consistent() before unlocking */
	PSHM_ENOTRECOVERABLE = -1007, /* the mutex's owner died and nobody marked it
	                                 consistent: it can never be locked again */
	PSHM_EOWNER = -1008,  /* the segment belongs to another user (see PSHM_ANY_OWNER) */
	PSHM_EUNSAFE = -1009, /* the mmap backend's directory is unsafe: others may write
	                         in it without the sticky bit, or another user owns it */
	PSHM_ENOHEAP = -1010, /* the segment has no heap: it was not created PSHM_MANAGED */
	PSHM_ENODESC = -1011, /* the segment has no file descriptor: SysV, or an
	                         anonymous segment of the mmap backend */
	PSHM_EUNSEALED = -1012 /* PSHM_SEALED: the descriptor is not sealed against
	                          shrinking, so its sender could make it shrink */
};

/*
 * pshm_strerror - a static, thread-safe English description of err, which is
 * 0, a negated errno value or a PSHM_E* code.  Unknown codes give
 * "Unknown error"; never NULL.
 */
PSHM_EXTERN const char *pshm_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */

/* Flags for pshm_attr_set_flags(). */
#define PSHM_RDONLY 0x1u /* pshm_attach: map the segment read-only; a write faults.
                            Not valid for pshm_create (-EINVAL). */
#define PSHM_NORESERVE 0x2u /* pshm_create: do not reserve the memory up front.
                               By default the POSIX and mmap backends allocate
                               every page at creation, so that a full tmpfs is
                               -ENOSPC then and not SIGBUS on a later first
                               touch; this skips that, for a faster creation
                               of large sparse segments.  Not valid for
                               pshm_attach (-EINVAL). */
#define PSHM_ANY_OWNER 0x4u /* pshm_attach: accept a segment that another user
                               owns (its mode must still let the caller in).
                               Without it such a segment is refused with
                               PSHM_EOWNER, so that a look-alike planted by
                               someone else is never taken for one's own.
                               Not valid for pshm_create (-EINVAL). */
#define PSHM_PREFAULT 0x8u /* pshm_create, pshm_attach: fault every page of
                              the segment into this process now, so that
                              first touches later cost no page fault (one
                              system call instead of one fault per page).
                              -ENOSPC if the memory cannot be had (a full
                              file system with PSHM_NORESERVE).  A hint:
                              where the kernel cannot populate a mapping
                              (Linux before 5.14, other systems) it does
                              nothing.  See pshm_prefault for part of a
                              segment, or later. */
#define PSHM_HUGEPAGES 0x10u /* pshm_create: back the segment with huge pages
                                (hugetlb, 2 MiB on x86-64): fewer page
                                faults and TLB misses for large segments.
                                The memory taken is rounded up to whole huge
                                pages.  They must have been set aside
                                (vm.nr_hugepages), else -ENOMEM; SysV also
                                needs CAP_IPC_LOCK or vm.hugetlb_shm_group,
                                else -EPERM.  Anonymous segments of every
                                backend and named SysV ones; -ENOTSUP for
                                named POSIX and mmap segments (their file
                                systems have no huge pages) and where the
                                system has none.  Not valid for pshm_attach
                                (-EINVAL): attaching maps whatever the
                                segment is. */
#define PSHM_MANAGED 0x20u /* pshm_create: make the usable area a heap, from
                              which every process that has the segment
                              allocates (pshm_alloc) and finds named objects
                              (pshm_object); see "Managed segments" below.
                              The size must be at least PSHM_HEAP_MIN; the
                              heap is made before any other process can
                              attach.  Not with PSHM_NORESERVE (the heap
                              writes its block heads anywhere in the
                              segment, so its memory must be reserved), nor
                              for pshm_attach: -EINVAL. */
#define PSHM_SEALED 0x40u /* pshm_attach_fd, pshm_recv: take only a descriptor
                             sealed against shrinking (a memfd that
                             pshm_export_fd sealed), else PSHM_EUNSEALED: a
                             sender that keeps another descriptor of the
                             segment can then never make this process die
                             of SIGBUS by shrinking it.  Without it, a named
                             segment's descriptor is taken as pshm_attach
                             takes its name.  Not valid elsewhere: -EINVAL. */

#define PSHM_GLOBAL 0x80u /* pshm_create, pshm_attach, pshm_open, pshm_stat: on
                             Windows, the name lives in the namespace that
                             every session sees (Global\pshm.NAME), not in
                             the session's own (Local\pshm.NAME, the
                             default); creating there needs
                             SeCreateGlobalPrivilege (services and
                             administrators have it), else -EPERM.  Other
                             systems have one namespace for every session:
                             there it changes nothing. */

/*
 * Segment attributes.  Caller-allocated (on the stack is fine); initialize
 * with pshm_attr_init() and change only through the setters: the fields are
 * private and the reserved space keeps the size stable when fields are added.
 */
typedef struct pshm_attr {
	unsigned int pshm_private_magic;
	int pshm_private_backend;
	unsigned int pshm_private_mode;
	unsigned int pshm_private_flags;
	unsigned char pshm_private_reserved[48];
} pshm_attr_t;

/*
 * pshm_attr_init - set every attribute to its default: backend
 * PSHM_BACKEND_DEFAULT, mode 0600, flags 0.  -EINVAL if attr is NULL.
 */
PSHM_EXTERN int pshm_attr_init(pshm_attr_t *attr);

/*
 * pshm_attr_set_backend - choose the backend.  -EINVAL if attr is NULL or not
 * initialized, or b is not a pshm_backend_t value.  A backend that is not
 * supported here is accepted now and reported by create/attach (-ENOTSUP).
 */
PSHM_EXTERN int pshm_attr_set_backend(pshm_attr_t *attr, pshm_backend_t b);

/*
 * pshm_attr_set_mode - permission bits for a named segment that
 * pshm_create makes (the umask does not apply).  -EINVAL if attr is NULL or
 * not initialized, or mode has bits outside 0777.
 */
PSHM_EXTERN int pshm_attr_set_mode(pshm_attr_t *attr, pshm_mode_t mode);

/*
 * pshm_attr_set_flags - set the PSHM_* flags (replacing the previous ones).
 * -EINVAL if attr is NULL or not initialized, or flags has an unknown bit.
 */
PSHM_EXTERN int pshm_attr_set_flags(pshm_attr_t *attr, unsigned flags);

/* ------------------------------------------------------------------------ */
/* Segments                                                                  */

typedef struct pshm pshm_t; /* opaque */

/* Names: 1 to PSHM_NAME_MAX characters of [A-Za-z0-9._-], not starting with '.'. */
#define PSHM_NAME_MAX 30

/* The usable area starts aligned to at least this many bytes. */
#define PSHM_ALIGNMENT 64

/*
 * pshm_create - create a segment of size usable bytes, zero-filled, and
 * attach it; *shm receives the handle (left untouched on failure).
 *
 * name NULL: an anonymous segment, shared with every child the caller forks
 * afterwards; nothing is left behind once the last process holding it
 * detaches or exits.  Otherwise a named segment, created exclusively, that
 * unrelated processes of the same user reach with pshm_attach().
 *
 * Errors: -EINVAL (shm NULL, bad name, size 0 or larger than can be mapped,
 * uninitialized attr, PSHM_RDONLY), -ENOTSUP (backend not supported),
 * -EEXIST (name taken), PSHM_ECOLLISION (SysV key held by another name),
 * -ENOMEM/-ENOSPC (out of memory or over a system limit), -EFBIG (a POSIX or
 * mmap segment over RLIMIT_FSIZE), -EACCES, -EMFILE, and other negated
 * errno values from the system.
 */
PSHM_EXTERN int pshm_create(pshm_t **shm, const char *name, size_t size,
                            const pshm_attr_t *attr);

/*
 * pshm_attach - attach the existing named segment of the backend that attr
 * selects; its size comes from the segment.  Waits briefly for a creator that
 * has not finished; never hands back a half-made segment.
 *
 * Whatever else is under the name (another program's object, or a FIFO,
 * socket, directory or symbolic link another user planted) is PSHM_ENOTPSHM,
 * after a tenth of a second of looking again (a creator may be writing):
 * it is opened without blocking and its header read, not mapped, first.
 *
 * Errors: -EINVAL (shm or name NULL, bad name, bad attr), -ENOTSUP, -ENOENT
 * (no such segment), -EACCES (mode forbids it), PSHM_ENOTPSHM, PSHM_EVERSION,
 * PSHM_ECORRUPT, PSHM_ECOLLISION, PSHM_ENOTREADY.
 */
PSHM_EXTERN int pshm_attach(pshm_t **shm, const char *name, const pshm_attr_t *attr);

/*
 * pshm_open - attach the named segment if it exists, else create it (size
 * bytes, attr as for pshm_create), atomically: when processes race, all get
 * the same segment and exactly one creates it; none is handed a half-made
 * one.  Returns 1 if this call created the segment, 0 if it attached one
 * that existed, whatever its size (see pshm_size).  The flags of attr are
 * pshm_create's (PSHM_MANAGED makes the heap before anyone attaches);
 * PSHM_PREFAULT applies to either way.  Errors: those of pshm_create and
 * pshm_attach; -EINVAL for PSHM_RDONLY or PSHM_ANY_OWNER; -EAGAIN if the
 * name was removed and made again by others every time it was tried.
 */
PSHM_EXTERN int pshm_open(pshm_t **shm, const char *name, size_t size, const pshm_attr_t *attr);

/* The longest prefix pshm_create_unique takes: room for '-' and 12
 * random characters in PSHM_NAME_MAX. */
#define PSHM_UNIQUE_PREFIX_MAX 17

/*
 * pshm_create_unique - pshm_create() under a new name nobody has: prefix
 * (NULL: "pshm"), '-' and 12 random letters and digits, tried again with
 * other random characters while the name is taken.  pshm_name(*shm) gives
 * it, to pass to the processes that are to attach.  Errors: as
 * pshm_create; -EINVAL for a prefix that is not a valid name or is longer
 * than PSHM_UNIQUE_PREFIX_MAX; -EEXIST if 16 random names were all taken.
 */
PSHM_EXTERN int pshm_create_unique(pshm_t **shm, const char *prefix, size_t size,
                                   const pshm_attr_t *attr);

/* pshm_addr - start of the usable bytes (PSHM_ALIGNMENT-aligned); NULL if shm is NULL. */
PSHM_EXTERN void *pshm_addr(const pshm_t *shm);

/* pshm_size - number of usable bytes, as asked of pshm_create; 0 if shm is NULL. */
PSHM_EXTERN size_t pshm_size(const pshm_t *shm);

/* pshm_name - the segment's name; NULL for an anonymous segment or a NULL shm. */
PSHM_EXTERN const char *pshm_name(const pshm_t *shm);

/* pshm_backend - the resolved backend (never DEFAULT); DEFAULT if shm is NULL. */
PSHM_EXTERN pshm_backend_t pshm_backend(const pshm_t *shm);

/*
 * pshm_prefault - take now, in one system call, the page faults that
 * reading bytes [offset, offset + len) of the usable memory (whole pages
 * around them) would take one by one (on tmpfs and SysV memory, writing
 * them then faults no more either).  For a process
 * that inherited a segment across fork() or attached it: its first touch
 * of each page would otherwise fault (of a SysV segment, one fault per
 * page; POSIX and mmap segments get some pages mapped around each fault).
 * PSHM_PREFAULT does the same for the whole segment in pshm_create and
 * pshm_attach.  Errors: -EINVAL (shm NULL, range beyond pshm_size),
 * -ENOSPC (the memory cannot be had: a full file system with
 * PSHM_NORESERVE), -ENOMEM, -ENOTSUP (the kernel cannot populate a
 * mapping: Linux before 5.14, other systems; touching the pages instead
 * could raise SIGBUS where this returns -ENOSPC).
 */
PSHM_EXTERN int pshm_prefault(pshm_t *shm, size_t offset, size_t len);

/*
 * pshm_detach - unmap the segment and free the handle; the segment lives on
 * for the others.  A child that inherited a handle through fork() may detach
 * its own copy.  The handle is freed even when an error is returned.
 * -EINVAL if shm is NULL.
 */
PSHM_EXTERN int pshm_detach(pshm_t *shm);

/*
 * pshm_destroy - remove the segment's name, so that no later pshm_attach
 * finds it, then detach.  Processes still attached keep working on it until
 * they detach.  For an anonymous segment it is pshm_detach.  Only this
 * segment's name is removed: -ENOENT if somebody removed it first, even if
 * the name now holds another segment (left alone).  An mmap segment's file
 * is removed from the directory it was made or attached in.  The handle is
 * freed even when an error is returned.  -EINVAL if shm is NULL.
 */
PSHM_EXTERN int pshm_destroy(pshm_t *shm);

/*
 * pshm_remove - remove the named segment of the backend that attr selects,
 * without attaching it.  Processes attached keep working on it.
 * Errors: -EINVAL, -ENOTSUP, -ENOENT, -EACCES/-EPERM, and on SysV
 * PSHM_ECOLLISION or PSHM_ENOTPSHM when the key holds another segment.
 */
PSHM_EXTERN int pshm_remove(const char *name, const pshm_attr_t *attr);

/* ------------------------------------------------------------------------ */
/* Descriptors: handing a segment to another process                        */

/* pshm_export_fd, pshm_send: also seal an anonymous segment against growing. */
#define PSHM_SEAL_GROW 0x1u
/* pshm_export_fd: let the programs this process starts from now inherit
 * the descriptor (not for pshm_send: -EINVAL). */
#define PSHM_INHERIT 0x2u

/*
 * pshm_export_fd - a new file descriptor of the segment's object, which the
 * caller closes; another process gives it to pshm_attach_fd.  It is
 * close-on-exec: with PSHM_INHERIT (or FD_CLOEXEC cleared) it passes across
 * exec, and the child is told its number (argv, environment).  POSIX
 * segments, named mmap segments and Windows segments have one.  An
 * anonymous POSIX segment (a memfd) is first labelled with a header, and
 * sealed against shrinking (and growing too with PSHM_SEAL_GROW) where the
 * system has seals (Linux, FreeBSD), so that no receiver can be made to die
 * of SIGBUS.  flags: 0, PSHM_SEAL_GROW, PSHM_INHERIT.
 *
 * On Windows the descriptor is a handle of the file mapping, as an int
 * (Windows keeps handles to 32 bits): close it with
 * CloseHandle((HANDLE)(intptr_t)fd).  With PSHM_INHERIT it is inheritable,
 * and a child started by CreateProcess with bInheritHandles (as _spawn does)
 * has it under the same number; without, DuplicateHandle can place it in
 * another process.  This is how a child gets an anonymous segment there.
 *
 * Errors: -EINVAL, PSHM_ENODESC (SysV: see pshm_sysv_id; an anonymous
 * mmap segment: create it with the POSIX backend to hand it over),
 * -EMFILE.
 */
PSHM_EXTERN int pshm_export_fd(pshm_t *shm, unsigned flags);

/*
 * pshm_attach_fd - attach the segment that fd (from pshm_export_fd, here or
 * in another process; inherited across exec, or received) describes, once
 * its header is checked against the object's real size; the caller keeps
 * fd.  attr: its flags PSHM_RDONLY, PSHM_ANY_OWNER, PSHM_PREFAULT and
 * PSHM_SEALED; its backend is not used: the segment's header says which.
 * pshm_name gives a named segment's name and pshm_destroy removes it (only
 * if the name still holds this segment).  Errors: -EINVAL, -EBADF,
 * PSHM_ENOTPSHM (not a regular file, or not a libpshm segment),
 * PSHM_ENOTREADY (made, not finished), PSHM_EUNSEALED, PSHM_EOWNER,
 * PSHM_EVERSION, PSHM_ECORRUPT, -EACCES (a read-only fd without
 * PSHM_RDONLY), -ENOTSUP (made by a backend this build lacks), -ENOMEM.
 */
PSHM_EXTERN int pshm_attach_fd(pshm_t **shm, int fd, const pshm_attr_t *attr);

/*
 * pshm_send - send the segment over the connected Unix socket sock (one
 * descriptor, SCM_RIGHTS, with a one-line message), as pshm_export_fd with
 * flags would make it; no SIGPIPE where the system has MSG_NOSIGNAL (not
 * macOS).  pshm_recv - receive one so sent and attach it (attr as
 * pshm_attach_fd's); a descriptor received with anything else is closed.
 * Both block as sock does and retry EINTR.  Errors: those of
 * pshm_export_fd and pshm_attach_fd, of sendmsg and recvmsg (-EAGAIN on a
 * non-blocking socket with nothing to read, -EPIPE), -ECONNRESET (the peer
 * closed the connection), -EBADMSG (a message that is not pshm_send's, an
 * empty datagram, or one that carried no descriptor).
 */
PSHM_EXTERN int pshm_send(int sock, pshm_t *shm, unsigned flags);
PSHM_EXTERN int pshm_recv(int sock, pshm_t **shm, const pshm_attr_t *attr);

/*
 * pshm_sysv_id - a SysV segment's identifier, as ipcs(1) shows it, which a
 * process of a user its mode lets in may shmat(2); -EINVAL if shm is NULL,
 * PSHM_ENODESC for the other backends.
 */
PSHM_EXTERN int pshm_sysv_id(const pshm_t *shm);

/* ------------------------------------------------------------------------ */
/* Sizes that change                                                         */

/*
 * pshm_resize - make a named POSIX or mmap segment size usable bytes (its
 * first min(old, new) bytes kept, new ones zero) and remap this handle.
 * The memory is reserved as pshm_create reserves it (flags 0; -ENOSPC from
 * a full file system, never a later SIGBUS), or not (PSHM_NORESERVE).  The
 * size is recorded in the segment's header: other processes keep their
 * mapping (and pshm_size) until they call pshm_remap.  Pointers into the
 * segment do not survive either call: pshm_addr may change (use offsets).
 * Shrink only when no process uses the bytes cut off: one that touches
 * them before its pshm_remap gets SIGBUS.  A PSHM_MANAGED segment only
 * grows, reserved: its heap takes the new bytes at its end, every block
 * staying where it was, and the heap calls of a process that maps less
 * say -ESTALE until it calls pshm_remap.  Errors: -EINVAL (size 0, too
 * big; PSHM_NORESERVE on a managed segment), -EACCES (attached
 * PSHM_RDONLY), -ENOTSUP (SysV and anonymous segments, whose size is
 * fixed; a managed segment made smaller), -ENOSPC, -EFBIG, -ENOMEM; on
 * failure the segment and the mapping are as they were.
 */
PSHM_EXTERN int pshm_resize(pshm_t *shm, size_t size, unsigned flags);

/*
 * pshm_remap - map the size the segment's header records now, after
 * another process's pshm_resize: 1 if pshm_size (and maybe pshm_addr)
 * changed, 0 if not (segments whose size is fixed: always 0).  Errors:
 * -EINVAL, PSHM_ECORRUPT (a header that contradicts the file), -ENOMEM;
 * on failure the mapping is as it was.
 */
PSHM_EXTERN int pshm_remap(pshm_t *shm);

/* ------------------------------------------------------------------------ */
/* Inspecting and cleaning up                                                */

/* pshm_info_t.state */
enum {
	PSHM_STATE_READY = 1,     /* a libpshm segment, ready */
	PSHM_STATE_HALF_MADE = 2, /* a libpshm segment whose creator has not finished */
	PSHM_STATE_FOREIGN = 3    /* something else under the name: not libpshm's */
};

/* What pshm_stat() says of a named segment.  Filled in by the library; the
 * reserved bytes keep its size when fields are added. */
typedef struct pshm_info {
	pshm_backend_t backend; /* the resolved backend */
	int state;              /* PSHM_STATE_* */
	size_t size;            /* usable bytes of a ready segment; else 0 */
	size_t object_size;     /* bytes the kernel object holds (page-rounded) */
	pshm_uid_t owner;       /* the object's owner */
	pshm_mode_t mode;       /* its permission bits */
	pshm_pid_t creator_pid; /* the process that created it; 0 if not known */
	int creator_alive;      /* 1 alive, 0 dead, -1 not known */
	int attached;           /* processes that have it mapped now; -1 not known */
	long long age;          /* seconds since the object was made or last changed */
	int orphaned;           /* 1 if pshm_remove_orphan() would remove it */
	unsigned char pshm_private_reserved[60];
} pshm_info_t;

/*
 * pshm_stat - describe the named segment of the backend that attr selects,
 * without attaching it and whatever state it is in (half-made or foreign
 * objects included).  The caller must be able to read the object.
 *
 * Half-made is only what pshm_create leaves while it works; anything else
 * under the name is foreign.  A segment is orphaned when nothing uses it any
 * more: its creator is dead (or, for a half-made one that names no creator,
 * the object is over 10 seconds old) and no process has it mapped.
 * Attachments are counted by the kernel for SysV.  For the POSIX and mmap
 * backends every handle holds a shared flock(2) on its file while attached
 * (a fork child's copy too; the kernel drops it with the last copy, on a
 * crash as on exit): a file nobody holds has nobody attached (0), in any
 * PID namespace; one that somebody holds is counted from /proc where every
 * process can be read, else -1 (in use, count not known), and never called
 * orphaned.  A creator in another PID namespace is neither alive nor dead
 * (creator_alive -1).
 *
 * Errors: -EINVAL (bad name, NULL info, bad attr), -ENOTSUP, -ENOENT,
 * -EACCES.
 */
PSHM_EXTERN int pshm_stat(const char *name, const pshm_attr_t *attr, pshm_info_t *info);

/*
 * pshm_list - call fn(name, arg) for each named libpshm segment of the
 * backend that attr selects that the caller can see, in no set order; stop
 * early and return what fn returned when that is not 0.  POSIX: the objects
 * of /dev/shm (Linux); mmap: the segment directory; SysV: the segments of
 * /proc/sysvipc/shm (Linux) that the caller can read and that carry a ready
 * libpshm header (a half-made SysV segment has no name yet).  Names come
 * and go while it runs: fn may find one gone.
 *
 * Errors: -EINVAL (fn NULL, bad attr), -ENOTSUP (the backend, or listing
 * on this system), -ENOTDIR (mmap: no segment directory), -EACCES,
 * PSHM_EUNSAFE.
 */
PSHM_EXTERN int pshm_list(const pshm_attr_t *attr, int (*fn)(const char *name, void *arg),
                          void *arg);

/*
 * pshm_remove_orphan - remove the named segment if pshm_stat() calls it
 * orphaned: the clean-up for segments left by crashed programs.  -EBUSY if
 * it is in use (or might be); -EPERM for a foreign object, which it never
 * removes; -ENOENT if the name no longer holds the object judged (it is
 * the object judged that is removed, never a newer one); otherwise as
 * pshm_stat() and pshm_remove().
 */
PSHM_EXTERN int pshm_remove_orphan(const char *name, const pshm_attr_t *attr);

/* ------------------------------------------------------------------------ */
/* Synchronization                                                           */

/*
 * The kernel does not order what processes do to a segment; these do.  A
 * pshm_mutex_t or pshm_cond_t lives inside a segment (anywhere suitably
 * aligned: pshm_addr() and any multiple of 8 bytes past it), is initialized
 * once by one process, and is then used by every process that has the
 * segment mapped, whatever its address there.  Do not copy one, and do not
 * detach a segment while holding a mutex in it.  One at an address its type
 * does not align (bytes cast at an odd offset) is -EINVAL at every call, as
 * are semaphores.
 *
 * Robustness: a mutex whose owner dies is not lost: the next locker gets
 * PSHM_EOWNERDEAD and holds it; it repairs the data and calls
 * pshm_mutex_consistent(), then unlocks.  If it unlocks without doing so,
 * every later lock gets PSHM_ENOTRECOVERABLE.  The kernel finds the dead
 * owner where it keeps robust mutexes (Linux, FreeBSD); elsewhere (macOS, a
 * process whose robust futex list the kernel refuses, as under qemu-user)
 * a waiter finds it itself within some 20 ms; see pshm_mutex(3).
 *
 * Timeouts are relative, in milliseconds from the call; the *_until calls
 * take an absolute deadline.  All are measured on CLOCK_MONOTONIC, so that
 * setting the system's clock moves none of them.
 */

/* Size of pshm_mutex_t and of pshm_cond_t, fixed for the ABI. */
#define PSHM_MUTEX_SIZE 64
#define PSHM_COND_SIZE 64

/* A process-shared mutex; opaque bytes, 8-byte aligned. */
typedef struct pshm_mutex {
	unsigned long long pshm_private[PSHM_MUTEX_SIZE / sizeof(unsigned long long)];
} pshm_mutex_t;

/* A process-shared condition variable; opaque bytes, 8-byte aligned. */
typedef struct pshm_cond {
	unsigned long long pshm_private[PSHM_COND_SIZE / sizeof(unsigned long long)];
} pshm_cond_t;

/*
 * pshm_mutex_init - make the bytes at m an unlocked process-shared (and,
 * where possible, robust) error-checking mutex.  Call it once, in one
 * process, before any other process uses m; never on a mutex in use.
 * Errors: -EINVAL (m NULL or misaligned), -ENOMEM, -EAGAIN (system resources).
 */
PSHM_EXTERN int pshm_mutex_init(pshm_mutex_t *m);

/*
 * pshm_mutex_lock - lock m, sleeping while another thread or process holds
 * it.  0: locked.  PSHM_EOWNERDEAD: locked, but the previous owner died
 * holding it (see above).  PSHM_ENOTRECOVERABLE: not locked, never will be.
 * -EDEADLK: the caller already holds it.  -EINVAL: m NULL or not initialized.
 */
PSHM_EXTERN int pshm_mutex_lock(pshm_mutex_t *m);

/*
 * pshm_mutex_trylock - lock m if nobody holds it, without sleeping.  As
 * pshm_mutex_lock(), and -EBUSY if it is held (also by the caller).
 */
PSHM_EXTERN int pshm_mutex_trylock(pshm_mutex_t *m);

/*
 * pshm_mutex_timedlock - lock m, sleeping at most timeout_ms milliseconds
 * (relative to the call, measured on CLOCK_MONOTONIC: setting the clock
 * does not move it).  As pshm_mutex_lock(), and -ETIMEDOUT when the time
 * is up, -EINVAL if timeout_ms is negative.
 */
PSHM_EXTERN int pshm_mutex_timedlock(pshm_mutex_t *m, long timeout_ms);

/*
 * pshm_mutex_lock_until - pshm_mutex_timedlock() with an absolute deadline
 * on CLOCK_MONOTONIC (clock_gettime(CLOCK_MONOTONIC, ...) plus the time
 * allowed), for a caller that retries in a loop within one overall limit.
 * A deadline in the past is -ETIMEDOUT at once if m is held.  -EINVAL if
 * deadline is NULL or its tv_nsec is not in [0, 999999999].
 */
PSHM_EXTERN int pshm_mutex_lock_until(pshm_mutex_t *m, const struct timespec *deadline);

/*
 * pshm_mutex_unlock - unlock m, which the calling thread holds.
 * -EPERM if it does not hold it; -EINVAL if m is NULL or not initialized.
 */
PSHM_EXTERN int pshm_mutex_unlock(pshm_mutex_t *m);

/*
 * pshm_mutex_consistent - after a lock call returned PSHM_EOWNERDEAD and the
 * data it guards is repaired, mark m usable again; then unlock it as usual.
 * Only the thread that got PSHM_EOWNERDEAD may: -EPERM for any other.
 * -EINVAL if m is NULL, not initialized, or not in the owner-died state.
 */
PSHM_EXTERN int pshm_mutex_consistent(pshm_mutex_t *m);

/*
 * pshm_mutex_destroy - end the life of an unlocked mutex that no process
 * will use again; its bytes may then be reused or initialized anew.
 * -EBUSY if it is locked; -EINVAL if m is NULL or not initialized.
 */
PSHM_EXTERN int pshm_mutex_destroy(pshm_mutex_t *m);

/*
 * pshm_cond_init - make the bytes at c a process-shared condition variable.
 * Once, in one process, before use.  -EINVAL if c is NULL or misaligned.
 *
 * A condition variable lets a process sleep until another tells it that
 * something guarded by a mutex changed.  The waiter holds the mutex, checks
 * its condition, and if it is not met calls pshm_cond_wait(), which unlocks
 * the mutex and sleeps as one step: a signal sent after the check and before
 * the sleep is never lost.  Wake-ups may be spurious, so check again in a
 * loop.  A process that dies while waiting leaves the variable usable.
 */
PSHM_EXTERN int pshm_cond_init(pshm_cond_t *c);

/*
 * pshm_cond_wait - unlock m (held by the caller), sleep until c is signalled,
 * then lock m again.  A cancellation point: a thread cancelled while it
 * waits holds m again before its cleanup handlers run.  Returns 0, or what locking m again returned
 * (PSHM_EOWNERDEAD: m is held and needs repair; PSHM_ENOTRECOVERABLE: m is
 * not held).  -EPERM: the caller does not hold m (nothing waited).  -EINVAL:
 * c or m NULL or not initialized.
 */
PSHM_EXTERN int pshm_cond_wait(pshm_cond_t *c, pshm_mutex_t *m);

/*
 * pshm_cond_timedwait - pshm_cond_wait() that sleeps at most timeout_ms
 * milliseconds (relative, on CLOCK_MONOTONIC): -ETIMEDOUT, with m locked
 * again, when nobody signalled in time.  A lock error on the way out takes
 * precedence over -ETIMEDOUT.  -EINVAL if timeout_ms is negative.
 */
PSHM_EXTERN int pshm_cond_timedwait(pshm_cond_t *c, pshm_mutex_t *m, long timeout_ms);

/* pshm_cond_wait_until - pshm_cond_timedwait() with an absolute deadline on
 * CLOCK_MONOTONIC, as pshm_mutex_lock_until() takes. */
PSHM_EXTERN int pshm_cond_wait_until(pshm_cond_t *c, pshm_mutex_t *m,
                                     const struct timespec *deadline);

/* pshm_cond_signal - wake at least one process or thread waiting on c, if any.
 * -EINVAL if c is NULL or not initialized. */
PSHM_EXTERN int pshm_cond_signal(pshm_cond_t *c);

/* pshm_cond_broadcast - wake every process and thread waiting on c.
 * -EINVAL if c is NULL or not initialized. */
PSHM_EXTERN int pshm_cond_broadcast(pshm_cond_t *c);

/* pshm_cond_destroy - end the life of c, on which nobody waits any more.
 * -EINVAL if c is NULL or not initialized. */
PSHM_EXTERN int pshm_cond_destroy(pshm_cond_t *c);

/*
 * The header lock: a robust mutex that every segment carries in its header,
 * made by the first of these calls in any process (pshm_create writes
 * nothing there), so the simple case needs no setup.  Same meanings and
 * codes as the pshm_mutex_* calls, plus -EINVAL if shm is NULL and -EACCES
 * on a segment attached PSHM_RDONLY.
 */
PSHM_EXTERN int pshm_lock(pshm_t *shm);
PSHM_EXTERN int pshm_trylock(pshm_t *shm);
PSHM_EXTERN int pshm_unlock(pshm_t *shm);
/* pshm_consistent - pshm_mutex_consistent() for the header lock. */
PSHM_EXTERN int pshm_consistent(pshm_t *shm);

/* ------------------------------------------------------------------------ */
/* Semaphores                                                                */

/*
 * A counting semaphore that lives in a segment, as a mutex does (8-byte
 * aligned, initialized once by one process, used by all).  It has no owner:
 * any process posts, any waits, and one that dies waiting or between a wait
 * and its post leaves the count as it was.  Waiting sleeps on the count
 * itself (a futex on Linux), after trying again for a moment.
 */
#define PSHM_SEM_SIZE 32
#define PSHM_SEM_VALUE_MAX 0x7fffffffu

typedef struct pshm_sem {
	unsigned long long pshm_private[PSHM_SEM_SIZE / sizeof(unsigned long long)];
} pshm_sem_t;

/* pshm_sem_init - make the bytes at s a semaphore whose count is value.
 * -EINVAL if s is NULL or misaligned or value is over PSHM_SEM_VALUE_MAX. */
PSHM_EXTERN int pshm_sem_init(pshm_sem_t *s, unsigned value);

/* pshm_sem_post - add one to the count, waking a waiter if one sleeps.
 * -EOVERFLOW at PSHM_SEM_VALUE_MAX; -EINVAL if s is NULL or not made. */
PSHM_EXTERN int pshm_sem_post(pshm_sem_t *s);

/* pshm_sem_wait - take one from the count, sleeping while it is zero.  A
 * cancellation point.  -EINVAL if s is NULL or not made. */
PSHM_EXTERN int pshm_sem_wait(pshm_sem_t *s);

/* pshm_sem_trywait - take one if the count is not zero, else -EAGAIN. */
PSHM_EXTERN int pshm_sem_trywait(pshm_sem_t *s);

/* pshm_sem_timedwait - pshm_sem_wait() for at most timeout_ms
 * milliseconds (CLOCK_MONOTONIC): -ETIMEDOUT; -EINVAL if it is negative. */
PSHM_EXTERN int pshm_sem_timedwait(pshm_sem_t *s, long timeout_ms);

/* pshm_sem_wait_until - pshm_sem_wait() until an absolute deadline on
 * CLOCK_MONOTONIC, as pshm_mutex_lock_until() takes. */
PSHM_EXTERN int pshm_sem_wait_until(pshm_sem_t *s, const struct timespec *deadline);

/* pshm_sem_value - the count now (already stale when read, as any count
 * others change).  -EINVAL if s or value is NULL, or s is not made. */
PSHM_EXTERN int pshm_sem_value(pshm_sem_t *s, unsigned *value);

/* pshm_sem_destroy - end the life of s, on which nobody waits any more.
 * -EINVAL if s is NULL or not made. */
PSHM_EXTERN int pshm_sem_destroy(pshm_sem_t *s);

/* ------------------------------------------------------------------------ */
/* Managed segments                                                          */

/*
 * A segment created PSHM_MANAGED is a heap: any process that has it mapped
 * allocates and frees blocks in it, and finds objects in it by name.  The
 * heap has its own robust lock (not pshm_lock's): a process killed in the
 * middle of any of these calls leaves the heap whole; the next call
 * repairs it (pshm_heap_info_t.repairs counts it), undoing the dead
 * process's allocation or finishing its free.
 *
 * Each process maps a segment at its own address, so what is stored in the
 * segment refers to other parts of it by offset (pshm_off_t), not by
 * pointer: pshm_ptr() and pshm_off() convert, and for speed a loop may
 * keep base = pshm_addr(shm) and use base + off.  Offsets count from
 * pshm_addr(); 0 is never a block (PSHM_OFF_NULL).
 *
 * Calls on a segment attached PSHM_RDONLY are -EACCES (the lock is in the
 * segment); on one created without PSHM_MANAGED, PSHM_ENOHEAP; on a heap
 * whose metadata was overwritten (a program wrote past a block),
 * PSHM_ECORRUPT, never a crash; on a heap that another process grew
 * (pshm_resize) past this process's mapping, -ESTALE: pshm_remap, then
 * call again.  See pshm_heap(3).
 */

/* An offset from pshm_addr(): the same width in 32- and 64-bit processes,
 * so that it can be stored in the segment. */
typedef uint64_t pshm_off_t;
#define PSHM_OFF_NULL ((pshm_off_t)0)

/* The smallest size pshm_create takes with PSHM_MANAGED. */
#define PSHM_HEAP_MIN 8192

/*
 * pshm_alloc - allocate size bytes (uninitialized, 16-byte aligned) in the
 * heap; *off receives their offset.  Errors: -EINVAL (shm or off NULL,
 * size 0), -ENOMEM (no free block that large; the heap is unchanged).
 */
PSHM_EXTERN int pshm_alloc(pshm_t *shm, size_t size, pshm_off_t *off);

/*
 * pshm_alloc_aligned - pshm_alloc() whose block starts at a multiple of
 * align bytes from pshm_addr() (which is PSHM_ALIGNMENT-aligned), a power
 * of two from 16 to 1 MiB; -EINVAL otherwise.
 */
PSHM_EXTERN int pshm_alloc_aligned(pshm_t *shm, size_t size, size_t align, pshm_off_t *off);

/*
 * pshm_realloc - make the block at *off size bytes, keeping its contents
 * up to the smaller size: in place when it can (*off unchanged), else in
 * a new block (*off updated; the old one freed).  *off PSHM_OFF_NULL:
 * pshm_alloc().  -ENOMEM leaves the block as it was; -EINVAL as
 * pshm_free(), or size 0.
 */
PSHM_EXTERN int pshm_realloc(pshm_t *shm, pshm_off_t *off, size_t size);

/*
 * pshm_free - free the block at off, which pshm_alloc() & co. returned;
 * PSHM_OFF_NULL does nothing.  -EINVAL if off is not a block in use (freed
 * already, or never allocated) or is a named object's.
 */
PSHM_EXTERN int pshm_free(pshm_t *shm, pshm_off_t off);

/* pshm_ptr - the address of offset off in this process; NULL for
 * PSHM_OFF_NULL, an offset past the segment, or a NULL shm. */
PSHM_EXTERN void *pshm_ptr(const pshm_t *shm, pshm_off_t off);

/* pshm_off - the offset of ptr, an address inside the segment's usable
 * bytes; PSHM_OFF_NULL for NULL, an address outside, or a NULL shm. */
PSHM_EXTERN pshm_off_t pshm_off(const pshm_t *shm, const void *ptr);

/* Names of objects: 1 to PSHM_OBJECT_NAME_MAX bytes, any but NUL. */
#define PSHM_OBJECT_NAME_MAX 63

/*
 * pshm_object - find the object called name in the heap, or create it:
 * size bytes, zero-filled, then given to init(obj, size, arg) if init is
 * not NULL.  *off receives its offset.  Atomic: when processes ask at
 * once, all get the same object, exactly one creates it, and none sees it
 * before init returned.  init runs with the heap locked: it must not call
 * the heap's functions (they would return -EDEADLK); if it returns
 * nonzero, the object is not made and that value is returned.
 * Returns 1 if this call created the object, 0 if it found it.
 * Errors: -EINVAL (NULL shm, name or off; bad name; size 0), -EEXIST (the
 * name holds an object of another size), -ENOMEM.
 */
PSHM_EXTERN int pshm_object(pshm_t *shm, const char *name, size_t size,
                            int (*init)(void *obj, size_t size, void *arg), void *arg,
                            pshm_off_t *off);

/* pshm_object_find - the offset and size of the object called name, if
 * there is one (off or size may be NULL): 0, or -ENOENT. */
PSHM_EXTERN int pshm_object_find(pshm_t *shm, const char *name, pshm_off_t *off,
                                 size_t *size);

/* pshm_object_remove - remove the object called name and free its
 * memory: 0, or -ENOENT.  Offsets to it that processes kept are then
 * dangling, as after pshm_free(). */
PSHM_EXTERN int pshm_object_remove(pshm_t *shm, const char *name);

/*
 * pshm_object_list - call fn(name, off, size, arg) for each object of the
 * heap, in no set order, with the heap locked (fn must not call the
 * heap's functions); stop early and return what fn returned when that is
 * not 0.  -EINVAL if fn is NULL.
 */
PSHM_EXTERN int pshm_object_list(pshm_t *shm,
                                 int (*fn)(const char *name, pshm_off_t off, size_t size,
                                           void *arg),
                                 void *arg);

/* What pshm_heap_stat() says of a heap.  The reserved bytes keep its size
 * when fields are added. */
typedef struct pshm_heap_info {
	size_t size;         /* bytes the heap manages for its callers (blocks and
	                        their heads; not the slot table of a large heap) */
	size_t in_use;       /* bytes of the blocks in use, heads included */
	size_t free;         /* bytes of the free blocks (those slots cache too) */
	size_t largest_free; /* the largest size one pshm_alloc() can get now */
	size_t blocks;       /* blocks in use, named objects included */
	size_t objects;      /* named objects */
	unsigned long long repairs; /* times a call found the heap's lock left by a
	                               process that died in a heap call, and
	                               repaired the heap */
	unsigned char pshm_private_reserved[64];
} pshm_heap_info_t;

/* pshm_heap_stat - describe the heap.  -EINVAL if info is NULL. */
PSHM_EXTERN int pshm_heap_stat(pshm_t *shm, pshm_heap_info_t *info);

/*
 * pshm_heap_check - walk the whole heap and check every block, free list,
 * counter and object name against the others: 0 if they agree, else
 * PSHM_ECORRUPT (and every later heap call on the segment says so too).
 * Takes time in proportion to the number of blocks.
 */
PSHM_EXTERN int pshm_heap_check(pshm_t *shm);

#ifdef __cplusplus
}
#endif

#endif /* PSHM_H */
