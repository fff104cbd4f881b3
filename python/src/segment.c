/*
 * segment.c - pshm.Segment: an attached segment, whose usable bytes are a
 * writable buffer (memoryview, numpy.frombuffer: no copy).  While a buffer
 * or a lock made on it lives, it cannot be detached (BufferError), as with
 * mmap.mmap: nothing can then touch unmapped memory.
 */
#include "pshmpy.h"

#include <errno.h>

PyObject *pshmpy_segment_new(pshm_t *shm, int rdonly)
{
	SegmentObject *self = PyObject_New(SegmentObject, &Segment_Type);
	if (self == NULL) {
		pshm_detach(shm);
		return NULL;
	}
	self->shm = shm;
	self->users = 0;
	self->rdonly = rdonly;
	return (PyObject *)self;
}

pshm_t *pshmpy_segment_handle(PyObject *obj)
{
	if (!PyObject_TypeCheck(obj, &Segment_Type)) {
		PyErr_SetString(PyExc_TypeError, "a pshm.Segment is needed");
		return NULL;
	}
	SegmentObject *self = (SegmentObject *)obj;
	if (self->shm == NULL)
		PyErr_SetString(PyExc_ValueError, "the segment is detached");
	return self->shm;
}

void *pshmpy_segment_at(PyObject *obj, Py_ssize_t offset, size_t size, size_t align)
{
	pshm_t *shm = pshmpy_segment_handle(obj);
	if (shm == NULL)
		return NULL;
	if (offset < 0 || (size_t)offset > pshm_size(shm) || size > pshm_size(shm) - (size_t)offset ||
	    (size_t)offset % align != 0) {
		PyErr_Format(PyExc_ValueError,
		             "offset %zd: %zu bytes aligned to %zu do not fit in the segment's %zu",
		             offset, size, align, pshm_size(shm));
		return NULL;
	}
	return (char *)pshm_addr(shm) + offset;
}

/* End the segment's life in this process: detach, or destroy (its name).
 * A second detach is harmless, as file.close() is; a destroy after either
 * would leave the name it promises to remove: ValueError. */
static PyObject *finish(SegmentObject *self, int (*how)(pshm_t *))
{
	if (self->shm == NULL && how == pshm_destroy) {
		PyErr_SetString(PyExc_ValueError, "the segment is detached: its name is not removed "
		                                  "(pshm.remove(name) removes it)");
		return NULL;
	}
	if (self->shm == NULL)
		return Py_NewRef(Py_None);
	if (self->users > 0) {
		PyErr_SetString(PyExc_BufferError,
		                "buffers or locks on the segment are still in use: release them first");
		return NULL;
	}
	pshm_t *shm = self->shm;
	self->shm = NULL;
	int rc = how(shm);
	return rc < 0 ? pshmpy_raise(rc) : Py_NewRef(Py_None);
}

static PyObject *seg_detach(PyObject *self, PyObject *unused)
{
	(void)unused;
	return finish((SegmentObject *)self, pshm_detach);
}

static PyObject *seg_destroy(PyObject *self, PyObject *unused)
{
	(void)unused;
	return finish((SegmentObject *)self, pshm_destroy);
}

static PyObject *seg_enter(PyObject *self, PyObject *unused)
{
	(void)unused;
	return pshmpy_segment_handle(self) == NULL ? NULL : Py_NewRef(self);
}

static PyObject *seg_exit(PyObject *self, PyObject *args)
{
	(void)args;
	return seg_detach(self, NULL);
}

/* Pickled (multiprocessing's spawn), a named segment is its name: the
 * other process attaches it.  An anonymous one cannot be: fork shares it. */
static PyObject *seg_reduce(PyObject *obj, PyObject *unused)
{
	(void)unused;
	pshm_t *shm = pshmpy_segment_handle(obj);
	if (shm == NULL)
		return NULL;
	if (pshm_name(shm) == NULL) {
		PyErr_SetString(PyExc_TypeError,
		                "an anonymous segment has no name to send: share it by fork");
		return NULL;
	}
	PyObject *module = PyImport_ImportModule("pshm");
	PyObject *attach = module == NULL ? NULL : PyObject_GetAttrString(module, "attach");
	Py_XDECREF(module);
	if (attach == NULL)
		return NULL;
	return Py_BuildValue("N(sii)", attach, pshm_name(shm), (int)pshm_backend(shm),
	                     ((SegmentObject *)obj)->rdonly ? PSHM_RDONLY : 0);
}

static void seg_dealloc(PyObject *obj)
{
	SegmentObject *self = (SegmentObject *)obj;
	if (self->shm != NULL)
		pshm_detach(self->shm); /* as a file closes: the segment lives on */
	PyObject_Free(self);
}

static int seg_getbuffer(PyObject *obj, Py_buffer *view, int flags)
{
	SegmentObject *self = (SegmentObject *)obj;
	if (pshmpy_segment_handle(obj) == NULL) {
		view->obj = NULL;
		return -1;
	}
	int rc = PyBuffer_FillInfo(view, obj, pshm_addr(self->shm), (Py_ssize_t)pshm_size(self->shm),
	                           self->rdonly, flags);
	if (rc == 0)
		self->users++;
	return rc;
}

static void seg_releasebuffer(PyObject *obj, Py_buffer *view)
{
	(void)view;
	((SegmentObject *)obj)->users--;
}

static PyObject *seg_size(PyObject *obj, void *unused)
{
	(void)unused;
	pshm_t *shm = pshmpy_segment_handle(obj);
	return shm == NULL ? NULL : PyLong_FromSize_t(pshm_size(shm));
}

static PyObject *seg_name(PyObject *obj, void *unused)
{
	(void)unused;
	pshm_t *shm = pshmpy_segment_handle(obj);
	if (shm == NULL)
		return NULL;
	return pshm_name(shm) == NULL ? Py_NewRef(Py_None) : PyUnicode_FromString(pshm_name(shm));
}

static PyObject *seg_backend(PyObject *obj, void *unused)
{
	(void)unused;
	pshm_t *shm = pshmpy_segment_handle(obj);
	return shm == NULL ? NULL : PyLong_FromLong((long)pshm_backend(shm));
}

static PyObject *seg_closed(PyObject *obj, void *unused)
{
	(void)unused;
	return PyBool_FromLong(((SegmentObject *)obj)->shm == NULL);
}

static PyMethodDef seg_methods[] = {
	{"detach", seg_detach, METH_NOARGS, "Unmap the segment here; it lives on for the others."},
	{"destroy", seg_destroy, METH_NOARGS, "Remove the segment's name, then detach."},
	{"__enter__", seg_enter, METH_NOARGS, NULL},
	{"__exit__", seg_exit, METH_VARARGS, "Detach."},
	{"__reduce__", seg_reduce, METH_NOARGS, NULL},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef seg_getset[] = {
	{"size", seg_size, NULL, "usable bytes", NULL},
	{"name", seg_name, NULL, "the name, or None for an anonymous segment", NULL},
	{"backend", seg_backend, NULL, "the backend (BACKEND_*)", NULL},
	{"closed", seg_closed, NULL, "whether it was detached or destroyed", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static PyBufferProcs seg_buffer = {seg_getbuffer, seg_releasebuffer};

PyTypeObject Segment_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "pshm.Segment",
	.tp_basicsize = sizeof(SegmentObject),
	.tp_dealloc = seg_dealloc,
	.tp_as_buffer = &seg_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A shared memory segment attached here (pshm.create, pshm.attach).",
	.tp_methods = seg_methods,
	.tp_getset = seg_getset,
};
