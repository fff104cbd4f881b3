"""pshm for Python, across real processes (fork, and multiprocessing's spawn,
which starts a new interpreter): segments of every backend, their bytes as
buffers and numpy arrays with no copy, errors, and the robust locks."""
import errno
import multiprocessing
import os
import pickle
import signal
import uuid

import numpy
import pytest

import pshm

BACKENDS = [pshm.BACKEND_SYSV, pshm.BACKEND_POSIX, pshm.BACKEND_MMAP]


def unique(tag):
    return "py-%d-%s-%s" % (os.getpid(), tag, uuid.uuid4().hex[:6])


def made(backend, size=1 << 16, name=None, **kw):
    try:
        return pshm.create(size, name=name, backend=backend, **kw)
    except pshm.Error as e:
        if e.errno == errno.ENOTSUP:  # not built here
            pytest.skip("backend %d is not built" % backend)
        raise


def started(fn):
    """Run fn in a forked child, whose exit status says whether it returned
    (0) or raised (1); its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            code = 0
        except BaseException:  # noqa: BLE001 - any failure is a status
            code = 1
        os._exit(code)
    return pid


def finished(pid):
    """The exit status of the child pid (-N: killed by signal N)."""
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def in_child(fn):
    return finished(started(fn))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_forked_child_writes_what_the_parent_reads(backend):
    with made(backend) as seg:
        ints = numpy.frombuffer(seg, dtype=numpy.int64)

        def child():
            ints[:] = numpy.arange(len(ints)) * 3

        assert in_child(child) == 0
        assert ints.sum() == 3 * (len(ints) - 1) * len(ints) // 2
        del ints


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_named_segment_is_attached_buffers_and_all(backend):
    name = unique("named")
    seg = made(backend, 4096, name=name)
    try:
        view = memoryview(seg)
        view[:5] = b"hello"
        with pshm.attach(name, backend=backend) as other:
            assert bytes(memoryview(other)[:5]) == b"hello"
            assert (other.name, other.size, other.backend) == (name, 4096, backend)
        with pshm.attach(name, backend=backend, flags=pshm.RDONLY) as reader:
            assert memoryview(reader).readonly
            assert not numpy.frombuffer(reader, dtype=numpy.uint8).flags.writeable
        info = pshm.stat(name, backend=backend)
        assert (info["size"], info["state"], info["backend"]) == (4096, 1, backend)
        assert name in pshm.list(backend=backend)
        view.release()
    finally:
        seg.destroy()
    with pytest.raises(pshm.Error) as e:
        pshm.attach(name, backend=backend)
    assert e.value.errno == errno.ENOENT and e.value.code == -errno.ENOENT


def test_a_segment_in_use_by_a_buffer_cannot_be_detached():
    seg = pshm.create(4096)
    view = memoryview(seg)
    with pytest.raises(BufferError):
        seg.detach()
    view.release()
    seg.detach()
    assert seg.closed
    seg.detach()  # twice is harmless
    with pytest.raises(ValueError):
        memoryview(seg)


def test_errors_carry_the_library_code_and_message():
    with pytest.raises(pshm.Error) as e:
        pshm.create(0)
    assert e.value.code == -errno.EINVAL and e.value.errno == errno.EINVAL
    name = unique("twice")
    with pshm.create(64, name=name) as seg:
        with pytest.raises(pshm.Error) as e:
            pshm.create(64, name=name)
        assert e.value.errno == errno.EEXIST and "exists" in str(e.value)
        seg.destroy()
    with pytest.raises(pshm.Error) as e:
        pshm.attach("..")
    assert e.value.code == -errno.EINVAL
    assert issubclass(pshm.OwnerDied, pshm.Error) and issubclass(pshm.Error, OSError)


def counter(seg):
    """The mutex at 0 and the counter at 64 of seg."""
    return pshm.Mutex(seg, 0), numpy.frombuffer(seg, dtype=numpy.int64, count=1, offset=64)


def test_a_mutex_keeps_four_processes_counting_exactly():
    with pshm.create(4096) as seg:
        pshm.Mutex(seg, 0, init=True)
        mutex, count = counter(seg)

        def add():
            for _ in range(5000):
                with mutex:
                    count[0] += 1

        kids = [started(add) for _ in range(4)]
        add()
        assert [finished(pid) for pid in kids] == [0] * 4
        assert count[0] == 25000
        del mutex, count


def test_a_holder_that_dies_leaves_owner_died_to_repair():
    with pshm.create(4096) as seg:
        pshm.Mutex(seg, 0, init=True)
        mutex, count = counter(seg)

        def die_holding():
            mutex.acquire()
            count[0] = -1  # half-way through an update
            os.kill(os.getpid(), signal.SIGKILL)

        assert in_child(die_holding) == -signal.SIGKILL
        with pytest.raises(pshm.OwnerDied) as e:
            mutex.acquire()
        assert e.value.code == pshm.EOWNERDEAD
        count[0] = 0  # the repair
        mutex.consistent()
        mutex.release()
        with mutex:
            assert count[0] == 0
        del mutex, count


def test_a_condition_wakes_a_waiter_in_another_process():
    with pshm.create(4096) as seg:
        mutex = pshm.Mutex(seg, 0, init=True)
        cond = pshm.Cond(seg, 64, init=True)
        flag = numpy.frombuffer(seg, dtype=numpy.int64, count=1, offset=128)

        def waiter():
            with mutex:
                while flag[0] == 0:
                    if not cond.wait(mutex, timeout=10):
                        raise TimeoutError
                flag[0] = 2

        pid = started(waiter)
        with mutex:
            flag[0] = 1
            cond.broadcast()
        assert finished(pid) == 0
        assert flag[0] == 2
        with mutex:
            assert cond.wait(mutex, timeout=0.05) is False
        assert mutex.acquire(blocking=False) is True
        mutex.release()
        del mutex, cond, flag


def test_locks_outside_the_segment_are_refused():
    with pshm.create(4096) as seg:
        for offset in (-8, 4096 - 8, 4, 1 << 40):
            with pytest.raises(ValueError):
                pshm.Mutex(seg, offset)
        with pytest.raises(TypeError):
            pshm.Cond(b"not a segment", 0)


def fill_in_spawned_child(seg, value):
    numpy.frombuffer(seg, dtype=numpy.int32)[:] = value
    seg.detach()


def test_a_spawned_child_attaches_a_named_segment_by_name():
    name = unique("spawn")
    with pshm.create(4096, name=name) as seg:
        ctx = multiprocessing.get_context("spawn")
        child = ctx.Process(target=fill_in_spawned_child, args=(seg, 7))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert (numpy.frombuffer(seg, dtype=numpy.int32) == 7).all()
        seg.destroy()
    with pshm.create(64) as anonymous:
        with pytest.raises(TypeError):
            pickle.dumps(anonymous)


@pytest.mark.parametrize("backend", BACKENDS)
def test_locks_on_a_read_only_attachment_are_refused_not_a_crash(backend):
    name = unique("ro")
    with made(backend, 4096, name=name) as seg:
        pshm.Mutex(seg, 0, init=True)
        pshm.Cond(seg, 64, init=True)

        def child():
            with pshm.attach(name, backend=backend, flags=pshm.RDONLY) as ro:
                for make in (lambda: pshm.Mutex(ro, 0), lambda: pshm.Mutex(ro, 0, init=True),
                             lambda: pshm.Cond(ro, 64), lambda: pshm.Cond(ro, 64, init=True)):
                    with pytest.raises(pshm.Error) as e:
                        make()
                    assert e.value.errno == errno.EACCES
        assert in_child(child) == 0  # -11: the interpreter died of SIGSEGV
        seg.destroy()


@pytest.mark.parametrize("backend", BACKENDS)
def test_destroy_after_detach_says_so_and_the_name_stays(backend):
    name = unique("late")
    with made(backend, 4096, name=name) as seg:
        pass
    with pytest.raises(ValueError):
        seg.destroy()
    assert pshm.stat(name, backend=backend)["size"] == 4096  # still there, as said
    seg.detach()  # a second detach is harmless, as file.close()
    pshm.remove(name, backend=backend)


def test_a_mode_or_flags_out_of_range_is_value_error_not_cut():
    for bad in ((1 << 40) | 0o640, 0o10000, -1):
        with pytest.raises(ValueError):
            pshm.create(4096, name=unique("mode"), mode=bad)
    with pytest.raises(ValueError):
        pshm.create(4096, flags=1 << 40)
    with pytest.raises(ValueError):
        pshm.attach(unique("flags"), flags=(1 << 32) | pshm.RDONLY)
    with pytest.raises(TypeError):
        pshm.create(4096, mode="0640")
