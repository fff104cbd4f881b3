/*
 * module.c - the module pshm._pshm: its exception classes, its constants,
 * and the calls that take a name (create, attach, open, remove, stat, list).
 */
#include "pshmpy.h"

#include <errno.h>

static PyObject *Error;     /* pshm.Error(OSError): .code, the libpshm code */
static PyObject *OwnerDied; /* pshm.OwnerDied(Error): the caller holds the lock */

PyObject *pshmpy_raise(int code)
{
	PyObject *type = code == PSHM_EOWNERDEAD ? OwnerDied : Error;
	/* A negated errno is OSError's errno too; libpshm's own codes are not
	 * (errno None). */
	PyObject *exc = code > -1000 ? PyObject_CallFunction(type, "is", -code, pshm_strerror(code))
	                             : PyObject_CallFunction(type, "s", pshm_strerror(code));
	if (exc == NULL)
		return NULL;
	PyObject *value = PyLong_FromLong(code);
	if (value != NULL && PyObject_SetAttrString(exc, "code", value) == 0)
		PyErr_SetObject(type, exc);
	Py_XDECREF(value);
	Py_DECREF(exc);
	return NULL;
}

int pshmpy_attr(pshm_attr_t *attr, int backend, unsigned mode, unsigned flags)
{
	int rc = pshm_attr_init(attr);
	if (rc == 0)
		rc = pshm_attr_set_backend(attr, (pshm_backend_t)backend);
	if (rc == 0 && mode != 0)
		rc = pshm_attr_set_mode(attr, (mode_t)mode);
	if (rc == 0)
		rc = pshm_attr_set_flags(attr, flags);
	if (rc < 0)
		pshmpy_raise(rc);
	return rc;
}

/* An int argument from 0 to most, into *(unsigned *)out, for "O&": a
 * value out of range is ValueError, never cut to its low bits. */
static int unsigned_arg(PyObject *obj, unsigned *out, unsigned long most, const char *what)
{
	unsigned long value = PyLong_AsUnsignedLong(obj);
	if (value == (unsigned long)-1 && PyErr_Occurred()) {
		if (!PyErr_ExceptionMatches(PyExc_OverflowError))
			return 0;
		PyErr_Clear();
	} else if (value <= most) {
		*out = (unsigned)value;
		return 1;
	}
	PyErr_Format(PyExc_ValueError, "%s must be from 0 to %#lo", what, most);
	return 0;
}

static int mode_arg(PyObject *obj, void *out)
{
	return unsigned_arg(obj, out, 07777, "mode");
}

static int flags_arg(PyObject *obj, void *out)
{
	return unsigned_arg(obj, out, 0xffffffffUL, "flags");
}

/* create(name=None, size, backend=0, mode=0o600, flags=0) */
static PyObject *create(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = {"size", "name", "backend", "mode", "flags", NULL};
	Py_ssize_t size;
	const char *name = NULL;
	int backend = PSHM_BACKEND_DEFAULT;
	unsigned mode = 0, flags = 0;
	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "n|ziO&O&", names, &size, &name, &backend,
	                                 mode_arg, &mode, flags_arg, &flags))
		return NULL;
	pshm_attr_t attr;
	if (size <= 0)
		return pshmpy_raise(-EINVAL);
	if (pshmpy_attr(&attr, backend, mode, flags) < 0)
		return NULL;
	pshm_t *shm;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = pshm_create(&shm, name, (size_t)size, &attr);
	Py_END_ALLOW_THREADS
	return rc < 0 ? pshmpy_raise(rc) : pshmpy_segment_new(shm, 0);
}

/* attach(name, backend=0, flags=0) */
static PyObject *attach(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = {"name", "backend", "flags", NULL};
	const char *name;
	int backend = PSHM_BACKEND_DEFAULT;
	unsigned flags = 0;
	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|iO&", names, &name, &backend, flags_arg,
	                                 &flags))
		return NULL;
	pshm_attr_t attr;
	if (pshmpy_attr(&attr, backend, 0, flags) < 0)
		return NULL;
	pshm_t *shm;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = pshm_attach(&shm, name, &attr);
	Py_END_ALLOW_THREADS
	return rc < 0 ? pshmpy_raise(rc) : pshmpy_segment_new(shm, (flags & PSHM_RDONLY) != 0);
}

/* The arguments (name, backend=0) of the calls on a segment not attached:
 * 0, or -1 with an exception. */
static int name_and_backend(PyObject *args, PyObject *kw, const char **name, pshm_attr_t *attr)
{
	static char *names[] = {"name", "backend", NULL};
	int backend = PSHM_BACKEND_DEFAULT;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|i", names, name, &backend))
		return -1;
	return pshmpy_attr(attr, backend, 0, 0) < 0 ? -1 : 0;
}

/* remove(name, backend=0) */
static PyObject *remove_name(PyObject *self, PyObject *args, PyObject *kw)
{
	const char *name;
	pshm_attr_t attr;
	(void)self;
	if (name_and_backend(args, kw, &name, &attr) < 0)
		return NULL;
	int rc = pshm_remove(name, &attr);
	return rc < 0 ? pshmpy_raise(rc) : Py_NewRef(Py_None);
}

