/* transpose_avx2.h (internal): an 8x8 float transpose in AVX registers,
 * for the AVX2 kernels that repack a matrix (avx2_gemm.c's B panels, the
 * direct and Winograd convolutions' weights, inputs and outputs).
 * Include only where <immintrin.h> is and AVX2 target attributes are in
 * use. */
#ifndef MNIST_CORE_TRANSPOSE_AVX2_H
#define MNIST_CORE_TRANSPOSE_AVX2_H

#include <immintrin.h>

/* Lanes 0..n-1 set (n in 0..8), as maskload/maskstore want them. */
static inline __attribute__((always_inline, target("avx2"))) __m256i mn_lanes8(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Transposes the jn x kn block src[(j0+j)*ld + k] (row j at src + rows[j]
 * instead when rows is not NULL; jn, kn <= 8) into dst[k*ldd + j] for
 * k < kn, j < 8 (rows j >= jn come out zero), only the lanes j < store_n
 * written: three rounds of in-register shuffles. */
static inline __attribute__((always_inline, target("avx2"))) void
mn_transpose8(float *dst, long ldd, const float *src, long ld, const long *rows, int j0, int jn,
              int kn, int store_n)
{
    const __m256i km = mn_lanes8(kn);
    __m256 r[8], t[8];
    for (int j = 0; j < 8; j++)
        r[j] = j < jn ? _mm256_maskload_ps(src + (rows ? rows[j] : (j0 + j) * ld), km)
                      : _mm256_setzero_ps();
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {
        r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
        t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
    }
    if (store_n == 8) {
        for (int k = 0; k < kn; k++)
            _mm256_storeu_ps(dst + k * ldd, t[k]);
    } else {
        const __m256i sm = mn_lanes8(store_n);
        for (int k = 0; k < kn; k++)
            _mm256_maskstore_ps(dst + k * ldd, sm, t[k]);
    }
}

#endif
