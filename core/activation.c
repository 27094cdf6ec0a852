/* activation.c: ReLU and softmax with cross-entropy, forward and backward.
 * Loops are plain and branch-light so the compiler vectorises them. */
#include <float.h>
#include <math.h>

#include "mnist/layers.h"

void mn_relu_forward(float *out, const float *in, size_t n)
{
    /* omp simd: vectorised without a run-time alias check (out == in is
     * element-wise safe), branch-free (a max with 0). */
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void mn_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = dout[i]; /* loaded unconditionally, so the select vectorises */
        din[i] = out[i] > 0.0f ? g : 0.0f;
    }
}

static float clampf(float x) { return x > FLT_MAX ? FLT_MAX : (x < -FLT_MAX ? -FLT_MAX : x); }

void mn_softmax_forward(float *probs, const float *logits, int N, int K)
{
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K;
        float *p = probs + (size_t)n * K;
        /* Logits are clamped to +-FLT_MAX first: a model with huge weights
         * can overflow them to infinity, and inf - inf would give NaN. */
        float m = -FLT_MAX;
        for (int k = 0; k < K; k++)
            m = clampf(z[k]) > m ? clampf(z[k]) : m;
        float s = 0.0f;
        for (int k = 0; k < K; k++) {
            p[k] = expf(clampf(z[k]) - m);
            s += p[k];
        }
        for (int k = 0; k < K; k++)
            p[k] /= s;
    }
}

float mn_softmax_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                               int N, int K)
{
    float loss = 0.0f;
    for (int n = 0; n < N; n++) {
        const float *p = probs + (size_t)n * K;
        float *g = dlogits + (size_t)n * K;
        float pl = p[labels[n]];
        loss += -logf(pl > 1e-30f ? pl : 1e-30f);
        for (int k = 0; k < K; k++)
            g[k] = p[k] - (k == labels[n] ? 1.0f : 0.0f);
    }
    return loss;
}
