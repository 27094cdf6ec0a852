/* sha256_shani.c: SHA-256 blocks with the x86 SHA extensions (Intel since
 * Ice Lake and Goldmont, AMD since Zen). Loading a model checks the SHA-256
 * of every weights file, twice for an ensemble's members: in plain C that
 * was a third of the default model's start-up time; these instructions
 * hash about ten times faster. */
#include "sha256_blocks.h"

#if defined(MN_KERNELS_X86)
#include <immintrin.h>

#include "cpu_features.h"

__attribute__((target("sha,sse4.1,ssse3"))) static void blocks(uint32_t h[8], const uint8_t *p,
                                                                 size_t n)
{
    /* The instructions keep the state as ABEF and CDGH. */
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);   /* CDAB */
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);                                   /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                        /* CDGH */
    for (; n; n--, p += 64) {
        const __m128i abef = state0, cdgh = state1;
        __m128i w[4]; /* the message words of the last four groups of four rounds */
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            if (g < 4) {
                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
            } else {
                /* W[t..t+3] from W[t-16..t-1]: msg1 adds sigma0, the alignr
                 * brings W[t-7..t-4], msg2 adds sigma1. */
                __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                w[g & 3] = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
            }
            __m128i m = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&mn_sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, m);
            state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(m, 0x0E));
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
    }
    tmp = _mm_shuffle_epi32(state0, 0x1B);    /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1); /* DCHG */
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(tmp, state1, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(state1, tmp, 8));    /* HGFE */
}

int mn_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
    if (!mn_cpu_has_sha())
        return 0;
    blocks(h, p, n);
    return 1;
}

#else

int mn_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
    (void)h;
    (void)p;
    (void)n;
    return 0;
}

#endif
