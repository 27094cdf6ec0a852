/* neon_gemm.c: the NEON micro-kernel under gemm.c's blocked driver, for
 * arm64 (AWS Graviton, Apple silicon, Ampere): a 4x16 register tile, 16
 * of the 32 q registers as accumulators, each B row loaded as four
 * vectors and each A element broadcast by lane. Every element is a chain
 * of fused multiply-adds in k order from zero, as on the x86 levels; the
 * edge tiles use fmaf, one fused multiply-add, so they give the same bits
 * as the full one. */
#include <arm_neon.h>
#include <math.h>

#include "neon.h"

#define MR 4
#define NR 16

/* The full tile: 4 rows of A (element k of row i at a[i*ais + k*aks]),
 * 16 columns of B. */
static void tile_full(int kc, const float *a, long ais, long aks, const float *b, long ldbk,
                      const long *boff, float *c, long ldc, int accumulate)
{
    float32x4_t acc[MR][4];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < 4; v++)
            acc[i][v] = vdupq_n_f32(0.0f);
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
        const float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4);
        const float32x4_t b2 = vld1q_f32(bk + 8), b3 = vld1q_f32(bk + 12);
        for (int i = 0; i < MR; i++) {
            const float32x4_t ai = vdupq_n_f32(a[i * ais + k * aks]);
            acc[i][0] = vfmaq_f32(acc[i][0], ai, b0);
            acc[i][1] = vfmaq_f32(acc[i][1], ai, b1);
            acc[i][2] = vfmaq_f32(acc[i][2], ai, b2);
            acc[i][3] = vfmaq_f32(acc[i][3], ai, b3);
        }
    }
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < 4; v++) {
            float *p = c + (long)i * ldc + 4 * v;
            vst1q_f32(p, accumulate ? vaddq_f32(vld1q_f32(p), acc[i][v]) : acc[i][v]);
        }
}

static void tile_neon(int m, int n, int kc, const float *a, long ais, long aks, const float *b,
                      long ldbk, const long *boff, float *c, long ldc, int accumulate)
{
    if (m == MR && n == NR) {
        tile_full(kc, a, ais, aks, b, ldbk, boff, c, ldc, accumulate);
        return;
    }
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
        for (int i = 0; i < m; i++) {
            const float ai = a[i * ais + k * aks];
            for (int j = 0; j < n; j++)
                acc[i][j] = fmaf(ai, bk[j], acc[i][j]);
        }
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float *p = c + (long)i * ldc + j;
            *p = accumulate ? *p + acc[i][j] : acc[i][j];
        }
}

void mn_neon_gemm(mn_gemm_isa *isa)
{
    isa->mr = MR;
    isa->nr = NR;
    isa->tile = tile_neon;
    isa->dot_nt = NULL;
    isa->pack_bt = NULL;
}
