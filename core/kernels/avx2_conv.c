/* avx2_conv.c: the convolution layer and the conv -> ReLU -> 2x2
 * max-pool block forward in AVX2+FMA (stride 1, no padding, output
 * channels a multiple of 8): avx512_conv.c's design with 8 lanes. The
 * lanes hold 8 output channels and each register row one pixel: a tile is
 * up to 12 pixels of one conv row (6 for 16 channels), read from the
 * input in place by broadcasts, against the weights transposed once per
 * call. Rows are computed a group at a time into a buffer of half of L1,
 * then turned into the output planes; the block computes only the conv
 * rows and columns the pool reads. In inference (no winners wanted) with
 * a single K block, as the reference conv1, the block pools two rows in
 * registers and stores only the pooled outputs.
 *
 * Same bits as the GEMM paths at this level: every output is bias + (the
 * first K block's sum) + (the next block's) ..., each sum a chain of FMAs
 * in k order from zero, with the K blocks of mn_gemm_kc; the pool
 * compares in the same order with the same strict >. */
#include "avx2.h"
#include "conv2d_internal.h"
#include "conv_tile_avx2.h"

/* conv_rows over the image in place: pixels 1 apart. */
static T256 void direct_rows(const float *in, long ldi, int rows, const long *brow, int K, int kcb,
                             int n, int OC, const float *wt, const float *b, float *y)
{
    conv_rows(in, 1, ldi, rows, brow, K, kcb, n, OC, wt, b, y);
}

/* The 2x2 windows of conv rows y0, y1 ([pixel][OC]), pooled and ReLU'd
 * into po/pa[pw*OC + c]; winners as indices in the OH x OW plane of row
 * oh0 (= 2 ph). The same order of comparisons as mn_maxpool2x2_row. */
static T256 void pool_rows(float *po, int32_t *pa, const float *y0, const float *y1, int PW,
                           int OC, int oh0, int OW)
{
    for (int pw = 0; pw < PW; pw++) {
        const int i = oh0 * OW + 2 * pw;
        const __m256i i01 = _mm256_set1_epi32(i + 1);
        const __m256i i10 = _mm256_set1_epi32(i + OW), i11 = _mm256_set1_epi32(i + OW + 1);
        for (int c = 0; c < OC; c += 8) {
            const float *p0 = y0 + (long)2 * pw * OC + c, *p1 = y1 + (long)2 * pw * OC + c;
            __m256 m = _mm256_loadu_ps(p0);
            __m256 best = _mm256_castsi256_ps(_mm256_set1_epi32(i));
            TAKE(_mm256_loadu_ps(p0 + OC), i01);
            TAKE(_mm256_loadu_ps(p1), i10);
            TAKE(_mm256_loadu_ps(p1 + OC), i11);
            /* max_ps(m, 0) is m > 0 ? m : 0, NaN and -0 included */
            _mm256_storeu_ps(po + (long)pw * OC + c, _mm256_max_ps(m, _mm256_setzero_ps()));
            _mm256_storeu_ps((float *)(void *)(pa + (long)pw * OC + c), best);
        }
    }
}

/* Inference with one K block: conv rows 2ph and 2ph + 1 at m pixels (m
 * even) for nv vectors of 8 channels (m nv <= 6), pooled 2x2 and ReLU'd
 * in registers into po[j*ldp + 8v] for the m/2 windows j. Nothing of the
 * conv output is stored. The bits of tile() + pool_rows(): each output is
 * b + its FMA chain, compared in pool_rows' order with its strict >. x0
 * is the first tap of row 2ph's first pixel, x1 of row 2ph + 1's. */
