/* convblock.c: the fused conv2d -> ReLU -> max-pool block (convblock.h).
 * Per image: im2col, one GEMM onto the bias, then pooling and ReLU in one
 * pass over the conv output while it is in cache; backward routes the pooled gradient
 * through the winners (masked by ReLU) and runs the conv's two GEMMs. The
 * unfused layers (conv2d.c, activation.c, pool.c) stay for other
 * architectures and as the tests' reference. */
#include <string.h>

#include "conv2d_internal.h"
#include "convblock.h"
#include "gemm.h"
#include "pool_internal.h"

int mn_convblock_ph(const mn_conv2d_dims *d, int PK, int PS) { return (d->OH - PK) / PS + 1; }
int mn_convblock_pw(const mn_conv2d_dims *d, int PK, int PS) { return (d->OW - PK) / PS + 1; }

/* A stride-1 convolution without padding reads, for each row r = (c, kh,
 * kw) of its columns, one contiguous run of the input: the image from
 * offset c*H*W + kh*W + kw on, if the output is laid out "wide", OH rows of
 * W (not OW) floats, the last W - OW of each row being garbage (windows
 * that wrap around the image's edge). mn_gemm_rows multiplies those runs in
 * place: no im2col copy, at the price of computing W/OW more columns. */
static int wide(const mn_conv2d_dims *d) { return d->S == 1 && d->P == 0; }

/* Columns of the wide layout: up to the last valid output. */
static int wide_n(const mn_conv2d_dims *d) { return (d->OH - 1) * d->W + d->OW; }

size_t mn_convblock_scratch_floats(const mn_conv2d_dims *d)
{
    /* Row offsets (longs), the columns and their gradient, the conv output
     * and its gradient; sized for both layouts. */
    size_t ckk = (size_t)d->C * d->K * d->K, n = (size_t)d->OH * d->W;
    if ((size_t)d->OH * d->OW > n)
        n = (size_t)d->OH * d->OW;
    return 2 * ckk + 2 * ckk * n + 2 * (size_t)d->OC * n;
}

/* brow[r] for the columns' rows r = (c, kh, kw) of the wide layout. */
static long *wide_rows(float *scratch, const mn_conv2d_dims *d)
{
    long *brow = (long *)(void *)scratch;
    mn_conv_row_offsets(brow, d);
    return brow;
}

/* out/argmax [OC,PH,PW] from one image's conv output y (bias included),
 * planes ldp floats apart with rows of ldr floats: the max over the window,
 * then ReLU. ReLU is monotonic, so this equals pool(relu(y)), and where the
 * output is positive the winner is the same element (the first maximum);
 * where it is not, the output is 0 either way and the gradient is masked.
 * argmax is the winner's index in an OH x OW plane. */
static void relu_pool(float *out, int32_t *argmax, const float *y, long ldp, int ldr,
                      const mn_conv2d_dims *d, int PK, int PS)
{
    const int OW = d->OW, PH = mn_convblock_ph(d, PK, PS), PW = mn_convblock_pw(d, PK, PS);
    for (int c = 0; c < d->OC; c++) {
        const float *plane = y + (size_t)c * ldp;
        float *o = out + (size_t)c * PH * PW;
        int32_t *a = argmax ? argmax + (size_t)c * PH * PW : NULL;
        if (PK == 2 && PS == 2) {
            for (int ph = 0; ph < PH; ph++) {
                const float *r0 = plane + (size_t)2 * ph * ldr;
                float *orow = o + (size_t)ph * PW;
                mn_maxpool2x2_row_relu(orow, a ? a + (size_t)ph * PW : NULL, r0, r0 + ldr, PW,
                                       2 * ph * OW, OW, 1);
            }
            continue;
        }
        for (int ph = 0; ph < PH; ph++)
            for (int pw = 0; pw < PW; pw++) {
                int bh = ph * PS, bw = pw * PS;
                float m = plane[bh * ldr + bw];
                for (int kh = 0; kh < PK; kh++)
                    for (int kw = 0; kw < PK; kw++) {
                        float v = plane[(ph * PS + kh) * ldr + pw * PS + kw];
                        if (v > m) { /* strict: the first maximum wins, NaN never */
                            m = v;
                            bh = ph * PS + kh;
                            bw = pw * PS + kw;
                        }
                    }
                o[ph * PW + pw] = m > 0.0f ? m : 0.0f;
                if (a)
                    a[ph * PW + pw] = bh * OW + bw;
            }
    }
}

/* y[OC, n] = b[oc] per row: the GEMM then accumulates onto the bias, in
 * the order mn_conv2d_forward uses, so the block's output has the same bits
 * as the unfused layers' (a model serves the same probabilities either way). */
static void fill_bias(float *y, const float *b, int OC, int n)
{
    for (int c = 0; c < OC; c++) {
        float *row = y + (size_t)c * n;
        const float bc = b[c];
#pragma omp simd
        for (int j = 0; j < n; j++)
            row[j] = bc;
    }
}

