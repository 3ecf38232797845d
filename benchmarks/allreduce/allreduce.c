/* The baseline of `ilgpuvit bench allreduce` (docs/distributed.md): the same measurement in plain C on
 * MPI_Allreduce, so the C# binding's overhead shows. For each size: 3 untimed runs, then RUNS timed ones
 * (in place, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), each after a barrier; the slowest rank's time of each
 * run, median over the runs; algorithm bandwidth 4N bytes / time, bus bandwidth times 2 (n - 1) / n.
 * Usage: mpirun -np 2 ./allreduce [RUNS] [N1 N2 ...] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int runs = argc > 1 ? atoi(argv[1]) : 20;
    long defaults[] = {1L << 10, 1L << 12, 1L << 14, 1L << 16, 1L << 18, 1L << 20, 1L << 22, 1L << 24};
    int count = argc > 2 ? argc - 2 : 8;
    if (rank == 0) printf("%12s %12s %10s %11s %11s\n", "floats", "bytes", "us", "algbw GB/s", "busbw GB/s");
    for (int s = 0; s < count; s++) {
        long n = argc > 2 ? atol(argv[2 + s]) : defaults[s];
        float *data = calloc(n, sizeof(float));
        double *times = malloc(runs * sizeof(double));
        for (int k = -3; k < runs; k++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            if (k >= 0) times[k] = MPI_Wtime() - start;
        }
        MPI_Allreduce(MPI_IN_PLACE, times, runs, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        qsort(times, runs, sizeof(double), compare);
        double t = times[runs / 2], algbw = 4.0 * n / t / 1e9;
        if (rank == 0) printf("%12ld %12ld %10.1f %11.3f %11.3f\n", n, n * 4, t * 1e6, algbw, algbw * 2 * (size - 1) / size);
        free(data);
        free(times);
    }
    MPI_Finalize();
    return 0;
}
