/* avx512_pool.c: the 2x2, stride-2 max-pool row (pool_internal.h) in
 * AVX-512: sixteen windows a step, the even and odd columns split by one
 * permute each, instead of the portable loop's 4-lane SSE2 code and scalar
 * remainder (the rows of a 28x28 model are 13 and 5 windows long).
 * Same comparisons in the
 * same order as the portable loop, so the same bits and winners. */
#include "avx512.h"

#include <immintrin.h>

#define T512 __attribute__((target("avx512f")))

/* m, best = v, idx where v > m (strict: the first maximum wins, NaN never). */
#define TAKE(v, idx)                                                                           \
    do {                                                                                       \
        __mmask16 gt = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ);                                  \
        m = _mm512_mask_mov_ps(m, gt, v);                                                      \
        best = _mm512_mask_mov_epi32(best, gt, idx);                                           \
    } while (0)

static T512 void row512(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                        int rs, int relu)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i two_j = even;
    for (int j = 0; j < n; j += 16) {
        int w = n - j < 16 ? n - j : 16;              /* windows this step */
        __mmask16 om = (__mmask16)(0xFFFFu >> (16 - w));
        __mmask16 lo = (__mmask16)(0xFFFFu >> (2 * w >= 16 ? 0 : 16 - 2 * w));
        __mmask16 hi = (__mmask16)(2 * w > 16 ? 0xFFFFu >> (32 - 2 * w) : 0);
        const float *p0 = r0 + 2 * j, *p1 = r1 + 2 * j;
        __m512 a0 = _mm512_maskz_loadu_ps(lo, p0), b0 = _mm512_maskz_loadu_ps(hi, p0 + 16);
        __m512 a1 = _mm512_maskz_loadu_ps(lo, p1), b1 = _mm512_maskz_loadu_ps(hi, p1 + 16);
        __m512i i = _mm512_add_epi32(_mm512_set1_epi32(i0 + 2 * j), two_j);
        __m512 m = _mm512_permutex2var_ps(a0, even, b0);
        __m512i best = i;
        TAKE(_mm512_permutex2var_ps(a0, odd, b0), _mm512_add_epi32(i, _mm512_set1_epi32(1)));
        TAKE(_mm512_permutex2var_ps(a1, even, b1), _mm512_add_epi32(i, _mm512_set1_epi32(rs)));
        TAKE(_mm512_permutex2var_ps(a1, odd, b1), _mm512_add_epi32(i, _mm512_set1_epi32(rs + 1)));
        if (relu) /* max_ps(m, 0) is m > 0 ? m : 0, NaN and -0 included */
            m = _mm512_max_ps(m, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(o + j, om, m);
        if (a)
            _mm512_mask_storeu_epi32(a + j, om, best);
    }
}

void mn_avx512_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                           int rs, int relu)
{
    row512(o, a, r0, r1, n, i0, rs, relu);
}
