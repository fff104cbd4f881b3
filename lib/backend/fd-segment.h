/*
 * fd-segment.h - what the POSIX and mmap backends share (fd-segment.c):
 * both name a file, size it and map it MAP_SHARED.  Not installed.
 */
#ifndef PSHM_FD_SEGMENT_H
#define PSHM_FD_SEGMENT_H

#include "internal.h"

/* How much of a new file pshm__fd_init_map allocates up front, so that a
 * full file system says -ENOSPC then and not SIGBUS at a touch later. */
enum pshm__reserve {
	PSHM__RESERVE_NOTHING, /* a memfd, or PSHM_NORESERVE: the header's page
	                          is had when publish writes it */
	PSHM__RESERVE_ALL,
};

/* What a file in a file system that can fill up reserves, as how
 * (PSHM__MAKE_*) says. */
enum pshm__reserve pshm__reserve_for(unsigned how);

/* Allocate bytes [from, length) of fd as pshm__allocate_file does; a file
 * system that cannot (EOPNOTSUPP, or EINVAL/ENODEV from some) keeps the
 * ftruncate size and the risk of a later SIGBUS: 0. */
int pshm__fd_reserve(int fd, off_t from, off_t length);

/* Set fd's mode exactly (the umask trimmed what open() got), then
 * pshm__fd_init_map with what how says to reserve; map keeps fd for
 * publish. */
int pshm__fd_init_named(int fd, mode_t mode, size_t len, unsigned how, struct pshm__map *map);

/* The write_fields and publish slots: the header written through the
 * file, not the mapping (a page fault and its unmapping cost more than two
 * pwrites). */
int pshm__fd_write_fields(struct pshm__map *map, const struct pshm__header *hdr);
int pshm__fd_publish(struct pshm__map *map);

/* Size fd to len, allocate what reserve says and map it read-write.
 * -EFBIG over RLIMIT_FSIZE (where the kernel would raise SIGXFSZ). */
int pshm__fd_init_map(int fd, size_t len, enum pshm__reserve reserve, struct pshm__map *map);

/* The open_named slot for name's object open on fd (rdonly as flags say;
 * NULL: any name), which map keeps on success. */
int pshm__fd_open_existing(int fd, const char *name, pshm_backend_t backend, unsigned flags,
                           struct pshm__map *map);

/* The open_fd slot: open_named's for the object open on fd, with any
 * name (the header's, in name) and any backend (map->made_by). */
int pshm__fd_open_fd(struct pshm__map *map, int fd, unsigned flags, char name[PSHM_NAME_MAX + 1]);

/* The export_fd slot: a duplicate of map's fd, sealed as seals say where
 * the object takes seals (a memfd); PSHM_ENODESC without one. */
int pshm__fd_export(const struct pshm__map *map, unsigned seals);

/* Copy the first bytes of the regular file fd (of len bytes) into head:
 * 0, or -EAGAIN if its state changed meanwhile, or it shrank. */
int pshm__fd_read_head(int fd, size_t len, struct pshm__head *head);

/* The resize and remap slots (fd-resize.c). */
int pshm__fd_resize(struct pshm__map *map, size_t usable, size_t len, unsigned how);
int pshm__fd_remap(struct pshm__map *map, int rdonly);

/* The stat slot for an object open on fd (non-blocking), which it takes
 * over: closed, or kept as obj->exclusive_fd. */
int pshm__fd_stat(int fd, struct pshm__object *obj);

/* What the kernel says of an object, from its stat (or lstat: a symbolic
 * link is described, never followed); attached not known, head empty, no
 * exclusive_fd. */
void pshm__fd_describe(const struct stat *st, struct pshm__object *obj);

/* Whether st describes the object only identifies: 0 if so, -ENOENT if
 * not (the name holds another object now). */
int pshm__same_object(const struct stat *st, const struct pshm__ident *only);

/* pshm__same_object for the object open on fd, or the error of fstat. */
int pshm__fd_is(int fd, const struct pshm__ident *only);

/* The code for an open() of an existing name that failed with rc: an object
 * no segment can be (a socket, a symbolic link, a directory) is foreign. */
int pshm__fd_open_error(int rc);

/* Call fn for each entry of the directory open on dirfd (which it takes
 * over and closes) whose name starts with prefix, with the prefix cut. */
int pshm__list_dir(int dirfd, const char *prefix, int (*fn)(const char *name, void *arg),
                   void *arg);

/* munmap map and close its fd (the unmap slot). */
int pshm__fd_unmap(struct pshm__map *map);

#endif /* PSHM_FD_SEGMENT_H */
