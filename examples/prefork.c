/* prefork.c: a prefork server's workers share a table of statistics.
 *
 * The parent creates an anonymous segment holding one row per worker and
 * a total, forks the workers, and reports while they "serve requests".
 * Each worker updates its own row without locking (nobody else writes it)
 * and the totals under the segment's header lock.  A worker that dies
 * holding the lock does not wedge the others: the next locker is told
 * (PSHM_EOWNERDEAD) and repairs the totals from the rows. */
#include <pshm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4
#define REQUESTS 20000

struct stats {
    struct { long requests; long bytes; } worker[WORKERS];
    long total_requests;
    long total_bytes;
};

/* The totals are the sum of the rows: what repairing means here. */
static void repair(struct stats *s)
{
    s->total_requests = s->total_bytes = 0;
    for (int i = 0; i < WORKERS; i++) {
        s->total_requests += s->worker[i].requests;
        s->total_bytes += s->worker[i].bytes;
    }
}

static int lock_stats(pshm_t *shm)
{
    int rc = pshm_lock(shm);
    if (rc == PSHM_EOWNERDEAD) {            /* a worker died holding it */
        repair(pshm_addr(shm));
        rc = pshm_consistent(shm);
    }
    return rc;
}

static void serve(pshm_t *shm, int id)
{
    struct stats *s = pshm_addr(shm);
    unsigned seed = (unsigned)getpid();
    for (int n = 0; n < REQUESTS; n++) {
        long bytes = 100 + rand_r(&seed) % 900; /* "handle a request" */
        s->worker[id].requests++;
        s->worker[id].bytes += bytes;
        if (lock_stats(shm) != 0)
            _exit(1);
        s->total_requests++;
        s->total_bytes += bytes;
        pshm_unlock(shm);
    }
    _exit(0);
}

int main(void)
{
    pshm_t *shm;
    int rc = pshm_create(&shm, NULL, sizeof(struct stats), NULL);
    if (rc < 0) {
        fprintf(stderr, "pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    for (int id = 0; id < WORKERS; id++)
        if (fork() == 0)
            serve(shm, id);

    int failed = 0, status;
    while (wait(&status) > 0)
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;

    struct stats *s = pshm_addr(shm);
    if (lock_stats(shm) != 0)
        return 1;
    for (int i = 0; i < WORKERS; i++)
        printf("worker %d: %ld requests, %ld bytes\n", i, s->worker[i].requests,
               s->worker[i].bytes);
    printf("total:    %ld requests, %ld bytes\n", s->total_requests, s->total_bytes);
    pshm_unlock(shm);
    return pshm_destroy(shm) < 0 || failed != 0;
}
