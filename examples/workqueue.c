/*
 * workqueue.c: a queue of jobs of varying size in a managed segment, built
 * from offsets only.  Two producer processes allocate jobs in the segment's
 * heap and append them to a queue found by name; three consumer processes
 * take them off, check them and free them.  Every process attaches the
 * segment by name, as unrelated programs would, and maps it at its own
 * address: the queue links jobs by pshm_off_t, never by pointer.
 *
 * run: ./examples/workqueue
 */
#include <pshm.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PRODUCERS 2
#define CONSUMERS 3
#define JOBS_EACH 5000

struct job {
    pshm_off_t next;  /* the job after this one, or PSHM_OFF_NULL */
    unsigned len;     /* bytes of text */
    char text[];      /* "job N of producer P" repeated to len bytes */
};

struct queue {
    pshm_mutex_t lock;
    pshm_cond_t changed;     /* a job came, or the producers are done */
    pshm_off_t head, tail;   /* first and last job waiting */
    unsigned producing;      /* producers still at work */
    unsigned long taken, bad;
};

static int init_queue(void *obj, size_t size, void *arg)
{
    struct queue *q = obj;
    (void)size;
    q->producing = *(unsigned *)arg;
    int rc = pshm_mutex_init(&q->lock);
    return rc < 0 ? rc : pshm_cond_init(&q->changed);
}

/* The queue object, made by the first process that asks. */
static struct queue *find_queue(pshm_t *shm)
{
    unsigned producers = PRODUCERS;
    pshm_off_t off;
    int rc = pshm_object(shm, "queue", sizeof(struct queue), init_queue, &producers, &off);
    if (rc < 0) {
        fprintf(stderr, "pshm_object: %s\n", pshm_strerror(rc));
        return NULL;
    }
    return pshm_ptr(shm, off);
}

static void fill(struct job *j, unsigned len, int producer, int n)
{
    char unit[64];
    int k = snprintf(unit, sizeof(unit), "job %d of producer %d; ", n, producer);
    for (unsigned i = 0; i < len; i++)
        j->text[i] = unit[i % (unsigned)k];
    j->len = len;
    j->next = PSHM_OFF_NULL;
}

static int produce(pshm_t *shm, struct queue *q, int producer)
{
    for (int n = 0; n < JOBS_EACH; n++) {
        unsigned len = 16 + (unsigned)(n * 7919 % 2000);  /* 16 to 2015 bytes */
        pshm_off_t off;
        int rc = pshm_alloc(shm, sizeof(struct job) + len, &off);
        if (rc < 0) {
            fprintf(stderr, "pshm_alloc: %s\n", pshm_strerror(rc));
            return 1;
        }
        fill(pshm_ptr(shm, off), len, producer, n);
        pshm_mutex_lock(&q->lock);
        if (q->tail != PSHM_OFF_NULL)
            ((struct job *)pshm_ptr(shm, q->tail))->next = off;
        else
            q->head = off;
        q->tail = off;
        pshm_cond_signal(&q->changed);
        pshm_mutex_unlock(&q->lock);
    }
    pshm_mutex_lock(&q->lock);
    q->producing--;
    pshm_cond_broadcast(&q->changed);
    pshm_mutex_unlock(&q->lock);
    return 0;
}

/* The next job, or PSHM_OFF_NULL once the producers are done. */
static pshm_off_t take(pshm_t *shm, struct queue *q)
{
    pshm_mutex_lock(&q->lock);
    while (q->head == PSHM_OFF_NULL && q->producing > 0)
        pshm_cond_wait(&q->changed, &q->lock);
    pshm_off_t off = q->head;
    if (off != PSHM_OFF_NULL) {
        q->head = ((struct job *)pshm_ptr(shm, off))->next;
        if (q->head == PSHM_OFF_NULL)
            q->tail = PSHM_OFF_NULL;
        q->taken++;
    }
    pshm_mutex_unlock(&q->lock);
    return off;
}

static int consume(pshm_t *shm, struct queue *q)
{
    unsigned long bad = 0;
    for (pshm_off_t off; (off = take(shm, q)) != PSHM_OFF_NULL;) {
        const struct job *j = pshm_ptr(shm, off);
        bad += j->len < 16 || strncmp(j->text, "job ", 4) != 0;
        pshm_free(shm, off);
    }
    pshm_mutex_lock(&q->lock);
    q->bad += bad;
    pshm_mutex_unlock(&q->lock);
    return 0;
}

/* A child: attach by name, find the queue, do its part. */
static int child(const char *name, int producer)
{
    pshm_t *shm;
    int rc = pshm_attach(&shm, name, NULL);
    if (rc < 0) {
        fprintf(stderr, "pshm_attach: %s\n", pshm_strerror(rc));
        return 1;
    }
    struct queue *q = find_queue(shm);
    int status = q == NULL ? 1 : producer >= 0 ? produce(shm, q, producer) : consume(shm, q);
    pshm_detach(shm);
    return status;
}

static int report(pshm_t *shm)
{
    struct queue *q = find_queue(shm);
    pshm_heap_info_t info;
    if (q == NULL || pshm_heap_stat(shm, &info) < 0 || pshm_heap_check(shm) < 0)
        return 1;
    printf("%lu jobs taken, %lu bad; heap: %zu blocks in use (the queue), %zu bytes free"
           " of %zu\n", q->taken, q->bad, info.blocks, info.free, info.size);
    return q->taken == (unsigned long)PRODUCERS * JOBS_EACH && q->bad == 0 && info.blocks == 1 ? 0 : 1;
}

int main(void)
{
    char name[PSHM_NAME_MAX + 1];
    snprintf(name, sizeof(name), "workqueue-%ld", (long)getpid());
    pshm_attr_t attr;
    pshm_attr_init(&attr);
    pshm_attr_set_flags(&attr, PSHM_MANAGED);
    pshm_t *shm;
    int rc = pshm_create(&shm, name, 8 << 20, &attr);
    if (rc < 0) {
        fprintf(stderr, "pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        if (fork() == 0)
            _exit(child(name, i < PRODUCERS ? i : -1));
    int failed = 0;
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        int status;
        failed |= wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    failed |= report(shm);
    pshm_destroy(shm);
    return failed;
}
