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

/* out[o] = b[o] + (chain of FMAs over i in order) for one sample and
 * 128 units from o0: the register tiles' sums, bit for bit, but reading
 * whole 512-byte rows of wt in one pass. One sample is bound by reading
 * wt from L2: for the reference dense1 the tiles' two 64-unit passes took
 * 14.2 us, this one pass 11.1. */
static T512 void one_row(float *out, const float *in, const float *wt, const float *b, int I,
                         int O, int o0)
{
    /* named accumulators: GCC kept an array of them in memory */
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int i = 0; i < I; i++) {
        const __m512 x = _mm512_set1_ps(in[i]);
        const float *wi = wt + (long)i * O + o0;
#define FMA(v) a##v = _mm512_fmadd_ps(x, _mm512_loadu_ps(wi + 16 * v), a##v);
        FMA(0) FMA(1) FMA(2) FMA(3) FMA(4) FMA(5) FMA(6) FMA(7)
#undef FMA
    }
#define OUT(v)                                                                                 \
    _mm512_storeu_ps(out + o0 + 16 * v, _mm512_add_ps(_mm512_loadu_ps(b + o0 + 16 * v), a##v));
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
#undef OUT
}

T512 void mn_avx512_dense_forward(float *out, const float *in, const float *p, const float *b,
                                 int N, int I, int O)
{
    /* One sample takes one_row where the units come in 128s; a batch the
     * tiles, which read wt once per six samples. The same bits either way. */
    if (N == 1 && O % 128 == 0) {
        for (int o0 = 0; o0 < O; o0 += 128)
            one_row(out, in, p, b, I, O, o0);
        return;
    }
    const long *brow = (const long *)(const void *)(p + (size_t)I * O);
    conv_rows(in, I, 0, 1, brow, I, I, N, O, p, b, out);
}
