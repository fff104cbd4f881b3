/*
 * sync.c - pshm.Mutex and pshm.Cond: a pshm_mutex_t or pshm_cond_t at an
 * offset in a segment, shared with every process (C or Python) that has the
 * segment.  A lock whose holder died is pshm.OwnerDied: the caller then
 * holds it, repairs what it protects, calls consistent() and releases it.
 * The GIL is released while a call may sleep.
 */
#include "pshmpy.h"

#include <errno.h>
#include <math.h>

typedef struct {
	PyObject_HEAD
	PyObject *segment; /* keeps the segment attached while this lives */
	void *at;          /* the pshm_mutex_t or pshm_cond_t */
} SyncObject;

/* Bind self to size bytes at offset of segment (init: then call init on
 * them): 0, or -1 with an exception. */
static int bind(SyncObject *self, PyObject *args, PyObject *kw, size_t size, int (*init)(void *))
{
	static char *names[] = {"segment", "offset", "init", NULL};
	PyObject *segment;
	Py_ssize_t offset;
	int fresh = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!n|p", names, &Segment_Type, &segment, &offset,
	                                 &fresh))
		return -1;
	if (((SegmentObject *)segment)->rdonly) { /* a lock writes its bytes, which cannot be */
		pshmpy_raise(-EACCES);            /* as pshm_lock says on a read-only attach */
		return -1;
	}
	void *at = pshmpy_segment_at(segment, offset, size, 8);
	if (at == NULL)
		return -1;
	int rc = fresh ? init(at) : 0;
	if (rc < 0) {
		pshmpy_raise(rc);
		return -1;
	}
	if (self->segment != NULL) { /* __init__ called again */
		((SegmentObject *)self->segment)->users--;
		Py_CLEAR(self->segment);
	}
	self->segment = Py_NewRef(segment);
	((SegmentObject *)segment)->users++;
	self->at = at;
	return 0;
}

static void sync_dealloc(PyObject *obj)
{
	SyncObject *self = (SyncObject *)obj;
	if (self->segment != NULL) {
		((SegmentObject *)self->segment)->users--;
		Py_DECREF(self->segment);
	}
	Py_TYPE(obj)->tp_free(obj);
}

static int bound(const SyncObject *self)
{
	if (self->at != NULL)
		return 1;
	PyErr_SetString(PyExc_ValueError, "not bound to a segment");
	return 0;
}

/* A timeout in seconds (None: none) as milliseconds (-1: none). */
static int timeout_ms(PyObject *timeout, long *ms)
{
	*ms = -1;
	if (timeout == NULL || timeout == Py_None)
		return 0;
	double seconds = PyFloat_AsDouble(timeout);
	if (seconds == -1.0 && PyErr_Occurred())
		return -1;
	if (!(seconds >= 0) || seconds > 1e9) {
		PyErr_SetString(PyExc_ValueError, "timeout must be None or 0 to 1e9 seconds");
		return -1;
	}
	*ms = (long)ceil(seconds * 1000.0);
	return 0;
}

static int mutex_init_at(void *at)
{
	return pshm_mutex_init(at);
}

static int mutex_new(PyObject *self, PyObject *args, PyObject *kw)
{
	return bind((SyncObject *)self, args, kw, PSHM_MUTEX_SIZE, mutex_init_at);
}

/* acquire(blocking=True, timeout=None) -> True, or False if not had. */
static PyObject *mutex_acquire(PyObject *obj, PyObject *args, PyObject *kw)
{
	static char *names[] = {"blocking", "timeout", NULL};
	SyncObject *self = (SyncObject *)obj;
	int blocking = 1;
	PyObject *timeout = NULL;
	long ms;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|pO", names, &blocking, &timeout) ||
	    timeout_ms(timeout, &ms) < 0 || !bound(self))
		return NULL;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	if (!blocking)
		rc = pshm_mutex_trylock(self->at);
	else if (ms >= 0)
		rc = pshm_mutex_timedlock(self->at, ms);
	else
		rc = pshm_mutex_lock(self->at);
	Py_END_ALLOW_THREADS
	if (rc == -EBUSY || rc == -ETIMEDOUT)
		Py_RETURN_FALSE;
	return rc < 0 ? pshmpy_raise(rc) : Py_NewRef(Py_True);
}

/* call on the object obj is bound to: None, or the exception for its code
 * (release, consistent, signal, broadcast: calls that never sleep). */
static PyObject *apply(PyObject *obj, int (*call)(void *))
{
	SyncObject *self = (SyncObject *)obj;
	if (!bound(self))
		return NULL;
	int rc = call(self->at);
	return rc < 0 ? pshmpy_raise(rc) : Py_NewRef(Py_None);
}

static int unlock_at(void *at)
{
	return pshm_mutex_unlock(at);
}

