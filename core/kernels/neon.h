/* neon.h (internal to kernels/): the NEON level's kernels, the entries of
 * mn_kernels_neon (kernels.h has their contracts). arm64 only: Advanced
 * SIMD is part of the architecture. */
#ifndef MNIST_CORE_KERNELS_NEON_H
#define MNIST_CORE_KERNELS_NEON_H

#include "kernels.h"

void mn_neon_gemm(mn_gemm_isa *isa);

int mn_neon_direct_applies(const mn_conv2d_dims *d);
int mn_neon_block_applies(const mn_conv2d_dims *d);
size_t mn_neon_conv_scratch_floats(const mn_conv2d_dims *d);
void mn_neon_conv_forward(float *out, const float *in, const float *w, const float *b,
                          const mn_conv2d_dims *d, float *scratch, int relu, int layout);
size_t mn_neon_block_scratch_floats(const mn_conv2d_dims *d);
void mn_neon_block_forward(float *out, int32_t *argmax, const float *in, const float *w,
                           const float *b, const mn_conv2d_dims *d, float *scratch, int layout);

int mn_neon_winograd_applies(const mn_conv2d_dims *d, int pooled);
size_t mn_neon_winograd_scratch_floats(const mn_conv2d_dims *d);
size_t mn_neon_winograd_weights_floats(const mn_conv2d_dims *d);
void mn_neon_winograd_transform(float *u, const float *w, const mn_conv2d_dims *d, float *tmp);
void mn_neon_winograd_conv(float *out, const float *in, const float *w, const float *u,
                           const float *b, const mn_conv2d_dims *d, float *scratch, int relu,
                           int layout);
void mn_neon_winograd_block(float *out, const float *in, const float *w, const float *u,
                            const float *b, const mn_conv2d_dims *d, float *scratch, int layout);

int mn_neon_dense_applies(int I, int O);
size_t mn_neon_dense_prepared_floats(int I, int O);
void mn_neon_dense_prepare(float *p, const float *w, int I, int O);
void mn_neon_dense_forward(float *out, const float *in, const float *p, const float *b, int N,
                           int I, int O);

void mn_neon_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                         int rs, int relu);

#endif
