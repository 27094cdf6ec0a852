/* neon_level.c: the NEON level's table. The convolutions and the dense
 * layer run as the generic layers over this level's GEMM. */
#include "neon.h"

const mn_kernels mn_kernels_neon = {
    .isa = MN_ISA_NEON,
    .gemm = mn_neon_gemm,
    .pool2x2_row = mn_neon_pool2x2_row,
};
