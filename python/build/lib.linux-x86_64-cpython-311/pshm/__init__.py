"""libpshm for Python: shared memory segments that C and Python programs
share, with robust mutexes and condition variables inside them.

    import numpy, pshm
    with pshm.create(8 * 1000000, name="ints") as seg:     # or pshm.attach("ints")
        a = numpy.frombuffer(seg, dtype=numpy.int64)        # no copy
        ...
        del a                                                # before detaching

Every failure is a pshm.Error (an OSError) whose .code is libpshm's code;
pshm.OwnerDied says a lock's holder died and the caller now holds it.  The
manual pages pshm(3) and pshm_mutex(3) describe the calls underneath.
"""
from ._pshm import (  # noqa: F401
    ALIGNMENT, ANY_OWNER, BACKEND_DEFAULT, BACKEND_MMAP, BACKEND_POSIX, BACKEND_SYSV,
    COND_SIZE, EOWNER, ENOTPSHM, ENOTRECOVERABLE, EOWNERDEAD, HUGEPAGES, MANAGED,
    MUTEX_SIZE, NAME_MAX, NORESERVE, PREFAULT, RDONLY, Cond, Error, Mutex, OwnerDied,
    Segment, attach, create, list, remove, stat)

__all__ = [
    "create", "attach", "remove", "stat", "list", "Segment", "Mutex", "Cond", "Error",
    "OwnerDied", "BACKEND_DEFAULT", "BACKEND_SYSV", "BACKEND_POSIX", "BACKEND_MMAP",
    "RDONLY", "NORESERVE", "ANY_OWNER", "PREFAULT", "HUGEPAGES", "MANAGED",
    "MUTEX_SIZE", "COND_SIZE", "ALIGNMENT", "NAME_MAX",
]
