/* conv_tile_avx2.h (internal): the AVX2+FMA register tiles of the direct
 * convolution (avx2_conv.c), also those of the prepared dense layer
 * (avx2_dense.c) and the per-point products of the Winograd convolution
 * (avx2_winograd.c): conv_tile_avx512.h with 8 lanes and 16 registers.
 * Output channels in the vector lanes, one pixel per register row, inputs
 * broadcast from rows at arbitrary offsets. Static functions for the
 * files that include it, where <immintrin.h> is available. */
#ifndef MNIST_CORE_CONV_TILE_AVX2_H
#define MNIST_CORE_CONV_TILE_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "transpose_avx2.h"

#define T256 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline)) T256

/* p rounded up to a cache line, as in conv_tile_avx512.h: no vector load
 * or store of the buffers straddles two lines. Scratch sizes add
 * LINE_FLOATS per buffer for it. */
#define LINE_FLOATS 16
static inline float *line_up(float *p)
{
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* y[i*ldy + 8v ..] (+)= sum over k in [k0, k1) of x_i(k) * wt[k*ldw + 8v ..]
 * for i < m pixels (x_i(k) = in[brow[k] + i*ps]) and v < nv vectors; the first
 * block adds onto the bias b instead of y. m and nv are compile-time
 * constants at every call site, so the accumulators stay in registers
 * (12 at most: with the weights and a broadcast, the 16 ymm registers). */
INL void tile(const int m, const int nv, const float *in, const long ps, const long *brow, int k0,
              int k1, const float *wt, int ldw, const float *b, int first, float *y, int ldy)
{
    /* Named accumulators (a[pixel][vector]): GCC keeps those in registers
     * where an array of them spills. */
#define DECL(i) __m256 a##i##0 = _mm256_setzero_ps(), a##i##1 = a##i##0;
    DECL(0) DECL(1) DECL(2) DECL(3) DECL(4) DECL(5)
    DECL(6) DECL(7) DECL(8) DECL(9) DECL(10) DECL(11)
#undef DECL
    for (int k = k0; k < k1; k++) {
        const float *x = in + brow[k];
        const float *wk = wt + (long)k * ldw;
        const __m256 w0 = _mm256_loadu_ps(wk);
        const __m256 w1 = nv > 1 ? _mm256_loadu_ps(wk + 8) : w0;
#define ROW(i)                                                                                 \
    if (m > i) {                                                                               \
        const __m256 x_ = _mm256_broadcast_ss(&x[i * ps]);                                     \
        a##i##0 = _mm256_fmadd_ps(x_, w0, a##i##0);                                            \
        if (nv > 1)                                                                            \
            a##i##1 = _mm256_fmadd_ps(x_, w1, a##i##1);                                        \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        ROW(6) ROW(7) ROW(8) ROW(9) ROW(10) ROW(11)
#undef ROW
    }
#define OUT(i, v)                                                                              \
    if (m > i && nv > v) {                                                                     \
        float *p = y + (long)i * ldy + 8 * v;                                                  \
        __m256 c = first ? _mm256_loadu_ps(b + 8 * v) : _mm256_loadu_ps(p);                    \
        _mm256_storeu_ps(p, _mm256_add_ps(c, a##i##v));                                        \
    }
#define OUTROW(i) OUT(i, 0) OUT(i, 1)
    OUTROW(0) OUTROW(1) OUTROW(2) OUTROW(3) OUTROW(4) OUTROW(5)
    OUTROW(6) OUTROW(7) OUTROW(8) OUTROW(9) OUTROW(10) OUTROW(11)
#undef OUTROW
#undef OUT
}

/* Pixels a tile holds for nv vectors of channels: 12 accumulators. */
#define MR_FOR(nv) ((nv) == 1 ? 12 : 6)

/* Conv rows r < rows (input at in + r*ldi, pixels ps apart; output at
 * y + r*n*ldy), first n pixels, 8*nv channels (wt, b and y point at the
 * first), over the K block [k0, k1): the block's weights stay in L1
 * across the rows. */
INL void conv_rows_nv(const int nv, const float *in, const long ps, long ldi, int rows,
                      const long *brow, int k0, int k1, int n, const float *wt, int ldw,
                      const float *b, float *y, int ldy)
{
    /* Tiles as even as they come (25 pixels: 5 x 5, not 6 + 6 + 6 + 6 + 1,
     * whose last tile waits on its FMAs' latency). */
    const int mr = MR_FOR(nv), nt = (n + mr - 1) / mr;
    for (int r = 0; r < rows; r++)
        for (int t = 0, p = 0; t < nt; t++) {
            const int m = n / nt + (t < n % nt);
            const float *x = in + r * ldi + p * ps;
            float *yp = y + ((long)r * n + p) * ldy;
#define M_CASE(M_)                                                                             \
    case M_:                                                                                   \
        tile(M_, nv, x, ps, brow, k0, k1, wt, ldw, b, k0 == 0, yp, ldy);                       \
        break;
            switch (m) {
                M_CASE(1) M_CASE(2) M_CASE(3) M_CASE(4) M_CASE(5) M_CASE(6)
            default:
                if (mr > 6) /* nv == 1: wider tiles */
                    switch (m) {
                        M_CASE(7) M_CASE(8) M_CASE(9) M_CASE(10) M_CASE(11) M_CASE(12)
                    default:
                        break;
                    }
                break;
            }
#undef M_CASE
            p += m;
        }
}

/* y[(r*n + p)*OC + c]: conv rows r < rows whose inputs start at in + r*ldi
 * (the top-left tap), pixels ps apart, first n pixels, all OC channels (a
 * multiple of 8). Inlined, so a constant ps costs nothing. */
INL void conv_rows(const float *in, const long ps, long ldi, int rows, const long *brow, int K,
                   int kcb, int n, int OC, const float *wt, const float *b, float *y)
{
    for (int k0 = 0; k0 < K; k0 += kcb) {
        const int k1 = K - k0 < kcb ? K : k0 + kcb;
        int c0 = 0;
        for (; c0 + 16 <= OC; c0 += 16)
            conv_rows_nv(2, in, ps, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
        if (c0 < OC)
            conv_rows_nv(1, in, ps, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
    }
}

/* wt[k*OC + oc] = w[oc*K + k], in 8x8 blocks (OC is a multiple of 8). */
static inline T256 void transpose_weights(float *wt, const float *w, int OC, int K)
{
    for (int oc = 0; oc < OC; oc += 8)
        for (int k = 0; k < K; k += 8)
            mn_transpose8(wt + (long)k * OC + oc, OC, w + k, K, NULL, oc, 8, K - k < 8 ? K - k : 8,
                          8);
}

/* dst[c*ldp + p] = src[p*OC + c] for p < n: a row from [pixel][channel]
 * into the output planes, 8x8 blocks at a time (moves bits: winners
 * too). */
static inline T256 void to_planes(float *dst, const float *src, int n, int OC, long ldp)
{
    for (int p = 0; p < n; p += 8) {
        const int pn = n - p < 8 ? n - p : 8;
        for (int c = 0; c < OC; c += 8)
            mn_transpose8(dst + c * ldp + p, ldp, src + (long)p * OC + c, OC, NULL, 0, pn, 8, pn);
    }
}

/* The max-pool step of avx2_pool.c and avx2_conv.c: m, best = v, idx
 * where v > m (strict: the first maximum wins, NaN never). */
#define TAKE(v, idx)                                                                           \
    do {                                                                                       \
        const __m256 v_ = (v);                                                                 \
        const __m256 gt_ = _mm256_cmp_ps(v_, m, _CMP_GT_OQ);                                   \
        m = _mm256_blendv_ps(m, v_, gt_);                                                      \
        best = _mm256_blendv_ps(best, _mm256_castsi256_ps(idx), gt_);                          \
    } while (0)

#endif
