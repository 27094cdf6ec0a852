/* neon_pool.c: the 2x2, stride-2 max-pool row in NEON: four windows a
 * step, the even and odd columns split by the de-interleaving load; the
 * tail by the generic loop. The same comparisons in the same order as
 * mn_maxpool2x2_row_relu (strict >: the first maximum wins, NaN never),
 * and its ReLU by comparison, not FMAX (which would pass NaN on): the
 * same outputs and winners. */
#include <arm_neon.h>

#include "neon.h"
#include "pool_internal.h"

void mn_neon_pool2x2_row(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                         int rs, int relu)
{
    const int32x4_t step = {0, 2, 4, 6};
    const float32x4_t zero = vdupq_n_f32(0.0f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float32x4x2_t p0 = vld2q_f32(r0 + 2 * j), p1 = vld2q_f32(r1 + 2 * j);
        const int32x4_t i = vaddq_s32(vdupq_n_s32(i0 + 2 * j), step);
        float32x4_t m = p0.val[0];
        int32x4_t best = i;
        uint32x4_t gt = vcgtq_f32(p0.val[1], m);
        m = vbslq_f32(gt, p0.val[1], m);
        best = vbslq_s32(gt, vaddq_s32(i, vdupq_n_s32(1)), best);
        gt = vcgtq_f32(p1.val[0], m);
        m = vbslq_f32(gt, p1.val[0], m);
        best = vbslq_s32(gt, vaddq_s32(i, vdupq_n_s32(rs)), best);
        gt = vcgtq_f32(p1.val[1], m);
        m = vbslq_f32(gt, p1.val[1], m);
        best = vbslq_s32(gt, vaddq_s32(i, vdupq_n_s32(rs + 1)), best);
        if (relu)
            m = vbslq_f32(vcgtq_f32(m, zero), m, zero);
        vst1q_f32(o + j, m);
        if (a)
            vst1q_s32(a + j, best);
    }
    if (j < n)
        mn_maxpool2x2_row_relu(o + j, a ? a + j : NULL, r0 + 2 * j, r1 + 2 * j, n - j, i0 + 2 * j,
                               rs, relu);
}
