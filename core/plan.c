/* plan.c: the execution plan (plan.h): each layer's kernel, fusion,
 * layout and scratch, decided once. */
#include "plan.h"

#include "convblock.h"

static size_t larger(size_t a, size_t b) { return a > b ? a : b; }

/* The kind of the step that starts at layer i: a block (conv, ReLU,
 * pool) or one layer. */
static mn_step_kind choose(const mn_kernels *k, const mn_model *m, uint32_t i, int training)
{
    const mn_layer *l = &m->arch.layers[i];
    if (l->kind == MN_LAYER_CONV2D) {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, 1);
        if (mn_layer_starts_block(m, i)) {
            const mn_layer *pool = &m->arch.layers[i + 2];
            const int p22 = pool->k == 2 && pool->s == 2;
            /* Inference takes Winograd's 2.25x fewer multiplies where it
             * applies; training keeps the direct kernels' bits, and the
             * winners backward needs. */
            if (!training && p22 && mn_kernels_winograd(k, &d, 1))
                return MN_STEP_BLOCK_WINOGRAD;
            if (p22 && k->block_applies && k->block_applies(&d))
                return MN_STEP_BLOCK_DIRECT;
            return MN_STEP_BLOCK_GEMM;
        }
        if (!training && mn_kernels_winograd(k, &d, 0))
            return MN_STEP_CONV_WINOGRAD;
        if (k->direct_applies && k->direct_applies(&d))
            return MN_STEP_CONV_DIRECT;
        return MN_STEP_CONV_GEMM;
    }
    switch (l->kind) {
    case MN_LAYER_MAXPOOL:
        return MN_STEP_MAXPOOL;
    case MN_LAYER_DENSE: {
        const int I = (int)mn_shape_size(mn_layer_in_shape(m, i)), O = (int)l->out;
        if (!training && k->dense_applies && k->dense_applies(I, O))
            return MN_STEP_DENSE_PREPARED;
        return MN_STEP_DENSE_GEMM;
    }
    case MN_LAYER_RELU:
        return MN_STEP_RELU;
    case MN_LAYER_SOFTMAX:
        return MN_STEP_SOFTMAX;
    case MN_LAYER_BATCHNORM:
        return training ? MN_STEP_BATCHNORM_TRAIN : MN_STEP_BATCHNORM_INFER;
    case MN_LAYER_DROPOUT:
        return training ? MN_STEP_DROPOUT_TRAIN : MN_STEP_COPY;
    default: /* flatten */
        return MN_STEP_COPY;
    }
}

static int is_block(mn_step_kind s)
{
    return s == MN_STEP_BLOCK_WINOGRAD || s == MN_STEP_BLOCK_DIRECT || s == MN_STEP_BLOCK_GEMM;
}

static int is_winograd(mn_step_kind s)
{
    return s == MN_STEP_BLOCK_WINOGRAD || s == MN_STEP_CONV_WINOGRAD;
}

/* Kernels that can store their output channels-last (kernels.h). */
static int writes_channels_last(mn_step_kind s)
{
    return is_winograd(s) || s == MN_STEP_BLOCK_DIRECT || s == MN_STEP_CONV_DIRECT;
}

/* Scratch the step needs (training: its backward too, by the generic
 * layers). */
static size_t step_scratch(const mn_kernels *k, const mn_model *m, const mn_step *s, int training)
{
    if (s->kind > MN_STEP_CONV_GEMM)
        return 0;
    mn_conv2d_dims d = mn_layer_conv_dims(m, s->layer, 1);
    size_t n = 0;
    switch (s->kind) {
    case MN_STEP_BLOCK_WINOGRAD:
    case MN_STEP_CONV_WINOGRAD:
        n = k->winograd_scratch_floats(&d);
        break;
    case MN_STEP_BLOCK_DIRECT:
        n = k->block_scratch_floats(&d);
        break;
    case MN_STEP_CONV_DIRECT:
        n = k->conv_scratch_floats(&d);
        break;
    default:
        break;
    }
    if (s->kind == MN_STEP_BLOCK_GEMM || (training && is_block(s->kind)))
        n = larger(n, mn_convblock_scratch_floats(&d));
    if (s->kind == MN_STEP_CONV_GEMM || training)
        n = larger(n, mn_conv2d_scratch_floats(&d));
    return n;
}

mn_status mn_plan_make(mn_plan *p, const mn_model *m, int training, mn_error *err)
{
    mn_isa isa;
    mn_status st = mn_isa_active(&isa, err);
    if (st != MN_OK)
        return st;
    const mn_kernels *k = mn_kernels_for(isa);
    p->k = k;
    p->training = training;
    p->n_steps = 0;
    p->scratch_floats = 1;
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        mn_step *s = &p->steps[p->n_steps++];
        s->kind = choose(k, m, i, training);
        s->layer = s->last = i;
        s->layout = 0;
        /* In inference a convolution's ReLU is applied as its rows are
         * stored, in place on its output (run.c aliases the two). */
        s->relu = !training && (s->kind == MN_STEP_CONV_WINOGRAD || s->kind == MN_STEP_CONV_DIRECT) &&
                  i + 1 < m->arch.n_layers && m->arch.layers[i + 1].kind == MN_LAYER_RELU;
        if (is_block(s->kind))
            s->last = i + 2;
        else if (s->relu)
            s->last = i + 1;
        i = s->last;
    }
    /* A convolution whose output goes straight into a Winograd one stores
     * it channels-last, which that one reads in place: the same bits
     * without two transposes. */
    for (uint32_t j = 0; j + 1 < p->n_steps; j++) {
        mn_step *a = &p->steps[j], *b = &p->steps[j + 1];
        if (!training && writes_channels_last(a->kind) && is_winograd(b->kind)) {
            a->layout |= MN_OUT_CHANNELS_LAST;
            b->layout |= MN_IN_CHANNELS_LAST;
        }
    }
    p->per_image = 0;
    while (!training && p->per_image < p->n_steps &&
           p->steps[p->per_image].kind != MN_STEP_DENSE_PREPARED &&
           p->steps[p->per_image].kind != MN_STEP_DENSE_GEMM)
        p->per_image++;
    for (uint32_t j = 0; j < p->n_steps; j++)
        p->scratch_floats = larger(p->scratch_floats, step_scratch(k, m, &p->steps[j], training));
    return MN_OK;
}
