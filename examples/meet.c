/* meet.c: two unrelated programs meet through a named segment.
 *
 *   ./meet host &     creates "meet-demo", waits for a guest's reply
 *   ./meet guest      attaches it by name (waiting up to 10 s for the host
 *                     to make it), reads the greeting, replies
 *
 * The host waits on a condition variable in the segment, so it sleeps
 * until the guest has written, and removes the segment when done.  It says
 * "ready" once its lock and condition are made: a guest that attached
 * before then waits for that. */
#include <errno.h>
#include <pshm.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct meeting {
    pshm_mutex_t lock;
    pshm_cond_t replied;
    atomic_int ready;
    int has_reply;
    char greeting[64];
    char reply[64];
};

static int host(void)
{
    pshm_t *shm;
    int rc = pshm_create(&shm, "meet-demo", sizeof(struct meeting), NULL);
    if (rc < 0) {
        fprintf(stderr, "host: pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    struct meeting *m = pshm_addr(shm);
    pshm_mutex_init(&m->lock);
    pshm_cond_init(&m->replied);
    pshm_mutex_lock(&m->lock);
    atomic_store(&m->ready, 1); /* after the lock and condition are made */
    snprintf(m->greeting, sizeof(m->greeting), "hello from the host");
    rc = 0;
    while (!m->has_reply && rc == 0)      /* wait up to a minute for a guest */
        rc = pshm_cond_timedwait(&m->replied, &m->lock, 60000);
    if (m->has_reply)
        printf("host: the guest said \"%s\"\n", m->reply);
    else
        printf("host: no guest came (%s)\n", pshm_strerror(rc));
    pshm_mutex_unlock(&m->lock);
    return pshm_destroy(shm) < 0 || rc != 0;
}

/* Sleep a tenth of a second; 0 once ten seconds have been slept so. */
static int nap(int *naps)
{
    struct timespec tenth = {0, 100000000L};
    nanosleep(&tenth, NULL);
    return ++*naps < 100;
}

static int guest(void)
{
    pshm_t *shm;
    int rc, naps = 0;
    while ((rc = pshm_attach(&shm, "meet-demo", NULL)) == -ENOENT && nap(&naps))
        ;                                 /* the host has not made it yet */
    if (rc < 0) {
        fprintf(stderr, "guest: pshm_attach: %s (is the host running?)\n", pshm_strerror(rc));
        return 1;
    }
    struct meeting *m = pshm_addr(shm);
    while (!atomic_load(&m->ready) && nap(&naps))
        ;                                 /* its lock is being made */
    if (!atomic_load(&m->ready)) {
        fprintf(stderr, "guest: the host never finished\n");
        pshm_detach(shm);
        return 1;
    }
    pshm_mutex_lock(&m->lock);
    printf("guest: the host said \"%s\"\n", m->greeting);
    snprintf(m->reply, sizeof(m->reply), "hello back from the guest");
    m->has_reply = 1;
    pshm_cond_signal(&m->replied);
    pshm_mutex_unlock(&m->lock);
    return pshm_detach(shm) < 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "host") == 0)
        return host();
    if (argc == 2 && strcmp(argv[1], "guest") == 0)
        return guest();
    fprintf(stderr, "usage: %s host|guest\n", argv[0]);
    return 2;
}
