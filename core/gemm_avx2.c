/* gemm_avx2.c: the avx2 micro-kernels under gemm.c's blocked driver. */
#include "gemm.h"

int mn_gemm_isa_avx2(mn_gemm_isa *isa)
{
    (void)isa;
    return 0;
}
