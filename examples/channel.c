/* channel.c: C and Python on one segment.  A producer hands records to a
 * consumer through a ring of 64 in a named segment, under a pshm_mutex_t
 * and a pshm_cond_t; python/examples/channel.py plays either side with the
 * same layout, so a C producer can feed a Python consumer and the other
 * way round.
 *
 *   ./channel produce NAME COUNT & ./channel consume NAME
 *   python3 python/examples/channel.py produce NAME COUNT & ./channel consume NAME
 *
 * The layout (offsets in the usable bytes; both programs spell it out):
 *     0  pshm_mutex_t lock          128  uint64 ready (CHANNEL_READY, last)
 *    64  pshm_cond_t changed        136  uint64 written   144 uint64 taken
 *   152  uint64 finished (producer)  160 uint64 closed (consumer)
 *   192  64 records of 32 bytes: uint64 seq, double value, char text[16]
 * The producer makes the segment, then its lock and condition, then says
 * ready; it removes the segment once the consumer has closed. */
#include <pshm.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 64
#define CHANNEL_READY UINT64_C(0x4c454e4e414843) /* "CHANNEL" */

struct record { uint64_t seq; double value; char text[16]; };
struct channel {
    pshm_mutex_t lock;
    pshm_cond_t changed;
    _Atomic uint64_t ready;
    uint64_t written, taken, finished, closed;
    char unused[24];
    struct record records[RING];
};
_Static_assert(offsetof(struct channel, ready) == 128, "the layout is shared with Python");
_Static_assert(offsetof(struct channel, records) == 192, "the layout is shared with Python");
_Static_assert(sizeof(struct record) == 32, "the layout is shared with Python");

static int produce(const char *name, uint64_t count)
{
    pshm_t *shm;
    int rc = pshm_create(&shm, name, sizeof(struct channel), NULL);
    if (rc < 0) {
        fprintf(stderr, "produce: pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    struct channel *c = pshm_addr(shm);
    pshm_mutex_init(&c->lock);
    pshm_cond_init(&c->changed);
    atomic_store(&c->ready, CHANNEL_READY);
    pshm_mutex_lock(&c->lock);
    for (uint64_t i = 0; i < count; i++) {
        while (c->written - c->taken == RING)
            pshm_cond_wait(&c->changed, &c->lock);
        struct record *r = &c->records[c->written % RING];
        r->seq = i;
        r->value = (double)i * 0.5;
        snprintf(r->text, sizeof(r->text), "rec-%llu", (unsigned long long)i);
        c->written++;
        pshm_cond_broadcast(&c->changed);
    }
    c->finished = 1;
    pshm_cond_broadcast(&c->changed);
    while (!c->closed)
        pshm_cond_wait(&c->changed, &c->lock);
    pshm_mutex_unlock(&c->lock);
    printf("C producer: %llu records handed over\n", (unsigned long long)count);
    return pshm_destroy(shm) < 0;
}

/* Attach name once its producer has made it and said it is ready (10 s). */
static pshm_t *meet(const char *name)
{
    for (int tries = 0; tries < 1000; tries++) {
        pshm_t *shm;
        if (pshm_attach(&shm, name, NULL) == 0) {
            struct channel *c = pshm_addr(shm);
            if (pshm_size(shm) >= sizeof(*c) && atomic_load(&c->ready) == CHANNEL_READY)
                return shm;
            pshm_detach(shm);
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    return NULL;
}

static int consume(const char *name)
{
    pshm_t *shm = meet(name);
    if (shm == NULL) {
        fprintf(stderr, "consume: no producer made %s\n", name);
        return 1;
    }
    struct channel *c = pshm_addr(shm);
    uint64_t got = 0, wrong = 0;
    double sum = 0;
    pshm_mutex_lock(&c->lock);
    for (;;) {
        while (c->taken == c->written && !c->finished)
            pshm_cond_wait(&c->changed, &c->lock);
        if (c->taken == c->written)
            break;
        const struct record *r = &c->records[c->taken % RING];
        char want[16];
        snprintf(want, sizeof(want), "rec-%llu", (unsigned long long)got);
        wrong += r->seq != got || strcmp(r->text, want) != 0;
        sum += r->value;
        got++;
        c->taken++;
        pshm_cond_broadcast(&c->changed);
    }
    c->closed = 1;
    pshm_cond_broadcast(&c->changed);
    pshm_mutex_unlock(&c->lock);
    printf("C consumer: %llu records, sum %.1f, %llu out of order\n", (unsigned long long)got,
           sum, (unsigned long long)wrong);
    return pshm_detach(shm) < 0 || wrong != 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2]);
    fprintf(stderr, "usage: %s produce NAME COUNT | consume NAME\n", argv[0]);
    return 2;
}
