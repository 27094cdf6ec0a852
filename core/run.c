/* run.c: running a model: the per-thread workspace, the forward pass
 * (inference, or training with batch statistics and dropout) and the
 * backward pass of softmax cross-entropy. Every buffer is sized once for
 * the workspace's largest batch; forward and backward allocate nothing.
 * ReLU and flatten work in place on the previous layer's output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "conv2d_internal.h"
#include "convblock.h"
#include "dense_prepared.h"
#include "mnist/layers.h"
#include "model_internal.h"
#include "winograd.h"

struct mn_workspace {
    int max_batch, training;
    float *act[MN_MAX_LAYERS];      /* [max_batch, out_shape[i]]; may alias act[i-1] */
    int owned[MN_MAX_LAYERS];       /* act[i] is this layer's own allocation */
    int32_t *argmax[MN_MAX_LAYERS]; /* max-pool winners, [max_batch, out_shape[i]] */
    float *grad[2];                 /* backward ping-pong, [max_batch, largest shape] */
    float *scratch;                 /* conv im2col, one image */
    float *bn_stats[MN_MAX_LAYERS]; /* batch norm: mean, var, invstd, [3, C] */
    uint8_t *mask[MN_MAX_LAYERS];   /* dropout masks, [max_batch, out_shape[i]] */
};

static size_t shape_size(mn_shape s) { return (size_t)s.c * s.h * s.w; }

static size_t larger(size_t a, size_t b) { return a > b ? a : b; }

/* The sample shape layer i reads. */
static mn_shape in_shape(const mn_model *m, uint32_t i)
{
    return i ? m->out_shape[i - 1] : m->arch.input;
}

/* The conv geometry of layer i for N samples. */
static mn_conv2d_dims conv_dims(const mn_model *m, uint32_t i, int N)
{
    const mn_layer *l = &m->arch.layers[i];
    mn_shape in = in_shape(m, i);
    mn_conv2d_dims d = {N, (int)in.c, (int)in.h, (int)in.w, (int)l->out, (int)l->k,
                        (int)l->s, (int)l->p, 0, 0};
    mn_conv2d_dims_finish(&d);
    return d;
}

/* Layer i starts a conv -> ReLU -> max-pool block, run fused (convblock.h):
 * the conv's and ReLU's outputs are then never stored. */
static int is_block(const mn_model *m, uint32_t i)
{
    const mn_layer *l = m->arch.layers;
    return i + 2 < m->arch.n_layers && l[i].kind == MN_LAYER_CONV2D &&
           l[i + 1].kind == MN_LAYER_RELU && l[i + 2].kind == MN_LAYER_MAXPOOL;
}

mn_status mn_workspace_create(const mn_model *m, int max_batch, int training,
                              mn_workspace **out, mn_error *err)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > 65536)
        return mn_error_set(err, MN_ERR_ARG, "workspace: batch %d out of range 1..65536", max_batch);
    mn_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return mn_error_set(err, MN_ERR_NOMEM, "workspace: out of memory");
    ws->max_batch = max_batch;
    ws->training = training;
    size_t largest = shape_size(m->arch.input), scratch = 1;
    int ok = 1;
    for (uint32_t i = 0; i < m->arch.n_layers && ok; i++) {
        const mn_layer *l = &m->arch.layers[i];
        size_t n = (size_t)max_batch * shape_size(m->out_shape[i]);
        largest = larger(largest, shape_size(m->out_shape[i]));
        if ((l->kind == MN_LAYER_RELU || l->kind == MN_LAYER_FLATTEN) && i > 0) {
            ws->act[i] = ws->act[i - 1];
            continue;
        }
        if (is_block(m, i)) { /* no output buffer: see is_block */
            mn_conv2d_dims d = conv_dims(m, i, 1);
            scratch = larger(scratch, larger(mn_convblock_scratch_floats(&d),
                                             mn_winograd_scratch_floats(&d)));
            continue;
        }
        ws->act[i] = malloc(n * sizeof(float));
        ws->owned[i] = 1;
        ok = ws->act[i] != NULL;
        if (l->kind == MN_LAYER_MAXPOOL) {
            ws->argmax[i] = malloc(n * sizeof(int32_t));
            ok = ok && ws->argmax[i];
        } else if (l->kind == MN_LAYER_CONV2D) {
            mn_conv2d_dims d = conv_dims(m, i, 1);
            scratch = larger(scratch, larger(mn_conv2d_scratch_floats(&d),
                                             mn_winograd_scratch_floats(&d)));
        } else if (l->kind == MN_LAYER_BATCHNORM) {
            ws->bn_stats[i] = malloc(3 * sizeof(float) * m->out_shape[i].c);
            ok = ok && ws->bn_stats[i];
        } else if (l->kind == MN_LAYER_DROPOUT && training) {
            ws->mask[i] = malloc(n);
            ok = ok && ws->mask[i];
        }
    }
    if (ok) {
        ws->scratch = malloc(scratch * sizeof(float));
        ok = ws->scratch != NULL;
    }
    if (ok && training) {
        ws->grad[0] = malloc((size_t)max_batch * largest * sizeof(float));
        ws->grad[1] = malloc((size_t)max_batch * largest * sizeof(float));
        ok = ws->grad[0] && ws->grad[1];
    }
    if (!ok) {
        mn_workspace_free(ws);
        return mn_error_set(err, MN_ERR_NOMEM, "workspace: cannot allocate for batch %d", max_batch);
    }
    *out = ws;
    return MN_OK;
}

