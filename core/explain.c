/* explain.c: one sample's forward pass with every layer's output kept,
 * and its backward pass to the input only (explain.h). It runs the plain
 * layer kernels unfused, because the fused inference blocks never store
 * the convolutions' outputs the feature maps show; and it computes no
 * weight gradients, which an explanation does not need. */
#include "mnist/explain.h"

#include <stdlib.h>
#include <string.h>

#include "mnist/layers.h"
#include "model_internal.h"

struct mn_explainer {
    const mn_model *m;
    float *input;                   /* the last forward's input */
    float *act[MN_MAX_LAYERS];      /* each layer's output, one sample */
    int32_t *argmax[MN_MAX_LAYERS]; /* max-pool winners */
    float *grad[2];                 /* backward ping-pong, the largest shape */
    float *scratch;                 /* conv columns and their gradient */
    int conv_out[MN_MAX_LAYERS];    /* per convolution: the layer its map is read at */
    int conv_layer[MN_MAX_LAYERS];
    int n_convs;
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
    mn_explainer *x = calloc(1, sizeof *x);
    if (!x)
        return mn_error_set(err, MN_ERR_NOMEM, "explain: out of memory");
    x->m = m;
    size_t largest = shape_size(a->input), scratch = 1;
    int ok = (x->input = malloc(largest * sizeof(float))) != NULL;
    for (uint32_t i = 0; i < a->n_layers && ok; i++) {
        const mn_layer *l = &a->layers[i];
        size_t n = shape_size(m->out_shape[i]);
        largest = n > largest ? n : largest;
        ok = (x->act[i] = malloc(n * sizeof(float))) != NULL;
        if (l->kind == MN_LAYER_MAXPOOL)
            ok = ok && (x->argmax[i] = malloc(n * sizeof(int32_t)));
        if (l->kind == MN_LAYER_CONV2D) {
            mn_conv2d_dims d = conv_dims(m, i);
            size_t s = mn_conv2d_scratch_floats(&d);
            scratch = s > scratch ? s : scratch;
            int relu = i + 1 < a->n_layers && a->layers[i + 1].kind == MN_LAYER_RELU;
            x->conv_layer[x->n_convs] = (int)i;
            x->conv_out[x->n_convs++] = (int)i + relu;
        }
    }
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
    }
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
            mn_conv2d_dims d = conv_dims(m, (uint32_t)i);
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

void mn_explain_saliency(mn_explainer *x, const float *in, int k, float *out)
{
    mn_explain_gradient(x, k, out);
    const size_t n = shape_size(x->m->arch.input);
    for (size_t i = 0; i < n; i++)
        out[i] *= in[i];
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
