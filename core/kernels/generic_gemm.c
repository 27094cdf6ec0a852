/* generic_gemm.c: the generic level's GEMM micro-kernel, plain C with
 * constant bounds the compiler keeps in vector registers (SSE2 on any
 * x86-64, NEON on arm64). No fused multiply-add: each product is rounded
 * before it is added, on every CPU. */
#include <string.h>

#include "generic.h"

#define P_MR 6
#define P_NR 8

/* The full P_MR x P_NR tile: with constant bounds, unrolled, the 48
 * accumulators are a local array the compiler keeps in 12 of SSE2's 16
 * registers (NEON's 32), each k step one broadcast of an A element and
 * two vector multiplies and adds per row (an array passed in was kept in
 * memory: 12-14 GFLOP/s on the model's shapes here, 17-26 now). The sums
 * are the edge tiles' to the bit: the same products added in the same
 * order. */
static void tile_full(int kc, const float *a, long ais, long aks, const float *b, long ldbk,
                      const long *boff, float *c, long ldc, int accumulate)
{
    float acc[P_MR][P_NR] = {{0}};
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
        float bv[P_NR];
#pragma GCC unroll 8
        for (int j = 0; j < P_NR; j++)
            bv[j] = bk[j];
#pragma GCC unroll 6
        for (int i = 0; i < P_MR; i++) {
            const float ai = a[i * ais + k * aks];
#pragma GCC unroll 8
            for (int j = 0; j < P_NR; j++)
                acc[i][j] += ai * bv[j];
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < P_MR; i++) {
        float *ci = c + (long)i * ldc;
#pragma GCC unroll 8
        for (int j = 0; j < P_NR; j++)
            ci[j] = accumulate ? ci[j] + acc[i][j] : acc[i][j];
    }
}

static void tile_portable(int m, int n, int kc, const float *a, long ais, long aks,
                          const float *b, long ldbk, const long *boff, float *c, long ldc,
                          int accumulate)
{
    if (m == P_MR && n == P_NR) {
        tile_full(kc, a, ais, aks, b, ldbk, boff, c, ldc, accumulate);
        return;
    }
    float acc[P_MR][P_NR];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (boff ? boff[k] : (long)k * ldbk);
        for (int i = 0; i < m; i++) {
            float ai = a[i * ais + k * aks];
            if (n == P_NR) /* whole rows: constant bounds, vectorised */
                for (int j = 0; j < P_NR; j++)
                    acc[i][j] += ai * bk[j];
            else
                for (int j = 0; j < n; j++)
                    acc[i][j] += ai * bk[j];
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