void mn_workspace_free(mn_workspace *ws)
{
    if (!ws)
        return;
    for (int i = 0; i < MN_MAX_LAYERS; i++) {
        if (ws->owned[i])
            free(ws->act[i]);
        free(ws->argmax[i]);
        free(ws->bn_stats[i]);
        free(ws->mask[i]);
    }
    free(ws->grad[0]);
    free(ws->grad[1]);
    free(ws->scratch);
    free(ws);
}

int mn_workspace_max_batch(const mn_workspace *ws) { return ws->max_batch; }

/* Inference runs layer j, a convolution, by Winograd (winograd.h), which
 * can take its input channels-last. */
static int feeds_winograd(const mn_model *m, uint32_t j, int N)
{
    if (j >= m->arch.n_layers || m->arch.layers[j].kind != MN_LAYER_CONV2D)
        return 0;
    mn_conv2d_dims d = conv_dims(m, j, N);
    if (!is_block(m, j))
        return mn_winograd_applies(&d, 0);
    const mn_layer *pool = &m->arch.layers[j + 2];
    return pool->k == 2 && pool->s == 2 && mn_winograd_applies(&d, 1);
}

/* Forward through every layer, leaving each output in ws->act. opts is
 * NULL for inference (running statistics, no dropout); otherwise training.
 * In inference a convolution whose output goes straight into a Winograd
 * one stores it channels-last, which that one reads in place (cl says x
 * is so): the same bits without two transposes. */
static void forward(const mn_model *m, mn_workspace *ws, const float *in, int N,
                    const mn_train_opts *opts)
{
    const float *x = in;
    mn_shape s = m->arch.input;
    const float *P = m->params;
    int cl = 0;
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        const mn_layer *l = &m->arch.layers[i];
        mn_shape o = m->out_shape[i];
        float *y = ws->act[i];
        if (is_block(m, i)) {
            const mn_layer *pool = &m->arch.layers[i + 2];
            mn_conv2d_dims d = conv_dims(m, i, N);
            const float *w = P + m->w_off[i], *b = P + m->b_off[i];
            /* Inference takes Winograd's 2.25x fewer multiplies where it
             * applies; training keeps the direct kernels' bits, and the
             * winners backward needs. */
            const int layout = (cl ? MN_IN_CHANNELS_LAST : 0) |
                               (!opts && feeds_winograd(m, i + 3, N) ? MN_OUT_CHANNELS_LAST : 0);
            int fast = !opts && pool->k == 2 && pool->s == 2 &&
                       (mn_winograd_block_forward(ws->act[i + 2], x, w, m->prepared[i], b, &d,
                                                  ws->scratch, layout) ||
                        mn_convblock_forward_avx512(ws->act[i + 2], NULL, x, w, b, &d, ws->scratch,
                                                    layout));
            if (!fast)
                mn_convblock_forward(ws->act[i + 2], opts ? ws->argmax[i + 2] : NULL, x, w, b,
                                     &d, (int)pool->k, (int)pool->s, ws->scratch);
            cl = fast && (layout & MN_OUT_CHANNELS_LAST);
            i += 2;
            x = ws->act[i];
            s = m->out_shape[i];
            continue;
        }
        switch (l->kind) {
        case MN_LAYER_CONV2D: {
            mn_conv2d_dims d = conv_dims(m, i, N);
            const float *w = P + m->w_off[i], *b = P + m->b_off[i];
            /* Inference: Winograd where it applies, and a following ReLU
             * (in place on this output) applied as the rows are stored */
            const int relu = !opts && i + 1 < m->arch.n_layers &&
                             m->arch.layers[i + 1].kind == MN_LAYER_RELU;
            const int layout =
                (cl ? MN_IN_CHANNELS_LAST : 0) |
                (!opts && feeds_winograd(m, i + 1 + relu, N) ? MN_OUT_CHANNELS_LAST : 0);
            int fast = !opts && (mn_winograd_conv_forward(y, x, w, m->prepared[i], b, &d,
                                                          ws->scratch, relu, layout) ||
                                 mn_conv2d_forward_avx512(y, x, w, b, &d, ws->scratch, relu, layout));
            cl = fast && (layout & MN_OUT_CHANNELS_LAST);
            if (!fast)
                mn_conv2d_forward(y, x, w, b, &d, ws->scratch);
            else if (relu)
                i++; /* the ReLU layer is done; its output is this one */
            break;
        }
        case MN_LAYER_MAXPOOL:
            mn_maxpool_forward(y, ws->argmax[i], x, N, (int)s.c, (int)s.h, (int)s.w, (int)l->k,
                               (int)l->s);
            break;
        case MN_LAYER_DENSE: {
            const float *w = P + m->w_off[i], *b = P + m->b_off[i];
            const int I = (int)shape_size(s), O = (int)o.c;
            if (opts || !m->prepared[i] ||
                !mn_dense_forward_prepared(y, x, m->prepared[i], b, N, I, O))
                mn_dense_forward(y, x, w, b, N, I, O);
            break;
        }
        case MN_LAYER_RELU:
            mn_relu_forward(y, x, (size_t)N * shape_size(s));
            break;
        case MN_LAYER_FLATTEN:
            if (y != x)
                memcpy(y, x, sizeof(float) * N * shape_size(s));
            break;
        case MN_LAYER_SOFTMAX:
            mn_softmax_forward(y, x, N, (int)o.c);
            break;
        case MN_LAYER_BATCHNORM: {
            float *st = ws->bn_stats[i];
            const int C = (int)s.c, HW = (int)(s.h * s.w);
            if (opts)
                mn_batchnorm_forward_train(y, st, st + C, st + 2 * C, x, P + m->w_off[i],
                                           P + m->b_off[i], N, C, HW, MN_BATCHNORM_EPS);
            else
                mn_batchnorm_forward_infer(y, x, P + m->w_off[i], P + m->b_off[i],
                                           P + m->mean_off[i], P + m->var_off[i], N, C, HW,
                                           MN_BATCHNORM_EPS);
            break;
        }
        case MN_LAYER_DROPOUT:
            if (opts)
                mn_dropout_forward(y, ws->mask[i], x, N, (int)shape_size(s), (float)l->out / 100.0f,
                                   opts->seed, opts->keys, i);
            else
                memcpy(y, x, sizeof(float) * N * shape_size(s));
            break;
        }
        x = y;
        s = o;
    }
}

