/* gemm.c: single-precision GEMM. Owns the naive oracle (mn_gemm_ref), the
 * shared cache-blocking driver that packs A and B into stack buffers for
 * the micro-kernels of the level in force (kernels/<level>_gemm.c). No
 * threads, no heap. */
#include "gemm.h"
#include "kernels.h"

#include <assert.h>
#include <string.h>

void mn_gemm_ref(int ta, int tb, int M, int N, int K, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            /* Double accumulation: the oracle should be closer to the exact
             * product than any kernel it judges. */
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                s += (double)a * (double)b;
            }
            float *c = &C[(long)i * ldc + j];
            *c = beta == 0.0f ? (float)s : (float)(beta * (double)*c + s);
        }
    }
}

/* ---- shared blocked driver -------------------------------------------- */

/* A is read in place (its micro-panel, MR x KC, sits in L1 either way);
 * B is packed only when transposed, into a 160 KB stack buffer, so the
 * driver fits the stack of any OpenMP worker and allocates nothing. The B
 * micro-panel (KC x NR) is meant to stay in L1 across the A panels. */
#define BP_FLOATS 40960
#define NR_MAX 64

/* bp[(q*kc + k)*nr + j] = B[jc + q*nr + j][pc + k] for a transposed B:
 * its nc x kc block packed into nr-column micro-panels; row r of B at
 * B + brow[r] when brow is not NULL. The scalar fallback of isa->pack_bt. */
static void pack_bt(float *bp, const float *B, int ldb, const long *brow, int jc, int nc,
                    int pc, int kc, int nr)
{
    for (int q0 = 0; q0 < nc; q0 += nr) {
        int n = nc - q0 < nr ? nc - q0 : nr;
        float *dst = bp + (long)q0 * kc;
        for (int j = 0; j < n; j++) {
            long r = jc + q0 + j;
            const float *src = B + (brow ? brow[r] : r * ldb) + pc;
            for (int k = 0; k < kc; k++)
                dst[(long)k * nr + j] = src[k];
        }
    }
}

static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* A row-major and B transposed with few columns (a 3x3 conv's dW, a
 * 10-class dense layer) or a long K (dense layers, B = weights [N,K]):
 * dot products along K beat packing B into mostly empty register tiles or
 * transposing a large B on every call. The choice never depends on M, so
 * a row of C comes out bit-identical whatever batch it is computed in. */
#define DOT_N_MAX 16
#define DOT_K_MIN 512

static void gemm_blocked(const mn_gemm_isa *isa, int ta, int tb, int M, int N, int K,
                         const float *A, int lda, const float *B, int ldb, const long *brow,
                         float beta, float *C, int ldc)
{
    _Alignas(64) float bp[BP_FLOATS];
    const int mr = isa->mr, nr = isa->nr;

    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || (beta != 0.0f && beta != 1.0f)) {
        scale_c(M, N, beta, C, ldc);
        if (K <= 0)
            return;
        beta = 1.0f;
    }
    if (!ta && tb && (N <= DOT_N_MAX || K >= DOT_K_MIN) && isa->dot_nt) {
        isa->dot_nt(M, N, K, A, lda, B, ldb, brow, beta, C, ldc);
        return;
    }
    /* Split K evenly into blocks of at most MN_GEMM_KC_MAX: every element's sum is
     * taken in the same order whatever M and N (the micro-kernels compute
     * each row of a tile alike), so a row of C does not depend on M. */
    int kcb = mn_gemm_kc(K);
    int ncb = tb ? BP_FLOATS / kcb / nr * nr : N;
    /* A'(i,k) = A[i*ais + k*aks]. */
    long ais = ta ? 1 : lda, aks = ta ? lda : 1;

    for (int jc = 0; jc < N; jc += ncb) {
        int nc = N - jc < ncb ? N - jc : ncb;
        for (int pc = 0; pc < K; pc += kcb) {
            int kc = K - pc < kcb ? K - pc : kcb;
            int acc = pc > 0 || beta != 0.0f;
            if (tb && isa->pack_bt)
                isa->pack_bt(bp, brow ? B + pc : B + (long)jc * ldb + pc, ldb,
                             brow ? brow + jc : NULL, nc, kc);
            else if (tb)
                pack_bt(bp, B, ldb, brow, jc, nc, pc, kc, nr);
            for (int jr = 0; jr < nc; jr += nr) {
                int n = nc - jr < nr ? nc - jr : nr;
                const float *bpan;
                long ldbk = 0;
                const long *boff = NULL;
                if (tb) {
                    bpan = bp + (long)jr * kc;
                    ldbk = nr;
                } else if (brow) {
                    bpan = B + jc + jr;
                    boff = brow + pc;
                } else {
                    bpan = B + (long)pc * ldb + jc + jr;
                    ldbk = ldb;
                }
                for (int ir = 0; ir < M; ir += mr) {
                    int m = M - ir < mr ? M - ir : mr;
                    isa->tile(m, n, kc, A + ir * ais + pc * aks, ais, aks, bpan, ldbk, boff,
                              C + (long)ir * ldc + jc + jr, ldc, acc);
                }
            }
        }
    }
}

/* ---- dispatch ---------------------------------------------------------- */

void mn_gemm_with(mn_isa isa, int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    const mn_kernels *k = mn_kernels_for(isa);
    assert(k && "mn_gemm_with: level not run by this CPU");
    mn_gemm_isa g;
    k->gemm(&g);
    gemm_blocked(&g, ta, tb, M, N, K, A, lda, B, ldb, NULL, beta, C, ldc);
}

void mn_gemm_rows_with(mn_isa isa, int ta, int tb, int M, int N, int K, const float *A,
                       int lda, const float *B, const long *brow, float beta, float *C, int ldc)
{
    const mn_kernels *k = mn_kernels_for(isa);
    assert(k && "mn_gemm_rows_with: level not run by this CPU");
    mn_gemm_isa g;
    k->gemm(&g);
    gemm_blocked(&g, ta, tb, M, N, K, A, lda, B, 0, brow, beta, C, ldc);
}

void mn_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc)
{
    mn_gemm_isa g;
    mn_kernels_active()->gemm(&g);
    gemm_blocked(&g, ta, tb, M, N, K, A, lda, B, ldb, NULL, beta, C, ldc);
}

void mn_gemm_rows(int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, const long *brow, float beta, float *C, int ldc)
{
    mn_gemm_isa g;
    mn_kernels_active()->gemm(&g);
    gemm_blocked(&g, ta, tb, M, N, K, A, lda, B, 0, brow, beta, C, ldc);
}
