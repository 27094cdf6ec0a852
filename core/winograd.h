/* winograd.h (internal): 3x3 convolutions for inference by Winograd's
 * minimal filtering F(2x2, 3x3) (Lavin & Gray, 2015): each 2x2 block of
 * outputs costs 16 multiply-adds per input and output channel instead of
 * 36. The results equal the direct convolution's within float rounding,
 * not bit for bit, so training, whose bits must not depend on the CPU's
 * fast paths, keeps the direct kernels; inference (mn_model_forward)
 * takes these where they apply. */
#ifndef MNIST_CORE_WINOGRAD_H
#define MNIST_CORE_WINOGRAD_H

#include <stddef.h>

#include "conv2d_internal.h"
#include "mnist/layers.h"

/* Floats of scratch the calls below need for d (0 where they never run). */
size_t mn_winograd_scratch_floats(const mn_conv2d_dims *d);

/* Floats of a layer's transformed weights (16 C OC; 0 where the calls
 * below never run), and the transform itself: u from w[OC,C,3,3], tmp
 * holding 9 C OC floats. A model whose weights no longer change keeps u
 * (mn_model_prepare_inference) instead of paying for it per call. */
size_t mn_winograd_weights_floats(const mn_conv2d_dims *d);
void mn_winograd_transform(float *u, const float *w, const mn_conv2d_dims *d, float *tmp);

/* 1 when the calls below run for d on this CPU: AVX-512, 3x3, stride 1,
 * no padding, C and OC multiples of 16 (and, pooled, a 2x2 output at
 * least). */
int mn_winograd_applies(const mn_conv2d_dims *d, int pooled);

/* out[N,OC,OH,OW] = conv(in[N,C,H,W], w[OC,C,3,3]) + b, as
 * mn_conv2d_forward within rounding, then ReLU'd (as mn_relu_forward)
 * when relu; u is w transformed, or NULL to transform it in scratch (the
 * same bits either way). layout's MN_IN_CHANNELS_LAST and
 * MN_OUT_CHANNELS_LAST make in or out [N,H,W,C] instead: the same bits,
 * moved. Returns 1 when it ran, 0 when !mn_winograd_applies(d, 0).
 * Single-threaded, allocates nothing. */
int mn_winograd_conv_forward(float *out, const float *in, const float *w, const float *u,
                             const float *b, const mn_conv2d_dims *d, float *scratch, int relu,
                             int layout);

/* out[N,OC,OH/2,OW/2] = 2x2/2 max-pool(ReLU(conv + b)): the fused block
 * (mn_convblock_forward with no winners) within rounding; each 2x2 output
 * block is one pool window. u and layout as above; returns 0 when
 * !mn_winograd_applies(d, 1). */
int mn_winograd_block_forward(float *out, const float *in, const float *w, const float *u,
                              const float *b, const mn_conv2d_dims *d, float *scratch, int layout);

#endif
