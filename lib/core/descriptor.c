/*
 * descriptor.c - handing a segment to another process by its file
 * descriptor: exported here, attached there (inherited across exec, or
 * sent over a Unix socket).  A descriptor received may be anything its
 * sender chose: it is judged as a name found on the system is, by its type
 * and its header against its real size, and, with PSHM_SEALED, by its
 * seals before its size.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/handle.h"

#define ATTACH_FD_FLAGS (PSHM_RDONLY | PSHM_ANY_OWNER | PSHM_PREFAULT | PSHM_SEALED)

/* What pshm_send sends with the descriptor: a receiver takes no other. */
static const char message[] = "libpshm segment 1\n";

PSHM_EXTERN int pshm_export_fd(pshm_t *shm, unsigned flags)
{
	if (shm == NULL || (flags & ~(PSHM_SEAL_GROW | PSHM_INHERIT)))
		return -EINVAL;
	if (shm->ops->export_fd == NULL)
		return PSHM_ENODESC;
	/* A named segment's size may change (pshm_resize): not sealed. */
	int anonymous = shm->name[0] == '\0';
	unsigned seals = !anonymous ? 0
	                 : PSHM__SEAL_SHRINK | ((flags & PSHM_SEAL_GROW) ? PSHM__SEAL_GROW : 0);
	int fd = shm->ops->export_fd(&shm->map, seals);
	if (fd < 0)
		return fd;
	int rc = (flags & PSHM_INHERIT) ? pshm__let_inherit(fd) : 0;
	if (rc < 0) {
		pshm__close_descriptor(fd);
		return rc;
	}
	if (anonymous && !shm->rdonly)
		pshm__header_label(shm->map.addr, shm->size, shm->ops->id,
		                   shm->managed ? PSHM__HEADER_MANAGED : 0);
	return fd;
}

/* Map the segment open on own (which map then keeps) as pshm_attach_fd
 * does; the name its header gives in name, the backend that made it in
 * *ops.  On failure own is closed. */
static int map_descriptor(int own, unsigned flags, struct pshm__map *map,
                          char name[PSHM_NAME_MAX + 1], const struct pshm__backend_ops **ops)
{
	const struct pshm__backend_ops *opener;
	int rc = pshm__fd_backend(PSHM_BACKEND_DEFAULT, &opener);
	if (rc == 0)
		rc = opener->open_fd(map, own, flags & (PSHM_RDONLY | PSHM_ANY_OWNER), name);
	if (rc < 0) {
		pshm__close_descriptor(own);
		return rc == -EAGAIN ? PSHM_ENOTREADY : rc;
	}
	rc = pshm__fd_backend(map->made_by, ops);
	if (rc == 0 && name[0] != '\0' && !pshm__name_is_valid(name))
		rc = PSHM_ENOTPSHM; /* a name no segment has: never used to remove one */
	if (rc < 0)
		opener->unmap(map);
	return rc;
}

PSHM_EXTERN int pshm_attach_fd(pshm_t **shm, int fd, const pshm_attr_t *attr)
{
	struct pshm__settings set;
	int rc = pshm__read_attr(attr, &set);
	if (shm == NULL)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (rc < 0)
		return rc;
	if (set.flags & ~ATTACH_FD_FLAGS)
		return -EINVAL;
	/* Sealed first: then the size read next is one the sender cannot cut. */
	rc = (set.flags & PSHM_SEALED) ? pshm__sealed_against_shrinking(fd) : 1;
	if (rc <= 0)
		return rc < 0 ? rc : PSHM_EUNSEALED;
	int own = pshm__dup_cloexec(fd);
	if (own < 0)
		return own;
	struct pshm__map map = {.fd = -1, .addr = NULL, .ident = {.id = -1}};
	char name[PSHM_NAME_MAX + 1] = "";
	const struct pshm__backend_ops *ops;
	rc = map_descriptor(own, set.flags, &map, name, &ops);
	return rc < 0 ? rc : pshm__adopt(shm, ops, &map, name, set.flags);
}

PSHM_EXTERN int pshm_send(int sock, pshm_t *shm, unsigned flags)
{
	if (flags & PSHM_INHERIT)
		return -EINVAL; /* what is sent is the receiver's */
	int fd = pshm_export_fd(shm, flags);
	if (fd < 0)
		return fd;
	int rc = pshm__send_fd(sock, message, sizeof(message) - 1, fd);
	pshm__close_descriptor(fd);
	return rc;
}

PSHM_EXTERN int pshm_recv(int sock, pshm_t **shm, const pshm_attr_t *attr)
{
	if (shm == NULL)
		return -EINVAL;
	char got[sizeof(message)];
	int fd;
	ssize_t n = pshm__recv_fd(sock, got, sizeof(message) - 1, &fd);
	int rc = n < 0 ? (int)n : 0;
	if (rc == 0 && n == 0 && fd < 0)
		rc = -ECONNRESET;
	else if (rc == 0 && (fd < 0 || (size_t)n != sizeof(message) - 1 ||
	                     memcmp(got, message, sizeof(message) - 1) != 0))
		rc = -EBADMSG;
	if (rc == 0)
		rc = pshm_attach_fd(shm, fd, attr);
	if (fd >= 0)
		pshm__close_descriptor(fd);
	return rc;
}

PSHM_EXTERN int pshm_sysv_id(const pshm_t *shm)
{
	if (shm == NULL)
		return -EINVAL;
	return shm->map.ident.id >= 0 ? shm->map.ident.id : PSHM_ENODESC;
}
