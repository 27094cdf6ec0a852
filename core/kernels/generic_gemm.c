/* generic_gemm.c: the generic level's GEMM micro-kernel, plain C with
 * constant bounds the compiler keeps in vector registers (SSE2 on any
 * x86-64, NEON on arm64). No fused multiply-add: each product is rounded
 * before it is added, on every CPU. */
#include <string.h>

#include "generic.h"

#define P_MR 4
#define P_NR 16

/* The full P_MR x P_NR tile with constant bounds, which the compiler keeps
 * in vector registers (SSE2 on any x86-64, NEON on ARM). */
static void tile_portable_full(int kc, const float *a, long ais, long aks, const float *b,
                               long ldbk, const long *boff, float acc[P_MR][P_NR])
{
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
        for (int i = 0; i < P_MR; i++) {
            float ai = a[i * ais + k * aks];
            for (int j = 0; j < P_NR; j++)
                acc[i][j] += ai * bk[j];
        }
    }
}

static void tile_portable(int m, int n, int kc, const float *a, long ais, long aks,
                          const float *b, long ldbk, const long *boff, float *c, long ldc,
                          int accumulate)
{
    float acc[P_MR][P_NR];
    memset(acc, 0, sizeof acc);
    if (m == P_MR && n == P_NR) {
        tile_portable_full(kc, a, ais, aks, b, ldbk, boff, acc);
    } else {
        for (int k = 0; k < kc; k++) {
            const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
            for (int i = 0; i < m; i++) {
                float ai = a[i * ais + k * aks];
                for (int j = 0; j < n; j++)
                    acc[i][j] += ai * bk[j];
            }
        }
    }
    for (int i = 0; i < m; i++) {
        float *ci = c + (long)i * ldc;
        if (accumulate)
            for (int j = 0; j < n; j++)
                ci[j] += acc[i][j];
        else
            for (int j = 0; j < n; j++)
                ci[j] = acc[i][j];
    }
}

void mn_generic_gemm(mn_gemm_isa *isa)
{
    isa->mr = P_MR;
    isa->nr = P_NR;
    isa->tile = tile_portable;
    isa->dot_nt = NULL;
    isa->pack_bt = NULL;
}

