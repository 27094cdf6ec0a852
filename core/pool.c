/* pool.c: max-pooling forward and backward (no padding, floor output size
 * as Keras' "valid"). Forward records each window's winner so backward is
 * a scatter, not a second search. */
#include <string.h>

#include "mnist/layers.h"
#include "pool_internal.h"

void mn_maxpool_forward(float *out, int32_t *argmax, const float *in,
                        int N, int C, int H, int W, int K, int S)
{
    mn_maxpool_forward_rows(mn_maxpool2x2_row_relu, out, argmax, in, N, C, H, W, K, S);
}

void mn_maxpool_forward_rows(mn_pool2x2_row_fn row, float *out, int32_t *argmax, const float *in,
                             int N, int C, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (int nc = 0; nc < N * C; nc++) {
        const float *plane = in + (size_t)nc * H * W;
        float *o = out + (size_t)nc * OH * OW;
        int32_t *a = argmax + (size_t)nc * OH * OW;
        if (K == 2 && S == 2) { /* the common window, vectorised */
            for (int oh = 0; oh < OH; oh++) {
                const float *r0 = plane + (size_t)2 * oh * W;
                row(o + (size_t)oh * OW, a + (size_t)oh * OW, r0, r0 + W, OW, 2 * oh * W, W, 0);
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
