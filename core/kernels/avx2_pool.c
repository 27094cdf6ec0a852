/* avx2_pool.c: the 2x2, stride-2 max-pool row (pool_internal.h) in
 * AVX2: eight windows a step, the even and odd columns split by two
 * shuffles and a lane permute, instead of the portable loop's 4-lane
 * SSE2 code and scalar remainder. The same comparisons in the same order
 * as the portable loop, so the same bits and winners. */
#include "avx2.h"

#include "conv_tile_avx2.h"

/* The even and odd elements of the 16 floats lo, hi, in order. */
INL void split(__m256 *even, __m256 *odd, __m256 lo, __m256 hi)
{
    /* shuffle gives lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6; the permute puts
     * the 64-bit pairs in order */
    *even = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
    *odd = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
}

T256 void mn_avx2_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n,
                              int i0, int rs, int relu)
{
    const __m256i two_j = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i one = _mm256_set1_epi32(1), down = _mm256_set1_epi32(rs);
    for (int j = 0; j < n; j += 8) {
        const int w = n - j < 8 ? n - j : 8; /* windows this step */
        const float *p0 = r0 + 2 * j, *p1 = r1 + 2 * j;
        __m256 a0, b0, a1, b1;
        if (w == 8) {
            a0 = _mm256_loadu_ps(p0), b0 = _mm256_loadu_ps(p0 + 8);
            a1 = _mm256_loadu_ps(p1), b1 = _mm256_loadu_ps(p1 + 8);
        } else { /* read nothing past the 2w columns */
            const __m256i lo = mn_lanes8(2 * w < 8 ? 2 * w : 8);
            const __m256i hi = mn_lanes8(2 * w > 8 ? 2 * w - 8 : 0);
            a0 = _mm256_maskload_ps(p0, lo), b0 = _mm256_maskload_ps(p0 + 8, hi);
            a1 = _mm256_maskload_ps(p1, lo), b1 = _mm256_maskload_ps(p1 + 8, hi);
        }
        __m256 m, v01, v10, v11;
        split(&m, &v01, a0, b0);
        split(&v10, &v11, a1, b1);
        const __m256i i = _mm256_add_epi32(_mm256_set1_epi32(i0 + 2 * j), two_j);
        __m256 best = _mm256_castsi256_ps(i);
        TAKE(v01, _mm256_add_epi32(i, one));
        TAKE(v10, _mm256_add_epi32(i, down));
        TAKE(v11, _mm256_add_epi32(_mm256_add_epi32(i, down), one));
        if (relu) /* max_ps(m, 0) is m > 0 ? m : 0, NaN and -0 included */
            m = _mm256_max_ps(m, _mm256_setzero_ps());
        if (w == 8) {
            _mm256_storeu_ps(o + j, m);
            if (a)
                _mm256_storeu_ps((float *)(void *)(a + j), best);
        } else {
            const __m256i om = mn_lanes8(w);
            _mm256_maskstore_ps(o + j, om, m);
            if (a)
                _mm256_maskstore_ps((float *)(void *)(a + j), om, best);
        }
    }
}
