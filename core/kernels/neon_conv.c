/* neon_conv.c: the convolution layer and the conv -> ReLU -> 2x2 max-pool
 * block forward in NEON (stride 1, no padding, output channels a multiple
 * of 4): avx2_conv.c's design with 4 lanes and 32 registers. The lanes
 * hold 4 output channels and each register row one pixel: a tile is up to
 * 12 pixels of one conv row for 4 or 8 channels, 6 for 16, read from the
 * input in place by broadcasts, against the weights transposed once per
 * call. Rows are computed a group at a time into a buffer of half of L1,
 * then turned into the output planes; the block computes only the conv
 * rows and columns the pool reads.
 *
 * Same bits as the GEMM path at this level (neon_gemm.c): every output is
 * bias + (the first K block's sum) + (the next block's) ..., each sum a
 * chain of fused multiply-adds in k order from zero, with the K blocks of
 * mn_gemm_kc; the pool compares in the same order with the same strict >,
 * and ReLU is a comparison, not FMAX, so that NaN becomes 0 as in
 * `m > 0 ? m : 0`. */
#include <arm_neon.h>
#include <stdint.h>

#include "conv2d_internal.h"
#include "neon.h"

#define INL static inline __attribute__((always_inline))

/* p rounded up to a cache line: scratch sizes add LINE_FLOATS per buffer. */
#define LINE_FLOATS 16
static inline float *line_up(float *p)
{
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* v > 0 ? v : 0, lane by lane: NaN and -0 become +0 (mn_relu_forward). */
INL float32x4_t relu4(float32x4_t v)
{
    const float32x4_t zero = vdupq_n_f32(0.0f);
    return vbslq_f32(vcgtq_f32(v, zero), v, zero);
}

/* y[i*ldy + 4v ..] (+)= sum over k in [k0, k1) of in[brow[k] + i] *
 * wt[k*ldw + 4v ..] for i < m pixels and v < nv vectors; the first block
 * adds onto the bias b instead of y. m and nv are constants at every call
 * site, so the accumulators (24 at most) stay in registers. */
INL void tile(const int m, const int nv, const float *in, const long *brow, int k0, int k1,
              const float *wt, int ldw, const float *b, int first, float *y, int ldy)
{
    float32x4_t acc[12][4];
    for (int i = 0; i < m; i++)
        for (int v = 0; v < nv; v++)
            acc[i][v] = vdupq_n_f32(0.0f);
    for (int k = k0; k < k1; k++) {
        const float *x = in + brow[k];
        const float *wk = wt + (long)k * ldw;
        float32x4_t wv[4];
        for (int v = 0; v < nv; v++)
            wv[v] = vld1q_f32(wk + 4 * v);
        for (int i = 0; i < m; i++) {
            const float32x4_t xi = vdupq_n_f32(x[i]);
            for (int v = 0; v < nv; v++)
                acc[i][v] = vfmaq_f32(acc[i][v], xi, wv[v]);
        }
    }
    for (int i = 0; i < m; i++)
        for (int v = 0; v < nv; v++) {
            float *p = y + (long)i * ldy + 4 * v;
            const float32x4_t c = first ? vld1q_f32(b + 4 * v) : vld1q_f32(p);
            vst1q_f32(p, vaddq_f32(c, acc[i][v]));
        }
}

/* Conv rows r < rows (input at in + r*ldi, output at y + r*n*ldy), first
 * n pixels, 4*nv channels (wt, b and y point at the first), over the K
 * block [k0, k1): the block's weights stay in L1 across the rows. Tiles
 * as even as they come. */
INL void conv_rows_nv(const int nv, const float *in, long ldi, int rows, const long *brow,
                      int k0, int k1, int n, const float *wt, int ldw, const float *b, float *y,
                      int ldy)
{
    const int mr = nv == 4 ? 6 : 12, nt = (n + mr - 1) / mr;
    for (int r = 0; r < rows; r++)
        for (int t = 0, p = 0; t < nt; t++) {
            const int m = n / nt + (t < n % nt);
            const float *x = in + r * ldi + p;
            float *yp = y + ((long)r * n + p) * ldy;
#define M_CASE(M_)                                                                             \
    case M_:                                                                                   \
        tile(M_, nv, x, brow, k0, k1, wt, ldw, b, k0 == 0, yp, ldy);                           \
        break;
            switch (m) {
                M_CASE(1) M_CASE(2) M_CASE(3) M_CASE(4) M_CASE(5) M_CASE(6)
            default:
                if (mr > 6)
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

/* y[(r*n + p)*OC + c]: conv rows r < rows whose inputs start at in + r*ldi,
 * first n pixels, all OC channels (a multiple of 4). */
static void conv_rows(const float *in, long ldi, int rows, const long *brow, int K, int kcb, int n,
                      int OC, const float *wt, const float *b, float *y)
{
    for (int k0 = 0; k0 < K; k0 += kcb) {
        const int k1 = K - k0 < kcb ? K : k0 + kcb;
        int c0 = 0;
        for (; c0 + 16 <= OC; c0 += 16)
            conv_rows_nv(4, in, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
        for (; c0 + 8 <= OC; c0 += 8)
            conv_rows_nv(2, in, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
        if (c0 < OC)
            conv_rows_nv(1, in, ldi, rows, brow, k0, k1, n, wt + c0, OC, b + c0, y + c0, OC);
    }
}

/* dst[c*ldp + p] = src[p*OC + c] for p < n: a row from [pixel][channel]
 * into the output planes (moves bits: winners too). */
static void to_planes(float *dst, const float *src, int n, int OC, long ldp)
{
    for (int c = 0; c < OC; c++)
        for (int p = 0; p < n; p++)
            dst[c * ldp + p] = src[(long)p * OC + c];
}

/* The 2x2 windows of conv rows y0, y1 ([pixel][OC]), pooled and ReLU'd
 * into po/pa[pw*OC + c]; winners as indices in the OH x OW plane of row
 * oh0 (= 2 ph). The same order of comparisons as mn_maxpool2x2_row. */
static void pool_rows(float *po, int32_t *pa, const float *y0, const float *y1, int PW, int OC,
                      int oh0, int OW)
{
    for (int pw = 0; pw < PW; pw++) {
        const int i = oh0 * OW + 2 * pw;
        const int32x4_t i01 = vdupq_n_s32(i + 1), i10 = vdupq_n_s32(i + OW);
        const int32x4_t i11 = vdupq_n_s32(i + OW + 1);
        for (int c = 0; c < OC; c += 4) {
            const float *p0 = y0 + (long)2 * pw * OC + c, *p1 = y1 + (long)2 * pw * OC + c;
            float32x4_t m = vld1q_f32(p0);
            int32x4_t best = vdupq_n_s32(i);
#define TAKE(val, idx)                                                                         \
    do {                                                                                       \
        const float32x4_t v_ = (val);                                                          \
        const uint32x4_t gt_ = vcgtq_f32(v_, m);                                               \
        m = vbslq_f32(gt_, v_, m);                                                             \
        best = vbslq_s32(gt_, idx, best);                                                      \
    } while (0)
            TAKE(vld1q_f32(p0 + OC), i01);
            TAKE(vld1q_f32(p1), i10);
            TAKE(vld1q_f32(p1 + OC), i11);
#undef TAKE
            vst1q_f32(po + (long)pw * OC + c, relu4(m));
            vst1q_s32(pa + (long)pw * OC + c, best);
        }
    }
}

/* Lays out the start of scratch: *brow, the row offsets of the columns'
 * rows k = (c, kh, kw) in an image (2 K floats' room), then *wt, the
 * weights transposed to [K][OC]. Returns the rest, for the conv rows. */
static float *prepare(float *scratch, const float *w, const mn_conv2d_dims *d, const long **brow,
                      const float **wt)
{
    const int K = d->C * d->K * d->K, OC = d->OC;
    long *rows = (long *)(void *)scratch;
    float *t = line_up(scratch + 2 * (size_t)K);
    mn_conv_row_offsets(rows, d);
    for (int oc = 0; oc < OC; oc++)
        for (int k = 0; k < K; k++)
            t[(long)k * OC + oc] = w[(long)oc * K + k];
    *brow = rows;
    *wt = t;
    return line_up(t + (size_t)K * OC);
}

/* The NEON paths' case: stride 1, no padding, whole vectors of output
 * channels. */
int mn_neon_direct_applies(const mn_conv2d_dims *d)
{
    return d->S == 1 && d->P == 0 && d->OC % 4 == 0;
}

int mn_neon_block_applies(const mn_conv2d_dims *d)
{
    return mn_neon_direct_applies(d) && d->OH >= 2 && d->OW >= 2;
}

/* Steps of `step` conv rows of n pixels computed together, at most `max`:
 * as many as fill 16 KB (half of a 32 KB L1), so that a K block's weights
 * are read once for all of them; at least one. */
static int group_steps(int n, int OC, int step, int max)
{
    int g = (16 << 10) / (step * n * OC * (int)sizeof(float));
    return g < 1 ? 1 : g > max ? max : g;
}

size_t mn_neon_conv_scratch_floats(const mn_conv2d_dims *d)
{
    size_t CKK = (size_t)d->C * d->K * d->K, OC = (size_t)d->OC;
    size_t g = (size_t)group_steps(d->OW, d->OC, 1, d->OH);
    /* row offsets (longs), transposed weights, a group's conv rows */
    return 2 * CKK + CKK * OC + g * (size_t)d->OW * OC + 2 * LINE_FLOATS;
}

void mn_neon_conv_forward(float *out, const float *in, const float *w, const float *b,
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
            const size_t n = (size_t)g * OW * OC;
            conv_rows(im + (long)oh0 * W, W, g, brow, K, kcb, OW, OC, wt, b, rows);
            if (relu)
                for (size_t j = 0; j < n; j += 4)
                    vst1q_f32(rows + j, relu4(vld1q_f32(rows + j)));
            if (rows != y)
                continue;
            for (int r = 0; r < g; r++)
                to_planes(o + (long)(oh0 + r) * OW, y + (size_t)r * OW * OC, OW, OC,
                          (long)OH * OW);
        }
    }
}

size_t mn_neon_block_scratch_floats(const mn_conv2d_dims *d)
{
    size_t CKK = (size_t)d->C * d->K * d->K, OC = (size_t)d->OC;
    size_t PH = (size_t)d->OH / 2, PW = (size_t)d->OW / 2;
    size_t g = PH && PW ? (size_t)group_steps(2 * (int)PW, (int)OC, 2, (int)PH) : 0;
    /* row offsets (longs), transposed weights, a group's conv rows, a
     * pooled row of outputs and of winners */
    return 2 * CKK + CKK * OC + 2 * g * 2 * PW * OC + 2 * PW * OC + 2 * LINE_FLOATS;
}

void mn_neon_block_forward(float *out, int32_t *argmax, const float *in, const float *w,
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

    for (int i = 0; i < d->N; i++) {
        const float *im = in + (size_t)i * in_size;
        float *o = out + (size_t)i * out_size;
        int32_t *a = argmax ? argmax + (size_t)i * out_size : NULL;
        for (int ph0 = 0; ph0 < PH; ph0 += G) {
            const int g = PH - ph0 < G ? PH - ph0 : G;
            conv_rows(im + (long)2 * ph0 * W, W, 2 * g, brow, K, kcb, 2 * PW, OC, wt, b, y);
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
