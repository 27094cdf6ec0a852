/* transpose_avx512.h (internal): a 16x16 float transpose in AVX-512
 * registers, for the kernels that repack a matrix (gemm_avx512.c's B
 * panels, conv_avx512.c's weights and outputs). Include only where
 * <immintrin.h> is and T512-style target attributes are in use. */
#ifndef MNIST_CORE_TRANSPOSE_AVX512_H
#define MNIST_CORE_TRANSPOSE_AVX512_H

#include <immintrin.h>

/* Transposes the jn x kn block src[(j0+j)*ld + k] (row j at src + rows[j]
 * instead when rows is not NULL; jn, kn <= 16) into
 * dst[k*ldd + j] for k < kn, j < 16 (rows j >= jn come out zero), only
 * the lanes j of store_mask written: eight rounds of in-register shuffles
 * instead of 256 scalar moves. */
static inline __attribute__((always_inline, target("avx512f"))) void
mn_transpose16(float *dst, long ldd, const float *src, long ld, const long *rows, int j0,
               int jn, int kn, __mmask16 store_mask)
{
    __mmask16 km = (__mmask16)(0xFFFFu >> (16 - kn));
    __m512 r[16], t[16];
    for (int j = 0; j < 16; j++)
        r[j] = j < jn ? _mm512_maskz_loadu_ps(km, src + (rows ? rows[j] : (j0 + j) * ld))
                      : _mm512_setzero_ps();
    for (int j = 0; j < 16; j += 2) {
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {
        r[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)
        for (int j = 0; j < 4; j++) {
            t[h + j] = _mm512_shuffle_f32x4(r[h + j], r[h + j + 4], 0x88);
            t[h + j + 4] = _mm512_shuffle_f32x4(r[h + j], r[h + j + 4], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
    }
    for (int k = 0; k < kn; k++)
        _mm512_mask_storeu_ps(dst + k * ldd, store_mask, r[k]);
}

#endif
