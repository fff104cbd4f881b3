#!/usr/bin/env python3
"""seed.py - the experiment libpshm grew from, in Python through libpshm.

A million ints are summed in the parent and in 8 children at once (forked,
as the seed's were), each way a Python program can share them: numpy over
a libpshm segment, numpy over multiprocessing.shared_memory, and the seed's
own ways, traversed by a Python loop (array.array, dict, shared ctypes
Array, a Manager list) next to the same loop over both segments.  The
baseline is numpy over a private array.  Needs the pshm package installed.

    python3 python/bench/seed.py [--smoke] [OUTDIR]

writes OUTDIR/python.md (the table) and OUTDIR/python.gp (its chart, which
gnuplot renders to python.png); OUTDIR is bench/results by default.
"""
import array
import ctypes
import importlib.util
import multiprocessing as mp
import multiprocessing.shared_memory as shared_memory
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy

import pshm


def load_seed():
    """bench/seed.py, the seed's program as bench/peers runs it: its loop
    and its way of timing 8 children at once are this experiment's too."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "seed.py")
    spec = importlib.util.spec_from_file_location("bench_seed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEED = load_seed()
loop_sum = SEED.traverse
MANAGER_INTS = SEED.MANAGER_INTS  # a Manager list is a round trip per element: scaled up


def numpy_sum(a):
    return int(a.sum())


def median_ms(fn, seq, times):
    fn(seq)  # a first traversal faults the pages in: not timed
    spans = []
    for _ in range(times):
        t0 = time.perf_counter()
        fn(seq)
        spans.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(spans)


def variants(n, ctx, seg, sm, manager):
    ints = numpy.frombuffer(seg, dtype=numpy.int32, count=n)
    ints[:] = numpy.arange(n, dtype=numpy.int32)
    sm_ints = numpy.frombuffer(sm.buf, dtype=numpy.int32, count=n)
    sm_ints[:] = ints
    shared_ctypes = ctx.Array(ctypes.c_int, n, lock=False)
    shared_ctypes[:] = range(n)
    return [  # label, sum, sequence, traversals, scale
        ("numpy over a private array (baseline)", numpy_sum,
         numpy.arange(n, dtype=numpy.int32), 20, 1),
        ("numpy over a libpshm segment", numpy_sum, ints, 20, 1),
        ("numpy over multiprocessing.shared_memory", numpy_sum, sm_ints, 20, 1),
        ("Python loop: array.array (seed)", loop_sum, array.array("i", range(n)), 3, 1),
        ("Python loop: dict (seed)", loop_sum, {i: i for i in range(n)}, 3, 1),
        ("Python loop: shared ctypes Array (seed)", loop_sum, shared_ctypes, 3, 1),
        ("Python loop: libpshm segment (memoryview)", loop_sum,
         memoryview(seg).cast("i")[:n], 3, 1),
        ("Python loop: shared_memory (memoryview)", loop_sum, sm.buf.cast("i")[:n], 3, 1),
        ("Python loop: Manager list (seed; %d ints, scaled)" % MANAGER_INTS, loop_sum,
         manager.list(range(MANAGER_INTS)), 1, n / MANAGER_INTS),
    ]


def measure(n, runs):
    """{(case, label): [ms per run]} over runs, every variant each run."""
    ctx = mp.get_context("fork")
    seg = pshm.create(4 * n)
    sm = shared_memory.SharedMemory(create=True, size=4 * n)
    manager = ctx.Manager()
    times = {}
    try:
        rows = variants(n, ctx, seg, sm, manager)
        for _ in range(runs):
            for label, fn, seq, traversals, scale in rows:
                parent = median_ms(fn, seq, traversals)
                children = SEED.children_ms(ctx, lambda: median_ms(fn, seq, traversals))
                for case, ms in (("parent", parent), ("8 children at once", children)):
                    times.setdefault((case, label), []).append(ms * scale)
        del rows
    finally:
        manager.shutdown()
        sm.close()
        sm.unlink()
        seg.detach()
    return times


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write(times, n, runs, outdir):
    where = "Machine: %s, %d cores online, %s %s, Python %s, numpy %s. Run: %s." % (
        cpu_name(), os.cpu_count(), platform.system(), platform.release(),
        platform.python_version(),
        numpy.__version__, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    md = ["## Python: %dK ints summed, through libpshm and the seed's ways" % (n // 1024), "",
          where, "", "| case | variant | median (ms) | min - max | runs | vs baseline |",
          "| --- | --- | ---: | ---: | ---: | ---: |"]
    data, base = [], {}
    for case in ("parent", "8 children at once"):  # each case's rows together
        for (row_case, label), ms in times.items():
            if row_case != case:
                continue
            med = statistics.median(ms)
            first = case not in base
            base.setdefault(case, med)
            ratio = base[case] / med
            md.append("| %s | %s | %.4g | %.4g - %.4g | %d | %s |" % (
                case, label, med, min(ms), max(ms), len(ms),
                "baseline, 1.00x" if first else "%.3gx" % ratio))
            data.append('%d\t%g\t"%s: %s"' % (len(data), ratio, case, label))
    md += ["", '"vs baseline" is the speed relative to the first row of the case: above '
           "1.00x is faster, below is slower.", ""]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "python.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(outdir, "python.gp"), "w") as f:
        f.write("$data << EOD\n%s\nEOD\n" % "\n".join(data))
        f.write(GNUPLOT % (160 + 16 * len(data), where, len(data)))
    print("\n".join(md))


GNUPLOT = """set terminal pngcairo size 1200,%d font 'sans,9'
set output 'python.png'
set title "Python: a million ints summed in a parent and 8 children\\n%s" noenhanced
set xlabel 'speed relative to numpy over a private array (log scale; right of 1 is faster)'
set logscale x
set format x '%%g'
set yrange [%d:-1]
set ytics noenhanced
set grid x
set style fill solid 0.6
unset key
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2
plot $data using 2:1:(($2 < 1) ? $2 : 1):(($2 < 1) ? 1 : $2):($1 - 0.35):($1 + 0.35):ytic(3) \\
     with boxxyerror lc rgb '#4477aa', \\
     $data using (($2 < 1) ? 1 : $2):1:(sprintf('%%.3gx', $2)) \\
     with labels left offset 0.5,0 font 'sans,8'
"""


def main(argv):
    smoke = "--smoke" in argv
    args = [a for a in argv[1:] if a != "--smoke"]
    outdir = args[0] if args else os.path.join("bench", "results")
    n, runs = (100 * 1024, 1) if smoke else (1024 * 1024, 5)
    write(measure(n, runs), n, runs, outdir)
    try:
        subprocess.run(["gnuplot", "python.gp"], cwd=outdir, check=True)
        print("chart: %s" % os.path.join(outdir, "python.png"))
    except (OSError, subprocess.CalledProcessError):
        print("chart: skipped (gnuplot missing or failed; %s is its script)"
              % os.path.join(outdir, "python.gp"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