/* stat(name, backend=0): a dict of pshm_info_t's fields. */
static PyObject *stat_name(PyObject *self, PyObject *args, PyObject *kw)
{
	const char *name;
	pshm_attr_t attr;
	(void)self;
	if (name_and_backend(args, kw, &name, &attr) < 0)
		return NULL;
	pshm_info_t info;
	int rc = pshm_stat(name, &attr, &info);
	if (rc < 0)
		return pshmpy_raise(rc);
	return Py_BuildValue("{s:i,s:i,s:n,s:n,s:I,s:I,s:L,s:i,s:i,s:L,s:O}", "backend",
	                     (int)info.backend, "state", info.state, "size", (Py_ssize_t)info.size,
	                     "object_size", (Py_ssize_t)info.object_size, "owner",
	                     (unsigned)info.owner, "mode", (unsigned)info.mode, "creator_pid",
	                     (long long)info.creator_pid, "creator_alive", info.creator_alive,
	                     "attached", info.attached, "age", info.age, "orphaned",
	                     info.orphaned ? Py_True : Py_False);
}

static int append_name(const char *name, void *arg)
{
	PyObject *text = PyUnicode_FromString(name);
	int rc = text == NULL ? -1 : PyList_Append((PyObject *)arg, text);
	Py_XDECREF(text);
	return rc < 0 ? 1 : 0; /* nonzero stops the listing */
}

/* list(backend=0): the names of the backend's segments. */
static PyObject *list_names(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = {"backend", NULL};
	int backend = PSHM_BACKEND_DEFAULT;
	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|i", names, &backend))
		return NULL;
	pshm_attr_t attr;
	if (pshmpy_attr(&attr, backend, 0, 0) < 0)
		return NULL;
	PyObject *list = PyList_New(0);
	if (list == NULL)
		return NULL;
	int rc = pshm_list(&attr, append_name, list);
	if (rc == 0)
		return list;
	Py_DECREF(list);
	return rc > 0 ? NULL : pshmpy_raise(rc);
}

static PyMethodDef functions[] = {
	{"create", (PyCFunction)(void (*)(void))create, METH_VARARGS | METH_KEYWORDS,
	 "create(size, name=None, backend=BACKEND_DEFAULT, mode=0o600, flags=0) -> Segment"},
	{"attach", (PyCFunction)(void (*)(void))attach, METH_VARARGS | METH_KEYWORDS,
	 "attach(name, backend=BACKEND_DEFAULT, flags=0) -> Segment"},
	{"remove", (PyCFunction)(void (*)(void))remove_name, METH_VARARGS | METH_KEYWORDS,
	 "remove(name, backend=BACKEND_DEFAULT): remove a named segment"},
	{"stat", (PyCFunction)(void (*)(void))stat_name, METH_VARARGS | METH_KEYWORDS,
	 "stat(name, backend=BACKEND_DEFAULT) -> dict: pshm_stat(3)"},
	{"list", (PyCFunction)(void (*)(void))list_names, METH_VARARGS | METH_KEYWORDS,
	 "list(backend=BACKEND_DEFAULT) -> [name]: pshm_list(3)"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "pshm._pshm", "libpshm: portable shared memory", -1, functions,
	NULL, NULL, NULL, NULL,
};

static int add_constants(PyObject *m)
{
	static const struct {
		const char *name;
		long value;
	} constants[] = {
		{"BACKEND_DEFAULT", PSHM_BACKEND_DEFAULT}, {"BACKEND_SYSV", PSHM_BACKEND_SYSV},
		{"BACKEND_POSIX", PSHM_BACKEND_POSIX},     {"BACKEND_MMAP", PSHM_BACKEND_MMAP},
		{"RDONLY", PSHM_RDONLY},                   {"NORESERVE", PSHM_NORESERVE},
		{"ANY_OWNER", PSHM_ANY_OWNER},             {"PREFAULT", PSHM_PREFAULT},
		{"HUGEPAGES", PSHM_HUGEPAGES},             {"MANAGED", PSHM_MANAGED},
		{"MUTEX_SIZE", PSHM_MUTEX_SIZE},           {"COND_SIZE", PSHM_COND_SIZE},
		{"ALIGNMENT", PSHM_ALIGNMENT},             {"NAME_MAX", PSHM_NAME_MAX},
		{"EOWNERDEAD", PSHM_EOWNERDEAD},           {"ENOTRECOVERABLE", PSHM_ENOTRECOVERABLE},
		{"ENOTPSHM", PSHM_ENOTPSHM},               {"EOWNER", PSHM_EOWNER},
	};
	for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++)
		if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0)
			return -1;
	return 0;
}

static int add_type(PyObject *m, const char *name, PyTypeObject *type)
{
	if (PyType_Ready(type) < 0)
		return -1;
	Py_INCREF(type);
	if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
		Py_DECREF(type);
		return -1;
	}
	return 0;
}

PyMODINIT_FUNC PyInit__pshm(void)
{
	PyObject *m = PyModule_Create(&module);
	if (m == NULL)
		return NULL;
	Error = PyErr_NewExceptionWithDoc("pshm.Error", "A libpshm call failed: .code is its code",
	                                  PyExc_OSError, NULL);
	OwnerDied = PyErr_NewExceptionWithDoc(
		"pshm.OwnerDied",
		"The lock's holder died holding it: the caller holds it now, repairs the data, "
		"calls consistent() and releases it",
		Error, NULL);
	if (Error == NULL || OwnerDied == NULL || PyModule_AddObjectRef(m, "Error", Error) < 0 ||
	    PyModule_AddObjectRef(m, "OwnerDied", OwnerDied) < 0 || add_constants(m) < 0 ||
	    add_type(m, "Segment", &Segment_Type) < 0 || add_type(m, "Mutex", &Mutex_Type) < 0 ||
	    add_type(m, "Cond", &Cond_Type) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
