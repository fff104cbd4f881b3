/*
 * sysv.c - shmget / shmat / shmdt / shmctl(IPC_RMID).
 *
 * A named segment's key is a hash of its name, so two names can share a key;
 * the header keeps the full name and every path that finds a segment by key
 * compares it (PSHM_ECOLLISION).  An anonymous segment is IPC_PRIVATE and
 * marked IPC_RMID as soon as it is attached: the kernel frees it when the
 * last process detaches or exits.
 */
#define _DEFAULT_SOURCE /* SHM_RDONLY and struct shmid_ds on older glibc */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "internal.h"

/* FNV-1a over a fixed prefix and the name; never IPC_PRIVATE. */
static key_t key_of(const char *name)
{
	uint32_t hash = 2166136261u;
	for (const char *p = "libpshm:"; *p != '\0'; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	for (const char *p = name; *p != '\0'; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	hash &= 0x7fffffffu;
	return hash == (uint32_t)IPC_PRIVATE ? (key_t)1 : (key_t)hash;
}

static int attach_id(int id, size_t len, int rdonly, struct pshm__map *map)
{
	void *addr = shmat(id, NULL, rdonly ? SHM_RDONLY : 0);
	if (addr == (void *)-1)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : pshm__neg_errno();
	map->addr = addr;
	map->len = len;
	map->ident.id = id;
	return 0;
}

/* The segment that holds key: its id and what the kernel says of it. */
static int find_key(key_t key, int *id, struct shmid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	*id = shmget(key, 0, 0);
	if (*id < 0)
		return pshm__neg_errno();
	if (shmctl(*id, IPC_STAT, ds) < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : pshm__neg_errno();
	return 0;
}

/* Copy the first bytes of a mapped segment: SysV sizes are fixed at
 * creation, so nothing can shrink it under the copy. */
// NOLINTBEGIN(clang-analyzer-core.NonNullParamChecker): LLVM 14's analyzer
// cannot tell that pshm__neg_errno() (-errno) is negative, and so follows a
// failed shmat into here.
static int copy_head(const struct pshm__map *map, struct pshm__head *head)
{
	return pshm__header_copy(map->addr, map->len, head);
}
// NOLINTEND(clang-analyzer-core.NonNullParamChecker)

/* Map the segment that holds name's key (its id in *id) if
 * pshm__header_accept takes it; nothing stays mapped on failure. */
static int attach_key(const char *name, unsigned flags, struct pshm__map *map, int *id)
{
	struct shmid_ds ds;
	int rc = find_key(key_of(name), id, &ds);
	if (rc < 0)
		return rc;
	rc = attach_id(*id, ds.shm_segsz, (flags & PSHM_RDONLY) != 0, map);
	if (rc < 0)
		return rc;
	struct pshm__head head;
	rc = copy_head(map, &head);
	if (rc == 0)
		rc = pshm__header_accept(&head, map->len, ds.shm_perm.uid, name, PSHM_BACKEND_SYSV, flags);
	if (rc < 0) {
		shmdt(map->addr);
		return rc;
	}
	map->owner = ds.shm_perm.uid;
	map->usable = (size_t)head.u.hdr.usable_size;
	map->flags = head.u.hdr.flags;
	return 0;
}

/* What holds name's key: 0 (name's segment, ready, half-made or of another
 * format version; its id in *id) or the code for somebody else's, which a
 * creator at work may seem for a moment (pshm__look_again). */
static int identify(const char *name, int *id)
{
	const struct timespec nap = {0, 1000000L};
	long long until = 0;
	for (;;) {
		struct pshm__map map = {.addr = NULL};
		int rc = attach_key(name, PSHM_RDONLY | PSHM_ANY_OWNER, &map, id);
		if (rc == 0)
			shmdt(map.addr);
		if (rc != PSHM_ENOTPSHM || !pshm__look_again(&until))
			return rc == -EAGAIN || rc == PSHM_EVERSION ? 0 : rc;
		nanosleep(&nap, NULL);
	}
}

/* shmget's EINVAL on creation means a size over SHMMAX (or under SHMMIN). */
static int create_error(void)
{
	return errno == EINVAL ? -ENOMEM : pshm__neg_errno();
}

/* shmget's flags for how; -ENOTSUP for huge pages where there are none.
 * (SysV segments are charged against SHMALL when made: nothing to
 * reserve.) */
static int shmget_flags(unsigned how)
{
	if (!(how & PSHM__MAKE_HUGE))
		return 0;
#if HAVE_DECL_SHM_HUGETLB
	return SHM_HUGETLB;
#else
	return -ENOTSUP;
#endif
}

static int sysv_create_anon(struct pshm__map *map, size_t len, unsigned how)
{
	int extra = shmget_flags(how);
	if (extra < 0)
		return extra;
	int id = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600 | extra);
	if (id < 0)
		return create_error();
	int rc = attach_id(id, len, 0, map);
	shmctl(id, IPC_RMID, NULL); /* gone with the last detach, or now on failure */
	return rc;
}

static int sysv_create_named(struct pshm__map *map, const char *name, size_t len, mode_t mode,
                             unsigned how)
{
	int extra = shmget_flags(how);
	if (extra < 0)
		return extra;
	/* A segment that vanishes under us frees its key: try anew, a bounded
	 * number of times.  That is the one holding the key while we look at
	 * it, or our own new one, removed (as half-made) by a racing
	 * pshm_remove before we could attach it. */
	for (int attempt = 0;; attempt++) {
		int id = shmget(key_of(name), len, IPC_CREAT | IPC_EXCL | (int)mode | extra);
		int rc;
		if (id >= 0) {
			rc = attach_id(id, len, 0, map);
			if (rc < 0)
				shmctl(id, IPC_RMID, NULL);
		} else if (errno == EEXIST) {
			int existing;
			rc = identify(name, &existing);
			if (rc == 0)
				rc = -EEXIST;
		} else {
			return create_error();
		}
		if (rc != -ENOENT || attempt == 16)
			return rc == -ENOENT ? -EEXIST : rc;
	}
}

/* SysV memory is charged when the segment is made: the header is written in
 * place, where nothing can fail. */
static int sysv_write_fields(struct pshm__map *map, const struct pshm__header *hdr)
{
	memcpy((unsigned char *)map->addr + PSHM__HEADER_FIELDS_START,
	       (const unsigned char *)hdr + PSHM__HEADER_FIELDS_START,
	       PSHM__HEADER_FIELDS_END - PSHM__HEADER_FIELDS_START);
	return 0;
}

static int sysv_publish(struct pshm__map *map)
{
	struct pshm__header *mapped = map->addr;
	atomic_store_explicit(&mapped->state, PSHM__STATE_READY, memory_order_release);
	return 0;
}

static int sysv_open_named(struct pshm__map *map, const char *name, unsigned flags)
{
	int id;
	return attach_key(name, flags, map, &id);
}

static int sysv_stat(const char *name, unsigned flags, struct pshm__object *obj)
{
	(void)flags; /* one namespace */
	int id;
	struct shmid_ds ds;
	int rc = find_key(key_of(name), &id, &ds);
	if (rc < 0)
		return rc;
	*obj = (struct pshm__object){.owner = ds.shm_perm.uid, .mode = ds.shm_perm.mode & 0777,
	                             .len = ds.shm_segsz, .changed = ds.shm_ctime,
	                             .attached = (int)ds.shm_nattch, /* before our own look */
	                             .regular = 1, .exclusive_fd = -1, .ident.id = id};
	struct pshm__map map;
	memset(&map, 0, sizeof(map));
	rc = attach_id(id, ds.shm_segsz, 1, &map);
	if (rc < 0)
		return rc;
	rc = -EAGAIN;
	for (int attempt = 0; rc == -EAGAIN && attempt < 3; attempt++)
		rc = copy_head(&map, &obj->head);
	shmdt(map.addr);
	return 0; /* still changing: judged on what was there */
}

/* The name in the ready libpshm header of segment id (of segsz bytes) that
 * key holds, into name; 0, or -1 if it is not one. */
static int name_of(int id, key_t key, size_t segsz, char name[PSHM_NAME_MAX + 1])
{
	void *addr = shmat(id, NULL, SHM_RDONLY);
	if (addr == (void *)-1)
		return -1; /* not ours to read, or gone */
	struct pshm__map map = {.addr = addr, .len = segsz};
	struct pshm__head head;
	int rc = copy_head(&map, &head);
	shmdt(addr);
	if (rc < 0)
		return -1; /* being published: it has no name to list yet */
	const struct pshm__header *hdr = &head.u.hdr;
	if (pshm__header_check(&head, segsz, NULL, PSHM_BACKEND_SYSV) != 0 || key_of(hdr->name) != key)
		return -1;
	memcpy(name, hdr->name, PSHM_NAME_MAX + 1);
	return 0;
}

/* Linux lists every SysV segment in /proc/sysvipc/shm; elsewhere there is
 * no portable way. */
static int sysv_list(int (*fn)(const char *name, void *arg), void *arg)
{
	int fd = pshm__openat(AT_FDCWD, "/proc/sysvipc/shm", O_RDONLY, 0);
	if (fd < 0)
		return -ENOTSUP;
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return -ENOTSUP;
	}
	char line[512];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		long long key, id;
		unsigned long long size;
		char name[PSHM_NAME_MAX + 1];
		if (sscanf(line, "%lld %lld %*o %llu", &key, &id, &size) == 3 && key != IPC_PRIVATE &&
		    size >= PSHM__HEADER_SIZE && name_of((int)id, (key_t)key, (size_t)size, name) == 0)
			rc = fn(name, arg);
	}
	fclose(f);
	return rc;
}

