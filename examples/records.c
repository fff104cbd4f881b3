/* records.c: a producer hands 1000 records to a consumer process. */
#include <pshm.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

struct channel {
    pshm_mutex_t lock;
    pshm_cond_t changed;   /* signalled when head or tail moves */
    unsigned head, tail;   /* records written, records read */
    long ring[16];
};

static void put(struct channel *ch, long record)
{
    pshm_mutex_lock(&ch->lock);
    while (ch->head - ch->tail == 16)          /* full: wait for the reader */
        pshm_cond_wait(&ch->changed, &ch->lock);
    ch->ring[ch->head++ % 16] = record;
    pshm_cond_broadcast(&ch->changed);
    pshm_mutex_unlock(&ch->lock);
}

static long get(struct channel *ch)
{
    pshm_mutex_lock(&ch->lock);
    while (ch->head == ch->tail)               /* empty: wait for the writer */
        pshm_cond_wait(&ch->changed, &ch->lock);
    long record = ch->ring[ch->tail++ % 16];
    pshm_cond_broadcast(&ch->changed);
    pshm_mutex_unlock(&ch->lock);
    return record;
}

int main(void)
{
    pshm_t *shm;
    int rc = pshm_create(&shm, NULL, sizeof(struct channel), NULL);
    if (rc < 0) {
        fprintf(stderr, "pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    struct channel *ch = pshm_addr(shm);
    pshm_mutex_init(&ch->lock);                /* once, before the fork */
    pshm_cond_init(&ch->changed);

    if (fork() == 0) {                         /* the consumer */
        long sum = 0;
        for (int i = 0; i < 1000; i++)
            sum += get(ch);
        printf("consumer: 1000 records, sum %ld\n", sum); /* 499500 */
        fflush(stdout);
        _exit(0);
    }
    for (long i = 0; i < 1000; i++)            /* the producer */
        put(ch, i);
    wait(NULL);
    return pshm_destroy(shm) < 0;
}
