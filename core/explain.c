/* explain.c: one sample's forward pass with every layer's output kept,
 * and its backward pass to the input only (explain.h). It runs the layers
 * unfused, because the fused inference blocks never store the
 * convolutions' outputs the feature maps show; and it computes no weight
 * gradients, which an explanation does not need. Where the level in force
 * has a Winograd kernel for it (kernels/kernels.h) a 3x3 convolution and its ReLU run by it, and so does the
 * input gradient of a convolution: for stride 1 and no padding it is the
 * convolution of the output gradient, padded by 2, with the kernels
 * turned 180 degrees and their channels swapped. */
#include "mnist/explain.h"

#include <stdlib.h>
#include <string.h>

#include "mnist/layers.h"
#include "model_internal.h"
#include "kernels.h"

struct mn_explainer {
    const mn_model *m;
    const mn_kernels *k;            /* the level in force */
    float *input;                   /* the last forward's input */
    float *act[MN_MAX_LAYERS];      /* each layer's output, one sample */
    int32_t *argmax[MN_MAX_LAYERS]; /* max-pool winners */
    float *grad[2];                 /* backward ping-pong, the largest shape */
    float *scratch;                 /* conv columns and their gradient */
    int conv_out[MN_MAX_LAYERS];    /* per convolution: the layer its map is read at */
    int conv_layer[MN_MAX_LAYERS];
    int n_convs;
    /* per convolution layer run by Winograd: its backward's turned
     * kernels, transformed (NULL: the plain kernels) */
    int wino_forward[MN_MAX_LAYERS];
    float *back_u[MN_MAX_LAYERS];
    float *padded; /* an output gradient padded by 2 */
    float *zeros;  /* the backward convolution's bias */
};

static size_t shape_size(mn_shape s) { return (size_t)s.c * s.h * s.w; }

static mn_shape in_shape(const mn_model *m, uint32_t i)
{
    return i ? m->out_shape[i - 1] : m->arch.input;
}

static mn_conv2d_dims conv_dims(const mn_model *m, uint32_t i)
{
    const mn_layer *l = &m->arch.layers[i];
    mn_shape in = in_shape(m, i);
    mn_conv2d_dims d = {1, (int)in.c, (int)in.h, (int)in.w, (int)l->out, (int)l->k,
                        (int)l->s, (int)l->p, 0, 0};
    mn_conv2d_dims_finish(&d);
    return d;
}

/* The convolution whose output is layer i's input gradient: over the
 * output gradient padded by K-1, OC channels in, C out. */
static mn_conv2d_dims back_dims(const mn_conv2d_dims *f)
{
    mn_conv2d_dims d = {1, f->OC, f->OH + 2 * (f->K - 1), f->OW + 2 * (f->K - 1), f->C, f->K, 1, 0, 0, 0};
    mn_conv2d_dims_finish(&d);
    return d;
}

/* Layer i's kernels turned 180 degrees with their channels swapped
 * (w'[c, oc, a, b] = w[oc, c, K-1-a, K-1-b]), Winograd-transformed into a
 * new buffer; NULL when out of memory. */
static float *turned_kernels(const mn_kernels *k, const mn_model *m, uint32_t i,
                             const mn_conv2d_dims *f, const mn_conv2d_dims *b)
{
    const float *w = m->params + m->w_off[i];
    const int K = f->K, KK = K * K;
    float *t = malloc(sizeof(float) * (size_t)f->OC * f->C * KK);
    float *tmp = malloc(sizeof(float) * 9 * (size_t)f->OC * f->C);
    float *u = malloc(sizeof(float) * k->winograd_weights_floats(b));
    if (t && tmp && u) {
        for (int oc = 0; oc < f->OC; oc++)
            for (int c = 0; c < f->C; c++)
                for (int k = 0; k < KK; k++)
                    t[((size_t)c * f->OC + oc) * KK + (KK - 1 - k)] = w[((size_t)oc * f->C + c) * KK + k];
        k->winograd_transform(u, t, b, tmp);
    } else {
        free(u);
        u = NULL;
    }
    free(t);
    free(tmp);
    return u;
}

