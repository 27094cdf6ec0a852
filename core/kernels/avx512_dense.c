/* avx512_dense.c: the prepared dense forward (dense_prepared.h) on the
 * convolutions' AVX-512 register tiles: the images stand in for pixels
 * (I floats apart), the units for output channels. The prepared block is
 * wt[I][O] followed by the row offsets 0..I-1 the tiles index their
 * inputs with. */
#include "avx512.h"

#include "conv_tile_avx512.h"

int mn_avx512_dense_applies(int I, int O)
{
    (void)I;
    return O % 16 == 0;
}

size_t mn_avx512_dense_prepared_floats(int I, int O)
{
    /* wt, then I longs */
    return (size_t)I * O + 2 * (size_t)I;
}

T512 void mn_avx512_dense_prepare(float *p, const float *w, int I, int O)
{
    transpose_weights(p, w, O, I);
    long *brow = (long *)(void *)(p + (size_t)I * O);
    for (int i = 0; i < I; i++)
        brow[i] = i;
}

/* out[o] = b[o] + (chain of FMAs over i in order) for one sample and v
 * vectors of units from o0 (v = 8 or 16): the register tiles' sums, bit
 * for bit, but reading whole rows of wt in one pass. One sample is bound by
 * reading wt from L2 or L3: for the reference dense1 the tiles' two
 * 64-unit passes took 14.2 us, one 128-unit pass 11.1; the large model's
 * 1 MB dense256, 13.3-14.2 us in two 128-unit passes, 12.2-13.1 in one
 * (one sequential stream for the prefetchers). */
INL void one_row(const int v, float *out, const float *in, const float *wt, const float *b, int I,
                 int O, int o0)
{
    /* named accumulators: GCC kept an array of them in memory */
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m512 a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
    for (int i = 0; i < I; i++) {
        const __m512 x = _mm512_set1_ps(in[i]);
        const float *wi = wt + (long)i * O + o0;
#define FMA(u)                                                                                 \
    if (u < v)                                                                                 \
        a##u = _mm512_fmadd_ps(x, _mm512_loadu_ps(wi + 16 * u), a##u);
        FMA(0) FMA(1) FMA(2) FMA(3) FMA(4) FMA(5) FMA(6) FMA(7)
        FMA(8) FMA(9) FMA(10) FMA(11) FMA(12) FMA(13) FMA(14) FMA(15)
#undef FMA
    }
#define OUT(u)                                                                                 \
    if (u < v)                                                                                 \
        _mm512_storeu_ps(out + o0 + 16 * u, _mm512_add_ps(_mm512_loadu_ps(b + o0 + 16 * u), a##u));
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
    OUT(8) OUT(9) OUT(10) OUT(11) OUT(12) OUT(13) OUT(14) OUT(15)
#undef OUT
}

T512 void mn_avx512_dense_forward(float *out, const float *in, const float *p, const float *b,
                                 int N, int I, int O)
{
    /* One sample takes one_row where the units come in 256s or 128s; a
     * batch the tiles, which read wt once per six samples. The same bits
     * either way. */
    if (N == 1 && O % 256 == 0) {
        for (int o0 = 0; o0 < O; o0 += 256)
            one_row(16, out, in, p, b, I, O, o0);
        return;
    }
    if (N == 1 && O % 128 == 0) {
        for (int o0 = 0; o0 < O; o0 += 128)
            one_row(8, out, in, p, b, I, O, o0);
        return;
    }
    const long *brow = (const long *)(const void *)(p + (size_t)I * O);
    conv_rows(in, I, 0, 1, brow, I, I, N, O, p, b, out);
}