/* Layer i's prepared weights, n floats, in a new buffer (NULL when out of
 * memory). */
static float *prepare_layer(const mn_model *m, uint32_t i, size_t n)
{
    const mn_layer *l = &m->arch.layers[i];
    const float *w = m->params + m->w_off[i];
    /* on a cache line, as the kernels' own buffers (conv_tile_avx512.h) */
    float *p = mn_big_alloc(n * sizeof(float));
    if (p && l->kind == MN_LAYER_DENSE) {
        mn_dense_prepare(p, w, (int)shape_size(in_shape(m, i)), (int)l->out);
    } else if (p) {
        mn_conv2d_dims d = conv_dims(m, i, 1);
        float *tmp = malloc((size_t)9 * d.C * d.OC * sizeof(float)); /* w transposed */
        if (tmp)
            mn_winograd_transform(p, w, &d, tmp);
        else
            free(p), p = NULL;
        free(tmp);
    }
    return p;
}

mn_status mn_model_prepare_inference(mn_model *m, mn_error *err)
{
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        const mn_layer *l = &m->arch.layers[i];
        size_t n = 0;
        if (l->kind == MN_LAYER_CONV2D) {
            mn_conv2d_dims d = conv_dims(m, i, 1);
            n = mn_winograd_weights_floats(&d);
        } else if (l->kind == MN_LAYER_DENSE) {
            n = mn_dense_prepared_floats((int)shape_size(in_shape(m, i)), (int)l->out);
        }
        if (n && !m->prepared[i] && !(m->prepared[i] = prepare_layer(m, i, n)))
            return mn_error_set(err, MN_ERR_NOMEM, "model: out of memory preparing layer %u", i);
    }
    return MN_OK;
}

void mn_model_forward(const mn_model *m, mn_workspace *ws, const float *in, int N,
                      float *probs)
{
    forward(m, ws, in, N, NULL);
    uint32_t last = m->arch.n_layers - 1;
    memcpy(probs, ws->act[last], sizeof(float) * N * m->out_shape[last].c);
}

float mn_model_backward(const mn_model *m, mn_workspace *ws, const float *in,
                        const uint8_t *labels, int N, float *grads, int *n_correct)
{
    return mn_model_backward_train(m, ws, in, labels, N, NULL, grads, n_correct);
}

