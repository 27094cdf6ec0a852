/* neon_winograd.c: F(2x2, 3x3) convolution forward in NEON (see
 * kernels.h), after avx2_winograd.c's formulas, one tile at a time: the
 * weights are transformed once, U = G g G^T ([16][C][OC]), per call or
 * kept with the model; for each 2x2 output tile the 4x4 input patch d
 * becomes V = B^T d B ([16][C]), each of the 16 points' products
 * M = V U runs 4 output channels per vector, and Y = A^T M A + b gives
 * the 2x2 outputs (the fused block takes their max and ReLU: one pool
 * window). ReLU is a comparison, so that NaN becomes 0.
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1] */
#include <arm_neon.h>

#include "neon.h"

/* 3x3 stride 1 unpadded, whole vectors of input and output channels. */
static int wg_case(const mn_conv2d_dims *d)
{
    return d->K == 3 && d->S == 1 && d->P == 0 && d->OC % 4 == 0 && d->C % 4 == 0;
}

int mn_neon_winograd_applies(const mn_conv2d_dims *d, int pooled)
{
    return wg_case(d) && (!pooled || (d->OH >= 2 && d->OW >= 2));
}

size_t mn_neon_winograd_weights_floats(const mn_conv2d_dims *d)
{
    return wg_case(d) ? (size_t)16 * d->C * d->OC : 0;
}

/* Own U (when none is kept), V of one tile, M of one tile. */
size_t mn_neon_winograd_scratch_floats(const mn_conv2d_dims *d)
{
    if (!wg_case(d))
        return 0;
    return (size_t)16 * d->C * d->OC + 16 * (size_t)d->C + 16 * (size_t)d->OC;
}

/* U[(xi*C + c)*OC + oc] = (G g G^T)[xi] for g = w[oc][c]. */
void mn_neon_winograd_transform(float *u, const float *w, const mn_conv2d_dims *d, float *tmp)
{
    (void)tmp;
    const int C = d->C, OC = d->OC;
    for (int oc = 0; oc < OC; oc++)
        for (int c = 0; c < C; c++) {
            const float *g = w + ((long)oc * C + c) * 9;
            float r[4][3];
            for (int q = 0; q < 3; q++) { /* G g: rows */
                const float s = g[q] + g[6 + q];
                r[0][q] = g[q];
                r[1][q] = 0.5f * (s + g[3 + q]);
                r[2][q] = 0.5f * (s - g[3 + q]);
                r[3][q] = g[6 + q];
            }
            for (int i = 0; i < 4; i++) { /* (G g) G^T: columns */
                const float s = r[i][0] + r[i][2];
                const float v[4] = {r[i][0], 0.5f * (s + r[i][1]), 0.5f * (s - r[i][1]), r[i][2]};
                for (int j = 0; j < 4; j++)
                    u[((long)(i * 4 + j) * C + c) * OC + oc] = v[j];
            }
        }
}

static float32x4_t relu4(float32x4_t v)
{
    const float32x4_t zero = vdupq_n_f32(0.0f);
    return vbslq_f32(vcgtq_f32(v, zero), v, zero);
}

/* The forward of both entry points: pooled selects the fused block, relu
 * a plain convolution's fused ReLU, layout the channels-last flags. */
