/* table.c: which levels' tables this build has, and the one in force. */
#include "kernels.h"

const mn_kernels *mn_kernels_for(mn_isa isa)
{
    if (!mn_isa_supported(isa))
        return NULL;
    switch (isa) {
    case MN_ISA_GENERIC:
        return &mn_kernels_generic;
#if defined(MN_KERNELS_X86)
    case MN_ISA_AVX2:
        return &mn_kernels_avx2;
    case MN_ISA_AVX512:
        return &mn_kernels_avx512;
#elif defined(MN_KERNELS_NEON)
    case MN_ISA_NEON:
        return &mn_kernels_neon;
#endif
    default:
        return NULL;
    }
}

const mn_kernels *mn_kernels_active(void)
{
    mn_isa isa;
    if (mn_isa_active(&isa, NULL) != MN_OK)
        return &mn_kernels_generic;
    return mn_kernels_for(isa);
}
