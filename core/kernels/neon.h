/* neon.h (internal to kernels/): the NEON level's kernels, the entries of
 * mn_kernels_neon (kernels.h has their contracts). arm64 only: Advanced
 * SIMD is part of the architecture. */
#ifndef MNIST_CORE_KERNELS_NEON_H
#define MNIST_CORE_KERNELS_NEON_H

#include "kernels.h"

void mn_neon_gemm(mn_gemm_isa *isa);
void mn_neon_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                         int rs, int relu);

#endif
