/* pool.c: max-pooling forward and backward (no padding, floor output size
 * as Keras' "valid"). Forward records each window's winner so backward is
 * a scatter, not a second search. */
#include <string.h>

#include "mnist/layers.h"

void mn_maxpool_forward(float *out, int32_t *argmax, const float *in,
                        int N, int C, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (int nc = 0; nc < N * C; nc++) {
        const float *plane = in + (size_t)nc * H * W;
        float *o = out + (size_t)nc * OH * OW;
        int32_t *a = argmax + (size_t)nc * OH * OW;
        if (K == 2 && S == 2) {
            /* The common 2x2 window, branch-free so it vectorises: the same
             * visiting order and strict > as the general loop below. */
            for (int oh = 0; oh < OH; oh++) {
                const float *r0 = plane + (size_t)2 * oh * W, *r1 = r0 + W;
                float *orow = o + (size_t)oh * OW;
                int32_t *arow = a + (size_t)oh * OW;
#pragma omp simd
                for (int ow = 0; ow < OW; ow++) {
                    int i0 = 2 * oh * W + 2 * ow;
                    float m = r0[2 * ow], v;
                    int best = i0;
                    v = r0[2 * ow + 1];
                    best = v > m ? i0 + 1 : best;
                    m = v > m ? v : m;
                    v = r1[2 * ow];
                    best = v > m ? i0 + W : best;
                    m = v > m ? v : m;
                    v = r1[2 * ow + 1];
                    best = v > m ? i0 + W + 1 : best;
                    m = v > m ? v : m;
                    orow[ow] = m;
                    arow[ow] = best;
                }
            }
            continue;
        }
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int best = oh * S * W + ow * S;
                float m = plane[best];
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        int i = (oh * S + kh) * W + ow * S + kw;
                        /* strict > keeps the first maximum, like the
                         * major frameworks, and lets NaN never win */
                        if (plane[i] > m) {
                            m = plane[i];
                            best = i;
                        }
                    }
                o[oh * OW + ow] = m;
                a[oh * OW + ow] = best;
            }
    }
}

void mn_maxpool_backward(float *din, const float *dout, const int32_t *argmax,
                         int N, int C, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    memset(din, 0, sizeof(float) * N * C * H * W);
    for (int nc = 0; nc < N * C; nc++) {
        float *plane = din + (size_t)nc * H * W;
        const float *g = dout + (size_t)nc * OH * OW;
        const int32_t *a = argmax + (size_t)nc * OH * OW;
        for (int i = 0; i < OH * OW; i++)
            plane[a[i]] += g[i];
    }
}
