/* avx2_gemm.c: the AVX2+FMA micro-kernels under gemm.c's blocked driver:
 * a 6x16 register tile (12 ymm accumulators) and a dot-product kernel for
 * small-M A B^T, for x86-64 CPUs without AVX-512. Compiled for any x86-64
 * with per-function target attributes; run only when the CPU has them. */
#include "avx2.h"

#include <immintrin.h>

#include "transpose_avx2.h"

#define T256 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline)) T256

#define MR 6
#define NV 2 /* ymm vectors per tile row: NR = 16 */
#define NR (NV * 8)

/* Lanes 0..n-1 set (n in 1..8), as maskload/maskstore want them. */
INL __m256i lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The tile with m rows and nv vectors known at compile time; the last
 * vector holds nl valid lanes (mask lm). See gemm_avx512.c for arow. */
INL void tile_mv(const int m, const int nv, const int arow, const int rows, int kc,
                 const float *ap, long ais, long aks, const float *b0p, long ldbk,
                 const long *boff, int nl, float *c, long ldc, int accumulate)
{
    const float *b = b0p;
    const __m256i lm = lanes(nl);
    const int full = nl == 8;
    /* Row-major A through two row pointers and base + index*{4,8}
     * addressing, as in gemm_avx512.c. */
    const float *a0 = ap, *a3 = arow && m > 3 ? ap + 3 * ais : ap;
#define AR(i) ((i) < 3 ? a0 : a3)[((i) % 3) * ais]
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;

    for (int k = 0; k < kc; k++) {
        __m256 b0, b1;
        if (rows)
            b = b0p + boff[k];
        if (nv == 1) {
            b0 = full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, lm);
            b1 = b0;
        } else {
            b0 = _mm256_loadu_ps(b);
            b1 = full ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, lm);
        }
#define ROW(i)                                                                                 \
    if (m > i) {                                                                               \
        __m256 a = _mm256_broadcast_ss(arow ? &AR(i) : &ap[i]);                               \
        c##i##0 = _mm256_fmadd_ps(a, b0, c##i##0);                                             \
        if (nv > 1)                                                                            \
            c##i##1 = _mm256_fmadd_ps(a, b1, c##i##1);                                         \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        if (arow) {
            a0++;
            a3++;
        } else {
            ap += aks;
        }
        if (!rows)
            b += ldbk;
    }
#undef AR
#define OUT(i, v)                                                                              \
    if (m > i && nv > v) {                                                                     \
        float *p = c + (long)i * ldc + 8 * v;                                                  \
        __m256 r = c##i##v;                                                                    \
        if (v == nv - 1 && !full) {                                                            \
            if (accumulate)                                                                    \
                r = _mm256_add_ps(_mm256_maskload_ps(p, lm), r);                               \
            _mm256_maskstore_ps(p, lm, r);                                                     \
        } else {                                                                               \
            if (accumulate)                                                                    \
                r = _mm256_add_ps(_mm256_loadu_ps(p), r);                                      \
            _mm256_storeu_ps(p, r);                                                            \
        }                                                                                      \
    }
#define OUTROW(i) OUT(i, 0) OUT(i, 1)
    OUTROW(0) OUTROW(1) OUTROW(2) OUTROW(3) OUTROW(4) OUTROW(5)
#undef OUTROW
#undef OUT
}

static T256 void tile256(int m, int n, int kc, const float *a, long ais, long aks,
                         const float *b, long ldbk, const long *boff, float *c, long ldc,
                         int accumulate)
{
    int nv = (n + 7) >> 3;
    int nl = n - 8 * (nv - 1);
#define CASE(M_, V_)                                                                           \
    case M_ * 4 + V_:                                                                          \
        if (boff)                                                                              \
            tile_mv(M_, V_, ais != 1, 1, kc, a, ais, aks, b, ldbk, boff, nl, c, ldc, accumulate); \
        else if (ais == 1)                                                                     \
            tile_mv(M_, V_, 0, 0, kc, a, ais, aks, b, ldbk, boff, nl, c, ldc, accumulate);     \
        else                                                                                   \
            tile_mv(M_, V_, 1, 0, kc, a, ais, aks, b, ldbk, boff, nl, c, ldc, accumulate);     \
        return;
#define CASES(M_) CASE(M_, 1) CASE(M_, 2)
    switch (m * 4 + nv) {
        CASES(1) CASES(2) CASES(3) CASES(4) CASES(5) CASES(6)
    default:
        return;
    }
#undef CASES
#undef CASE
}

