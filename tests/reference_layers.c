/* reference_layers.c: the twins declared in reference_layers.h. */
#include "reference_layers.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mnist/rng.h"

void ref_maxpool_forward(float *out, int32_t *argmax, const float *in, int N, int C, int H,
                         int W, int K, int S)
{
    int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *plane = in + ((size_t)n * C + c) * H * W;
            size_t o = ((size_t)n * C + c) * OH * OW;
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    int best = -1;
                    for (int kh = 0; kh < K; kh++)
                        for (int kw = 0; kw < K; kw++) {
                            int i = (oh * S + kh) * W + (ow * S + kw);
                            if (best < 0 || plane[i] > plane[best])
                                best = i;
                        }
                    out[o + (size_t)oh * OW + ow] = plane[best];
                    argmax[o + (size_t)oh * OW + ow] = best;
                }
        }
}

void ref_maxpool_backward(float *din, const float *dout, const int32_t *argmax, int N, int C,
                          int H, int W, int K, int S)
{
    int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (size_t i = 0; i < (size_t)N * C * H * W; i++)
        din[i] = 0.0f;
    for (int nc = 0; nc < N * C; nc++)
        for (int j = 0; j < OH * OW; j++) {
            size_t o = (size_t)nc * OH * OW + j;
            din[(size_t)nc * H * W + argmax[o]] += dout[o];
        }
}

void ref_relu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void ref_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

static double clamp_logit(float z)
{
    if (z > FLT_MAX)
        return FLT_MAX;
    if (z < -FLT_MAX)
        return -FLT_MAX;
    return z;
}

void ref_softmax_forward(float *probs, const float *logits, int N, int K)
{
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K;
        double m = -FLT_MAX, s = 0.0;
        for (int k = 0; k < K; k++)
            if (clamp_logit(z[k]) > m)
                m = clamp_logit(z[k]);
        for (int k = 0; k < K; k++)
            s += exp(clamp_logit(z[k]) - m);
        for (int k = 0; k < K; k++)
            probs[(size_t)n * K + k] = (float)(exp(clamp_logit(z[k]) - m) / s);
    }
}

double ref_softmax_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                                 int N, int K)
{
    double loss = 0.0;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            float p = probs[(size_t)n * K + k];
            dlogits[(size_t)n * K + k] = k == labels[n] ? p - 1.0f : p;
            if (k == labels[n])
                loss -= log(p > 1e-30f ? p : 1e-30f);
        }
    return loss;
}

void ref_dropout_forward(float *out, uint8_t *mask, const float *in, int N, int D, float rate,
                         uint64_t seed, const uint64_t *keys, uint64_t salt)
{
    for (int n = 0; n < N; n++) {
        mn_rng r;
        mn_rng_derive(&r, seed, keys ? keys[n] : (uint64_t)n, salt);
        for (int i = 0; i < D; i++) {
            size_t j = (size_t)n * D + i;
            mask[j] = mn_rng_uniform(&r) >= rate;
            out[j] = mask[j] ? in[j] * (1.0f / (1.0f - rate)) : 0.0f;
        }
    }
}

void ref_dropout_backward(float *din, const float *dout, const uint8_t *mask, int N, int D,
                          float rate)
{
    for (size_t i = 0; i < (size_t)N * D; i++)
        din[i] = mask[i] ? dout[i] * (1.0f / (1.0f - rate)) : 0.0f;
}
