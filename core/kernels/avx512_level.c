/* avx512_level.c: the AVX-512 level's table. */
#include "avx512.h"

const mn_kernels mn_kernels_avx512 = {
    .isa = MN_ISA_AVX512,
    .gemm = mn_avx512_gemm,
    .direct_applies = mn_avx512_direct_applies,
    .block_applies = mn_avx512_block_applies,
    .conv_scratch_floats = mn_avx512_conv_scratch_floats,
    .conv_forward = mn_avx512_conv_forward,
    .block_scratch_floats = mn_avx512_block_scratch_floats,
    .block_forward = mn_avx512_block_forward,
    .winograd_applies = mn_avx512_winograd_applies,
    .winograd_scratch_floats = mn_avx512_winograd_scratch_floats,
    .winograd_weights_floats = mn_avx512_winograd_weights_floats,
    .winograd_transform = mn_avx512_winograd_transform,
    .winograd_conv = mn_avx512_winograd_conv,
    .winograd_block = mn_avx512_winograd_block,
    .dense_applies = mn_avx512_dense_applies,
    .dense_prepared_floats = mn_avx512_dense_prepared_floats,
    .dense_prepare = mn_avx512_dense_prepare,
    .dense_forward = mn_avx512_dense_forward,
    .pool2x2_row = mn_avx512_pool2x2_row,
};