mn_status mn_explainer_create(const mn_model *m, mn_explainer **out, mn_error *err)
{
    *out = NULL;
    const mn_arch *a = &m->arch;
    for (uint32_t i = 0; i < a->n_layers; i++) {
        uint32_t k = a->layers[i].kind;
        if (k == MN_LAYER_BATCHNORM || k == MN_LAYER_DROPOUT)
            return mn_error_set(err, MN_ERR_ARG,
                                "explain: layer %u (%s) is not supported: explain a folded model "
                                "(mn_model_fold)",
                                i, mn_layer_kind_name(k));
    }
    mn_isa isa;
    mn_status st = mn_isa_active(&isa, err);
    if (st != MN_OK)
        return st;
    mn_explainer *x = calloc(1, sizeof *x);
    if (!x)
        return mn_error_set(err, MN_ERR_NOMEM, "explain: out of memory");
    x->m = m;
    const mn_kernels *k = x->k = mn_kernels_for(isa);
    size_t largest = shape_size(a->input), scratch = 1, padded = 1, zeros = 1;
    int ok = (x->input = malloc(largest * sizeof(float))) != NULL;
    for (uint32_t i = 0; i < a->n_layers && ok; i++) {
        const mn_layer *l = &a->layers[i];
        size_t n = shape_size(m->out_shape[i]);
        largest = n > largest ? n : largest;
        ok = (x->act[i] = malloc(n * sizeof(float))) != NULL;
        if (l->kind == MN_LAYER_MAXPOOL)
            ok = ok && (x->argmax[i] = malloc(n * sizeof(int32_t)));
        if (l->kind == MN_LAYER_CONV2D) {
            mn_conv2d_dims d = conv_dims(m, i), b = back_dims(&d);
            size_t s = mn_conv2d_scratch_floats(&d);
            if (mn_kernels_winograd(k, &d, 0) && k->winograd_scratch_floats(&d) > s)
                s = k->winograd_scratch_floats(&d);
            if (mn_kernels_winograd(k, &b, 0) && k->winograd_scratch_floats(&b) > s)
                s = k->winograd_scratch_floats(&b);
            scratch = s > scratch ? s : scratch;
            int relu = i + 1 < a->n_layers && a->layers[i + 1].kind == MN_LAYER_RELU;
            x->conv_layer[x->n_convs] = (int)i;
            x->conv_out[x->n_convs++] = (int)i + relu;
            x->wino_forward[i] = relu && mn_kernels_winograd(k, &d, 0);
            if (d.S == 1 && d.P == 0 && mn_kernels_winograd(k, &b, 0)) {
                ok = (x->back_u[i] = turned_kernels(k, m, i, &d, &b)) != NULL;
                size_t pn = (size_t)b.C * b.H * b.W;
                padded = pn > padded ? pn : padded;
                zeros = (size_t)b.OC > zeros ? (size_t)b.OC : zeros;
            }
        }
    }
    ok = ok && (x->padded = calloc(padded, sizeof(float))) && (x->zeros = calloc(zeros, sizeof(float)));
    ok = ok && (x->grad[0] = malloc(largest * sizeof(float))) &&
         (x->grad[1] = malloc(largest * sizeof(float))) &&
         (x->scratch = malloc(scratch * sizeof(float)));
    if (!ok) {
        mn_explainer_free(x);
        return mn_error_set(err, MN_ERR_NOMEM, "explain: out of memory");
    }
    *out = x;
    return MN_OK;
}

void mn_explainer_free(mn_explainer *x)
{
    if (!x)
        return;
    for (int i = 0; i < MN_MAX_LAYERS; i++) {
        free(x->act[i]);
        free(x->argmax[i]);
        free(x->back_u[i]);
    }
    free(x->padded);
    free(x->zeros);
    free(x->input);
    free(x->grad[0]);
    free(x->grad[1]);
    free(x->scratch);
    free(x);
}

