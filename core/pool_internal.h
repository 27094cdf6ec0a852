/* pool_internal.h (internal): the 2x2, stride-2 max-pool row shared by
 * pool.c, the fused conv block (convblock.c) and the levels' kernels. */
#ifndef MNIST_CORE_POOL_INTERNAL_H
#define MNIST_CORE_POOL_INTERNAL_H

#include <stdint.h>

/* o[j], a[j] for j < n: the maximum of the window at columns 2j, 2j + 1 of
 * the input rows r0 and r1, and its index i0 + 2j (+1, +rs, +rs+1), where
 * rs is the index distance from r0 to r1; the first maximum wins (strict
 * >, reading order), as in the general loop. Branch-free so it vectorises. */
static inline void mn_maxpool2x2_row(float *o, int32_t *a, const float *r0, const float *r1,
                                     int n, int i0, int rs)
{
#pragma omp simd
    for (int j = 0; j < n; j++) {
        int i = i0 + 2 * j;
        float m = r0[2 * j], v;
        int best = i;
        v = r0[2 * j + 1];
        best = v > m ? i + 1 : best;
        m = v > m ? v : m;
        v = r1[2 * j];
        best = v > m ? i + rs : best;
        m = v > m ? v : m;
        v = r1[2 * j + 1];
        best = v > m ? i + rs + 1 : best;
        m = v > m ? v : m;
        o[j] = m;
        a[j] = best;
    }
}

/* mn_maxpool2x2_row (a NULL: no winners kept), then o[j] = o[j] > 0 ?
 * o[j] : 0 when relu: the generic level's kernel, the others' twin. */
static inline void mn_maxpool2x2_row_relu(float *o, int32_t *a, const float *r0,
                                          const float *r1, int n, int i0, int rs, int relu)
{
    if (a) {
        mn_maxpool2x2_row(o, a, r0, r1, n, i0, rs);
    } else { /* the same comparisons, winners not kept */
#pragma omp simd
        for (int j = 0; j < n; j++) {
            float m = r0[2 * j], v = r0[2 * j + 1];
            m = v > m ? v : m;
            v = r1[2 * j];
            m = v > m ? v : m;
            v = r1[2 * j + 1];
            o[j] = v > m ? v : m;
        }
    }
    if (relu) {
#pragma omp simd
        for (int j = 0; j < n; j++)
            o[j] = o[j] > 0.0f ? o[j] : 0.0f;
    }
}

/* A 2x2 pool row kernel: mn_maxpool2x2_row_relu or a level's twin. */
typedef void (*mn_pool2x2_row_fn)(float *o, int32_t *a, const float *r0, const float *r1, int n,
                                  int i0, int rs, int relu);

/* mn_maxpool_forward with row for its 2x2, stride-2 windows. */
void mn_maxpool_forward_rows(mn_pool2x2_row_fn row, float *out, int32_t *argmax, const float *in,
                             int N, int C, int H, int W, int K, int S);

#endif
