/* mpi.c: libpshm inside an MPI job.  The ranks on one node share a libpshm
 * segment (node rank 0 creates it under a unique name, the others attach
 * it by that name); each rank fills its slice of a node-wide table and
 * says so through a semaphore in the segment, node rank 0 sums the table,
 * and the node leaders combine their sums with MPI_Reduce.  While the
 * ranks still have it attached, a process outside the job (the pshm
 * command, as any tool could) looks at the live segment by its name.  The
 * same sum is then done with MPI_Win_allocate_shared, MPI's own node-shared
 * memory, and both answers and times are printed.
 *
 *   mpirun -np 4 ./examples/mpi [PSHM]   (PSHM: the pshm command, by default
 *                                         "pshm" from the PATH; Open MPI:
 *                                         --oversubscribe on fewer cores; as
 *                                         root, --allow-run-as-root)
 *
 * Memory is ordered by each kind's own synchronization: MPI's barrier says
 * nothing of a segment MPI did not allocate, so the libpshm table is
 * published by a pshm_sem_t in it; the MPI window's by MPI_Win_sync around
 * a barrier, as MPI's shared memory model asks.
 *
 * Which to use: MPI_Win_allocate_shared when every process is an MPI rank
 * of one job; libpshm when processes outside the job share the memory too
 * (a visualizer, a Python tool, the next job), when it must outlive the
 * job, or when the program does not otherwise need MPI on the node. */
#include <mpi.h>
#include <pshm.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define PER_RANK (1 << 20) /* table entries each rank fills */
#define TABLE_AT 64        /* the table's offset in the segment, after the semaphore */

extern char **environ;

/* How the ranks of a node publish their slices: this rank's is written;
 * (node rank 0) wait until every rank's is, its bytes visible here. */
struct publishing {
    void (*written)(void *ctx);
    void (*wait_all)(void *ctx, int ranks);
    void *ctx;
};

/* Fill this rank's slice of table, publish it, then (node rank 0) sum the
 * node's table: the node's sum (0 on the other ranks). */
static double fill_and_sum(double *table, MPI_Comm node, const struct publishing *p)
{
    int rank, size;
    MPI_Comm_rank(node, &rank);
    MPI_Comm_size(node, &size);
    for (long i = 0; i < PER_RANK; i++) {
        long global = (long)rank * PER_RANK + i;
        table[global] = (double)global * 0.5;
    }
    p->written(p->ctx);
    double sum = 0;
    if (rank == 0) {
        p->wait_all(p->ctx, size);
        for (long i = 0; i < (long)size * PER_RANK; i++)
            sum += table[i];
    }
    return sum;
}

/* libpshm's way: a semaphore in the segment, posted by each rank once its
 * slice is written (a post orders the writes before it). */
static void post_written(void *sem)
{
    pshm_sem_post(sem);
}

static void wait_for_every_post(void *sem, int ranks)
{
    for (int i = 0; i < ranks; i++)
        pshm_sem_wait(sem);
}

/* MPI's way for a shared window: MPI_Win_sync on both sides of a barrier
 * of the node's ranks. */
struct window {
    MPI_Win win;
    MPI_Comm node;
};

static void sync_written(void *arg)
{
    const struct window *w = arg;
    MPI_Win_sync(w->win);
    MPI_Barrier(w->node);
}

static void sync_every_slice(void *arg, int ranks)
{
    (void)ranks;
    MPI_Win_sync(((const struct window *)arg)->win);
}

/* The job's total, on world rank 0, from each node's sum: the node
 * leaders (node rank 0, world rank 0 among them) reduce among themselves. */
static double combine(double node_sum, MPI_Comm leaders)
{
    double total = 0;
    if (leaders != MPI_COMM_NULL)
        MPI_Reduce(&node_sum, &total, 1, MPI_DOUBLE, MPI_SUM, 0, leaders);
    return total;
}

/* The node's segment, its semaphore made, attached by every rank of the
 * node under the name node rank 0 gave it; NULL if it cannot be had. */
static pshm_t *node_segment(MPI_Comm node, size_t bytes)
{
    int rank, rc = 0;
    char name[PSHM_NAME_MAX + 1] = "";
    pshm_t *shm = NULL;
    MPI_Comm_rank(node, &rank);
    if (rank == 0) {
        rc = pshm_create_unique(&shm, "mpi", bytes, NULL);
        if (rc == 0)
            rc = pshm_sem_init(pshm_addr(shm), 0);
        if (rc == 0)
            strcpy(name, pshm_name(shm));
    }
    MPI_Bcast(name, sizeof(name), MPI_CHAR, 0, node); /* "" if it failed */
    if (rank != 0 && name[0] != '\0')
        rc = pshm_attach(&shm, name, NULL);
    if (rc < 0)
        fprintf(stderr, "node rank %d: %s\n", rank, pshm_strerror(rc));
    return name[0] == '\0' ? NULL : shm;
}

