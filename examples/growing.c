/* growing.c: a table that grows while other processes read it.  A writer
 * appends records to a named segment and doubles the segment with
 * pshm_resize when it is full; three readers, attached by name, follow with
 * pshm_remap when the table's generation says it grew, and check every
 * record they see.
 *
 *   ./growing
 *
 * Only offsets are kept: after pshm_resize or pshm_remap, pshm_addr may
 * have moved. */
#include <pshm.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "growing-demo"
#define RECORDS 200000
#define READERS 3

struct table {
    _Atomic uint64_t generation; /* how many times it grew */
    _Atomic uint64_t count;      /* records written */
    uint64_t records[];
};

static size_t room(size_t size)
{
    return (size - sizeof(struct table)) / sizeof(uint64_t);
}

/* A reader: 0 if every record it saw was right and it saw them all. */
static int reader(void)
{
    pshm_t *shm;
    if (pshm_attach(&shm, NAME, NULL) < 0)
        return 1;
    struct table *t = pshm_addr(shm);
    uint64_t mine = 0, seen = 0;
    while (seen < RECORDS) {
        uint64_t count = atomic_load(&t->count);
        /* The table grew before the records past its old end were counted;
         * a remap after reading the generation maps at least that size. */
        uint64_t now = atomic_load(&t->generation);
        if (now != mine) {
            if (pshm_remap(shm) < 0)
                return 1;
            t = pshm_addr(shm);
            mine = now;
        }
        for (; seen < count; seen++)
            if (t->records[seen] != seen * seen)
                return 1;
    }
    return pshm_detach(shm) < 0;
}

static int writer(pshm_t *shm)
{
    struct table *t = pshm_addr(shm);
    for (uint64_t i = 0; i < RECORDS; i++) {
        if (i == room(pshm_size(shm))) {
            int rc = pshm_resize(shm, 2 * pshm_size(shm), 0);
            if (rc < 0) {
                fprintf(stderr, "pshm_resize: %s\n", pshm_strerror(rc));
                return 1;
            }
            t = pshm_addr(shm);
            atomic_fetch_add(&t->generation, 1);
        }
        t->records[i] = i * i;
        atomic_store(&t->count, i + 1);
    }
    printf("wrote %d records; the table grew %llu times, to %zu bytes\n", RECORDS,
           (unsigned long long)atomic_load(&t->generation), pshm_size(shm));
    return 0;
}

int main(void)
{
    pshm_t *shm;
    pshm_remove(NAME, NULL); /* a run killed before its end left it */
    int rc = pshm_create(&shm, NAME, sizeof(struct table) + 64 * sizeof(uint64_t), NULL);
    if (rc < 0) {
        fprintf(stderr, "pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    pid_t readers[READERS];
    for (int r = 0; r < READERS; r++)
        if ((readers[r] = fork()) == 0)
            _exit(reader());
    int failed = writer(shm);
    for (int r = 0; r < READERS; r++) {
        int status = 1;
        waitpid(readers[r], &status, 0);
        failed |= status != 0;
    }
    printf("%d readers followed it by pshm_remap: %s\n", READERS,
           failed ? "FAILED" : "every record right");
    return pshm_destroy(shm) < 0 || failed;
}
