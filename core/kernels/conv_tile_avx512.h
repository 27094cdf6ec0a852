/* conv_tile_avx512.h (internal): the AVX-512 register tiles of the
 * direct convolution (conv_avx512.c), also the per-point products of the
 * Winograd convolution (winograd_avx512.c): output channels in the
 * vector lanes, one pixel per register row, inputs broadcast from rows at
 * arbitrary offsets. Static functions for the two files that include it,
 * where <immintrin.h> is available. */
#ifndef MNIST_CORE_CONV_TILE_AVX512_H
#define MNIST_CORE_CONV_TILE_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "transpose_avx512.h"

/* p rounded up to a cache line. The buffers whole vectors stream through
 * start on one, so that no load or store straddles two (unaligned, the
 * large model's inference took 14% longer); scratch sizes add
 * LINE_FLOATS per buffer for it. */
#define LINE_FLOATS 16
static inline float *line_up(float *p)
{
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

#define T512 __attribute__((target("avx512f,fma")))
#define INL static inline __attribute__((always_inline)) T512

/* y[i*ldy + 16v ..] (+)= sum over k in [k0, k1) of x_i(k) * wt[k*ldw + 16v ..]
 * for i < m pixels (x_i(k) = in[brow[k] + i*ps]) and v < nv vectors; the first
 * block adds onto the bias b instead of y. m and nv are compile-time
 * constants at every call site, so the accumulators stay in registers. */
INL void tile(const int m, const int nv, const float *in, const long ps, const long *brow, int k0,
              int k1, const float *wt, int ldw, const float *b, int first, float *y, int ldy)
{
    /* Named accumulators (a[pixel][vector]): GCC keeps those in registers
     * where an array of them spills. */
#define DECL(i)                                                                                \
    __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0, a##i##2 = a##i##0, a##i##3 = a##i##0;
    DECL(0) DECL(1) DECL(2) DECL(3) DECL(4) DECL(5)
    DECL(6) DECL(7) DECL(8) DECL(9) DECL(10) DECL(11)
#undef DECL
    for (int k = k0; k < k1; k++) {
        const float *x = in + brow[k];
        const float *wk = wt + (long)k * ldw;
        const __m512 w0 = _mm512_loadu_ps(wk);
        const __m512 w1 = nv > 1 ? _mm512_loadu_ps(wk + 16) : w0;
        const __m512 w2 = nv > 2 ? _mm512_loadu_ps(wk + 32) : w0;
        const __m512 w3 = nv > 3 ? _mm512_loadu_ps(wk + 48) : w0;
#define ROW(i)                                                                                 \
    if (m > i) {                                                                               \
        const __m512 x_ = _mm512_set1_ps(x[i * ps]);                                           \
        a##i##0 = _mm512_fmadd_ps(x_, w0, a##i##0);                                            \
        if (nv > 1)                                                                            \
            a##i##1 = _mm512_fmadd_ps(x_, w1, a##i##1);                                        \
        if (nv > 2)                                                                            \
            a##i##2 = _mm512_fmadd_ps(x_, w2, a##i##2);                                        \
        if (nv > 3)                                                                            \
            a##i##3 = _mm512_fmadd_ps(x_, w3, a##i##3);                                        \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        ROW(6) ROW(7) ROW(8) ROW(9) ROW(10) ROW(11)
#undef ROW
    }
#define OUT(i, v)                                                                              \
    if (m > i && nv > v) {                                                                     \
        float *p = y + (long)i * ldy + 16 * v;                                                 \
        __m512 c = first ? _mm512_loadu_ps(b + 16 * v) : _mm512_loadu_ps(p);                   \
        _mm512_storeu_ps(p, _mm512_add_ps(c, a##i##v));                                        \
    }
#define OUTROW(i) OUT(i, 0) OUT(i, 1) OUT(i, 2) OUT(i, 3)
    OUTROW(0) OUTROW(1) OUTROW(2) OUTROW(3) OUTROW(4) OUTROW(5)
    OUTROW(6) OUTROW(7) OUTROW(8) OUTROW(9) OUTROW(10) OUTROW(11)
#undef OUTROW
#undef OUT
}

/* Pixels a tile holds for nv vectors of channels: 24 accumulators at most. */
#define MR_FOR(nv) ((nv) <= 2 ? 12 : (nv) == 3 ? 8 : 6)

/* Conv rows r < rows (input at in + r*ldi, pixels ps apart; output at
 * y + r*n*ldy), first n pixels, 16*nv channels (wt, b and y point at the
 * first), over the K block [k0, k1): the block's weights (37 KB for the
 * reference conv2) stay in L1 across the rows. */
INL void conv_rows_nv(const int nv, const float *in, const long ps, long ldi, int rows,
                      const long *brow, int k0, int k1, int n, const float *wt, int ldw,
                      const float *b, float *y, int ldy)
{
    const int mr = MR_FOR(nv);
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < n; p += mr) {
            const int m = n - p < mr ? n - p : mr;
            const float *x = in + r * ldi + p * ps;
            float *yp = y + ((long)r * n + p) * ldy;
#define M_CASE(M_)                                                                             \
    case M_:                                                                                   \
        tile(M_, nv, x, ps, brow, k0, k1, wt, ldw, b, k0 == 0, yp, ldy);                       \
        break;
            switch (m) {
                M_CASE(1) M_CASE(2) M_CASE(3) M_CASE(4) M_CASE(5) M_CASE(6)
            default:
                if (mr > 6) /* nv <= 3: wider tiles */
                    switch (m) {
                        M_CASE(7) M_CASE(8) M_CASE(9) M_CASE(10) M_CASE(11) M_CASE(12)
                    default:
                        break;
                    }
                break;
            }
#undef M_CASE
        }
}

/* y[(r*n + p)*OC + c]: conv rows r < rows whose inputs start at in + r*ldi
 * (the top-left tap), pixels ps apart, first n pixels, all OC channels.
 * Inlined, so a constant ps costs nothing. */
INL void conv_rows(const float *in, const long ps, long ldi, int rows, const long *brow, int K,
                   int kcb, int n, int OC, const float *wt, const float *b, float *y)
{
    for (int k0 = 0; k0 < K; k0 += kcb) {
        const int k1 = K - k0 < kcb ? K : k0 + kcb;
        int c0 = 0;
        for (; c0 + 64 <= OC; c0 += 64)
            conv_rows_nv(4, in, ps, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
        switch ((OC - c0) / 16) {
        case 3:
            conv_rows_nv(3, in, ps, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
            break;
        case 2:
            conv_rows_nv(2, in, ps, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
            break;
        case 1:
            conv_rows_nv(1, in, ps, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
            break;
        default:
            break;
        }
    }
}

/* wt[k*OC + oc] = w[oc*K + k], in 16x16 blocks (OC is a multiple of 16). */
static inline T512 void transpose_weights(float *wt, const float *w, int OC, int K)
{
    for (int oc = 0; oc < OC; oc += 16)
        for (int k = 0; k < K; k += 16)
            mn_transpose16(wt + (long)k * OC + oc, OC, w + k, K, NULL, oc, 16,
                           K - k < 16 ? K - k : 16, 0xFFFF);
}

/* dst[c*ldp + p] = src[p*OC + c] for p < n: a row from [pixel][channel]
 * into the output planes, 16x16 blocks at a time (moves bits: winners
 * too). */
static inline T512 void to_planes(float *dst, const float *src, int n, int OC, long ldp)
{
    for (int p = 0; p < n; p += 16) {
        const int pn = n - p < 16 ? n - p : 16;
        for (int c = 0; c < OC; c += 16)
            mn_transpose16(dst + c * ldp + p, ldp, src + (long)p * OC + c, OC, NULL, 0, pn, 16,
                           (__mmask16)(0xFFFFu >> (16 - pn)));
    }
}

#endif
