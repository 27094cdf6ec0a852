/* conv2d.c: 2-D convolution, forward and backward, NCHW. The fast path
 * lowers each image to columns (im2col) and multiplies with mn_gemm; the
 * *_ref twins are direct loops kept as the tests' oracle. */
#include <string.h>

#include "conv2d_internal.h"
#include "gemm.h"
#include "mnist/layers.h"

int mn_conv2d_dims_finish(mn_conv2d_dims *d)
{
    if (d->N < 1 || d->C < 1 || d->H < 1 || d->W < 1 || d->OC < 1 || d->K < 1 ||
        d->S < 1 || d->P < 0 || d->P >= d->K)
        return -1;
    if (d->H + 2 * d->P < d->K || d->W + 2 * d->P < d->K)
        return -1;
    d->OH = (d->H + 2 * d->P - d->K) / d->S + 1;
    d->OW = (d->W + 2 * d->P - d->K) / d->S + 1;
    return 0;
}

size_t mn_conv2d_scratch_floats(const mn_conv2d_dims *d)
{
    /* One image's columns, and as many again for their gradient. */
    return 2 * (size_t)d->C * d->K * d->K * d->OH * d->OW;
}

void mn_conv_row_offsets(long *brow, const mn_conv2d_dims *d)
{
    int r = 0;
    for (int c = 0; c < d->C; c++)
        for (int kh = 0; kh < d->K; kh++)
            for (int kw = 0; kw < d->K; kw++)
                brow[r++] = ((long)c * d->H + kh) * d->W + kw;
}

/* col[C*K*K, OH*OW] from one image im[C,H,W]; zero where the window
 * reaches into the padding. */
void mn_im2col(float *col, const float *im, const mn_conv2d_dims *d)
{
    const int K = d->K, S = d->S, P = d->P, OH = d->OH, OW = d->OW;
    for (int c = 0; c < d->C; c++)
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                float *row = col + ((size_t)(c * K + kh) * K + kw) * OH * OW;
                const float *plane = im + (size_t)c * d->H * d->W;
                for (int oh = 0; oh < OH; oh++) {
                    int ih = oh * S - P + kh;
                    float *dst = row + (size_t)oh * OW;
                    if (ih < 0 || ih >= d->H) {
                        memset(dst, 0, sizeof(float) * OW);
                        continue;
                    }
                    const float *src = plane + (size_t)ih * d->W;
                    if (S == 1 && P == 0) { /* rows of a few dozen floats: no memcpy call */
#pragma omp simd
                        for (int ow = 0; ow < OW; ow++)
                            dst[ow] = src[kw + ow];
                        continue;
                    }
                    for (int ow = 0; ow < OW; ow++) {
                        int iw = ow * S - P + kw;
                        dst[ow] = (iw >= 0 && iw < d->W) ? src[iw] : 0.0f;
                    }
                }
            }
}

/* im[C,H,W] += the columns col[C*K*K, OH*OW] folded back (im2col's adjoint). */
void mn_col2im_add(float *im, const float *col, const mn_conv2d_dims *d)
{
    const int K = d->K, S = d->S, P = d->P, OH = d->OH, OW = d->OW;
    for (int c = 0; c < d->C; c++)
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                const float *row = col + ((size_t)(c * K + kh) * K + kw) * OH * OW;
                float *plane = im + (size_t)c * d->H * d->W;
                for (int oh = 0; oh < OH; oh++) {
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= d->H)
                        continue;
                    const float *src = row + (size_t)oh * OW;
                    float *dst = plane + (size_t)ih * d->W;
                    if (S == 1 && P == 0) { /* the window row lies inside the image */
#pragma omp simd
                        for (int ow = 0; ow < OW; ow++)
                            dst[kw + ow] += src[ow];
                        continue;
                    }
                    for (int ow = 0; ow < OW; ow++) {
                        int iw = ow * S - P + kw;
                        if (iw >= 0 && iw < d->W)
                            dst[iw] += src[ow];
                    }
                }
            }
}

