/*
 * inspect.c - describing named segments without attaching them, listing
 * them, and removing the ones nobody uses any more.
 *
 * The cleaner's promise is that it never removes a segment in use, so each
 * judgement errs towards "in use": a creator that cannot be told alive or
 * dead (another PID namespace, no pid recorded), a file some handle holds
 * (os/hold-*.c) or that /proc counts mapped, or an object that is not
 * exactly what libpshm makes all keep a segment.  The object removed is the
 * one judged, never whatever holds the name by then.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* How old a half-made segment of unknown creator must be to be orphaned:
 * far beyond any creation in progress (attach waits 1 s for one). */
#define PSHM__HALF_MADE_ORPHAN_AGE 10

/* 1 if process pid (recorded in PID namespace pidns) exists, 0 if not, -1
 * if that cannot be told: no pid, or a pid of another namespace, which
 * means another process here. */
static int process_alive(pid_t pid, uint64_t pidns)
{
	if (pid <= 0 || pidns != pshm__pid_namespace())
		return -1;
	return pshm__process_exists(pid);
}

static int is_orphaned(const pshm_info_t *info)
{
	if (info->state == PSHM_STATE_FOREIGN || info->attached != 0)
		return 0;
	if (info->creator_alive == 0)
		return 1;
	return info->creator_alive < 0 && info->state == PSHM_STATE_HALF_MADE &&
	       info->creator_pid == 0 && info->age > PSHM__HALF_MADE_ORPHAN_AGE;
}

/* The state of obj as backend b's segment called name. */
static int state_of(const struct pshm__object *obj, const char *name, pshm_backend_t b)
{
	if (!obj->regular)
		return PSHM_STATE_FOREIGN;
	switch (pshm__header_check(&obj->head, obj->len, name, b)) {
	case 0:
		return PSHM_STATE_READY;
	case -EAGAIN:
		return PSHM_STATE_HALF_MADE;
	default:
		return PSHM_STATE_FOREIGN;
	}
}

/* Describe name's object (in the namespace flags say) into info; obj keeps
 * what was judged. */
static int stat_with(const struct pshm__backend_ops *ops, const char *name, unsigned flags,
                     pshm_info_t *info, struct pshm__object *obj)
{
	int rc = ops->stat(name, flags, obj);
	if (rc < 0)
		return rc;
	memset(info, 0, sizeof(*info));
	info->backend = ops->id;
	info->object_size = obj->len;
	info->owner = obj->owner;
	info->mode = obj->mode;
	info->attached = obj->attached;
	time_t now = time(NULL);
	info->age = now > obj->changed ? (long long)(now - obj->changed) : 0;
	info->state = state_of(obj, name, ops->id);
	const struct pshm__header *hdr = &obj->head.u.hdr;
	if (info->state == PSHM_STATE_READY)
		info->size = (size_t)hdr->usable_size;
	if (info->state != PSHM_STATE_FOREIGN && hdr->creator_pid > 0 &&
	    hdr->creator_pid == (pid_t)hdr->creator_pid)
		info->creator_pid = (pid_t)hdr->creator_pid;
	info->creator_alive = process_alive(info->creator_pid, hdr->creator_pidns);
	info->orphaned = is_orphaned(info);
	return 0;
}

/* Let go of the object judged: the exclusive hold that kept attachers
 * waiting. */
static void release(const struct pshm__object *obj)
{
	if (obj->exclusive_fd >= 0)
		pshm__close_descriptor(obj->exclusive_fd);
}

PSHM_EXTERN int pshm_stat(const char *name, const pshm_attr_t *attr, pshm_info_t *info)
{
	struct pshm__settings set;
	int rc = pshm__read_name_and_attr(name, attr, &set);
	if (info == NULL)
		return -EINVAL;
	if (rc < 0)
		return rc;
	struct pshm__object obj;
	rc = stat_with(set.ops, name, set.flags, info, &obj);
	if (rc == 0)
		release(&obj);
	return rc;
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
	return pshm__name_is_valid(name) ? l->fn(name, l->arg) : 0;
}

PSHM_EXTERN int pshm_list(const pshm_attr_t *attr, int (*fn)(const char *name, void *arg),
                          void *arg)
{
	struct pshm__settings set;
	int rc = pshm__read_attr(attr, &set);
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
	struct pshm__settings set;
	int rc = pshm__read_name_and_attr(name, attr, &set);
	if (rc < 0)
		return rc;
	pshm_info_t info;
	struct pshm__object obj;
	rc = stat_with(set.ops, name, set.flags, &info, &obj);
	if (rc < 0)
		return rc;
	if (info.state == PSHM_STATE_FOREIGN)
		rc = -EPERM;
	else if (!info.orphaned)
		rc = -EBUSY;
	else /* the object judged, not whatever the name holds by now, while
	        no attach can start */
		rc = set.ops->unlink(name, &obj.ident);
	release(&obj);
	return rc;
}
