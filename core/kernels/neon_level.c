/* neon_level.c: the NEON level's table. */
#include "neon.h"

const mn_kernels mn_kernels_neon = {
    .isa = MN_ISA_NEON,
    .gemm = mn_neon_gemm,
    .direct_applies = mn_neon_direct_applies,
    .block_applies = mn_neon_block_applies,
    .conv_scratch_floats = mn_neon_conv_scratch_floats,
    .conv_forward = mn_neon_conv_forward,
    .block_scratch_floats = mn_neon_block_scratch_floats,
    .block_forward = mn_neon_block_forward,
    .winograd_applies = mn_neon_winograd_applies,
    .winograd_scratch_floats = mn_neon_winograd_scratch_floats,
    .winograd_weights_floats = mn_neon_winograd_weights_floats,
    .winograd_transform = mn_neon_winograd_transform,
    .winograd_conv = mn_neon_winograd_conv,
    .winograd_block = mn_neon_winograd_block,
    .dense_applies = mn_neon_dense_applies,
    .dense_prepared_floats = mn_neon_dense_prepared_floats,
    .dense_prepare = mn_neon_dense_prepare,
    .dense_forward = mn_neon_dense_forward,
    .pool2x2_row = mn_neon_pool2x2_row,
};
