/* conv2d_internal.h (internal): the image <-> columns lowering shared by
 * conv2d.c and the fused conv block (convblock.c), and the layer's AVX-512
 * forward. */
#ifndef MNIST_CORE_CONV2D_INTERNAL_H
#define MNIST_CORE_CONV2D_INTERNAL_H

#include "mnist/layers.h"

/* col[C*K*K, OH*OW] from one image im[C,H,W] (d's N is ignored); zero
 * where the window reaches into the padding. */
void mn_im2col(float *col, const float *im, const mn_conv2d_dims *d);
/* im[C,H,W] += the columns col[C*K*K, OH*OW] folded back (im2col's
 * adjoint). */
void mn_col2im_add(float *im, const float *col, const mn_conv2d_dims *d);

/* brow[r] = the offset in one image of the first input the columns' row
 * r = (c, kh, kw) reads, for r < C*K*K: with stride 1 and no padding, row
 * r of output pixel (oh, ow) is the input at brow[r] + oh*W + ow, so the
 * columns can be read in place instead of copied out. */
void mn_conv_row_offsets(long *brow, const mn_conv2d_dims *d);

/* Layout flags of the inference convolutions: their input or output is
 * channels-last, [N,H,W,C], instead of the library's [N,C,H,W]. A
 * convolution feeding a Winograd one (winograd.h) hands it channels-last,
 * which that one reads in place, saving two transposes (run.c). */
#define MN_IN_CHANNELS_LAST 1
#define MN_OUT_CHANNELS_LAST 2

/* mn_conv2d_forward's AVX-512 path (conv_avx512.c), for stride 1, no
 * padding and OC a multiple of 16: returns 1 when it ran, 0 when this CPU
 * or these dimensions are not its case. The same bits as the im2col +
 * GEMM path, followed by mn_relu_forward when relu (inference fuses a
 * following ReLU layer); layout may hold MN_OUT_CHANNELS_LAST (the same
 * bits, moved). scratch holds mn_conv2d_scratch_floats(d). */
int mn_conv2d_forward_avx512(float *out, const float *in, const float *w, const float *b,
                             const mn_conv2d_dims *d, float *scratch, int relu, int layout);
size_t mn_conv2d_avx512_scratch_floats(const mn_conv2d_dims *d);

#endif
