"""channel.py: C and Python on one segment; examples/channel.c is the other
side.  A producer hands records to a consumer through a ring of 64 in a
named segment, under the segment's pshm_mutex_t and pshm_cond_t.

    python3 channel.py produce NAME COUNT & ../../examples/channel consume NAME
    ../../examples/channel produce NAME COUNT & python3 channel.py consume NAME

The layout (offsets in the usable bytes) is examples/channel.c's:
    0 mutex, 64 condition, 128 ready, 136 written, 144 taken, 152 finished,
    160 closed (uint64 each), 192 64 records of (uint64 seq, float64 value,
    16 bytes of text).
"""
import sys
import time

import numpy

import pshm

RING = 64
READY = 0x4C454E4E414843  # "CHANNEL"
RECORD = numpy.dtype([("seq", "<u8"), ("value", "<f8"), ("text", "S16")])
SIZE = 192 + RING * RECORD.itemsize
READY_AT, WRITTEN, TAKEN, FINISHED, CLOSED = range(5)  # words from offset 128


def views(seg):
    """The lock, the condition, the words and the ring of seg."""
    words = numpy.frombuffer(seg, dtype="<u8", count=5, offset=128)
    ring = numpy.frombuffer(seg, dtype=RECORD, count=RING, offset=192)
    return pshm.Mutex(seg, 0), pshm.Cond(seg, 64), words, ring


def produce(name, count):
    seg = pshm.create(SIZE, name=name)
    pshm.Mutex(seg, 0, init=True)
    pshm.Cond(seg, 64, init=True)
    lock, changed, words, ring = views(seg)
    words[READY_AT] = READY  # last: the consumer waits for it
    with lock:
        for i in range(count):
            while words[WRITTEN] - words[TAKEN] == RING:
                changed.wait(lock)
            ring[int(words[WRITTEN]) % RING] = (i, i * 0.5, b"rec-%d" % i)
            words[WRITTEN] += 1
            changed.broadcast()
        words[FINISHED] = 1
        changed.broadcast()
        while not words[CLOSED]:
            changed.wait(lock)
    print("Python producer: %d records handed over" % count)
    del lock, changed, words, ring
    seg.destroy()


def meet(name):
    """Attach name once its producer has made it and said it is ready."""
    for _ in range(1000):
        try:
            seg = pshm.attach(name)
            if seg.size >= SIZE and numpy.frombuffer(seg, "<u8", 1, 128)[0] == READY:
                return seg
            seg.detach()
        except pshm.Error:
            pass
        time.sleep(0.01)
    raise SystemExit("consume: no producer made %s" % name)


def consume(name):
    seg = meet(name)
    lock, changed, words, ring = views(seg)
    got, wrong, total = 0, 0, 0.0
    with lock:
        while True:
            while words[TAKEN] == words[WRITTEN] and not words[FINISHED]:
                changed.wait(lock)
            if words[TAKEN] == words[WRITTEN]:
                break
            seq, value, text = ring[int(words[TAKEN]) % RING]
            wrong += seq != got or text != b"rec-%d" % got
            total += value
            got += 1
            words[TAKEN] += 1
            changed.broadcast()
        words[CLOSED] = 1
        changed.broadcast()
    print("Python consumer: %d records, sum %.1f, %d out of order" % (got, total, wrong))
    del lock, changed, words, ring
    seg.detach()
    return wrong == 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "produce":
        produce(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "consume":
        sys.exit(0 if consume(sys.argv[2]) else 1)
    else:
        sys.exit("usage: channel.py produce NAME COUNT | consume NAME")
