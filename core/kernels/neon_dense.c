/* neon_dense.c: the prepared dense forward (kernels.h) in NEON: the
 * weights transposed to wt[I][O], so each input broadcasts onto whole
 * vectors of units. A tile is up to 4 samples by 16 units (16 of the 32 q
 * registers as accumulators), reading each row of wt once for its
 * samples. Each output is b + a chain of fused multiply-adds over i in
 * order, whatever the tile: a sample's bits do not depend on its batch. */
#include <arm_neon.h>

#include "neon.h"

#define INL static inline __attribute__((always_inline))

int mn_neon_dense_applies(int I, int O)
{
    (void)I;
    return O % 4 == 0;
}

size_t mn_neon_dense_prepared_floats(int I, int O)
{
    return (size_t)I * O;
}

void mn_neon_dense_prepare(float *p, const float *w, int I, int O)
{
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            p[(long)i * O + o] = w[(long)o * I + i];
}

/* out[s*O + o0 + 4v ..] for samples s < m and vectors v < nv: m and nv
 * are constants at every call site, so the accumulators stay in
 * registers. */
INL void tile(const int m, const int nv, float *out, const float *in, const float *wt,
              const float *b, int I, int O, int o0)
{
    float32x4_t acc[4][4];
    for (int s = 0; s < m; s++)
        for (int v = 0; v < nv; v++)
            acc[s][v] = vdupq_n_f32(0.0f);
    for (int i = 0; i < I; i++) {
        const float *wi = wt + (long)i * O + o0;
        float32x4_t wv[4];
        for (int v = 0; v < nv; v++)
            wv[v] = vld1q_f32(wi + 4 * v);
        for (int s = 0; s < m; s++) {
            const float32x4_t x = vdupq_n_f32(in[(long)s * I + i]);
            for (int v = 0; v < nv; v++)
                acc[s][v] = vfmaq_f32(acc[s][v], x, wv[v]);
        }
    }
    for (int s = 0; s < m; s++)
        for (int v = 0; v < nv; v++)
            vst1q_f32(out + (long)s * O + o0 + 4 * v,
                      vaddq_f32(vld1q_f32(b + o0 + 4 * v), acc[s][v]));
}

/* Samples [0, m) against all O units: 16 at a time, then 4s. */
INL void samples(const int m, float *out, const float *in, const float *wt, const float *b, int I,
                 int O)
{
    int o0 = 0;
    for (; o0 + 16 <= O; o0 += 16)
        tile(m, 4, out, in, wt, b, I, O, o0);
    for (; o0 < O; o0 += 4)
        tile(m, 1, out, in, wt, b, I, O, o0);
}

void mn_neon_dense_forward(float *out, const float *in, const float *p, const float *b, int N,
                           int I, int O)
{
    int s = 0;
    for (; s + 4 <= N; s += 4)
        samples(4, out + (long)s * O, in + (long)s * I, p, b, I, O);
    switch (N - s) {
    case 3:
        samples(3, out + (long)s * O, in + (long)s * I, p, b, I, O);
        break;
    case 2:
        samples(2, out + (long)s * O, in + (long)s * I, p, b, I, O);
        break;
    case 1:
        samples(1, out + (long)s * O, in + (long)s * I, p, b, I, O);
        break;
    default:
        break;
    }
}
