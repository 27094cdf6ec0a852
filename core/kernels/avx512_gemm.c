/* avx512_gemm.c: the AVX-512 micro-kernels under gemm.c's blocked driver:
 * an 8x48 register tile (24 zmm accumulators) and a dot-product kernel for
 * small-M A B^T. Compiled for any x86-64 with per-function target
 * attributes; run only when the CPU has them. */
#include "avx512.h"

#include <immintrin.h>

#include "transpose_avx512.h"

#define T512 __attribute__((target("avx512f,fma")))
#define INL static inline __attribute__((always_inline)) T512

#define MR 8
#define NV 3 /* zmm vectors per tile row: NR = 48 */
#define NR (NV * 16)

/* Mask of the valid lanes of vector v of a row whose n columns span nv
 * vectors: all lanes but in the last. */
#define VMASK(v, nv, lm) ((v) == (nv) - 1 ? (lm) : (__mmask16)0xFFFF)

/* The tile with m rows and nv vectors known at compile time (each call
 * site below passes constants): named accumulators, because GCC keeps
 * those in registers reliably where an array might spill. */
INL void tile_mv(const int m, const int nv, const int arow, const int rows, int kc,
                 const float *ap, long ais, long aks, const float *b0p, long ldbk,
                 const long *boff, __mmask16 lm, float *c, long ldc, int accumulate)
{
    /* rows: B's row k at b0p + boff[k]; else rows ldbk apart. */
    const float *b = b0p;
    /* arow: A(i,k) = ap[i*ais + k] (row-major A read in place), through
     * three row pointers and base + index*{4,8} addressing: eight row
     * pointers would not fit the general registers. Else A(i,k) =
     * ap[i + k*aks] (A transposed). */
    const float *a0 = ap, *a3 = arow && m > 3 ? ap + 3 * ais : ap;
    const float *a6 = arow && m > 6 ? ap + 6 * ais : ap;
#define AR(i)                                                                                  \
    ((i) % 3 == 0 ? ((i) == 0 ? a0 : (i) == 3 ? a3 : a6)[0]                                    \
                  : ((i) < 3 ? a0 : (i) < 6 ? a3 : a6)[((i) % 3) * ais])
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    __m512 c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
    const __mmask16 m0 = VMASK(0, nv, lm), m1 = VMASK(1, nv, lm), m2 = VMASK(2, nv, lm);

    for (int k = 0; k < kc; k++) {
        if (rows)
            b = b0p + boff[k];
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, b + 16) : b0;
        __m512 b2 = nv > 2 ? _mm512_maskz_loadu_ps(m2, b + 32) : b0;
#define ROW(i)                                                                                 \
    if (m > i) {                                                                               \
        __m512 a = _mm512_set1_ps(arow ? AR(i) : ap[i]);                                       \
        c##i##0 = _mm512_fmadd_ps(a, b0, c##i##0);                                             \
        if (nv > 1)                                                                            \
            c##i##1 = _mm512_fmadd_ps(a, b1, c##i##1);                                         \
        if (nv > 2)                                                                            \
            c##i##2 = _mm512_fmadd_ps(a, b2, c##i##2);                                         \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
        if (arow) {
            a0++;
            a3++;
            a6++;
        } else {
            ap += aks;
        }
        if (!rows)
            b += ldbk;
    }
#undef AR
#define OUT(i, v)                                                                              \
    if (m > i && nv > v) {                                                                     \
        float *p = c + (long)i * ldc + 16 * v;                                                 \
        __m512 r = c##i##v;                                                                    \
        if (accumulate)                                                                        \
            r = _mm512_add_ps(_mm512_maskz_loadu_ps(m##v, p), r);                              \
        _mm512_mask_storeu_ps(p, m##v, r);                                                     \
    }
#define OUTROW(i) OUT(i, 0) OUT(i, 1) OUT(i, 2)
    OUTROW(0) OUTROW(1) OUTROW(2) OUTROW(3) OUTROW(4) OUTROW(5) OUTROW(6) OUTROW(7)
#undef OUTROW
#undef OUT
}

static T512 void tile512(int m, int n, int kc, const float *a, long ais, long aks,
                         const float *b, long ldbk, const long *boff, float *c, long ldc,
                         int accumulate)
{
    int nv = (n + 15) >> 4;
    __mmask16 lm = (__mmask16)(0xFFFFu >> (16 * nv - n));
#define CASE(M_, V_)                                                                           \
    case M_ * 4 + V_:                                                                          \
        if (boff)                                                                              \
            tile_mv(M_, V_, ais != 1, 1, kc, a, ais, aks, b, ldbk, boff, lm, c, ldc, accumulate); \
        else if (ais == 1)                                                                     \
            tile_mv(M_, V_, 0, 0, kc, a, ais, aks, b, ldbk, boff, lm, c, ldc, accumulate);     \
        else                                                                                   \
            tile_mv(M_, V_, 1, 0, kc, a, ais, aks, b, ldbk, boff, lm, c, ldc, accumulate);     \
        return;
#define CASES(M_) CASE(M_, 1) CASE(M_, 2) CASE(M_, 3)
    switch (m * 4 + nv) {
        CASES(1) CASES(2) CASES(3) CASES(4) CASES(5) CASES(6) CASES(7) CASES(8)
    default:
        return;
    }
#undef CASES
#undef CASE
}

/* ---- dot-product kernel for small-M A B^T ------------------------------ */

/* The mr x nr block of C = A B^T with mr, nr <= 4 known at compile time:
 * 16 accumulators along K, reduced across lanes once at the end. */
INL void dot_block(const int mr, const int nr, int K, const float *A, int lda, const float *B,
                   int ldb, const long *brow, float beta, float *C, int ldc)
{
    __m512 s00 = _mm512_setzero_ps(), s01 = s00, s02 = s00, s03 = s00;
    __m512 s10 = s00, s11 = s00, s12 = s00, s13 = s00;
    __m512 s20 = s00, s21 = s00, s22 = s00, s23 = s00;
    __m512 s30 = s00, s31 = s00, s32 = s00, s33 = s00;
    const float *a0 = A, *a1 = A + lda, *a2 = A + 2L * lda, *a3 = A + 3L * lda;
    const float *q0 = B + (brow ? brow[0] : 0), *q1 = B + (brow ? brow[nr > 1] : ldb);
    const float *q2 = B + (brow ? brow[nr > 2 ? 2 : 0] : 2L * ldb);
    const float *q3 = B + (brow ? brow[nr > 3 ? 3 : 0] : 3L * ldb);
    for (int k = 0; k < K; k += 16) {
        __mmask16 km = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)(0xFFFFu >> (16 - (K - k)));
        __m512 x0 = _mm512_maskz_loadu_ps(km, a0 + k);
        __m512 x1 = mr > 1 ? _mm512_maskz_loadu_ps(km, a1 + k) : x0;
        __m512 x2 = mr > 2 ? _mm512_maskz_loadu_ps(km, a2 + k) : x0;
        __m512 x3 = mr > 3 ? _mm512_maskz_loadu_ps(km, a3 + k) : x0;
#define COL(j)                                                                                 \
    if (nr > j) {                                                                              \
        __m512 y = _mm512_maskz_loadu_ps(km, q##j + k);                                        \
        s0##j = _mm512_fmadd_ps(x0, y, s0##j);                                                 \
        if (mr > 1)                                                                            \
            s1##j = _mm512_fmadd_ps(x1, y, s1##j);                                             \
        if (mr > 2)                                                                            \
            s2##j = _mm512_fmadd_ps(x2, y, s2##j);                                             \
        if (mr > 3)                                                                            \
            s3##j = _mm512_fmadd_ps(x3, y, s3##j);                                             \
    }
        COL(0) COL(1) COL(2) COL(3)
#undef COL
    }
#define PUT(i, j)                                                                              \
    if (mr > i && nr > j) {                                                                    \
        float *p = C + (long)i * ldc + j;                                                      \
        float r = _mm512_reduce_add_ps(s##i##j);                                               \
        *p = beta == 0.0f ? r : *p + r;                                                        \
    }
#define PUTROW(i) PUT(i, 0) PUT(i, 1) PUT(i, 2) PUT(i, 3)
    PUTROW(0) PUTROW(1) PUTROW(2) PUTROW(3)
#undef PUTROW
#undef PUT
}

static T512 void dot_nt512(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           const long *brow, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i += 4) {
        int mr = M - i < 4 ? M - i : 4;
        for (int j = 0; j < N; j += 4) {
            int nr = N - j < 4 ? N - j : 4;
            const float *a = A + (long)i * lda;
            const float *b = brow ? B : B + (long)j * ldb;
            const long *br = brow ? brow + j : NULL;
            float *c = C + (long)i * ldc + j;
#define CASE(R_, S_)                                                                           \
    case R_ * 8 + S_:                                                                          \
        dot_block(R_, S_, K, a, lda, b, ldb, br, beta, c, ldc);                                \
        break;
#define CASES(R_) CASE(R_, 1) CASE(R_, 2) CASE(R_, 3) CASE(R_, 4)
            switch (mr * 8 + nr) {
                CASES(1) CASES(2) CASES(3) CASES(4)
            default:
                break;
            }
#undef CASES
#undef CASE
        }
    }
}

/* ---- transposing pack of B ------------------------------------------- */

/* bp[(q*kc + k)*NR + j] = row (q*NR + j) of B at [k], for the nc x kc block
 * B; row j at B + brow[j], or B + j*ldb when brow is NULL. */
static T512 void pack_bt512(float *bp, const float *B, int ldb, const long *brow, int nc, int kc)
{
    for (int q0 = 0; q0 < nc; q0 += NR) {
        float *dst = bp + (long)q0 * kc;
        for (int j0 = q0; j0 < nc && j0 < q0 + NR; j0 += 16) {
            int jn = nc - j0 < 16 ? nc - j0 : 16;
            for (int k0 = 0; k0 < kc; k0 += 16) {
                int kn = kc - k0 < 16 ? kc - k0 : 16;
                mn_transpose16(dst + (long)k0 * NR + (j0 - q0), NR, B + k0, ldb,
                               brow ? brow + j0 : NULL, j0, jn, kn, 0xFFFF);
            }
        }
    }
}

void mn_avx512_gemm(mn_gemm_isa *isa)
{
    isa->mr = MR;
    isa->nr = NR;
    isa->tile = tile512;
    isa->dot_nt = dot_nt512;
    isa->pack_bt = pack_bt512;
}
