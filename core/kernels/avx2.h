/* avx2.h (internal to kernels/): the AVX2 level's kernels, the entries of
 * mn_kernels_avx2 (kernels.h has their contracts). Compiled for any
 * x86-64 with target attributes; run only on CPUs with AVX2 and FMA. */
#ifndef MNIST_CORE_KERNELS_AVX2_H
#define MNIST_CORE_KERNELS_AVX2_H

#include "kernels.h"

void mn_avx2_gemm(mn_gemm_isa *isa);

#endif