/* ---- dot-product kernel for small-M A B^T ------------------------------ */

/* Sum of the 8 lanes, in a fixed order. */
INL float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The mr x nr block (mr <= 2, nr <= 4, compile-time) of C = A B^T. */
INL void dot_block(const int mr, const int nr, int K, const float *A, int lda, const float *B,
                   int ldb, const long *brow, float beta, float *C, int ldc)
{
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s02 = s00, s03 = s00;
    __m256 s10 = s00, s11 = s00, s12 = s00, s13 = s00;
    const float *a0 = A, *a1 = A + lda;
    const float *q0 = B + (brow ? brow[0] : 0), *q1 = B + (brow ? brow[nr > 1] : ldb);
    const float *q2 = B + (brow ? brow[nr > 2 ? 2 : 0] : 2L * ldb);
    const float *q3 = B + (brow ? brow[nr > 3 ? 3 : 0] : 3L * ldb);
    int k = 0;
#define STEP(LOAD)                                                                             \
    {                                                                                          \
        __m256 x0 = LOAD(a0 + k);                                                              \
        __m256 x1 = mr > 1 ? LOAD(a1 + k) : x0;                                                \
        COL(0, LOAD) COL(1, LOAD) COL(2, LOAD) COL(3, LOAD)                                    \
    }
#define COL(j, LOAD)                                                                           \
    if (nr > j) {                                                                              \
        __m256 y = LOAD(q##j + k);                                                             \
        s0##j = _mm256_fmadd_ps(x0, y, s0##j);                                                 \
        if (mr > 1)                                                                            \
            s1##j = _mm256_fmadd_ps(x1, y, s1##j);                                             \
    }
#define FULL(p) _mm256_loadu_ps(p)
#define PART(p) _mm256_maskload_ps(p, km)
    for (; k + 8 <= K; k += 8)
        STEP(FULL)
    if (k < K) {
        const __m256i km = lanes(K - k);
        STEP(PART)
    }
#undef PART
#undef FULL
#undef COL
#undef STEP
#define PUT(i, j)                                                                              \
    if (mr > i && nr > j) {                                                                    \
        float *p = C + (long)i * ldc + j;                                                      \
        float r = hsum(s##i##j);                                                               \
        *p = beta == 0.0f ? r : *p + r;                                                        \
    }
    PUT(0, 0) PUT(0, 1) PUT(0, 2) PUT(0, 3) PUT(1, 0) PUT(1, 1) PUT(1, 2) PUT(1, 3)
#undef PUT
}

static T256 void dot_nt256(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           const long *brow, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i += 2) {
        int mr = M - i < 2 ? M - i : 2;
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
                CASES(1) CASES(2)
            default:
                break;
            }
#undef CASES
#undef CASE
        }
    }
}

/* The transposed B's nc x kc block into NR-column panels (gemm.h), 8x8
 * blocks at a time in registers instead of gemm.c's scalar loop (the
 * backward pass's A B^T products pack every K block). */
static T256 void pack_bt256(float *bp, const float *B, int ldb, const long *brow, int nc, int kc)
{
    for (int q0 = 0; q0 < nc; q0 += NR) {
        float *dst = bp + (long)q0 * kc;
        for (int j0 = q0; j0 < nc && j0 < q0 + NR; j0 += 8) {
            const int jn = nc - j0 < 8 ? nc - j0 : 8;
            for (int k0 = 0; k0 < kc; k0 += 8)
                mn_transpose8(dst + (long)k0 * NR + (j0 - q0), NR, B + k0, ldb,
                              brow ? brow + j0 : NULL, j0, jn, kc - k0 < 8 ? kc - k0 : 8, 8);
        }
    }
}

void mn_avx2_gemm(mn_gemm_isa *isa)
{
    isa->mr = MR;
    isa->nr = NR;
    isa->tile = tile256;
    isa->dot_nt = dot_nt256;
    isa->pack_bt = pack_bt256;
}