static int sysv_unmap(struct pshm__map *map)
{
	if (shmdt(map->addr) < 0)
		return pshm__neg_errno();
	map->addr = NULL;
	map->len = 0;
	return 0;
}

static int sysv_unlink(const char *name, const struct pshm__ident *only)
{
	int id;
	if (only != NULL) {
		id = only->id; /* by id: the key may hold a newer segment by now */
#ifdef SHM_DEST
		/* Linux lets a removed segment be removed again; say it is gone,
		 * as the other backends do. */
		struct shmid_ds ds;
		if (shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST))
			return -ENOENT;
#endif
	} else {
		int rc = identify(name, &id);
		if (rc < 0)
			return rc;
	}
	if (shmctl(id, IPC_RMID, NULL) < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : pshm__neg_errno();
	return 0;
}

/* Only a kernel without SysV IPC (ENOSYS) never will; a full
 * kernel.shmmni (ENOSPC) or memory is an answer for now. */
static int sysv_probe(void)
{
	int id = shmget(IPC_PRIVATE, pshm__page_size(), IPC_CREAT | 0600);
	if (id < 0)
		return errno == ENOSYS ? -ENOTSUP : pshm__neg_errno();
	shmctl(id, IPC_RMID, NULL);
	return 0;
}

const struct pshm__backend_ops pshm__backend_sysv = {
	.id = PSHM_BACKEND_SYSV,
	.probe = sysv_probe,
	.create_anon = sysv_create_anon,
	.create_named = sysv_create_named,
	.write_fields = sysv_write_fields,
	.publish = sysv_publish,
	.open_named = sysv_open_named,
	.stat = sysv_stat,
	.list = sysv_list,
	.unmap = sysv_unmap,
	.unlink = sysv_unlink,
};