static int consistent_at(void *at)
{
	return pshm_mutex_consistent(at);
}

static PyObject *mutex_release(PyObject *obj, PyObject *unused)
{
	(void)unused;
	return apply(obj, unlock_at);
}

static PyObject *mutex_consistent(PyObject *obj, PyObject *unused)
{
	(void)unused;
	return apply(obj, consistent_at);
}

static PyObject *mutex_enter(PyObject *obj, PyObject *unused)
{
	(void)unused;
	PyObject *empty = PyTuple_New(0);
	PyObject *had = empty == NULL ? NULL : mutex_acquire(obj, empty, NULL);
	Py_XDECREF(empty);
	if (had == NULL)
		return NULL;
	Py_DECREF(had);
	return Py_NewRef(obj);
}

static PyObject *mutex_exit(PyObject *obj, PyObject *args)
{
	(void)args;
	PyObject *rc = mutex_release(obj, NULL);
	if (rc == NULL)
		return NULL;
	Py_DECREF(rc);
	Py_RETURN_FALSE;
}

static PyMethodDef mutex_methods[] = {
	{"acquire", (PyCFunction)(void (*)(void))mutex_acquire, METH_VARARGS | METH_KEYWORDS,
	 "acquire(blocking=True, timeout=None) -> bool; OwnerDied if its holder died"},
	{"release", mutex_release, METH_NOARGS, "Release the lock."},
	{"consistent", mutex_consistent, METH_NOARGS,
	 "After OwnerDied, once the data is repaired: mark the lock usable again."},
	{"__enter__", mutex_enter, METH_NOARGS, NULL},
	{"__exit__", mutex_exit, METH_VARARGS, NULL},
	{NULL, NULL, 0, NULL},
};

PyTypeObject Mutex_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "pshm.Mutex",
	.tp_basicsize = sizeof(SyncObject),
	.tp_dealloc = sync_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Mutex(segment, offset, init=False): the pshm_mutex_t at offset (8-aligned; "
	          "MUTEX_SIZE bytes); init=True makes it",
	.tp_methods = mutex_methods,
	.tp_init = mutex_new,
	.tp_new = PyType_GenericNew,
};

static int cond_init_at(void *at)
{
	return pshm_cond_init(at);
}

static int cond_new(PyObject *self, PyObject *args, PyObject *kw)
{
	return bind((SyncObject *)self, args, kw, PSHM_COND_SIZE, cond_init_at);
}

/* wait(mutex, timeout=None) -> True when woken, False at the timeout. */
static PyObject *cond_wait(PyObject *obj, PyObject *args, PyObject *kw)
{
	static char *names[] = {"mutex", "timeout", NULL};
	SyncObject *self = (SyncObject *)obj;
	PyObject *mutex, *timeout = NULL;
	long ms;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|O", names, &Mutex_Type, &mutex, &timeout) ||
	    timeout_ms(timeout, &ms) < 0 || !bound(self) || !bound((SyncObject *)mutex))
		return NULL;
	void *m = ((SyncObject *)mutex)->at;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = ms >= 0 ? pshm_cond_timedwait(self->at, m, ms) : pshm_cond_wait(self->at, m);
	Py_END_ALLOW_THREADS
	if (rc == -ETIMEDOUT)
		Py_RETURN_FALSE;
	return rc < 0 ? pshmpy_raise(rc) : Py_NewRef(Py_True);
}

static int signal_at(void *at)
{
	return pshm_cond_signal(at);
}

static int broadcast_at(void *at)
{
	return pshm_cond_broadcast(at);
}

static PyObject *cond_signal(PyObject *obj, PyObject *unused)
{
	(void)unused;
	return apply(obj, signal_at);
}

static PyObject *cond_broadcast(PyObject *obj, PyObject *unused)
{
	(void)unused;
	return apply(obj, broadcast_at);
}

static PyMethodDef cond_methods[] = {
	{"wait", (PyCFunction)(void (*)(void))cond_wait, METH_VARARGS | METH_KEYWORDS,
	 "wait(mutex, timeout=None) -> bool: False at the timeout; OwnerDied as Mutex.acquire"},
	{"signal", cond_signal, METH_NOARGS, "Wake one waiter."},
	{"broadcast", cond_broadcast, METH_NOARGS, "Wake every waiter."},
	{NULL, NULL, 0, NULL},
};

PyTypeObject Cond_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "pshm.Cond",
	.tp_basicsize = sizeof(SyncObject),
	.tp_dealloc = sync_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Cond(segment, offset, init=False): the pshm_cond_t at offset (8-aligned; "
	          "COND_SIZE bytes); init=True makes it",
	.tp_methods = cond_methods,
	.tp_init = cond_new,
	.tp_new = PyType_GenericNew,
};
