/*
 * pshm.c - the core: argument checks, attributes, the handle, the segment
 * header, and dispatch to the backend tables.  Nothing here knows how a
 * backend makes its segments.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* How long pshm_attach waits for a creator to finish its segment. */
#define PSHM__READY_TIMEOUT_NS (1000L * 1000L * 1000L)

#define PSHM__ATTR_MAGIC 0x70736861u /* "pshA": pshm_attr_init ran */
#define PSHM__KNOWN_FLAGS \
	(PSHM_RDONLY | PSHM_NORESERVE | PSHM_ANY_OWNER | PSHM_PREFAULT | PSHM_HUGEPAGES)
#define PSHM__CREATE_FLAGS (PSHM_NORESERVE | PSHM_PREFAULT | PSHM_HUGEPAGES)
#define PSHM__ATTACH_FLAGS (PSHM_RDONLY | PSHM_ANY_OWNER | PSHM_PREFAULT)
#define PSHM__DEFAULT_MODE 0600u

struct pshm {
	const struct pshm__backend_ops *ops;
	struct pshm__map map;
	size_t size;                   /* usable bytes */
	int rdonly;                    /* attached PSHM_RDONLY: the header lock is off limits */
	char name[PSHM_NAME_MAX + 1];  /* "" for anonymous */
};

/* ------------------------------------------------------------------------ */
/* Backends: only this table knows which ones were compiled in.             */

#define PSHM__NBACKENDS (PSHM_BACKEND_MMAP + 1)

static const struct pshm__backend_ops *const backends[PSHM__NBACKENDS] = {
	[PSHM_BACKEND_DEFAULT] = NULL,
#if PSHM_HAVE_SYSV
	[PSHM_BACKEND_SYSV] = &pshm__backend_sysv,
#endif
#if PSHM_HAVE_POSIX
	[PSHM_BACKEND_POSIX] = &pshm__backend_posix,
#endif
#if PSHM_HAVE_MMAP
	[PSHM_BACKEND_MMAP] = &pshm__backend_mmap,
#endif
};

/* Probe results: 0 unknown, 1 usable, 2 not.  Racing probes agree. */
static _Atomic int probe_result[PSHM__NBACKENDS];

static int is_backend_value(pshm_backend_t b)
{
	return (unsigned)b < PSHM__NBACKENDS;
}

static pshm_backend_t resolve(pshm_backend_t b)
{
	return b == PSHM_BACKEND_DEFAULT ? (pshm_backend_t)PSHM_DEFAULT_BACKEND_ID : b;
}

/* The usable ops of backend b, or NULL. */
static const struct pshm__backend_ops *usable_backend(pshm_backend_t b)
{
	if (!is_backend_value(b))
		return NULL;
	b = resolve(b);
	const struct pshm__backend_ops *ops = backends[b];
	if (ops == NULL)
		return NULL;
	int known = atomic_load_explicit(&probe_result[b], memory_order_relaxed);
	if (known == 0) {
		known = (ops->probe == NULL || ops->probe() == 0) ? 1 : 2;
		atomic_store_explicit(&probe_result[b], known, memory_order_relaxed);
	}
	return known == 1 ? ops : NULL;
}

PSHM_EXTERN pshm_backend_t pshm_default_backend(void)
{
	return (pshm_backend_t)PSHM_DEFAULT_BACKEND_ID;
}

PSHM_EXTERN const char *pshm_backend_name(pshm_backend_t b)
{
	static const char *const names[] = {"default", "sysv", "posix", "mmap"};
	if (!is_backend_value(b))
		return "unknown";
	return names[resolve(b)];
}