static void run(float *out, const float *in, const float *w, const float *u, const float *b,
                const mn_conv2d_dims *d, float *scratch, int pooled, int relu, int layout)
{
    const int in_cl = layout & MN_IN_CHANNELS_LAST, out_cl = layout & MN_OUT_CHANNELS_LAST;
    const int C = d->C, OC = d->OC, H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const int th = pooled ? OH / 2 : (OH + 1) / 2, tw = pooled ? OW / 2 : (OW + 1) / 2;
    float *V = scratch + (size_t)16 * C * OC, *M = V + (size_t)16 * C;
    if (!u) {
        mn_neon_winograd_transform(scratch, w, d, NULL);
        u = scratch;
    }
    const size_t in_size = (size_t)C * H * W;
    const long plane = pooled ? (long)th * tw : (long)OH * OW;
    for (int n = 0; n < d->N; n++) {
        const float *im = in + (size_t)n * in_size;
        float *o = out + (size_t)n * OC * plane;
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++) {
                for (int c = 0; c < C; c++) {
                    float p[4][4], t[4][4];
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++) {
                            const int y = 2 * ty + i, x = 2 * tx + j;
                            p[i][j] = y >= H || x >= W ? 0.0f
                                      : in_cl          ? im[((long)y * W + x) * C + c]
                                                       : im[((long)c * H + y) * W + x];
                        }
                    for (int j = 0; j < 4; j++) { /* B^T d */
                        t[0][j] = p[0][j] - p[2][j];
                        t[1][j] = p[1][j] + p[2][j];
                        t[2][j] = p[2][j] - p[1][j];
                        t[3][j] = p[1][j] - p[3][j];
                    }
                    for (int i = 0; i < 4; i++) { /* (B^T d) B */
                        V[(i * 4 + 0) * C + c] = t[i][0] - t[i][2];
                        V[(i * 4 + 1) * C + c] = t[i][1] + t[i][2];
                        V[(i * 4 + 2) * C + c] = t[i][2] - t[i][1];
                        V[(i * 4 + 3) * C + c] = t[i][1] - t[i][3];
                    }
                }
                for (int xi = 0; xi < 16; xi++) /* M = V U, point by point */
                    for (int oc = 0; oc < OC; oc += 4) {
                        float32x4_t acc = vdupq_n_f32(0.0f);
                        const float *ux = u + (long)xi * C * OC + oc;
                        for (int c = 0; c < C; c++)
                            acc = vfmaq_f32(acc, vdupq_n_f32(V[xi * C + c]),
                                            vld1q_f32(ux + (long)c * OC));
                        vst1q_f32(M + xi * OC + oc, acc);
                    }
                for (int oc = 0; oc < OC; oc += 4) { /* Y = A^T M A + b */
                    float32x4_t s0[4], s1[4], y[2][2];
                    for (int j = 0; j < 4; j++) {
                        const float32x4_t m0 = vld1q_f32(M + j * OC + oc);
                        const float32x4_t m4 = vld1q_f32(M + (4 + j) * OC + oc);
                        const float32x4_t m8 = vld1q_f32(M + (8 + j) * OC + oc);
                        const float32x4_t m12 = vld1q_f32(M + (12 + j) * OC + oc);
                        s0[j] = vaddq_f32(vaddq_f32(m0, m4), m8);
                        s1[j] = vsubq_f32(vsubq_f32(m4, m8), m12);
                    }
                    const float32x4_t bias = vld1q_f32(b + oc);
                    for (int a = 0; a < 2; a++) {
                        const float32x4_t *s = a ? s1 : s0;
                        y[a][0] = vaddq_f32(vaddq_f32(vaddq_f32(s[0], s[1]), s[2]), bias);
                        y[a][1] = vaddq_f32(vsubq_f32(vsubq_f32(s[1], s[2]), s[3]), bias);
                    }
                    if (pooled) { /* one window: the strict > of the pool */
                        float32x4_t m = y[0][0];
                        const float32x4_t rest[3] = {y[0][1], y[1][0], y[1][1]};
                        for (int r = 0; r < 3; r++)
                            m = vbslq_f32(vcgtq_f32(rest[r], m), rest[r], m);
                        float l[4];
                        vst1q_f32(l, relu4(m));
                        const long t = (long)ty * tw + tx;
                        for (int q = 0; q < 4; q++)
                            o[out_cl ? t * OC + oc + q : (oc + q) * plane + t] = l[q];
                        continue;
                    }
                    for (int a = 0; a < 2; a++)
                        for (int bb = 0; bb < 2; bb++) {
                            const int oh = 2 * ty + a, ow = 2 * tx + bb;
                            if (oh >= OH || ow >= OW)
                                continue;
                            float l[4];
                            vst1q_f32(l, relu ? relu4(y[a][bb]) : y[a][bb]);
                            const long t = (long)oh * OW + ow;
                            for (int q = 0; q < 4; q++)
                                o[out_cl ? t * OC + oc + q : (oc + q) * plane + t] = l[q];
                        }
                }
            }
    }
}

void mn_neon_winograd_conv(float *out, const float *in, const float *w, const float *u,
                           const float *b, const mn_conv2d_dims *d, float *scratch, int relu,
                           int layout)
{
    run(out, in, w, u, b, d, scratch, 0, relu, layout);
}

void mn_neon_winograd_block(float *out, const float *in, const float *w, const float *u,
                            const float *b, const mn_conv2d_dims *d, float *scratch, int layout)
{
    run(out, in, w, u, b, d, scratch, 1, 0, layout);
}
