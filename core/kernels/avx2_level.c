/* avx2_level.c: the AVX2 level's table. */
#include "avx2.h"

const mn_kernels mn_kernels_avx2 = {
    .isa = MN_ISA_AVX2,
    .gemm = mn_avx2_gemm,
    .direct_applies = mn_avx2_direct_applies,
    .block_applies = mn_avx2_block_applies,
    .conv_scratch_floats = mn_avx2_conv_scratch_floats,
    .conv_forward = mn_avx2_conv_forward,
    .block_scratch_floats = mn_avx2_block_scratch_floats,
    .block_forward = mn_avx2_block_forward,
    .winograd_applies = mn_avx2_winograd_applies,
    .winograd_scratch_floats = mn_avx2_winograd_scratch_floats,
    .winograd_weights_floats = mn_avx2_winograd_weights_floats,
    .winograd_transform = mn_avx2_winograd_transform,
    .winograd_conv = mn_avx2_winograd_conv,
    .winograd_block = mn_avx2_winograd_block,
    .dense_applies = mn_avx2_dense_applies,
    .dense_prepared_floats = mn_avx2_dense_prepared_floats,
    .dense_prepare = mn_avx2_dense_prepare,
    .dense_forward = mn_avx2_dense_forward,
    .pool2x2_row = mn_avx2_pool2x2_row,
};
