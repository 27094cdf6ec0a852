/* gemm_bench.c: GFLOP/s of every GEMM kernel this CPU runs on the shapes
 * the reference model issues (per-sample im2col convolutions, dense layers
 * on a thread's share of a batch), as a fraction of the one-core FMA peak
 * measured in the same run. Single-threaded, like the kernels. */
#include "gemm.h"
#include "kernels.h"
#include "fma_peak.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *what;
    int ta, tb, M, N, K;
    int planes, side; /* > 0: B's rows are 3x3 windows of a planes x side x side
                       * image, read in place (mn_gemm_rows, implicit im2col) */
} shape;

static const shape SHAPES[] = {
    {"conv1 fwd        W*col", 0, 0, 32, 676, 9, 0, 0},
    {"conv1 dW      dout*col'", 0, 1, 32, 9, 676, 0, 0},
    {"conv2 fwd        W*col", 0, 0, 64, 121, 288, 0, 0},
    {"conv2 fwd x8 batched", 0, 0, 64, 968, 288, 0, 0},
    {"conv1 fwd implicit (wide)", 0, 0, 32, 726, 9, 1, 28},
    {"conv2 fwd implicit (wide)", 0, 0, 64, 141, 288, 32, 13},
    {"conv2 dW implicit (wide)", 0, 1, 64, 288, 141, 32, 13},
    {"conv2 dcol wide  W'*dout", 1, 0, 288, 141, 64, 0, 0},
    {"conv1 dW implicit (wide)", 0, 1, 32, 9, 726, 1, 28},
    {"conv2 dW      dout*col'", 0, 1, 64, 288, 121, 0, 0},
    {"conv2 dcol      W'*dout", 1, 0, 288, 121, 64, 0, 0},
    {"dense1 fwd b1    in*W'", 0, 1, 1, 128, 1600, 0, 0},
    {"dense1 fwd b64   in*W'", 0, 1, 64, 128, 1600, 0, 0},
    {"dense1 din b64  dout*W", 0, 0, 64, 1600, 128, 0, 0},
    {"dense1 dW b64  dout'*in", 1, 0, 128, 1600, 64, 0, 0},
    {"dense2 fwd b64   in*W'", 0, 1, 64, 10, 128, 0, 0},
};

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

static void call(int kernel, const shape *s, const float *A, const float *B, const long *brow,
                 float *C)
{
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    if (brow)
        mn_gemm_rows_with((mn_isa)kernel, s->ta, s->tb, s->M, s->N, s->K, A, lda, B,
                          brow, 0.0f, C, s->N);
    else
        mn_gemm_with((mn_isa)kernel, s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb,
                     0.0f, C, s->N);
}

/* Seconds per call, best of 5 batches of calls lasting ~20 ms each. */
static double time_gemm(int kernel, const shape *s, const float *A, const float *B,
                        const long *brow, float *C)
{
    long reps = 1;
    double best = 1e30;
    for (;;) {
        double t0 = bench_now();
        for (long r = 0; r < reps; r++)
            call(kernel, s, A, B, brow, C);
        double t = bench_now() - t0;
        if (t > 0.02) {
            best = t / (double)reps;
            break;
        }
        reps *= 2;
    }
    for (int b = 0; b < 4; b++) {
        double t0 = bench_now();
        for (long r = 0; r < reps; r++)
            call(kernel, s, A, B, brow, C);
        double t = (bench_now() - t0) / (double)reps;
        if (t < best)
            best = t;
    }
    return best;
}

int main(void)
{
    const char *isa;
    double peak = bench_fma_peak(1, 0.3, &isa);
    printf("FMA peak, 1 core (%s): %.1f GFLOP/s; mn_gemm uses %s\n", isa, peak,
           mn_isa_name(mn_kernels_active()->isa));
    printf("%-26s %5s %5s %5s", "shape (ta tb: M N K)", "M", "N", "K");
    for (int k = 0; k < MN_ISA_COUNT; k++)
        if (mn_isa_supported((mn_isa)k))
            printf(" %9s %5s", mn_isa_name((mn_isa)k), "%peak");
    printf("   (GFLOP/s)\n");
    unsigned seed = 1;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        const shape *s = &SHAPES[i];
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        long brow[4096];
        if (s->planes) {
            nb = (size_t)s->planes * s->side * s->side;
            for (int r = 0; r < s->planes * 9; r++)
                brow[r] = (long)(r / 9) * s->side * s->side + (r % 9) / 3 * s->side + r % 3;
        }
        float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
        if (!A || !B || !C)
            return 1;
        for (size_t j = 0; j < na; j++)
            A[j] = frand(&seed);
        for (size_t j = 0; j < nb; j++)
            B[j] = frand(&seed);
        printf("%-23s %d%d %5d %5d %5d", s->what, s->ta, s->tb, s->M, s->N, s->K);
        for (int k = 0; k < MN_ISA_COUNT; k++) {
            if (!mn_isa_supported((mn_isa)k))
                continue;
            double t = time_gemm(k, s, A, B, s->planes ? brow : NULL, C);
            double gf = 2.0 * s->M * s->N * s->K / t * 1e-9;
            printf(" %9.1f %4.0f%%", gf, 100.0 * gf / peak);
        }
        printf("\n");
        free(A);
        free(B);
        free(C);
    }
    return 0;
}
