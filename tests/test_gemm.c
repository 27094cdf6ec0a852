/* test_gemm.c: every level's GEMM kernel this CPU runs (generic, AVX2, AVX-512, NEON)
 * and the dispatching mn_gemm, held to the naive mn_gemm_ref on the model's
 * shapes, edge sizes and random shapes, for every transpose combination,
 * beta 0 over NaN garbage and beta 1, padded strides and unaligned
 * pointers; also checks nothing outside C is written and repeated calls
 * are bit-identical. */
#include "gemm.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL 12345.5f

static uint32_t rng = 2463534242u;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static float next_float(void) /* in [-1, 1) */
{
    return (float)(next_u32() >> 8) / 8388608.0f - 1.0f;
}

/* mn_gemm on kernel k, or the dispatching mn_gemm when k < 0. */
static void gemm_k(int k, int ta, int tb, int M, int N, int K, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    if (k < 0)
        mn_gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    else
        mn_gemm_with((mn_isa)k, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

/* Runs one case on kernel k (-1: mn_gemm), CHECKing the result against
 * mn_gemm_ref, the memory around C, and a repeated call. */
static void run_case(int k, int ta, int tb, int M, int N, int K, float beta, int pad, int offset)
{
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int arows = ta ? K : M, brows = tb ? N : K;
    size_t na = (size_t)arows * (lda > 0 ? lda : 1) + offset + 1;
    size_t nb = (size_t)brows * (ldb > 0 ? ldb : 1) + offset + 1;
    /* One guard row below C, and the pad columns, must stay untouched. */
    size_t nc = (size_t)(M + 1) * ldc + offset + 1;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
    float *C = malloc(nc * sizeof *C), *R = malloc(nc * sizeof *R), *C2 = malloc(nc * sizeof *C2);
    if (!A || !B || !C || !R || !C2) {
        CHECK(0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < na; i++)
        A[i] = next_float();
    for (size_t i = 0; i < nb; i++)
        B[i] = next_float();
    for (size_t i = 0; i < nc; i++)
        C[i] = SENTINEL;
    float *a = A + offset, *b = B + offset, *c = C + offset, *r = R + offset;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            c[(size_t)i * ldc + j] = beta == 0.0f ? NAN : next_float();
    memcpy(R, C, nc * sizeof *R);
    memcpy(C2, C, nc * sizeof *C2);

    mn_gemm_ref(ta, tb, M, N, K, a, lda, b, ldb, beta, r, ldc);
    gemm_k(k, ta, tb, M, N, K, a, lda, b, ldb, beta, c, ldc);

    /* The float error of a K-term dot product is at most about K units of
     * rounding times the sum of |terms| (Higham, Accuracy and Stability of
     * Numerical Algorithms, 3.1); any wrong or missing term exceeds it. */
    int bad = 0;
    double worst = 0.0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = beta != 0.0f ? fabs((double)C2[offset + (size_t)i * ldc + j]) : 0.0;
            for (int p = 0; p < K; p++) {
                float av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += fabs((double)av * bv);
            }
            double tol = (K + 2) * 1.2e-7 * s + 1e-30;
            double got = c[(size_t)i * ldc + j], want = r[(size_t)i * ldc + j];
            double err = fabs(got - want);
            if (!(err <= tol)) { /* also catches NaN */
                bad++;
                if (!(err <= worst))
                    worst = err;
            }
        }
    }
    int outside = 0;
    for (size_t i = 0; i < nc; i++) {
        size_t e = i - (size_t)offset;
        int inside = ldc > 0 && i >= (size_t)offset && (int)(e / ldc) < M && (int)(e % ldc) < N;
        if (!inside && memcmp(&C[i], &R[i], sizeof(float)) != 0)
            outside++;
    }
    const char *name = k < 0 ? "mn_gemm" : mn_isa_name((mn_isa)k);
    CHECK(bad == 0, "%s ta=%d tb=%d M=%d N=%d K=%d beta=%g pad=%d off=%d: %d elements off, worst %g",
          name, ta, tb, M, N, K, beta, pad, offset, bad, worst);
    CHECK(outside == 0, "%s ta=%d tb=%d M=%d N=%d K=%d: %d floats written outside C", name, ta,
          tb, M, N, K, outside);

    /* Same inputs, same bits: no data-dependent or address-dependent path. */
    float *c2 = C2 + offset;
    gemm_k(k, ta, tb, M, N, K, a, lda, b, ldb, beta, c2, ldc);
    CHECK(memcmp(C, C2, nc * sizeof *C) == 0, "%s ta=%d tb=%d M=%d N=%d K=%d: not reproducible",
          name, ta, tb, M, N, K);
done:
    free(A);
    free(B);
    free(C);
    free(R);
    free(C2);
}

/* Row i of C must not depend on M: computing rows [r0, r0+m) alone gives
 * the same bits as computing all M rows (batched and one-sample inference
 * agree exactly). */
static void run_rows(int k, int ta, int tb, int M, int N, int K)
{
    int lda = ta ? M : K, ldb = tb ? K : N;
    float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)K * N * sizeof *B);
    float *C = malloc((size_t)M * N * sizeof *C), *D = malloc((size_t)M * N * sizeof *D);
    if (!A || !B || !C || !D) {
        CHECK(0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = next_float();
    for (size_t i = 0; i < (size_t)K * N; i++)
        B[i] = next_float();
    gemm_k(k, ta, tb, M, N, K, A, lda, B, ldb, 0.0f, C, N);
    for (int r0 = 0; r0 < M;) {
        int m = 1 + (int)(next_u32() % 11);
        if (m > M - r0)
            m = M - r0;
        const float *a = ta ? A + r0 : A + (size_t)r0 * lda;
        gemm_k(k, ta, tb, m, N, K, a, lda, B, ldb, 0.0f, D + (size_t)r0 * N, N);
        r0 += m;
    }
    int differ = memcmp(C, D, (size_t)M * N * sizeof *C) != 0;
    CHECK(!differ, "%s ta=%d tb=%d M=%d N=%d K=%d: rows depend on how M is split",
          k < 0 ? "mn_gemm" : mn_isa_name((mn_isa)k), ta, tb, M, N, K);
done:
    free(A);
    free(B);
    free(C);
    free(D);
}

/* mn_gemm_rows: B's rows at offsets into one buffer (overlapping windows,
 * as a stride-1 convolution reads its input) must give what mn_gemm_ref
 * gives on the same rows copied out. planes x (side x side) input, 3x3
 * windows; rows = planes*9 windows of n = (side-3)*side + side-2 floats. */
static void run_rows_offsets(int k, int ta, int tb, int M, int planes, int side, float beta)
{
    const int R = planes * 9, n = (side - 3) * side + side - 2;
    const size_t in_n = (size_t)planes * side * side;
    /* !tb: B'[K=R, N=n]; tb: B'^T, i.e. B[N=R rows, K=n]. */
    const int K = tb ? n : R, N = tb ? R : n, lda = ta ? M : K;
    float *img = malloc(in_n * sizeof *img), *Bm = malloc((size_t)R * n * sizeof *Bm);
    float *A = malloc((size_t)M * K * sizeof *A), *C = malloc((size_t)M * N * sizeof *C);
    float *Rf = malloc((size_t)M * N * sizeof *Rf);
    long *brow = malloc((size_t)R * sizeof *brow);
    if (!img || !Bm || !A || !C || !Rf || !brow) {
        CHECK(0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < in_n; i++)
        img[i] = next_float();
    for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = next_float();
    for (int r = 0; r < R; r++) {
        brow[r] = (long)(r / 9) * side * side + (r % 9) / 3 * side + r % 3;
        memcpy(Bm + (size_t)r * n, img + brow[r], (size_t)n * sizeof *Bm);
    }
    for (size_t i = 0; i < (size_t)M * N; i++)
        C[i] = Rf[i] = beta == 0.0f ? NAN : next_float();
    for (size_t i = 0; i < (size_t)M * N; i++)
        if (beta != 0.0f)
            Rf[i] = C[i];
    mn_gemm_ref(ta, tb, M, N, K, A, lda, Bm, n, beta, Rf, N);
    if (k < 0)
        mn_gemm_rows(ta, tb, M, N, K, A, lda, img, brow, beta, C, N);
    else
        mn_gemm_rows_with((mn_isa)k, ta, tb, M, N, K, A, lda, img, brow, beta, C, N);
    int bad = 0;
    for (size_t i = 0; i < (size_t)M * N; i++)
        if (!(fabs((double)C[i] - Rf[i]) <= (K + 2) * 1.2e-7 * (K + fabs((double)Rf[i]))))
            bad++;
    CHECK(bad == 0, "%s rows ta=%d tb=%d M=%d planes=%d side=%d beta=%g: %d elements off",
          k < 0 ? "mn_gemm_rows" : mn_isa_name((mn_isa)k), ta, tb, M, planes,
          side, beta, bad);
done:
    free(img);
    free(Bm);
    free(A);
    free(C);
    free(Rf);
    free(brow);
}

/* The shapes the reference model issues (per-sample im2col convolutions
 * and dense layers), with the transposes they use. */
static const int MODEL[][5] = {
    {0, 0, 32, 676, 9},   /* conv1 forward: W x col */
    {0, 1, 32, 9, 676},   /* conv1 dW: dout x col^T */
    {0, 0, 64, 121, 288}, /* conv2 forward */
    {0, 1, 64, 288, 121}, /* conv2 dW */
    {1, 0, 288, 121, 64}, /* conv2 dcol: W^T x dout */
    {0, 1, 1, 128, 1600}, /* dense1 forward, one image */
    {0, 1, 64, 128, 1600}, /* dense1 forward, a thread's half batch */
    {0, 0, 64, 1600, 128}, /* dense1 din */
    {1, 0, 128, 1600, 64}, /* dense1 dW: dout^T x in */
    {0, 1, 64, 10, 128},  /* dense2 forward */
    {0, 0, 64, 128, 10},  /* dense2 din */
    {1, 0, 10, 128, 64},  /* dense2 dW */
    {0, 0, 64, 968, 288}, /* conv2 forward over 8 images at once */
};

static const int EDGE[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 48, 49, 97};
#define NEDGE ((int)(sizeof EDGE / sizeof EDGE[0]))

static void run_kernel(int k)
{
    for (size_t s = 0; s < sizeof MODEL / sizeof MODEL[0]; s++)
        for (int bz = 0; bz < 2; bz++)
            run_case(k, MODEL[s][0], MODEL[s][1], MODEL[s][2], MODEL[s][3], MODEL[s][4],
                     (float)bz, 0, 0);
    /* Every transpose combination over edge sizes around the vector widths
     * (8, 16) and register tiles (6, 8, 16, 48), with padded strides and
     * unaligned pointers. */
    for (int t = 0; t < 4; t++) {
        for (int e = 0; e < NEDGE; e++) {
            int M = EDGE[e], N = EDGE[(e * 7 + 3) % NEDGE], K = EDGE[(e * 5 + 1) % NEDGE];
            run_case(k, t >> 1, t & 1, M, N, K, 0.0f, 0, 0);
            run_case(k, t >> 1, t & 1, N, K, M, 1.0f, 3, 1);
            run_case(k, t >> 1, t & 1, K, M, N, 0.0f, 1, 3);
        }
        /* Random shapes, including K long enough to be split into blocks. */
        for (int r = 0; r < 12; r++) {
            int M = 1 + (int)(next_u32() % 150), N = 1 + (int)(next_u32() % 300);
            int K = 1 + (int)(next_u32() % (r < 4 ? 1100 : 200));
            run_case(k, t >> 1, t & 1, M, N, K, (float)(r & 1), (int)(next_u32() % 5),
                     (int)(next_u32() % 4));
        }
        run_rows(k, t >> 1, t & 1, 64, 128, 1600);
        run_rows(k, t >> 1, t & 1, 37, 121, 288);
        run_rows(k, t >> 1, t & 1, 29, 10, 128);
        run_rows_offsets(k, t >> 1, t & 1, 64, 32, 13, 0.0f); /* conv2, implicit im2col */
        run_rows_offsets(k, t >> 1, t & 1, 32, 1, 28, 1.0f);  /* conv1 */
        run_rows_offsets(k, t >> 1, t & 1, 7, 3, 6, 1.0f);
        run_rows_offsets(k, t >> 1, t & 1, 1, 2, 5, 0.0f);
        /* Empty products: K = 0 gives beta C, and M or N = 0 touches nothing. */
        run_case(k, t >> 1, t & 1, 5, 7, 0, 0.0f, 0, 0);
        run_case(k, t >> 1, t & 1, 5, 7, 0, 1.0f, 2, 1);
        run_case(k, t >> 1, t & 1, 0, 7, 9, 0.0f, 0, 0);
        run_case(k, t >> 1, t & 1, 5, 0, 9, 1.0f, 0, 0);
    }
}

int main(void)
{
    int available = 0;
    for (int k = 0; k < MN_ISA_COUNT; k++) {
        if (!mn_isa_supported((mn_isa)k))
            continue;
        available++;
        printf("kernel %s\n", mn_isa_name((mn_isa)k));
        run_kernel(k);
    }
    CHECK(mn_isa_supported(MN_ISA_GENERIC), "the generic level always runs");
    CHECK(available >= 1, "no kernel available");

    /* mn_gemm runs the level in force: the best this CPU has, or MNIST_ISA's. */
    mn_isa active;
    CHECK(mn_isa_active(&active, NULL) == MN_OK && mn_isa_supported(active), "active level");
    const char *name = mn_isa_name(active);
    CHECK(strcmp(mn_isa_name(MN_ISA_COUNT), "?") == 0, "unknown level's name");
    printf("dispatch (%s)\n", name);
    run_kernel(-1);
    return check_finish();
}