void mn_explain_forward(mn_explainer *x, const float *in, float *probs)
{
    const mn_model *m = x->m;
    const float *P = m->params, *v = in;
    memcpy(x->input, in, sizeof(float) * shape_size(m->arch.input));
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        const mn_layer *l = &m->arch.layers[i];
        mn_shape s = in_shape(m, i), o = m->out_shape[i];
        float *y = x->act[i];
        switch (l->kind) {
        case MN_LAYER_CONV2D: {
            mn_conv2d_dims d = conv_dims(m, i);
            if (x->wino_forward[i]) {
                x->k->winograd_conv(x->act[i + 1], v, P + m->w_off[i], m->prepared[i],
                                    P + m->b_off[i], &d, x->scratch, 1, 0);
                /* conv and ReLU at once into the ReLU's output, which is
                 * all backward and the maps read */
                y = x->act[++i];
                break;
            }
            mn_conv2d_forward(y, v, P + m->w_off[i], P + m->b_off[i], &d, x->scratch);
            break;
        }
        case MN_LAYER_RELU:
            mn_relu_forward(y, v, shape_size(s));
            break;
        case MN_LAYER_MAXPOOL:
            mn_maxpool_forward(y, x->argmax[i], v, 1, (int)s.c, (int)s.h, (int)s.w, (int)l->k,
                               (int)l->s);
            break;
        case MN_LAYER_DENSE:
            mn_dense_forward(y, v, P + m->w_off[i], P + m->b_off[i], 1, (int)shape_size(s),
                             (int)o.c);
            break;
        case MN_LAYER_SOFTMAX:
            mn_softmax_forward(y, v, 1, (int)o.c);
            break;
        default: /* flatten: the same values */
            memcpy(y, v, sizeof(float) * shape_size(s));
            break;
        }
        v = y;
    }
    memcpy(probs, v, sizeof(float) * m->out_shape[m->arch.n_layers - 1].c);
}

void mn_explain_gradient(mn_explainer *x, int k, float *grad)
{
    const mn_model *m = x->m;
    const float *P = m->params;
    const uint32_t last = m->arch.n_layers - 1; /* the softmax */
    float *g = x->grad[0], *other = x->grad[1];
    memset(g, 0, sizeof(float) * m->out_shape[last].c);
    g[k] = 1.0f; /* d logit_k / d logits */
    for (int i = (int)last - 1; i >= 0; i--) {
        const mn_layer *l = &m->arch.layers[i];
        const float *in = i ? x->act[i - 1] : x->input;
        mn_shape s = in_shape(m, (uint32_t)i);
        float *din = i ? other : grad;
        switch (l->kind) {
        case MN_LAYER_CONV2D: {
            mn_conv2d_dims d = conv_dims(m, (uint32_t)i), b = back_dims(&d);
            if (x->back_u[i]) {
                /* g padded by K-1 on every side, convolved with the turned kernels */
                const int p = d.K - 1;
                memset(x->padded, 0, sizeof(float) * (size_t)b.C * b.H * b.W);
                for (int c = 0; c < d.OC; c++)
                    for (int r = 0; r < d.OH; r++)
                        memcpy(x->padded + ((size_t)c * b.H + r + p) * b.W + p,
                               g + ((size_t)c * d.OH + r) * d.OW, sizeof(float) * d.OW);
                x->k->winograd_conv(din, x->padded, NULL, x->back_u[i], x->zeros, &b, x->scratch,
                                    0, 0);
                break;
            }
            mn_conv2d_backward(din, NULL, NULL, g, in, P + m->w_off[i], &d, x->scratch);
            break;
        }
        case MN_LAYER_DENSE:
            mn_dense_backward(din, NULL, NULL, g, in, P + m->w_off[i], 1, (int)shape_size(s),
                              (int)l->out);
            break;
        case MN_LAYER_MAXPOOL:
            mn_maxpool_backward(din, g, x->argmax[i], 1, (int)s.c, (int)s.h, (int)s.w, (int)l->k,
                                (int)l->s);
            break;
        case MN_LAYER_RELU:
            mn_relu_backward(din, g, x->act[i], shape_size(s));
            break;
        default: /* flatten */
            memcpy(din, g, sizeof(float) * shape_size(s));
            break;
        }
        if (i) {
            float *t = g;
            g = other;
            other = t;
        }
    }
}

void mn_explain_saliency(mn_explainer *x, int k, float *out)
{
    mn_explain_gradient(x, k, out);
    const size_t n = shape_size(x->m->arch.input);
    for (size_t i = 0; i < n; i++)
        out[i] *= x->input[i];
}

int mn_explain_conv_count(const mn_explainer *x) { return x->n_convs; }

const float *mn_explain_conv_output(const mn_explainer *x, int i, mn_shape *shape,
                                    uint32_t *layer)
{
    if (i < 0 || i >= x->n_convs)
        return NULL;
    *shape = x->m->out_shape[x->conv_out[i]];
    if (layer)
        *layer = (uint32_t)x->conv_layer[i];
    return x->act[x->conv_out[i]];
}
