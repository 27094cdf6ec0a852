/* kernels.h (internal): the compute kernels of one instruction-set level
 * (mnist/cpu.h) as a table. The execution plan (plan.c) reads the table
 * of the level in force once, when a model is prepared, and picks each
 * layer's kernel from it; the layer files (conv2d.c, convblock.c,
 * pool.c, dense.c) are the generic level's kernels and the references,
 * and call no table. A NULL entry: this level has no such kernel (the
 * plan takes the generic layer instead).
 *
 * Every level's kernels give, on every CPU that runs the level, the
 * same bits: the direct convolutions and the dense ones are the blocked
 * GEMM's sums (gemm.h) with the level's multiply-add. Kernels never ask
 * the CPU: cpu.c does, and mn_kernels_for returns a level's table only
 * when the CPU runs it. */
#ifndef MNIST_CORE_KERNELS_H
#define MNIST_CORE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "gemm.h"
#include "mnist/cpu.h"
#include "mnist/layers.h"

/* Layout flags of the inference convolutions: their input or output is
 * channels-last, [N,H,W,C], instead of the library's [N,C,H,W]. A
 * convolution feeding a Winograd one hands it channels-last, which that
 * one reads in place, saving two transposes (plan.c). */
#define MN_IN_CHANNELS_LAST 1
#define MN_OUT_CHANNELS_LAST 2

typedef struct mn_kernels {
    mn_isa isa;

    /* The GEMM micro-kernels under gemm.c's blocked driver. */
    void (*gemm)(mn_gemm_isa *isa);

    /* Direct convolution, output channels in the vector lanes: 1 when
     * conv_forward runs d (stride 1, no padding, OC a whole number of
     * vectors, ...), when block_forward does. */
    int (*direct_applies)(const mn_conv2d_dims *d);
    int (*block_applies)(const mn_conv2d_dims *d);
    /* out = conv(in) + b as mn_conv2d_forward's bits at this level, then
     * ReLU'd when relu; layout may hold MN_OUT_CHANNELS_LAST. scratch
     * holds conv_scratch_floats(d). */
    size_t (*conv_scratch_floats)(const mn_conv2d_dims *d);
    void (*conv_forward)(float *out, const float *in, const float *w, const float *b,
                         const mn_conv2d_dims *d, float *scratch, int relu, int layout);
    /* The conv -> ReLU -> 2x2/2 max-pool block (convblock.h): the bits of
     * mn_convblock_forward at this level, with winners when argmax is not
     * NULL; without them layout may hold MN_OUT_CHANNELS_LAST. */
    size_t (*block_scratch_floats)(const mn_conv2d_dims *d);
    void (*block_forward)(float *out, int32_t *argmax, const float *in, const float *w,
                          const float *b, const mn_conv2d_dims *d, float *scratch, int layout);

    /* 3x3 convolutions for inference by Winograd's minimal filtering
     * F(2x2, 3x3) (Lavin & Gray, 2015): each 2x2 block of outputs costs 16
     * multiply-adds per input and output channel instead of 36. Within
     * float rounding of the direct convolution, not bit for bit, so
     * training keeps the direct kernels.
     * winograd_applies: 1 when the calls below run d (pooled: as a block
     * with a 2x2/2 pool). The transformed weights u (weights_floats(d)
     * floats) come from w[OC,C,3,3] with tmp holding 9 C OC floats; a
     * model whose weights no longer change keeps them
     * (mn_model_prepare_inference). winograd_conv: out = conv(in, w) + b,
     * ReLU'd when relu; u NULL transforms in scratch (the same bits).
     * winograd_block: out = 2x2/2 max-pool(ReLU(conv + b)), each 2x2
     * output block one pool window. layout's MN_IN_CHANNELS_LAST and
     * MN_OUT_CHANNELS_LAST make in or out [N,H,W,C]: the same bits,
     * moved. */
    int (*winograd_applies)(const mn_conv2d_dims *d, int pooled);
    size_t (*winograd_scratch_floats)(const mn_conv2d_dims *d);
    size_t (*winograd_weights_floats)(const mn_conv2d_dims *d);
    void (*winograd_transform)(float *u, const float *w, const mn_conv2d_dims *d, float *tmp);
    void (*winograd_conv)(float *out, const float *in, const float *w, const float *u,
                          const float *b, const mn_conv2d_dims *d, float *scratch, int relu,
                          int layout);
    void (*winograd_block)(float *out, const float *in, const float *w, const float *u,
                           const float *b, const mn_conv2d_dims *d, float *scratch, int layout);

    /* The dense layer's inference forward on weights laid out beforehand
     * (mn_model_prepare_inference). The training layout, w[O,I], makes
     * each output a dot product over a row of w: one image reads all of w
     * (819 KB for the reference dense1) as O separate streams. Transposed,
     * each input broadcasts onto whole vectors of outputs. Each output is
     * b + a chain of multiply-adds in i order, whatever the batch: a
     * sample's result does not depend on the requests it is batched with.
     * Within float rounding of mn_dense_forward, not bit for bit.
     * dense_applies: 1 when these run I x O. */
    int (*dense_applies)(int I, int O);
    size_t (*dense_prepared_floats)(int I, int O);
    void (*dense_prepare)(float *p, const float *w, int I, int O);
    void (*dense_forward)(float *out, const float *in, const float *p, const float *b, int N,
                          int I, int O);

    /* The 2x2, stride-2 max-pool row: the same outputs and winners as
     * mn_maxpool2x2_row_relu (pool_internal.h). */
    void (*pool2x2_row)(float *o, int32_t *a, const float *r0, const float *r1, int n, int i0,
                        int rs, int relu);
} mn_kernels;

/* 1 when k has a Winograd kernel for d (pooled: as a block). */
static inline int mn_kernels_winograd(const mn_kernels *k, const mn_conv2d_dims *d, int pooled)
{
    return k->winograd_applies && k->winograd_applies(d, pooled);
}

/* Level isa's table; NULL when this build or CPU lacks the level. */
const mn_kernels *mn_kernels_for(mn_isa isa);

/* The table of the level in force (mn_isa_active); the generic one when
 * MNIST_ISA is wrong (model preparation reports that as an error first). */
const mn_kernels *mn_kernels_active(void);

/* The levels' tables (kernels/<level>.c). */
extern const mn_kernels mn_kernels_generic, mn_kernels_avx2, mn_kernels_avx512, mn_kernels_neon;

#endif
