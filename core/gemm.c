/* gemm.c: single-precision GEMM. Owns the naive oracle (mn_gemm_ref), the
 * run-time choice of kernel, and the shared cache-blocking driver that packs
 * A and B into stack buffers for the per-ISA micro-kernels (gemm_avx512.c,
 * gemm_avx2.c) or the portable C micro-kernel here. No threads, no heap. */
#include "gemm.h"

#include <assert.h>
#include <string.h>

/* x86-64 SIMD kernels unless built with -DMN_NO_SIMD (which also shows
 * what a non-x86 build compiles). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(MN_NO_SIMD)
#define GEMM_X86 1
#else
#define GEMM_X86 0
#endif

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

/* ---- portable micro-kernel ------------------------------------------- */

#define P_MR 4
#define P_NR 16

/* The full P_MR x P_NR tile with constant bounds, which the compiler keeps
 * in vector registers (SSE2 on any x86-64, NEON on ARM). */
static void tile_portable_full(int kc, const float *a, long ais, long aks, const float *b,
                               long ldbk, const long *boff, float acc[P_MR][P_NR])
{
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
        for (int i = 0; i < P_MR; i++) {
            float ai = a[i * ais + k * aks];
            for (int j = 0; j < P_NR; j++)
                acc[i][j] += ai * bk[j];
        }
    }
}

static void tile_portable(int m, int n, int kc, const float *a, long ais, long aks,
                          const float *b, long ldbk, const long *boff, float *c, long ldc,
                          int accumulate)
{
    float acc[P_MR][P_NR];
    memset(acc, 0, sizeof acc);
    if (m == P_MR && n == P_NR) {
        tile_portable_full(kc, a, ais, aks, b, ldbk, boff, acc);
    } else {
        for (int k = 0; k < kc; k++) {
            const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
            for (int i = 0; i < m; i++) {
                float ai = a[i * ais + k * aks];
                for (int j = 0; j < n; j++)
                    acc[i][j] += ai * bk[j];
            }
        }
    }
    for (int i = 0; i < m; i++) {
        float *ci = c + (long)i * ldc;
        if (accumulate)
            for (int j = 0; j < n; j++)
                ci[j] += acc[i][j];
        else
            for (int j = 0; j < n; j++)
                ci[j] = acc[i][j];
    }
}

static void isa_portable(mn_gemm_isa *isa)
{
    isa->mr = P_MR;
    isa->nr = P_NR;
    isa->tile = tile_portable;
    isa->dot_nt = NULL;
    isa->pack_bt = NULL;
}

/* ---- shared blocked driver -------------------------------------------- */

/* A is read in place (its micro-panel, MR x KC, sits in L1 either way);
 * B is packed only when transposed, into a 160 KB stack buffer, so the
 * driver fits the stack of any OpenMP worker and allocates nothing. The B
 * micro-panel (KC x NR) is meant to stay in L1 across the A panels. */
#define BP_FLOATS 40960
#define KC_MAX 256
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

int mn_gemm_kc(int K)
{
    int nk = (K + KC_MAX - 1) / KC_MAX;
    return K > 0 ? (K + nk - 1) / nk : 1;
}

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
    /* Split K evenly into blocks of at most KC_MAX: every element's sum is
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

static int cpu_has(mn_gemm_kernel k)
{
#if GEMM_X86
    /* GCC's cpu check also requires the OS to save the wider registers. */
    switch (k) {
    case MN_GEMM_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    case MN_GEMM_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
        return k == MN_GEMM_PORTABLE;
    }
#else
    return k == MN_GEMM_PORTABLE;
#endif
}

/* Fills *isa for k; 0 when k cannot run here. */
static int isa_get(mn_gemm_kernel k, mn_gemm_isa *isa)
{
    if (!cpu_has(k))
        return 0;
    switch (k) {
    case MN_GEMM_PORTABLE:
        isa_portable(isa);
        return 1;
    case MN_GEMM_AVX2:
        return mn_gemm_isa_avx2(isa);
    case MN_GEMM_AVX512:
        return mn_gemm_isa_avx512(isa);
    default:
        return 0;
    }
}

static mn_gemm_kernel best_kernel(mn_gemm_isa *isa)
{
    if (isa_get(MN_GEMM_AVX512, isa))
        return MN_GEMM_AVX512;
    if (isa_get(MN_GEMM_AVX2, isa))
        return MN_GEMM_AVX2;
    isa_portable(isa);
    return MN_GEMM_PORTABLE;
}

int mn_gemm_kernel_available(mn_gemm_kernel k)
{
    mn_gemm_isa isa;
    return isa_get(k, &isa);
}

const char *mn_gemm_kernel_label(mn_gemm_kernel k)
{
    switch (k) {
    case MN_GEMM_PORTABLE:
        return "portable";
    case MN_GEMM_AVX2:
        return "avx2";
    case MN_GEMM_AVX512:
        return "avx512";
    default:
        return "?";
    }
}

const char *mn_gemm_kernel_name(void)
{
    mn_gemm_isa isa;
    return mn_gemm_kernel_label(best_kernel(&isa));
}

void mn_gemm_with(mn_gemm_kernel k, int ta, int tb, int M, int N, int K, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    mn_gemm_isa isa;
    int ok = isa_get(k, &isa);
    assert(ok && "mn_gemm_with: kernel not available on this CPU");
    (void)ok;
    assert(isa.nr <= NR_MAX);
    gemm_blocked(&isa, ta, tb, M, N, K, A, lda, B, ldb, NULL, beta, C, ldc);
}

void mn_gemm_rows_with(mn_gemm_kernel k, int ta, int tb, int M, int N, int K, const float *A,
                       int lda, const float *B, const long *brow, float beta, float *C, int ldc)
{
    mn_gemm_isa isa;
    int ok = isa_get(k, &isa);
    assert(ok && "mn_gemm_rows_with: kernel not available on this CPU");
    (void)ok;
    gemm_blocked(&isa, ta, tb, M, N, K, A, lda, B, 0, brow, beta, C, ldc);
}

void mn_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc)
{
    /* Chosen per call: the CPU test is a load of libgcc's cached cpuid
     * bits, and no state of our own means nothing global to initialise. */
    mn_gemm_isa isa;
    best_kernel(&isa);
    gemm_blocked(&isa, ta, tb, M, N, K, A, lda, B, ldb, NULL, beta, C, ldc);
}

void mn_gemm_rows(int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, const long *brow, float beta, float *C, int ldc)
{
    mn_gemm_isa isa;
    best_kernel(&isa);
    gemm_blocked(&isa, ta, tb, M, N, K, A, lda, B, 0, brow, beta, C, ldc);
}
