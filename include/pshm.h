/*
 * pshm.h - libpshm, a portable shared-memory library.
 *
 * One opaque handle, one set of calls, three backends underneath (SysV,
 * POSIX, mmap).  Every call that can fail returns 0 on success or a negative
 * error code: a negated errno value (-EINVAL, -ENOENT, ...) or one of the
 * PSHM_E* codes below, which lie under -1000.  Nothing is printed and errno is
 * not the channel; pshm_strerror() describes any code.
 *
 * The full reference is the pshm(3) manual page.
 *
 * Copyright (c) 2026 The libpshm authors.  MIT licence, see COPYING.
 */
#ifndef PSHM_H
#define PSHM_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PSHM_BUILDING) && defined(__GNUC__)
#define PSHM_EXTERN __attribute__((visibility("default")))
#else
#define PSHM_EXTERN
#endif

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */

typedef enum pshm_backend {
	PSHM_BACKEND_DEFAULT = 0, /* the one chosen by ./configure */
	PSHM_BACKEND_SYSV = 1,    /* shmget / shmat / shmdt / shmctl(IPC_RMID) */
	PSHM_BACKEND_POSIX = 2,   /* shm_open + ftruncate + mmap(MAP_SHARED) */
	PSHM_BACKEND_MMAP = 3     /* anonymous: mmap(MAP_SHARED|MAP_ANONYMOUS);
	                             named: a MAP_SHARED file in a directory */
} pshm_backend_t;

/*
 * pshm_backend_name - the backend's short name: "sysv", "posix" or "mmap".
 * PSHM_BACKEND_DEFAULT gives the name of the backend it resolves to.  A value
 * outside the enum gives "unknown" (never NULL).
 */
PSHM_EXTERN const char *pshm_backend_name(pshm_backend_t b);

/*
 * pshm_backend_supported - 1 if backend b is compiled in and usable on this
 * system right now, else 0.  PSHM_BACKEND_DEFAULT asks about the default.
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
	PSHM_ECORRUPT = -1005    /* the segment header contradicts the segment's real size */
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
PSHM_EXTERN int pshm_attr_set_mode(pshm_attr_t *attr, mode_t mode);

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
 * -ENOMEM/-ENOSPC (out of memory or over a system limit), -EACCES, and other
 * negated errno values from the system.
 */
PSHM_EXTERN int pshm_create(pshm_t **shm, const char *name, size_t size,
                            const pshm_attr_t *attr);

/*
 * pshm_attach - attach the existing named segment of the backend that attr
 * selects; its size comes from the segment.  Waits briefly for a creator that
 * has not finished; never hands back a half-made segment.
 *
 * Errors: -EINVAL (shm or name NULL, bad name, bad attr), -ENOTSUP, -ENOENT
 * (no such segment), -EACCES (mode forbids it), PSHM_ENOTPSHM, PSHM_EVERSION,
 * PSHM_ECORRUPT, PSHM_ECOLLISION, PSHM_ENOTREADY.
 */
PSHM_EXTERN int pshm_attach(pshm_t **shm, const char *name, const pshm_attr_t *attr);

/* pshm_addr - start of the usable bytes (PSHM_ALIGNMENT-aligned); NULL if shm is NULL. */
PSHM_EXTERN void *pshm_addr(const pshm_t *shm);

/* pshm_size - number of usable bytes, as asked of pshm_create; 0 if shm is NULL. */
PSHM_EXTERN size_t pshm_size(const pshm_t *shm);

/* pshm_name - the segment's name; NULL for an anonymous segment or a NULL shm. */
PSHM_EXTERN const char *pshm_name(const pshm_t *shm);

/* pshm_backend - the resolved backend (never DEFAULT); DEFAULT if shm is NULL. */
PSHM_EXTERN pshm_backend_t pshm_backend(const pshm_t *shm);

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
 * they detach.  For an anonymous segment it is pshm_detach.  The handle is
 * freed even when an error is returned (-ENOENT: somebody removed the name
 * first).  -EINVAL if shm is NULL.
 */
PSHM_EXTERN int pshm_destroy(pshm_t *shm);

/*
 * pshm_remove - remove the named segment of the backend that attr selects,
 * without attaching it.  Processes attached keep working on it.
 * Errors: -EINVAL, -ENOTSUP, -ENOENT, -EACCES/-EPERM, and on SysV
 * PSHM_ECOLLISION or PSHM_ENOTPSHM when the key holds another segment.
 */
PSHM_EXTERN int pshm_remove(const char *name, const pshm_attr_t *attr);

#ifdef __cplusplus
}
#endif

#endif /* PSHM_H */
