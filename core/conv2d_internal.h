/* conv2d_internal.h (internal): the image <-> columns lowering shared by
 * conv2d.c, the fused conv block (convblock.c) and the direct kernels. */
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

#endif
