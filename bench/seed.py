#!/usr/bin/env python3
"""seed.py - the Python program libpshm grew from (the "seed"), ported to
Python 3, and Python's
multiprocessing.shared_memory, for bench/peers.

It compared ways of sharing a million ints between a parent and 8
children: a plain array, a dict, a Manager list and shared ctypes, each
summed in the parent and in 8 children at once.  This program keeps those
and adds multiprocessing.shared_memory, the stdlib's segment.  It prints
what bench/peers collects (bench/harness.h, bench_collect):

    seed.py access INTS TRAVERSALS RUNS   KEY<TAB>LABEL<TAB>ms per traversal
    seed.py lifecycle BYTES CYCLES RUNS   KEY<TAB>LABEL<TAB>us per cycle

Children are multiprocessing processes (the fork start method, as the original
had on Linux), so that Manager proxies reconnect in each child.
"""

import array
import ctypes
import multiprocessing as mp
import multiprocessing.shared_memory as shm
import os
import statistics
import sys
import time

CHILDREN = 8
# A Manager list is a round trip to the manager process per element: it
# sums MANAGER_INTS elements and the figure is scaled up to the full count.
MANAGER_INTS = 2000
PYTHON_TRAVERSALS = 3


def traverse(seq):
    total = 0
    for x in seq:
        total += x
    return total


def traversal_ms(seq, traversals):
    times = []
    for _ in range(traversals):
        t0 = time.perf_counter()
        traverse(seq)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def child(measure, conn):
    conn.send(measure())
    conn.close()


def children_ms(ctx, measure):
    """The median, over CHILDREN children running at once, of what
    measure() returns in each (python/bench/seed.py uses it too)."""
    receivers, procs = [], []
    for _ in range(CHILDREN):
        receiver, sender = ctx.Pipe(duplex=False)
        p = ctx.Process(target=child, args=(measure, sender))
        p.start()
        sender.close()
        receivers.append(receiver)
        procs.append(p)
    results = [r.recv() for r in receivers]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("a child failed")
    return statistics.median(results)


def report(key, label, value):
    print(f"{key}\t{label}\t{value:.6g}", flush=True)


def run_variants(ctx, variants, traversals, runs):
    for _ in range(runs):
        for label, seq, scale in variants:
            report("parent", label, traversal_ms(seq, traversals) * scale)
            report("children", label,
                   children_ms(ctx, lambda: traversal_ms(seq, traversals)) * scale)


def access(n, traversals, runs):
    ctx = mp.get_context("fork")
    manager = ctx.Manager()
    segment = shm.SharedMemory(create=True, size=4 * n)
    try:
        ints = segment.buf.cast("i")
        ints[:] = array.array("i", range(n))
        shared_ctypes = ctx.Array(ctypes.c_int, n, lock=False)
        shared_ctypes[:] = range(n)
        run_variants(ctx, [
            ("Python array.array (seed)", array.array("i", range(n)), 1),
            ("Python dict (seed)", {i: i for i in range(n)}, 1),
            (f"Python Manager list (seed; {MANAGER_INTS} ints, scaled)",
             manager.list(range(MANAGER_INTS)), n / MANAGER_INTS),
            ("Python shared ctypes Array (seed)", shared_ctypes, 1),
            ("Python shared_memory", ints, 1),
        ], traversals, runs)
        ints.release()  # the segment cannot be closed while a view exists
    finally:
        segment.close()
        segment.unlink()
        manager.shutdown()


def lifecycle(size, cycles, runs):
    # Named: create, attach a second handle, close both, unlink.  The
    # module has no anonymous segment (they all have names).
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(cycles):
            created = shm.SharedMemory(create=True, size=size)
            opened = shm.SharedMemory(name=created.name)
            opened.close()
            created.close()
            created.unlink()
        report("named", "Python shared_memory", (time.perf_counter() - t0) * 1e6 / cycles)


def main(argv):
    if len(argv) != 5 or argv[1] not in ("access", "lifecycle"):
        print(f"usage: {argv[0]} access INTS TRAVERSALS RUNS | "
              "lifecycle BYTES CYCLES RUNS", file=sys.stderr)
        return 2
    count, times, runs = (int(a) for a in argv[2:])
    if argv[1] == "access":
        # A traversal in Python takes a hundred times one in C: fewer.
        access(count, min(times, PYTHON_TRAVERSALS), runs)
    else:
        lifecycle(count, times, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