PSHM_EXTERN int pshm_backend_supported(pshm_backend_t b)
{
	return usable_backend(b) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Helpers for the backends                                                 */

size_t pshm__page_size(void)
{
	static _Atomic size_t cached;
	size_t size = atomic_load_explicit(&cached, memory_order_relaxed);
	if (size == 0) {
		long got = sysconf(_SC_PAGESIZE);
		size = got > 0 ? (size_t)got : 4096;
		atomic_store_explicit(&cached, size, memory_order_relaxed);
	}
	return size;
}

int pshm__neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                               */

PSHM_EXTERN int pshm_attr_init(pshm_attr_t *attr)
{
	if (attr == NULL)
		return -EINVAL;
	memset(attr, 0, sizeof(*attr));
	attr->pshm_private_magic = PSHM__ATTR_MAGIC;
	attr->pshm_private_backend = PSHM_BACKEND_DEFAULT;
	attr->pshm_private_mode = PSHM__DEFAULT_MODE;
	attr->pshm_private_flags = 0;
	return 0;
}

static int attr_is_valid(const pshm_attr_t *attr)
{
	return attr != NULL && attr->pshm_private_magic == PSHM__ATTR_MAGIC;
}

PSHM_EXTERN int pshm_attr_set_backend(pshm_attr_t *attr, pshm_backend_t b)
{
	if (!attr_is_valid(attr) || !is_backend_value(b))
		return -EINVAL;
	attr->pshm_private_backend = b;
	return 0;
}

PSHM_EXTERN int pshm_attr_set_mode(pshm_attr_t *attr, mode_t mode)
{
	if (!attr_is_valid(attr) || (mode & ~(mode_t)0777) != 0)
		return -EINVAL;
	attr->pshm_private_mode = (unsigned)mode;
	return 0;
}

PSHM_EXTERN int pshm_attr_set_flags(pshm_attr_t *attr, unsigned flags)
{
	if (!attr_is_valid(attr) || (flags & ~PSHM__KNOWN_FLAGS) != 0)
		return -EINVAL;
	attr->pshm_private_flags = flags;
	return 0;
}

/* Settings from attr (NULL: defaults), checked again in case the caller wrote
 * the private fields. */
struct settings {
	const struct pshm__backend_ops *ops;
	mode_t mode;
	unsigned flags;
};

static int read_attr(const pshm_attr_t *attr, struct settings *out)
{
	pshm_attr_t defaults;
	if (attr == NULL) {
		pshm_attr_init(&defaults);
		attr = &defaults;
	}
	if (!attr_is_valid(attr) || (attr->pshm_private_flags & ~PSHM__KNOWN_FLAGS) != 0 ||
	    (attr->pshm_private_mode & ~0777u) != 0 ||
	    !is_backend_value((pshm_backend_t)attr->pshm_private_backend))
		return -EINVAL;
	out->ops = usable_backend((pshm_backend_t)attr->pshm_private_backend);
	if (out->ops == NULL)
		return -ENOTSUP;
	out->mode = (mode_t)attr->pshm_private_mode;
	out->flags = attr->pshm_private_flags;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Names and sizes                                                          */

static int name_is_valid(const char *name)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	size_t n = 0;
	for (const char *p = name; *p != '\0'; p++, n++) {
		unsigned char c = (unsigned char)*p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok || n == PSHM_NAME_MAX)
			return 0;
	}
	return 1;
}

/* The page-rounded mapping length for size usable bytes; 0 if too large. */
/* Bytes to map for size usable ones, in whole pages of page bytes; 0 if
 * that is too many. */
static size_t mapping_length(size_t size, size_t page)
{
	/* Nothing larger than PTRDIFF_MAX can be mapped and indexed. */
	size_t limit = (size_t)PTRDIFF_MAX - PSHM__HEADER_SIZE - page;
	if (size > limit)
		return 0;
	return (size + PSHM__HEADER_SIZE + page - 1) / page * page;
}

/* ------------------------------------------------------------------------ */
/* The header                                                               */

/* Fill in a new segment's header, the lock included, and mark it ready. */
static int header_publish(struct pshm__header *hdr, const char *name, size_t size,
                          pshm_backend_t backend)
{
	/* First, so that even a half-made segment names its creator. */
	hdr->creator_pid = (int64_t)getpid();
	int rc = pshm_mutex_init(&hdr->lock);
	if (rc < 0)
		return rc;
	hdr->version = PSHM__FORMAT_VERSION;
	hdr->magic = PSHM__MAGIC;
	hdr->usable_size = size;
	hdr->backend = (uint32_t)backend;
	if (name != NULL)
		memcpy(hdr->name, name, strlen(name)); /* the rest is still zero */
	atomic_store_explicit(&hdr->state, PSHM__STATE_READY, memory_order_release);
	return 0;
}