float mn_model_backward_train(const mn_model *m, mn_workspace *ws, const float *in,
                              const uint8_t *labels, int N, const mn_train_opts *opts,
                              float *grads, int *n_correct)
{
    const mn_train_opts plain = {0, NULL, 0.0f};
    if (!opts)
        opts = &plain;
    forward(m, ws, in, N, opts);
    const uint32_t last = m->arch.n_layers - 1;
    const int K = (int)m->out_shape[last].c;
    const float *probs = ws->act[last];
    if (n_correct) {
        int hits = 0;
        for (int n = 0; n < N; n++) {
            const float *p = probs + (size_t)n * K;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (p[k] > p[best])
                    best = k;
            hits += best == labels[n];
        }
        *n_correct = hits;
    }
    float *g = ws->grad[0], *other = ws->grad[1];
    float loss = mn_softmax_xent_backward(g, probs, labels, N, K);
    if (opts->label_smoothing > 0) {
        /* targets (1 - e) onehot + e / K: the gradient moves by
         * e * onehot - e / K, the loss gains e * (mean over k of -log p_k
         * minus -log p_label) */
        const float e = opts->label_smoothing;
        double extra = 0;
        for (int n = 0; n < N; n++) {
            const float *p = probs + (size_t)n * K;
            float *gn = g + (size_t)n * K;
            double mean_nll = 0;
            for (int k = 0; k < K; k++) {
                gn[k] -= e / (float)K;
                mean_nll -= log(p[k] > 1e-30f ? p[k] : 1e-30f);
            }
            gn[labels[n]] += e;
            double nll = -log(p[labels[n]] > 1e-30f ? p[labels[n]] : 1e-30f);
            extra += e * (mean_nll / K - nll);
        }
        loss += (float)extra;
    }
    const float *P = m->params;
    for (int i = (int)last - 1; i >= 0; i--) {
        const mn_layer *l = &m->arch.layers[i];
        const float *x = i ? ws->act[i - 1] : in;
        mn_shape s = i ? m->out_shape[i - 1] : m->arch.input;
        float *din = i ? other : NULL; /* the input needs no gradient */
        if (i >= 2 && is_block(m, (uint32_t)i - 2)) {
            const int c = i - 2; /* the block's conv layer */
            mn_conv2d_dims d = conv_dims(m, (uint32_t)c, N);
            mn_convblock_backward(c ? other : NULL, grads + m->w_off[c], grads + m->b_off[c], g,
                                  ws->act[i], ws->argmax[i], c ? ws->act[c - 1] : in,
                                  P + m->w_off[c], &d, (int)l->k, (int)l->s, ws->scratch);
            float *t = g;
            g = other;
            other = t;
            i = c;
            continue;
        }
        switch (l->kind) {
        case MN_LAYER_CONV2D: {
            mn_conv2d_dims d = conv_dims(m, (uint32_t)i, N);
            mn_conv2d_backward(din, grads + m->w_off[i], grads + m->b_off[i], g, x,
                               P + m->w_off[i], &d, ws->scratch);
            break;
        }
        case MN_LAYER_MAXPOOL:
            if (din)
                mn_maxpool_backward(din, g, ws->argmax[i], N, (int)s.c, (int)s.h, (int)s.w,
                                    (int)l->k, (int)l->s);
            break;
        case MN_LAYER_DENSE:
            mn_dense_backward(din, grads + m->w_off[i], grads + m->b_off[i], g, x,
                              P + m->w_off[i], N, (int)shape_size(s), (int)m->out_shape[i].c);
            break;
        case MN_LAYER_RELU:
            mn_relu_backward(g, g, ws->act[i], (size_t)N * shape_size(s));
            continue; /* in place: g stays the current gradient */
        case MN_LAYER_DROPOUT:
            mn_dropout_backward(g, g, ws->mask[i], N, (int)shape_size(s), (float)l->out / 100.0f);
            continue;
        case MN_LAYER_BATCHNORM: {
            const int C = (int)s.c, HW = (int)(s.h * s.w);
            const float *st = ws->bn_stats[i];
            mn_batchnorm_backward(din, grads + m->w_off[i], grads + m->b_off[i], g, x,
                                  P + m->w_off[i], st, st + 2 * C, N, C, HW);
            /* the running statistics' slots carry N * the batch statistics */
            const double count = (double)N * HW;
            const float unbias = count > 1 ? (float)(count / (count - 1)) : 1.0f;
            for (int c = 0; c < C; c++) {
                grads[m->mean_off[i] + c] += (float)N * st[c];
                grads[m->var_off[i] + c] += (float)N * st[C + c] * unbias;
            }
            break;
        }
        case MN_LAYER_FLATTEN:
        case MN_LAYER_SOFTMAX:
            continue;
        }
        float *t = g;
        g = other;
        other = t;
    }
    return loss;
}
