/* reference_layers.h: plain reference twins of the pool, ReLU, softmax and
 * dropout kernels, written from the definitions in include/mnist/layers.h
 * (one loop per formula, no vector tricks), for test_layer_twins.c. */
#ifndef MNIST_TESTS_REFERENCE_LAYERS_H
#define MNIST_TESTS_REFERENCE_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* Max-pool, window K, stride S, no padding, OH = (H - K) / S + 1. Tie rule
 * (the kernels' rule): the window is scanned in reading order (row by row,
 * left to right) and a value replaces the current maximum only when it is
 * strictly greater, so the first of equal maxima wins and a NaN never
 * replaces a number (a NaN in the window's first cell stays, though, since
 * nothing compares greater than it). argmax is the index in the plane. */
void ref_maxpool_forward(float *out, int32_t *argmax, const float *in, int N, int C, int H,
                         int W, int K, int S);
/* din = 0, then each dout added to its window's argmax cell. */
void ref_maxpool_backward(float *din, const float *dout, const int32_t *argmax, int N, int C,
                          int H, int W, int K, int S);

/* out = in > 0 ? in : 0 (so -0 and NaN give 0). */
void ref_relu_forward(float *out, const float *in, size_t n);
/* din = out > 0 ? dout : 0. */
void ref_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* Softmax per row in double after clamping each logit to [-FLT_MAX,
 * FLT_MAX] (the core's guard against infinite logits). */
void ref_softmax_forward(float *probs, const float *logits, int N, int K);
/* dlogits = probs - onehot(label); returns sum of -log(max(p, 1e-30)). */
double ref_softmax_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                                 int N, int K);

/* Inverted dropout: sample n draws D uniforms in order from
 * mn_rng_derive(seed, keys ? keys[n] : n, salt); value i is kept when its
 * uniform is >= rate, then scaled by 1 / (1 - rate). */
void ref_dropout_forward(float *out, uint8_t *mask, const float *in, int N, int D, float rate,
                         uint64_t seed, const uint64_t *keys, uint64_t salt);
void ref_dropout_backward(float *din, const float *dout, const uint8_t *mask, int N, int D,
                          float rate);

#endif
