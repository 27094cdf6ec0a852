/* layers.h: the layer kernels on plain float32 NCHW arrays, each layer's
 * forward and backward side by side with the same argument order
 * (outputs first, then inputs, then dimensions, then scratch).
 * Every kernel has a naive *_ref twin: the oracle the tests hold the fast
 * kernels to. Kernels are single-threaded and allocate nothing; callers
 * parallelise over the batch. Backward kernels ACCUMULATE into dw and db
 * (+=) so gradients of a batch split across calls add up; din is
 * overwritten. */
#ifndef MNIST_LAYERS_H
#define MNIST_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* Dimensions of a 2-D convolution: input [N,C,H,W], weights [OC,C,K,K],
 * bias [OC], output [N,OC,OH,OW] with OH = (H + 2P - K) / S + 1. */
typedef struct {
    int N, C, H, W;
    int OC, K, S, P;
    int OH, OW;
} mn_conv2d_dims;

/* Fills OH and OW from the other fields; returns 0 when the geometry is
 * valid (all positive, kernel fits the padded input), -1 otherwise. */
int mn_conv2d_dims_finish(mn_conv2d_dims *d);

/* Floats of scratch the fast conv kernels need for one call (im2col of one
 * image). */
size_t mn_conv2d_scratch_floats(const mn_conv2d_dims *d);

/* out[N,OC,OH,OW] = conv(in[N,C,H,W], w[OC,C,K,K]) + b[OC]. */
void mn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                       const mn_conv2d_dims *d, float *scratch);
/* din[N,C,H,W] = dL/din; dw += dL/dw; db += dL/db; each skipped when NULL
 * (an explanation wants din alone). */
void mn_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, const mn_conv2d_dims *d,
                        float *scratch);
void mn_conv2d_forward_ref(float *out, const float *in, const float *w, const float *b,
                           const mn_conv2d_dims *d);
void mn_conv2d_backward_ref(float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, const mn_conv2d_dims *d);

/* Max-pool: in [N,C,H,W] -> out [N,C,OH,OW], window K, stride S, no
 * padding, OH = (H - K) / S + 1 (floor, as Keras' "valid"). argmax[N,C,OH,OW]
 * records the winning input index within the channel plane for backward. */
void mn_maxpool_forward(float *out, int32_t *argmax, const float *in,
                        int N, int C, int H, int W, int K, int S);
/* din[N,C,H,W] = dout routed to each window's maximum; din is overwritten. */
void mn_maxpool_backward(float *din, const float *dout, const int32_t *argmax,
                         int N, int C, int H, int W, int K, int S);

/* Dense: in [N,I], w [O,I], b [O] -> out [N,O]. */
void mn_dense_forward(float *out, const float *in, const float *w, const float *b,
                      int N, int I, int O);
/* din[N,I]; dw[O,I] += dout^T in; db[O] += sum dout; each skipped when NULL. */
void mn_dense_backward(float *din, float *dw, float *db, const float *dout,
                       const float *in, const float *w, int N, int I, int O);
void mn_dense_forward_ref(float *out, const float *in, const float *w, const float *b,
                          int N, int I, int O);
void mn_dense_backward_ref(float *din, float *dw, float *db, const float *dout,
                           const float *in, const float *w, int N, int I, int O);

/* ReLU over n floats; out may alias in. */
void mn_relu_forward(float *out, const float *in, size_t n);
/* din = dout where out > 0, else 0; din may alias dout. */
void mn_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* Softmax over the last axis of logits [N,K] into probs [N,K]
 * (max-subtracted, so large logits do not overflow). */
void mn_softmax_forward(float *probs, const float *logits, int N, int K);
/* Cross-entropy of probs [N,K] against labels [N]: returns the SUM over the
 * N samples of -log p[label] (clamped at 1e-30 so a confident miss is
 * finite) and writes dlogits = probs - onehot (the combined softmax +
 * cross-entropy gradient, per sample, unscaled). */
float mn_softmax_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                               int N, int K);

/* Batch normalisation (Ioffe & Szegedy, 2015) per channel of
 * in [N,C,HW]: statistics over the N*HW values of each channel.
 * Training: out = gamma * (in - mean) / sqrt(var + eps) + beta with the
 * batch's own mean[C] and biased var[C], both written out, and
 * invstd[C] = 1 / sqrt(var + eps) kept for backward. These kernels are the
 * direct formulas (double accumulation): they are their own reference. */
void mn_batchnorm_forward_train(float *out, float *mean, float *var, float *invstd,
                                const float *in, const float *gamma, const float *beta,
                                int N, int C, int HW, float eps);
/* din[N,C,HW] (skipped when NULL); dgamma[C] += sum dout * xhat;
 * dbeta[C] += sum dout; mean and invstd from the training forward. */
void mn_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *in, const float *gamma, const float *mean,
                           const float *invstd, int N, int C, int HW);
/* Inference: the running statistics rmean[C], rvar[C] instead of the
 * batch's. out may alias in. */
void mn_batchnorm_forward_infer(float *out, const float *in, const float *gamma,
                                const float *beta, const float *rmean, const float *rvar,
                                int N, int C, int HW, float eps);

/* Inverted dropout (Srivastava et al., 2014) on in [N,D]: each value kept
 * with probability 1 - rate and scaled by 1 / (1 - rate), else zeroed.
 * mask[N,D] records the kept values. The draw of sample n comes from
 * mn_rng_derive(seed, keys[n], salt) alone (keys[n] = n when keys is
 * NULL), so it does not depend on batching or threads. */
void mn_dropout_forward(float *out, uint8_t *mask, const float *in, int N, int D, float rate,
                        uint64_t seed, const uint64_t *keys, uint64_t salt);
/* din = dout * mask / (1 - rate); din may alias dout. */
void mn_dropout_backward(float *din, const float *dout, const uint8_t *mask, int N, int D,
                         float rate);

#endif
