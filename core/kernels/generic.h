/* generic.h (internal to kernels/): the generic level's kernels beyond the
 * layer files (conv2d.c, convblock.c, pool.c, dense.c), the entries of
 * mn_kernels_generic. Plain C: any CPU runs them. */
#ifndef MNIST_CORE_KERNELS_GENERIC_H
#define MNIST_CORE_KERNELS_GENERIC_H

#include "kernels.h"

void mn_generic_gemm(mn_gemm_isa *isa);
int mn_generic_dense_applies(int I, int O);
size_t mn_generic_dense_prepared_floats(int I, int O);
void mn_generic_dense_prepare(float *p, const float *w, int I, int O);
void mn_generic_dense_forward(float *out, const float *in, const float *p, const float *b, int N,
                              int I, int O);
void mn_generic_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                            int rs, int relu);

#endif
