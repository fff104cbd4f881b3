/* handover.c: hand a segment that has no name to another program, over a
 * Unix socket.  The segment is anonymous (a memfd on Linux and FreeBSD), so
 * nothing on the system can find it: only the process that receives its
 * descriptor can.
 *
 *   ./handover            makes the segment and fills it with numbers,
 *                         starts "./handover worker" (fork and exec: a
 *                         program of its own), sends it the segment; the
 *                         worker adds the numbers up and writes the sum
 *                         into the segment
 *
 * A receiver that does not trust its sender attaches with PSHM_SEALED: it
 * then takes only a segment sealed against shrinking, so that the sender
 * cannot make it die of SIGBUS.  pshm_send seals anonymous segments where
 * the system has seals. */
#include <pshm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT 1000000

struct work {
    uint64_t sum;              /* the worker's answer */
    uint32_t numbers[COUNT];
};

static int worker(int sock)
{
    pshm_t *shm;
    int rc = pshm_recv(sock, &shm, NULL);   /* its parent: trusted */
    if (rc < 0) {
        fprintf(stderr, "worker: pshm_recv: %s\n", pshm_strerror(rc));
        return 1;
    }
    struct work *w = pshm_addr(shm);
    uint64_t sum = 0;
    for (size_t i = 0; i < COUNT; i++)
        sum += w->numbers[i];
    w->sum = sum;
    return pshm_detach(shm) < 0;
}

/* Start "argv0 worker FD", FD the socket's other end, inherited. */
static pid_t start_worker(const char *argv0, int fd)
{
    char number[16];
    snprintf(number, sizeof(number), "%d", fd);
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv0, argv0, "worker", number, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int parent(const char *argv0)
{
    pshm_attr_t attr;
    pshm_attr_init(&attr);
    pshm_attr_set_backend(&attr, PSHM_BACKEND_POSIX); /* it has descriptors */
    pshm_t *shm;
    int rc = pshm_create(&shm, NULL, sizeof(struct work), &attr);
    if (rc < 0) {
        fprintf(stderr, "pshm_create: %s\n", pshm_strerror(rc));
        return 1;
    }
    struct work *w = pshm_addr(shm);
    for (size_t i = 0; i < COUNT; i++)
        w->numbers[i] = (uint32_t)i;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 1;
    pid_t pid = start_worker(argv0, sv[1]);
    close(sv[1]);
    rc = pid < 0 ? -1 : pshm_send(sv[0], shm, 0);
    close(sv[0]);
    int status = 1;
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (rc < 0 || status != 0) {
        fprintf(stderr, "handover failed: %s\n", rc < 0 ? pshm_strerror(rc) : "worker failed");
        pshm_detach(shm);
        return 1;
    }
    uint64_t want = (uint64_t)COUNT * (COUNT - 1) / 2;
    int right = w->sum == want;
    printf("the worker added up %d numbers it found no name for: %llu (%s)\n", COUNT,
           (unsigned long long)w->sum, right ? "right" : "WRONG");
    return pshm_detach(shm) < 0 || !right;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "worker") == 0)
        return worker(atoi(argv[2]));
    return parent(argv[0]);
}
