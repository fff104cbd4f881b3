/* mpi.c: libpshm inside an MPI job.  The ranks on one node share a libpshm
 * segment (node rank 0 creates it under a unique name, the others attach
 * after a barrier); each rank fills its slice of a node-wide table, node
 * rank 0 sums the table, and the node leaders combine their sums with
 * MPI_Reduce.  The same is then done with MPI_Win_allocate_shared, MPI's own
 * node-shared memory, and both answers and times are printed.
 *
 *   mpirun -np 4 ./examples/mpi          (Open MPI: --oversubscribe on
 *                                         fewer cores; as root,
 *                                         --allow-run-as-root)
 *
 * Which to use: MPI_Win_allocate_shared when every process is an MPI rank
 * of one job; libpshm when processes outside the job share the memory too
 * (a visualizer, a Python tool, the next job), when it must outlive the
 * job, or when the program does not otherwise need MPI on the node. */
#include <mpi.h>
#include <pshm.h>
#include <stdio.h>
#include <string.h>

#define PER_RANK (1 << 20) /* table entries each rank fills */

/* Fill this rank's slice of table, then (node rank 0) sum the node's
 * table after a barrier: the node's sum (0 on the other ranks). */
static double fill_and_sum(double *table, MPI_Comm node)
{
    int rank, size;
    MPI_Comm_rank(node, &rank);
    MPI_Comm_size(node, &size);
    for (long i = 0; i < PER_RANK; i++) {
        long global = (long)rank * PER_RANK + i;
        table[global] = (double)global * 0.5;
    }
    MPI_Barrier(node); /* every slice written (MPI's barrier orders memory) */
    double sum = 0;
    if (rank == 0)
        for (long i = 0; i < (long)size * PER_RANK; i++)
            sum += table[i];
    return sum;
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

/* The node's table in a libpshm segment; NULL if it cannot be had. */
static pshm_t *node_segment(MPI_Comm node, size_t bytes)
{
    int rank, rc = 0;
    char name[PSHM_NAME_MAX + 1] = "";
    pshm_t *shm = NULL;
    MPI_Comm_rank(node, &rank);
    if (rank == 0) {
        rc = pshm_create_unique(&shm, "mpi", bytes, NULL);
        if (rc == 0)
            strcpy(name, pshm_name(shm));
    }
    MPI_Bcast(name, sizeof(name), MPI_CHAR, 0, node); /* "" if it failed */
    if (rank != 0 && name[0] != '\0')
        rc = pshm_attach(&shm, name, NULL);
    if (rc < 0)
        fprintf(stderr, "node rank %d: %s\n", rank, pshm_strerror(rc));
    MPI_Barrier(node); /* everyone attached: the name can go */
    if (rank == 0 && shm != NULL)
        pshm_remove(name, NULL);
    return name[0] == '\0' ? NULL : shm;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    int rank, node_rank, node_size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_rank(node, &node_rank);
    MPI_Comm_size(node, &node_size);
    MPI_Comm leaders; /* one rank per node */
    MPI_Comm_split(MPI_COMM_WORLD, node_rank == 0 ? 0 : MPI_UNDEFINED, rank, &leaders);
    size_t bytes = (size_t)node_size * PER_RANK * sizeof(double);

    double t0 = MPI_Wtime();
    pshm_t *shm = node_segment(node, bytes);
    int ok = shm != NULL, all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok)
        MPI_Abort(MPI_COMM_WORLD, 1);
    double with_pshm = combine(fill_and_sum(pshm_addr(shm), node), leaders);
    double t1 = MPI_Wtime();
    pshm_detach(shm);

    double t2 = MPI_Wtime();
    double *base;
    MPI_Win win;
    MPI_Win_allocate_shared(node_rank == 0 ? (MPI_Aint)bytes : 0, sizeof(double), MPI_INFO_NULL,
                            node, &base, &win);
    MPI_Aint got;
    int unit;
    MPI_Win_shared_query(win, 0, &got, &unit, &base); /* node rank 0's: the table */
    double with_mpi = combine(fill_and_sum(base, node), leaders);
    double t3 = MPI_Wtime();
    MPI_Win_free(&win);

    int status = 0;
    if (rank == 0) {
        int ranks;
        MPI_Comm_size(MPI_COMM_WORLD, &ranks);
        double n = (double)ranks * PER_RANK, want = 0.5 * n * (n - 1) / 2;
        printf("%d ranks, %d on this node: libpshm segment sum %.1f in %.1f ms; "
               "MPI_Win_allocate_shared sum %.1f in %.1f ms; expected %.1f\n",
               ranks, node_size, with_pshm, (t1 - t0) * 1e3, with_mpi, (t3 - t2) * 1e3, want);
        status = with_pshm != want || with_mpi != want;
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (leaders != MPI_COMM_NULL)
        MPI_Comm_free(&leaders);
    MPI_Comm_free(&node);
    MPI_Finalize();
    return status;
}