void mn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                       const mn_conv2d_dims *d, float *scratch)
{
    const int CKK = d->C * d->K * d->K, OHW = d->OH * d->OW;
    for (int n = 0; n < d->N; n++) {
        const float *im = in + (size_t)n * d->C * d->H * d->W;
        float *o = out + (size_t)n * d->OC * OHW;
        for (int oc = 0; oc < d->OC; oc++)
#pragma omp simd
            for (int i = 0; i < OHW; i++)
                o[(size_t)oc * OHW + i] = b[oc];
        mn_im2col(scratch, im, d);
        /* out[OC, OHW] += w[OC, CKK] col[CKK, OHW] */
        mn_gemm(0, 0, d->OC, OHW, CKK, w, CKK, scratch, OHW, 1.0f, o, OHW);
    }
}

void mn_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, const mn_conv2d_dims *d,
                        float *scratch)
{
    const int CKK = d->C * d->K * d->K, OHW = d->OH * d->OW;
    float *col = scratch, *dcol = scratch + (size_t)CKK * OHW;
    for (int n = 0; n < d->N; n++) {
        const float *im = in + (size_t)n * d->C * d->H * d->W;
        const float *g = dout + (size_t)n * d->OC * OHW;
        for (int oc = 0; db && oc < d->OC; oc++) {
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int i = 0; i < OHW; i++)
                s += g[(size_t)oc * OHW + i];
            db[oc] += s;
        }
        if (dw) {
            mn_im2col(col, im, d);
            /* dw[OC, CKK] += dout[OC, OHW] col^T */
            mn_gemm(0, 1, d->OC, CKK, OHW, g, OHW, col, OHW, 1.0f, dw, CKK);
        }
        if (din) {
            float *di = din + (size_t)n * d->C * d->H * d->W;
            /* dcol[CKK, OHW] = w^T dout */
            mn_gemm(1, 0, CKK, OHW, d->OC, w, CKK, g, OHW, 0.0f, dcol, OHW);
            memset(di, 0, sizeof(float) * d->C * d->H * d->W);
            mn_col2im_add(di, dcol, d);
        }
    }
}

void mn_conv2d_forward_ref(float *out, const float *in, const float *w, const float *b,
                           const mn_conv2d_dims *d)
{
    for (int n = 0; n < d->N; n++)
        for (int oc = 0; oc < d->OC; oc++)
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    double s = b[oc];
                    for (int c = 0; c < d->C; c++)
                        for (int kh = 0; kh < d->K; kh++)
                            for (int kw = 0; kw < d->K; kw++) {
                                int ih = oh * d->S - d->P + kh, iw = ow * d->S - d->P + kw;
                                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                                    continue;
                                s += (double)in[((size_t)(n * d->C + c) * d->H + ih) * d->W + iw] *
                                     w[((size_t)(oc * d->C + c) * d->K + kh) * d->K + kw];
                            }
                    out[((size_t)(n * d->OC + oc) * d->OH + oh) * d->OW + ow] = (float)s;
                }
}

void mn_conv2d_backward_ref(float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, const mn_conv2d_dims *d)
{
    if (din)
        memset(din, 0, sizeof(float) * d->N * d->C * d->H * d->W);
    for (int n = 0; n < d->N; n++)
        for (int oc = 0; oc < d->OC; oc++)
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    float g = dout[((size_t)(n * d->OC + oc) * d->OH + oh) * d->OW + ow];
                    db[oc] += g;
                    for (int c = 0; c < d->C; c++)
                        for (int kh = 0; kh < d->K; kh++)
                            for (int kw = 0; kw < d->K; kw++) {
                                int ih = oh * d->S - d->P + kh, iw = ow * d->S - d->P + kw;
                                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                                    continue;
                                size_t ii = ((size_t)(n * d->C + c) * d->H + ih) * d->W + iw;
                                size_t wi = ((size_t)(oc * d->C + c) * d->K + kh) * d->K + kw;
                                dw[wi] += g * in[ii];
                                if (din)
                                    din[ii] += g * w[wi];
                            }
                }
}
