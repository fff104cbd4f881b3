/*
 * rawobj.h - segments' objects made, mapped and removed by hand, without
 * libpshm, as a stray program, a crashed creator or an attacker would leave
 * them.  No Criterion here: the helper program uses these too.
 */
#ifndef PSHM_RAWOBJ_H
#define PSHM_RAWOBJ_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <pshm.h>

/*
 * The segment header, format version 2 (1 differs only in that pshm_create
 * made the lock), as lib/internal.h lays it out.  Tests pin it here on
 * purpose: segments outlive processes, so changing it is a format change (a
 * new version), never a silent edit.
 */
#define HDR_SIZE 256
#define HDR_STATE 0          /* uint32: 0 creating, HDR_READY ready */
#define HDR_VERSION 4        /* uint32 */
#define HDR_MAGIC 8          /* uint64 */
#define HDR_USABLE_SIZE 16   /* uint64 */
#define HDR_CREATOR_PID 24   /* int64 */
#define HDR_BACKEND 32       /* uint32: pshm_backend_t */
#define HDR_FLAGS 36         /* uint32: 1 PSHM_MANAGED, its heap made before READY */
#define HDR_NAME 40          /* char[32] */
#define HDR_CREATOR_PIDNS 72 /* uint64: 0 in segments of older libpshm */
#define HDR_LOCK_GUARD 80    /* who makes the header lock at its first use: */
#define GUARD_WORD 0         /* uint32: 0 free, else the maker's thread id */
#define GUARD_HOLDER 8       /* uint64: its id << 32 | start time (0: unknown) */
#define GUARD_NAMESPACE 16   /* uint64: its PID namespace's inode */
#define HDR_RESIZE_LOCK 192  /* pshm_resize's lock, laid out as the guard */
#define HDR_READY 0x59444552u
#define HDR_MAGIC_VALUE UINT64_C(0x315345474d485350)

/* Write at h a ready header of that format version, usable size, backend
 * and name, zeros elsewhere: what a segment's first bytes say once its
 * creator is done (or a forgery of them). */
void test_ready_header(unsigned char h[HDR_SIZE], uint32_t version, uint64_t usable,
                       uint32_t backend, const char *name);

/* The SysV key libpshm derives from a name (FNV-1a; part of the format). */
int test_sysv_key(const char *name);

/* Make the backend's object for name by hand, holding exactly len bytes
 * (SysV: at least len), without libpshm: 0 or a negated errno.  bytes
 * NULL: len zero bytes. */
int test_raw_create(pshm_backend_t b, const char *name, const void *bytes, size_t len);

/* Map len bytes of the backend's object for name read-write, by hand; NULL
 * on failure.  Undo with test_raw_unmap. */
void *test_raw_map(pshm_backend_t b, const char *name, size_t len);
void test_raw_unmap(pshm_backend_t b, void *addr, size_t len);

/* Remove by hand what test_raw_create made: 0 or a negated errno. */
int test_raw_remove(pshm_backend_t b, const char *name);

/* Where the backend's object for name is, as a path in the file system
 * (POSIX: Linux's /dev/shm); for planting what is not a file there. */
void test_raw_path(char out[PATH_MAX], pshm_backend_t b, const char *name);

/* The system page size: pshm_create makes objects of whole pages. */
size_t test_page_size(void);

/* The mmap backend's directory in effect for this process. */
const char *test_mmap_dir(void);

/*
 * The heap of a PSHM_MANAGED segment, at pshm_addr(), as lib/heap.h lays it
 * out (heap formats 1 and 2).  Pinned here for the same reason as the header.
 */
#define HEAP_MAGIC 0           /* uint64: "PSHMHEAP" */
#define HEAP_VERSION 8         /* uint32: 1, or 2 for a heap with slots */
#define HEAP_FIRST 16          /* uint64: the first block's offset */
#define HEAP_END 24            /* uint64: where the closing head's block is */
#define HEAP_LOCK 32           /* pshm_mutex_t: the heap's lock */
#define HEAP_INFLIGHT 96       /* uint64: the block a heap call is changing, | 1
                                  allocating it, | 2 freeing it */
#define HEAP_QUICK 3400        /* uint64[65]: freed small blocks by size / 16 */
#define HEAP_SLOTS 4056        /* uint64: version 2, the slot table's offset */
#define HEAP_FIRST_BLOCK 4096  /* the offset of the first block */
#define SLOTS_FIRST 64         /* in the slot table: slot 0 */
#define SLOT_SIZE 960          /* a slot: its pshm_mutex_t, then... */
#define SLOT_INFLIGHT 64       /* uint64: the block its holder takes (| 1) or puts (| 2) */
#define SLOTS_MIN_HEAP ((size_t)256 * 1024) /* a heap this large has slots */
#define HEAP_BLOCK_HEAD (-8)   /* a block's head: uint64 size | flags, before it */

/* The list that pshm-helper's heap-push and test-heap build in a managed
 * segment from offsets only: an object called "list", and nodes from
 * pshm_alloc. */
#define SHARED_LIST_NAME "list"
struct shared_list {
	pshm_mutex_t lock;
	pshm_off_t head; /* the last node pushed */
	uint64_t count;
};
struct shared_node {
	pshm_off_t next;
	uint64_t value; /* the pusher's pid << 32 | its count */
};

/* pshm_object's init for a shared_list: the lock. */
int shared_list_init(void *obj, size_t size, void *arg);

#endif /* PSHM_RAWOBJ_H */