int pshm__header_check(const struct pshm__header *hdr, size_t len, const char *name)
{
	if (len < PSHM__HEADER_SIZE)
		return -EAGAIN;
	/* const-cast: an atomic load does not write, but C11 wants non-const. */
	uint32_t state = atomic_load_explicit((_Atomic uint32_t *)&hdr->state, memory_order_acquire);
	if (state == PSHM__STATE_CREATING)
		return -EAGAIN;
	if (state != PSHM__STATE_READY || hdr->magic != PSHM__MAGIC)
		return PSHM_ENOTPSHM;
	if (hdr->version != PSHM__FORMAT_VERSION)
		return PSHM_EVERSION;
	if (hdr->usable_size == 0 || hdr->usable_size > len - PSHM__HEADER_SIZE ||
	    hdr->name[PSHM_NAME_MAX] != '\0')
		return PSHM_ECORRUPT;
	if (name != NULL && strcmp(hdr->name, name) != 0)
		return PSHM_ECOLLISION;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */

static int new_handle(pshm_t **out, const struct pshm__backend_ops *ops,
                      const struct pshm__map *map, const char *name, int rdonly)
{
	pshm_t *shm = calloc(1, sizeof(*shm));
	if (shm == NULL)
		return -ENOMEM;
	const struct pshm__header *hdr = map->addr;
	shm->ops = ops;
	shm->map = *map;
	shm->size = (size_t)hdr->usable_size;
	shm->rdonly = rdonly;
	if (name != NULL)
		memcpy(shm->name, name, strlen(name) + 1);
	*out = shm;
	return 0;
}

PSHM_EXTERN int pshm_create(pshm_t **shm, const char *name, size_t size, const pshm_attr_t *attr)
{
	struct settings set;
	int rc = read_attr(attr, &set);
	if (shm == NULL || size == 0 || (name != NULL && !name_is_valid(name)))
		return -EINVAL;
	if (rc < 0)
		return rc;
	if (set.flags & ~PSHM__CREATE_FLAGS)
		return -EINVAL;
	unsigned how = (set.flags & PSHM_NORESERVE) ? 0 : PSHM__MAKE_RESERVE;
	size_t page = pshm__page_size();
	if (set.flags & PSHM_HUGEPAGES) {
		how |= PSHM__MAKE_HUGE;
		page = pshm__huge_page_size();
		if (page == 0)
			return -ENOTSUP;
	}
	size_t len = mapping_length(size, page);
	if (len == 0)
		return -EINVAL;

	struct pshm__map map = {.addr = NULL, .len = 0, .id = -1};
	rc = name == NULL ? set.ops->create_anon(&map, len, how)
	                  : set.ops->create_named(&map, name, len, set.mode, how);
	if (rc < 0)
		return rc;
	if (set.flags & PSHM_PREFAULT)
		rc = pshm__populate(map.addr, map.len, 1);
	if (rc == 0)
		rc = header_publish(map.addr, name, size, set.ops->id);
	if (rc == 0)
		rc = new_handle(shm, set.ops, &map, name, 0);
	if (rc < 0) {
		if (name != NULL)
			set.ops->unlink(name, &map);
		set.ops->unmap(&map);
	}
	return rc;
}

static long long monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Back off while a creator finishes: 10 us naps at first, then 1 ms ones. */
static void pause_briefly(unsigned attempt)
{
	if (attempt < 16) {
		struct timespec ts = {0, 10000};
		nanosleep(&ts, NULL);
		return;
	}
	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
}

/* Map name and check its owner and header; -EAGAIN while its creator is at
 * work. */
static int open_checked(const struct pshm__backend_ops *ops, const char *name, unsigned flags,
                        struct pshm__map *map)
{
	int rc = ops->open_named(map, name, (flags & PSHM_RDONLY) != 0);
	if (rc < 0)
		return rc;
	if (map->owner != geteuid() && !(flags & PSHM_ANY_OWNER))
		rc = PSHM_EOWNER;
	else
		rc = pshm__header_check(map->addr, map->len, name);
	if (rc < 0)
		ops->unmap(map);
	return rc;
}

PSHM_EXTERN int pshm_attach(pshm_t **shm, const char *name, const pshm_attr_t *attr)
{
	struct settings set;
	int rc = read_attr(attr, &set);
	if (shm == NULL || !name_is_valid(name))
		return -EINVAL;
	if (rc < 0)
		return rc;
	if (set.flags & ~PSHM__ATTACH_FLAGS)
		return -EINVAL;

	struct pshm__map map = {.addr = NULL, .len = 0, .id = -1};
	long long deadline = monotonic_ns() + PSHM__READY_TIMEOUT_NS;
	for (unsigned attempt = 0;; attempt++) {
		rc = open_checked(set.ops, name, set.flags, &map);
		if (rc != -EAGAIN)
			break;
		if (monotonic_ns() > deadline)
			return PSHM_ENOTREADY;
		pause_briefly(attempt);
	}
	if (rc < 0)
		return rc;
	int rdonly = (set.flags & PSHM_RDONLY) != 0;
	if (set.flags & PSHM_PREFAULT)
		rc = pshm__populate(map.addr, map.len, !rdonly);
	if (rc == 0)
		rc = new_handle(shm, set.ops, &map, name, rdonly);
	if (rc < 0)
		set.ops->unmap(&map);
	return rc;
}

PSHM_EXTERN void *pshm_addr(const pshm_t *shm)
{
	return shm == NULL ? NULL : (char *)shm->map.addr + PSHM__HEADER_SIZE;
}

PSHM_EXTERN size_t pshm_size(const pshm_t *shm)
{
	return shm == NULL ? 0 : shm->size;
}

PSHM_EXTERN const char *pshm_name(const pshm_t *shm)
{
	return shm == NULL || shm->name[0] == '\0' ? NULL : shm->name;
}

PSHM_EXTERN pshm_backend_t pshm_backend(const pshm_t *shm)
{
	return shm == NULL ? PSHM_BACKEND_DEFAULT : shm->ops->id;
}

PSHM_EXTERN int pshm_detach(pshm_t *shm)
{
	if (shm == NULL)
		return -EINVAL;
	int rc = shm->ops->unmap(&shm->map);
	free(shm);
	return rc;
}

PSHM_EXTERN int pshm_destroy(pshm_t *shm)
{
	if (shm == NULL)
		return -EINVAL;
	int rc = shm->name[0] == '\0' ? 0 : shm->ops->unlink(shm->name, &shm->map);
	int detached = pshm_detach(shm);
	return rc < 0 ? rc : detached;
}

/* The prologue of the calls that take a name and attributes: a bad name is
 * -EINVAL before whatever the attributes would say. */
static int read_name_and_attr(const char *name, const pshm_attr_t *attr, struct settings *set)
{
	int rc = read_attr(attr, set);
	return name_is_valid(name) ? rc : -EINVAL;
}

PSHM_EXTERN int pshm_remove(const char *name, const pshm_attr_t *attr)
{
	struct settings set;
	int rc = read_name_and_attr(name, attr, &set);
	return rc < 0 ? rc : set.ops->unlink(name, NULL);
}

/* ------------------------------------------------------------------------ */
/* The header lock                                                          */

/* Apply a mutex call to shm's header lock, which a read-only mapping
 * cannot take. */
static int on_header_lock(pshm_t *shm, int (*call)(pshm_mutex_t *))
{
	if (shm == NULL)
		return -EINVAL;
	if (shm->rdonly)
		return -EACCES;
	return call(&((struct pshm__header *)shm->map.addr)->lock);
}

PSHM_EXTERN int pshm_lock(pshm_t *shm)
{
	return on_header_lock(shm, pshm_mutex_lock);
}

PSHM_EXTERN int pshm_trylock(pshm_t *shm)
{
	return on_header_lock(shm, pshm_mutex_trylock);
}

PSHM_EXTERN int pshm_unlock(pshm_t *shm)
{
	return on_header_lock(shm, pshm_mutex_unlock);
}

PSHM_EXTERN int pshm_consistent(pshm_t *shm)
{
	return on_header_lock(shm, pshm_mutex_consistent);
}

/* ------------------------------------------------------------------------ */
/* Inspecting and cleaning up                                               */

/* How old a half-made segment of unknown creator must be to be orphaned:
 * far beyond any creation in progress (attach waits 1 s for one). */
#define PSHM__HALF_MADE_ORPHAN_AGE 10

/* 1 if process pid exists, 0 if not, -1 if pid is not known. */
static int process_alive(pid_t pid)
{
	if (pid <= 0)
		return -1;
	return kill(pid, 0) == 0 || errno == EPERM ? 1 : 0;
}

/* Read the header of name's segment into info: state and creator. */
static int read_header(const struct pshm__backend_ops *ops, const char *name, pshm_info_t *info)
{
	struct pshm__map map = {.addr = NULL, .len = 0, .id = -1};
	int rc = ops->open_named(&map, name, 1);
	if (rc == -EAGAIN) { /* too small for a header: its creator is sizing it */
		info->state = PSHM_STATE_HALF_MADE;
		return 0;
	}
	if (rc == PSHM_ENOTPSHM) {
		info->state = PSHM_STATE_FOREIGN;
		return 0;
	}
	if (rc < 0)
		return rc;
	const struct pshm__header *hdr = map.addr;
	rc = pshm__header_check(hdr, map.len, name);
	info->state = rc == 0 ? PSHM_STATE_READY : rc == -EAGAIN ? PSHM_STATE_HALF_MADE
	                                                           : PSHM_STATE_FOREIGN;
	if (info->state == PSHM_STATE_READY)
		info->size = (size_t)hdr->usable_size;
	if (info->state != PSHM_STATE_FOREIGN && hdr->creator_pid > 0 &&
	    hdr->creator_pid == (pid_t)hdr->creator_pid)
		info->creator_pid = (pid_t)hdr->creator_pid;
	ops->unmap(&map);
	return 0;
}

static int is_orphaned(const pshm_info_t *info)
{
	if (info->state == PSHM_STATE_FOREIGN || info->attached != 0)
		return 0;
	if (info->creator_alive == 0)
		return 1;
	return info->creator_alive < 0 && info->state == PSHM_STATE_HALF_MADE &&
	       info->age > PSHM__HALF_MADE_ORPHAN_AGE;
}

static int stat_with(const struct pshm__backend_ops *ops, const char *name, pshm_info_t *info)
{
	struct pshm__object obj;
	int rc = ops->stat(name, &obj);
	if (rc < 0)
		return rc;
	memset(info, 0, sizeof(*info));
	info->backend = ops->id;
	info->object_size = obj.len;
	info->owner = obj.owner;
	info->mode = obj.mode;
	info->attached = obj.attached;
	time_t now = time(NULL);
	info->age = now > obj.changed ? (long long)(now - obj.changed) : 0;
	rc = read_header(ops, name, info);
	if (rc < 0)
		return rc;
	info->creator_alive = process_alive(info->creator_pid);
	info->orphaned = is_orphaned(info);
	return 0;
}

PSHM_EXTERN int pshm_stat(const char *name, const pshm_attr_t *attr, pshm_info_t *info)
{
	struct settings set;
	int rc = read_name_and_attr(name, attr, &set);
	if (info == NULL)
		return -EINVAL;
	return rc < 0 ? rc : stat_with(set.ops, name, info);
}

/* pshm_list's filter: only what could be a segment's name reaches the
 * caller (the directories may hold other files, or names libpshm refuses). */
struct listing {
	int (*fn)(const char *name, void *arg);
	void *arg;
};

static int list_valid(const char *name, void *arg)
{
	const struct listing *l = arg;
	return name_is_valid(name) ? l->fn(name, l->arg) : 0;
}

PSHM_EXTERN int pshm_list(const pshm_attr_t *attr, int (*fn)(const char *name, void *arg),
                          void *arg)
{
	struct settings set;
	int rc = read_attr(attr, &set);
	if (fn == NULL)
		return -EINVAL;
	if (rc < 0)
		return rc;
	if (set.ops->list == NULL)
		return -ENOTSUP;
	struct listing l = {fn, arg};
	return set.ops->list(list_valid, &l);
}

PSHM_EXTERN int pshm_remove_orphan(const char *name, const pshm_attr_t *attr)
{
	struct settings set;
	int rc = read_name_and_attr(name, attr, &set);
	if (rc < 0)
		return rc;
	pshm_info_t info;
	rc = stat_with(set.ops, name, &info);
	if (rc < 0)
		return rc;
	if (info.state == PSHM_STATE_FOREIGN)
		return -EPERM;
	if (!info.orphaned)
		return -EBUSY;
	return set.ops->unlink(name, NULL);
}
