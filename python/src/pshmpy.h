/*
 * pshmpy.h - what the rooms of the Python extension pshm._pshm share:
 * module.c (the module, its errors and functions), segment.c (Segment, with
 * the buffer protocol) and sync.c (Mutex and Cond at an offset in one).
 */
#ifndef PSHMPY_H
#define PSHMPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pshm.h>

/* A segment attached in this process. */
typedef struct {
	PyObject_HEAD
	pshm_t *shm;      /* NULL once detached or destroyed */
	Py_ssize_t users; /* buffers exported and locks made on it: while any
	                     lives, it may not be detached */
	int rdonly;
} SegmentObject;

extern PyTypeObject Segment_Type;
extern PyTypeObject Mutex_Type;
extern PyTypeObject Cond_Type;

/* Raise pshm.Error (pshm.OwnerDied for PSHM_EOWNERDEAD) for code, a
 * negative libpshm code; NULL, for returning. */
PyObject *pshmpy_raise(int code);

/* A new Segment for shm (which it then owns), or NULL with an exception. */
PyObject *pshmpy_segment_new(pshm_t *shm, int rdonly);

/* The attached segment of obj, a Segment, or NULL with ValueError (it was
 * detached) or TypeError (not a Segment). */
pshm_t *pshmpy_segment_handle(PyObject *obj);

/* The address of size bytes at offset in the segment obj, aligned to
 * align, or NULL with ValueError (out of its bounds, misaligned). */
void *pshmpy_segment_at(PyObject *obj, Py_ssize_t offset, size_t size, size_t align);

/* The segment attributes made from a backend, a mode and flags. */
int pshmpy_attr(pshm_attr_t *attr, int backend, unsigned mode, unsigned flags);

#endif /* PSHMPY_H */
