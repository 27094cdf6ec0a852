/* plan.h (internal): the execution plan. When a workspace is made for a
 * model (for inference or for training), plan.c decides once, for the
 * instruction-set level in force, each layer's kernel, what is fused
 * (conv -> ReLU -> pool blocks, a ReLU into the convolution before it),
 * the layout each convolution hands to the next (channels-last into a
 * Winograd one) and the scratch the steps need; run.c's forward just runs
 * the steps. Training plans keep the kernels whose bits the backward pass
 * and the tests rely on: direct convolutions and GEMMs, never Winograd,
 * and the pools' winners. */
#ifndef MNIST_CORE_PLAN_H
#define MNIST_CORE_PLAN_H

#include <stddef.h>

#include "kernels.h"
#include "model_internal.h"

typedef enum {
    MN_STEP_BLOCK_WINOGRAD, /* conv -> ReLU -> 2x2/2 pool by the level's Winograd kernel */
    MN_STEP_BLOCK_DIRECT,   /* ... by the level's direct kernel */
    MN_STEP_BLOCK_GEMM,     /* ... by convblock.c (any pool window) */
    MN_STEP_CONV_WINOGRAD,  /* a convolution (and its ReLU when relu) by Winograd */
    MN_STEP_CONV_DIRECT,    /* ... by the level's direct kernel */
    MN_STEP_CONV_GEMM,      /* ... by conv2d.c (im2col + GEMM), no ReLU fused */
    MN_STEP_MAXPOOL,
    MN_STEP_DENSE_PREPARED, /* the level's dense kernel on the prepared weights */
    MN_STEP_DENSE_GEMM,
    MN_STEP_RELU,
    MN_STEP_COPY, /* flatten, and dropout in inference: the same floats */
    MN_STEP_SOFTMAX,
    MN_STEP_BATCHNORM_TRAIN,
    MN_STEP_BATCHNORM_INFER,
    MN_STEP_DROPOUT_TRAIN
} mn_step_kind;

typedef struct {
    mn_step_kind kind;
    uint32_t layer; /* the first layer it runs; it reads that layer's input */
    uint32_t last;  /* the last layer it runs; it writes that layer's output */
    int relu;       /* a convolution's ReLU (layer + 1) done as its rows are stored */
    int layout;     /* MN_IN_CHANNELS_LAST, MN_OUT_CHANNELS_LAST (kernels.h) */
} mn_step;

typedef struct {
    const mn_kernels *k;
    int training;
    uint32_t n_steps;
    mn_step steps[MN_MAX_LAYERS];
    /* Inference runs its first per_image steps (the convolutions, up to
     * the first dense layer) one image at a time: an image's activations
     * stay in cache from one layer to the next, where a batch's would
     * stream through memory. The dense layers then take the whole batch,
     * reading their weights once. The same bits either way. */
    uint32_t per_image;
    size_t scratch_floats; /* the most any step (and, training, backward) needs */
} mn_plan;

/* The plan for running m on the level in force (mn_isa_active), for
 * training or inference. An inference plan takes the prepared weights
 * of mn_model_prepare_inference (made for the same level: one per process).
 * Fails only when MNIST_ISA is wrong (MN_ERR_ARG). */
mn_status mn_plan_make(mn_plan *p, const mn_model *m, int training, mn_error *err);

/* ---- shape helpers shared by plan.c and run.c ---- */

static inline size_t mn_shape_size(mn_shape s) { return (size_t)s.c * s.h * s.w; }

/* The sample shape layer i reads. */
static inline mn_shape mn_layer_in_shape(const mn_model *m, uint32_t i)
{
    return i ? m->out_shape[i - 1] : m->arch.input;
}

/* The conv geometry of layer i for N samples. */
static inline mn_conv2d_dims mn_layer_conv_dims(const mn_model *m, uint32_t i, int N)
{
    const mn_layer *l = &m->arch.layers[i];
    mn_shape in = mn_layer_in_shape(m, i);
    mn_conv2d_dims d = {N, (int)in.c, (int)in.h, (int)in.w, (int)l->out, (int)l->k,
                        (int)l->s, (int)l->p, 0, 0};
    mn_conv2d_dims_finish(&d);
    return d;
}

/* Layer i starts a conv -> ReLU -> max-pool block, run fused: the conv's
 * and ReLU's outputs are then never stored. */
static inline int mn_layer_starts_block(const mn_model *m, uint32_t i)
{
    const mn_layer *l = m->arch.layers;
    return i + 2 < m->arch.n_layers && l[i].kind == MN_LAYER_CONV2D &&
           l[i + 1].kind == MN_LAYER_RELU && l[i + 2].kind == MN_LAYER_MAXPOOL;
}

#endif
