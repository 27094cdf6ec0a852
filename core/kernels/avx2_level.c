/* avx2_level.c: the AVX2 level's table. */
#include "avx2.h"
#include "generic.h"

const mn_kernels mn_kernels_avx2 = {
    .isa = MN_ISA_AVX2,
    .gemm = mn_avx2_gemm,
    .pool2x2_row = mn_generic_pool2x2_row,
};
