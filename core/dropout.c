/* dropout.c: inverted dropout (Srivastava et al., 2014), forward and
 * backward. Each sample's mask comes from its own derived random stream,
 * so a run is reproducible whatever the batch split or thread count.
 * Inference never calls these: dropout is the identity there. */
#include "mnist/layers.h"
#include "mnist/rng.h"

void mn_dropout_forward(float *out, uint8_t *mask, const float *in, int N, int D, float rate,
                        uint64_t seed, const uint64_t *keys, uint64_t salt)
{
    const float scale = 1.0f / (1.0f - rate);
    for (int n = 0; n < N; n++) {
        mn_rng r;
        mn_rng_derive(&r, seed, keys ? keys[n] : (uint64_t)n, salt);
        const float *x = in + (size_t)n * D;
        float *y = out + (size_t)n * D;
        uint8_t *m = mask + (size_t)n * D;
        for (int i = 0; i < D; i++) {
            m[i] = mn_rng_uniform(&r) >= rate;
            y[i] = m[i] ? x[i] * scale : 0.0f;
        }
    }
}

void mn_dropout_backward(float *din, const float *dout, const uint8_t *mask, int N, int D,
                         float rate)
{
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < (size_t)N * D; i++)
        din[i] = mask[i] ? dout[i] * scale : 0.0f;
}
