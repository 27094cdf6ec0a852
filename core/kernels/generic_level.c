/* generic_level.c: the generic level's table. */
#include "generic.h"
#include "pool_internal.h"

void mn_generic_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                            int rs, int relu)
{
    mn_maxpool2x2_row_relu(o, a, r0, r1, n, i0, rs, relu);
}

const mn_kernels mn_kernels_generic = {
    .isa = MN_ISA_GENERIC,
    .gemm = mn_generic_gemm,
    .dense_applies = mn_generic_dense_applies,
    .dense_prepared_floats = mn_generic_dense_prepared_floats,
    .dense_prepare = mn_generic_dense_prepare,
    .dense_forward = mn_generic_dense_forward,
    .pool2x2_row = mn_generic_pool2x2_row,
};