INL void pooled_tile(const int m, const int nv, const float *x0, const float *x1,
                     const long *brow, int K, const float *wt, int ldw, const float *b, float *po,
                     int ldp)
{
#define DECL(i) __m256 a##i##0 = _mm256_setzero_ps(), a##i##1 = a##i##0, c##i##0 = a##i##0, \
                       c##i##1 = a##i##0;
    DECL(0) DECL(1) DECL(2) DECL(3) DECL(4) DECL(5)
#undef DECL
    for (int k = 0; k < K; k++) {
        const float *p0 = x0 + brow[k], *p1 = x1 + brow[k];
        const __m256 w0 = _mm256_loadu_ps(wt + (long)k * ldw);
        const __m256 w1 = nv > 1 ? _mm256_loadu_ps(wt + (long)k * ldw + 8) : w0;
#define PIX(i)                                                                                 \
    if (m > i) {                                                                               \
        const __m256 u_ = _mm256_broadcast_ss(p0 + i), v_ = _mm256_broadcast_ss(p1 + i);       \
        a##i##0 = _mm256_fmadd_ps(u_, w0, a##i##0);                                            \
        c##i##0 = _mm256_fmadd_ps(v_, w0, c##i##0);                                            \
        if (nv > 1) {                                                                          \
            a##i##1 = _mm256_fmadd_ps(u_, w1, a##i##1);                                        \
            c##i##1 = _mm256_fmadd_ps(v_, w1, c##i##1);                                        \
        }                                                                                      \
    }
        PIX(0) PIX(1) PIX(2) PIX(3) PIX(4) PIX(5)
#undef PIX
    }
    const __m256 zero = _mm256_setzero_ps();
/* max_ps(t, mx) is t > mx ? t : mx: pool_rows' strict > in one op */
#define MAX(val) mx = _mm256_max_ps((val), mx);
#define WIN(j, l, r, v)                                                                        \
    if (m > l && nv > v) {                                                                     \
        const __m256 bv = _mm256_loadu_ps(b + 8 * v);                                          \
        __m256 mx = _mm256_add_ps(bv, a##l##v);                                                \
        MAX(_mm256_add_ps(bv, a##r##v))                                                        \
        MAX(_mm256_add_ps(bv, c##l##v))                                                        \
        MAX(_mm256_add_ps(bv, c##r##v))                                                        \
        _mm256_storeu_ps(po + (long)j * ldp + 8 * v, _mm256_max_ps(mx, zero));                 \
    }
    WIN(0, 0, 1, 0) WIN(0, 0, 1, 1) WIN(1, 2, 3, 0) WIN(1, 2, 3, 1) WIN(2, 4, 5, 0)
    WIN(2, 4, 5, 1)
#undef WIN
#undef MAX
}

/* The pooled rows of one image by pooled_tile: 16 channels a window at a
 * time (6 loads feed 8 FMAs: the reference conv1 block took 4.0 us, 4.6
 * with 8 channels and three windows, 13 loads for 12), 8 for the rest,
 * windows as evenly as they come. */
static T256 void pooled_rows(float *po, const float *im, int W, int ph, const long *brow, int K,
                             int PW, int OC, const float *wt, const float *b)
{
    const float *x0 = im + (long)2 * ph * W, *x1 = x0 + W;
    int c0 = 0;
    for (; c0 + 16 <= OC; c0 += 16)
        for (int p = 0; p < 2 * PW; p += 2)
            pooled_tile(2, 2, x0 + p, x1 + p, brow, K, wt + c0, OC, b + c0,
                        po + (long)(p / 2) * OC + c0, OC);
    if (c0 < OC)
        for (int t = 0, nt = (PW + 2) / 3, p = 0, m; t < nt; t++, p += m) {
            m = 2 * (PW / nt + (t < PW % nt));
            float *dst = po + (long)(p / 2) * OC + c0;
#define CASE(M_)                                                                               \
    case M_:                                                                                   \
        pooled_tile(M_, 1, x0 + p, x1 + p, brow, K, wt + c0, OC, b + c0, dst, OC);             \
        break;
            switch (m) {
                CASE(2) CASE(4) CASE(6)
            default:
                break;
            }
#undef CASE
        }
}

/* Lays out the start of scratch: *brow, the row offsets of the columns'
 * rows k = (c, kh, kw) in an image (2 K floats' room), then *wt, the
 * weights transposed to [K][OC]. Returns the rest, for the conv rows;
 * the last two start on cache lines. */
static float *prepare(float *scratch, const float *w, const mn_conv2d_dims *d, const long **brow,
                      const float **wt)
{
    const int K = d->C * d->K * d->K;
    long *rows = (long *)(void *)scratch;
    float *t = line_up(scratch + 2 * (size_t)K);
    mn_conv_row_offsets(rows, d);
    transpose_weights(t, w, d->OC, K);
    *brow = rows;
    *wt = t;
    return line_up(t + (size_t)K * d->OC);
}

/* The AVX2 paths' case: stride 1, no padding, whole vectors of output
 * channels. */
int mn_avx2_direct_applies(const mn_conv2d_dims *d)
{
    return d->S == 1 && d->P == 0 && d->OC % 8 == 0;
}

int mn_avx2_block_applies(const mn_conv2d_dims *d)
{
    return mn_avx2_direct_applies(d) && d->OH >= 2 && d->OW >= 2;
}

/* Steps of `step` conv rows of n pixels computed together, at most `max`:
 * as many as fill 16 KB (half of the 32 KB L1 of most CPUs without
 * AVX-512), so that a K block's weights are read once for all of them;
 * at least one. */
static int group_steps(int n, int OC, int step, int max)
{
    int g = (16 << 10) / (step * n * OC * (int)sizeof(float));
    return g < 1 ? 1 : g > max ? max : g;
}

size_t mn_avx2_conv_scratch_floats(const mn_conv2d_dims *d)
{
    size_t CKK = (size_t)d->C * d->K * d->K, OC = (size_t)d->OC;
    size_t g = (size_t)group_steps(d->OW, d->OC, 1, d->OH);
    /* row offsets (longs), transposed weights, a group's conv rows */
    return 2 * CKK + CKK * OC + g * (size_t)d->OW * OC + 2 * LINE_FLOATS;
}

/* y[i] = max(y[i], 0) for i < n (a multiple of 8): the bits of
 * mn_relu_forward (NaN and -0 become +0). */
static T256 void relu_in_place(float *y, size_t n)
{
    for (size_t i = 0; i < n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(y + i), _mm256_setzero_ps()));
}

void mn_avx2_conv_forward(float *out, const float *in, const float *w, const float *b,
                          const mn_conv2d_dims *d, float *scratch, int relu, int layout)
{
    const int K = d->C * d->K * d->K, OC = d->OC, OH = d->OH, OW = d->OW, W = d->W;
    const int kcb = mn_gemm_kc(K), G = group_steps(OW, OC, 1, OH);
    const size_t in_size = (size_t)d->C * d->H * W, out_size = (size_t)OC * OH * OW;
    const long *brow;
    const float *wt;
    float *y = prepare(scratch, w, d, &brow, &wt);
    for (int i = 0; i < d->N; i++) {
        const float *im = in + (size_t)i * in_size;
        float *o = out + (size_t)i * out_size;
        for (int oh0 = 0; oh0 < OH; oh0 += G) {
            const int g = OH - oh0 < G ? OH - oh0 : G;
            /* the rows come out channels-last: stored in place when wanted */
            float *rows = layout & MN_OUT_CHANNELS_LAST ? o + (long)oh0 * OW * OC : y;
            direct_rows(im + (long)oh0 * W, W, g, brow, K, kcb, OW, OC, wt, b, rows);
            if (relu)
                relu_in_place(rows, (size_t)g * OW * OC);
            if (rows != y)
                continue;
            for (int r = 0; r < g; r++)
                to_planes(o + (long)(oh0 + r) * OW, y + (size_t)r * OW * OC, OW, OC,
                          (long)OH * OW);
        }
    }
}

size_t mn_avx2_block_scratch_floats(const mn_conv2d_dims *d)
{
    size_t CKK = (size_t)d->C * d->K * d->K, OC = (size_t)d->OC;
    size_t PH = (size_t)d->OH / 2, PW = (size_t)d->OW / 2;
    size_t g = PH && PW ? (size_t)group_steps(2 * (int)PW, (int)OC, 2, (int)PH) : 0;
    /* row offsets (longs), transposed weights, a group's conv rows, a
     * pooled row of outputs and of winners */
    return 2 * CKK + CKK * OC + 2 * g * 2 * PW * OC + 2 * PW * OC + 2 * LINE_FLOATS;
}

void mn_avx2_block_forward(float *out, int32_t *argmax, const float *in, const float *w,
                           const float *b, const mn_conv2d_dims *d, float *scratch, int layout)
{
    const int out_cl = layout & MN_OUT_CHANNELS_LAST; /* pooled rows stored as they are */
    const int K = d->C * d->K * d->K, OC = d->OC, OW = d->OW, W = d->W;
    const int PH = d->OH / 2, PW = d->OW / 2, kcb = mn_gemm_kc(K);
    const int G = group_steps(2 * PW, OC, 2, PH);
    const size_t in_size = (size_t)d->C * d->H * W, out_size = (size_t)OC * PH * PW;
    const size_t row = (size_t)2 * PW * OC; /* one conv row's [pixel][channel] */
    const long *brow;
    const float *wt;
    float *y = prepare(scratch, w, d, &brow, &wt);
    float *po = y + 2 * (size_t)G * row;
    int32_t *pa = (int32_t *)(void *)(po + (size_t)PW * OC);

    if (!argmax && K <= kcb) { /* inference, one K block: pool in registers */
        for (int i = 0; i < d->N; i++)
            for (int ph = 0; ph < PH; ph++) {
                float *o = out + (size_t)i * out_size;
                pooled_rows(out_cl ? o + (long)ph * PW * OC : po, in + (size_t)i * in_size, W, ph,
                            brow, K, PW, OC, wt, b);
                if (!out_cl)
                    to_planes(o + (long)ph * PW, po, PW, OC, (long)PH * PW);
            }
        return;
    }
    for (int i = 0; i < d->N; i++) {
        const float *im = in + (size_t)i * in_size;
        float *o = out + (size_t)i * out_size;
        int32_t *a = argmax ? argmax + (size_t)i * out_size : NULL;
        for (int ph0 = 0; ph0 < PH; ph0 += G) {
            const int g = PH - ph0 < G ? PH - ph0 : G;
            direct_rows(im + (long)2 * ph0 * W, W, 2 * g, brow, K, kcb, 2 * PW, OC, wt, b, y);
            for (int ph = ph0; ph < ph0 + g; ph++) {
                const float *y0 = y + (size_t)2 * (ph - ph0) * row;
                pool_rows(out_cl ? o + (long)ph * PW * OC : po, pa, y0, y0 + row, PW, OC, 2 * ph,
                          OW);
                if (out_cl)
                    continue;
                to_planes(o + (long)ph * PW, po, PW, OC, (long)PH * PW);
                if (argmax)
                    to_planes((float *)(void *)(a + (long)ph * PW), (const float *)(const void *)pa,
                              PW, OC, (long)PH * PW);
            }
        }
    }
}
