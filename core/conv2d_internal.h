/* conv2d_internal.h (internal): the image <-> columns lowering shared by
 * conv2d.c and the fused conv block (convblock.c). */
#ifndef MNIST_CORE_CONV2D_INTERNAL_H
#define MNIST_CORE_CONV2D_INTERNAL_H

#include "mnist/layers.h"

/* col[C*K*K, OH*OW] from one image im[C,H,W] (d's N is ignored); zero
 * where the window reaches into the padding. */
void mn_im2col(float *col, const float *im, const mn_conv2d_dims *d);
/* im[C,H,W] += the columns col[C*K*K, OH*OW] folded back (im2col's
 * adjoint). */
void mn_col2im_add(float *im, const float *col, const mn_conv2d_dims *d);

#endif
