/* generic_dense.c: the generic level's prepared dense forward (kernels.h),
 * plain C. The weights are transposed once, wt[I][O], so each input
 * multiplies a contiguous run of 16 units' weights into accumulators the
 * compiler keeps in vector registers, for up to three samples at once
 * (each weight read once for them), where the GEMM
 * path takes one output at a time as a dot product over a row of w[O][I]
 * (2 GFLOP/s for one image of the reference dense1 here, against 14 for
 * this). Each output is b + (a chain of multiplies and adds over i in
 * order, from zero), whatever the batch: a sample's result does not
 * depend on the requests it is batched with. */
#include "generic.h"

#define UNITS 16 /* outputs a pass */
#define SAMPLES 3 /* samples a pass: 3 x 16 accumulators, 12 SSE2 registers */

int mn_generic_dense_applies(int I, int O)
{
    (void)I;
    return O % UNITS == 0;
}

size_t mn_generic_dense_prepared_floats(int I, int O) { return (size_t)I * O; }

void mn_generic_dense_prepare(float *p, const float *w, int I, int O)
{
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            p[(size_t)i * O + o] = w[(size_t)o * I + i];
}

/* out[s*O + o0 .. + UNITS) for s samples (s <= SAMPLES, a constant where
 * inlined): each weight read once for them all. */
static inline __attribute__((always_inline)) void units(float *out, const float *in,
                                                        const float *wt, const float *b, int I,
                                                        int O, int o0, const int s)
{
    float acc[SAMPLES][UNITS] = {{0}};
    for (int i = 0; i < I; i++) {
        const float *wi = wt + (size_t)i * O + o0;
#pragma GCC unroll 3
        for (int k = 0; k < s; k++) {
            const float x = in[(size_t)k * I + i];
#pragma GCC unroll 16
            for (int j = 0; j < UNITS; j++)
                acc[k][j] += x * wi[j];
        }
    }
    for (int k = 0; k < s; k++)
#pragma GCC unroll 16
        for (int j = 0; j < UNITS; j++)
            out[(size_t)k * O + o0 + j] = b[o0 + j] + acc[k][j];
}

void mn_generic_dense_forward(float *out, const float *in, const float *p, const float *b, int N,
                              int I, int O)
{
    int n = 0;
    for (; n + SAMPLES <= N; n += SAMPLES)
        for (int o0 = 0; o0 < O; o0 += UNITS)
            units(out + (size_t)n * O, in + (size_t)n * I, p, b, I, O, o0, SAMPLES);
    for (; n < N; n++)
        for (int o0 = 0; o0 < O; o0 += UNITS)
            units(out + (size_t)n * O, in + (size_t)n * I, p, b, I, O, o0, 1);
}