void mn_convblock_forward(float *out, int32_t *argmax, const float *in, const float *w,
                          const float *b, const mn_conv2d_dims *d, int PK, int PS,
                          float *scratch)
{
    const int CKK = d->C * d->K * d->K, OHW = d->OH * d->OW;
    const size_t in_size = (size_t)d->C * d->H * d->W;
    const size_t out_size = (size_t)d->OC * mn_convblock_ph(d, PK, PS) * mn_convblock_pw(d, PK, PS);
    if (wide(d)) {
        const long *brow = wide_rows(scratch, d);
        const int n = wide_n(d);
        float *y = scratch + 2 * (size_t)CKK;
        for (int i = 0; i < d->N; i++) {
            fill_bias(y, b, d->OC, n);
            /* y[OC, n] += w[OC, CKK] cols[CKK, n], the columns read in place */
            mn_gemm_rows(0, 0, d->OC, n, CKK, w, CKK, in + (size_t)i * in_size, brow, 1.0f, y,
                         n);
            relu_pool(out + (size_t)i * out_size, argmax ? argmax + (size_t)i * out_size : NULL,
                      y, n, d->W, d, PK, PS);
        }
        return;
    }
    float *col = scratch, *y = scratch + (size_t)CKK * OHW;
    for (int i = 0; i < d->N; i++) {
        mn_im2col(col, in + (size_t)i * in_size, d);
        fill_bias(y, b, d->OC, OHW);
        /* y[OC, OHW] += w[OC, CKK] col[CKK, OHW] */
        mn_gemm(0, 0, d->OC, OHW, CKK, w, CKK, col, OHW, 1.0f, y, OHW);
        relu_pool(out + (size_t)i * out_size, argmax ? argmax + (size_t)i * out_size : NULL, y,
                  OHW, d->OW, d, PK, PS);
    }
}

void mn_convblock_backward(float *din, float *dw, float *db, const float *dout,
                           const float *out, const int32_t *argmax, const float *in,
                           const float *w, const mn_conv2d_dims *d, int PK, int PS,
                           float *scratch)
{
    const int CKK = d->C * d->K * d->K, OHW = d->OH * d->OW, OW = d->OW;
    const int PHW = mn_convblock_ph(d, PK, PS) * mn_convblock_pw(d, PK, PS);
    const size_t in_size = (size_t)d->C * d->H * d->W, out_size = (size_t)d->OC * PHW;
    const int is_wide = wide(d);
    /* n columns per output plane, whose rows are ldr floats apart. */
    const int n = is_wide ? wide_n(d) : OHW, ldr = is_wide ? d->W : OW;
    const long *brow = is_wide ? wide_rows(scratch, d) : NULL;
    float *col = scratch + 2 * (size_t)CKK, *dcol = col + (size_t)CKK * n;
    float *dy = dcol + (size_t)CKK * n;
    for (int i = 0; i < d->N; i++) {
        const float *g = dout + (size_t)i * out_size, *o = out + (size_t)i * out_size;
        const int32_t *a = argmax + (size_t)i * out_size;
        const float *im = in + (size_t)i * in_size;
        /* dy[OC, n]: each pooled gradient to its window's winner, where the
         * ReLU let it through (output > 0); windows may overlap. The wide
         * layout's garbage columns stay 0, so they add nothing below. */
        memset(dy, 0, sizeof(float) * (size_t)d->OC * n);
        for (int c = 0; c < d->OC; c++) {
            float *dyc = dy + (size_t)c * n;
            const float *gc = g + (size_t)c * PHW, *oc = o + (size_t)c * PHW;
            const int32_t *ac = a + (size_t)c * PHW;
            float s = 0.0f;
            for (int j = 0; j < PHW; j++)
                if (oc[j] > 0.0f) {
                    dyc[ac[j] / OW * ldr + ac[j] % OW] += gc[j];
                    s += gc[j];
                }
            db[c] += s;
        }
        /* dw[OC, CKK] += dy[OC, n] cols^T */
        if (is_wide) {
            mn_gemm_rows(0, 1, d->OC, CKK, n, dy, n, im, brow, 1.0f, dw, CKK);
        } else {
            mn_im2col(col, im, d);
            mn_gemm(0, 1, d->OC, CKK, n, dy, n, col, n, 1.0f, dw, CKK);
        }
        if (!din)
            continue;
        float *di = din + (size_t)i * in_size;
        /* dcol[CKK, n] = w^T dy, folded back onto the image */
        mn_gemm(1, 0, CKK, n, d->OC, w, CKK, dy, n, 0.0f, dcol, n);
        memset(di, 0, sizeof(float) * in_size);
        if (!is_wide) {
            mn_col2im_add(di, dcol, d);
            continue;
        }
        for (int r = 0; r < CKK; r++) {
            float *dst = di + brow[r];
            const float *src = dcol + (size_t)r * n;
#pragma omp simd
            for (int j = 0; j < n; j++)
                dst[j] += src[j];
        }
    }
}
