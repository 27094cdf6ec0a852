/* convblock.h (internal): conv2d -> ReLU -> max-pool, the reference
 * model's repeated block, fused and run one image at a time so the
 * convolution's output never leaves the cache: the unfused layers write it
 * for the whole batch and read it back three times. The forward output has
 * the same bits as the three layers run in turn (mn_conv2d_forward,
 * mn_relu_forward, mn_maxpool_forward); the gradients equal theirs up to
 * the order of float additions. */
#ifndef MNIST_CORE_CONVBLOCK_H
#define MNIST_CORE_CONVBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/layers.h"

/* Pooled output size of a PK x PK window with stride PS on the conv
 * output of d (Keras "valid": floor). */
int mn_convblock_ph(const mn_conv2d_dims *d, int PK, int PS);
int mn_convblock_pw(const mn_conv2d_dims *d, int PK, int PS);

/* Floats of scratch the block needs (one image's columns, its conv output
 * and their gradients). */
size_t mn_convblock_scratch_floats(const mn_conv2d_dims *d);

/* out[N,OC,PH,PW] = maxpool(relu(conv(in[N,C,H,W], w) + b)); argmax
 * [N,OC,PH,PW] gets each window's winner as an index in its OH*OW conv
 * plane (as mn_maxpool_forward); argmax NULL (inference: no backward
 * follows) records none. Single-threaded, allocates nothing. */
void mn_convblock_forward(float *out, int32_t *argmax, const float *in, const float *w,
                          const float *b, const mn_conv2d_dims *d, int PK, int PS,
                          float *scratch);

/* Backward of the block from dout[N,OC,PH,PW], given its forward's out and
 * argmax: din[N,C,H,W] overwritten (skipped when NULL); dw, db += (the
 * layers' accumulate convention). */
void mn_convblock_backward(float *din, float *dw, float *db, const float *dout,
                           const float *out, const int32_t *argmax, const float *in,
                           const float *w, const mn_conv2d_dims *d, int PK, int PS,
                           float *scratch);

#endif