/* A process outside the job looks at the live segment by name, as any
 * tool may: "PSHM info NAME".  0 if it did, or if the default command is
 * not installed (said); 1 if it failed. */
static int look_from_outside(const char *command, int given, const char *name)
{
    char *argv[] = {(char *)command, "info", (char *)name, NULL};
    pid_t pid;
    int status = 0, rc = posix_spawnp(&pid, command, NULL, NULL, argv, environ);
    if (rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
        return 0;
    if (rc != 0 && !given) {
        printf("(no %s command to look at %s from outside: %s)\n", command, name, strerror(rc));
        return 0;
    }
    fprintf(stderr, "%s info %s failed\n", command, name);
    return 1;
}

/* The sum through a libpshm segment, looked at from outside while every
 * rank has it attached; then removed.  *failed: the outside look failed. */
static double sum_with_pshm(MPI_Comm node, MPI_Comm leaders, size_t bytes, const char *command,
                            int given, int *failed)
{
    int node_rank;
    MPI_Comm_rank(node, &node_rank);
    pshm_t *shm = node_segment(node, bytes);
    int ok = shm != NULL, all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok)
        MPI_Abort(MPI_COMM_WORLD, 1);
    struct publishing p = {post_written, wait_for_every_post, pshm_addr(shm)};
    double *table = (double *)((char *)pshm_addr(shm) + TABLE_AT);
    double total = combine(fill_and_sum(table, node, &p), leaders);
    if (node_rank == 0)
        *failed = look_from_outside(command, given, pshm_name(shm));
    MPI_Barrier(node); /* every rank attached until the outside look is done */
    if (node_rank == 0)
        pshm_destroy(shm);
    else
        pshm_detach(shm);
    return total;
}

static double sum_with_mpi(MPI_Comm node, MPI_Comm leaders, size_t bytes)
{
    int node_rank;
    MPI_Comm_rank(node, &node_rank);
    double *base;
    struct window w = {MPI_WIN_NULL, node};
    MPI_Win_allocate_shared(node_rank == 0 ? (MPI_Aint)bytes : 0, sizeof(double), MPI_INFO_NULL,
                            node, &base, &w.win);
    MPI_Aint got;
    int unit;
    MPI_Win_shared_query(w.win, 0, &got, &unit, &base); /* node rank 0's: the table */
    MPI_Win_lock_all(MPI_MODE_NOCHECK, w.win);          /* MPI_Win_sync needs an epoch */
    struct publishing p = {sync_written, sync_every_slice, &w};
    double total = combine(fill_and_sum(base, node, &p), leaders);
    MPI_Win_unlock_all(w.win);
    MPI_Win_free(&w.win);
    return total;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm node, leaders; /* the ranks of this node; one rank per node */
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    int rank, node_rank, node_size, failed = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_rank(node, &node_rank);
    MPI_Comm_size(node, &node_size);
    MPI_Comm_split(MPI_COMM_WORLD, node_rank == 0 ? 0 : MPI_UNDEFINED, rank, &leaders);
    size_t bytes = TABLE_AT + (size_t)node_size * PER_RANK * sizeof(double);

    double t0 = MPI_Wtime();
    double with_pshm = sum_with_pshm(node, leaders, bytes, argc > 1 ? argv[1] : "pshm", argc > 1,
                                     &failed);
    double t1 = MPI_Wtime();
    double with_mpi = sum_with_mpi(node, leaders, bytes);
    double t2 = MPI_Wtime();

    int status = failed;
    MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
        int ranks;
        MPI_Comm_size(MPI_COMM_WORLD, &ranks);
        double n = (double)ranks * PER_RANK, want = 0.5 * n * (n - 1) / 2;
        printf("%d ranks, %d on this node: libpshm segment sum %.1f in %.1f ms; "
               "MPI_Win_allocate_shared sum %.1f in %.1f ms; expected %.1f\n",
               ranks, node_size, with_pshm, (t1 - t0) * 1e3, with_mpi, (t2 - t1) * 1e3, want);
        status |= with_pshm != want || with_mpi != want;
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (leaders != MPI_COMM_NULL)
        MPI_Comm_free(&leaders);
    MPI_Comm_free(&node);
    MPI_Finalize();
    return status;
}
