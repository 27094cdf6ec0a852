/* run.c: running a model: the per-thread workspace, the forward pass
 * (inference, or training with batch statistics and dropout) and the
 * backward pass of softmax cross-entropy. Every buffer is sized once for
 * the workspace's largest batch; forward and backward allocate nothing.
 * ReLU and flatten work in place on the previous layer's output. The
 * forward pass runs the steps of the workspace's plan (plan.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "conv2d_internal.h"
#include "convblock.h"
#include "mnist/layers.h"
#include "plan.h"
#include "pool_internal.h"

struct mn_workspace {
    int max_batch, training;
    mn_plan plan[2]; /* inference's, and training's in a training workspace */
    float *act[MN_MAX_LAYERS];      /* [max_batch, out_shape[i]]; may alias act[i-1] */
    int owned[MN_MAX_LAYERS];       /* act[i] is this layer's own allocation */
    int32_t *argmax[MN_MAX_LAYERS]; /* max-pool winners, [max_batch, out_shape[i]] */
    float *grad[2];                 /* backward ping-pong, [max_batch, largest shape] */
    float *scratch;                 /* the plan's scratch, one image */
    float *bn_stats[MN_MAX_LAYERS]; /* batch norm: mean, var, invstd, [3, C] */
    uint8_t *mask[MN_MAX_LAYERS];   /* dropout masks, [max_batch, out_shape[i]] */
};

static size_t larger(size_t a, size_t b) { return a > b ? a : b; }

mn_status mn_workspace_create(const mn_model *m, int max_batch, int training,
                              mn_workspace **out, mn_error *err)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > 65536)
        return mn_error_set(err, MN_ERR_ARG, "workspace: batch %d out of range 1..65536", max_batch);
    mn_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return mn_error_set(err, MN_ERR_NOMEM, "workspace: out of memory");
    mn_status st = mn_plan_make(&ws->plan[0], m, 0, err);
    if (st == MN_OK && training)
        st = mn_plan_make(&ws->plan[1], m, 1, err);
    if (st != MN_OK) {
        free(ws);
        return st;
    }
    ws->max_batch = max_batch;
    ws->training = training;
    size_t largest = mn_shape_size(m->arch.input);
    int ok = 1;
    for (uint32_t i = 0; i < m->arch.n_layers && ok; i++) {
        const mn_layer *l = &m->arch.layers[i];
        size_t n = (size_t)max_batch * mn_shape_size(m->out_shape[i]);
        largest = larger(largest, mn_shape_size(m->out_shape[i]));
        if ((l->kind == MN_LAYER_RELU || l->kind == MN_LAYER_FLATTEN) && i > 0) {
            ws->act[i] = ws->act[i - 1];
            continue;
        }
        if (mn_layer_starts_block(m, i)) /* no output buffer: see plan.h */
            continue;
        ws->act[i] = malloc(n * sizeof(float));
        ws->owned[i] = 1;
        ok = ws->act[i] != NULL;
        if (l->kind == MN_LAYER_MAXPOOL) {
            ws->argmax[i] = malloc(n * sizeof(int32_t));
            ok = ok && ws->argmax[i];
        } else if (l->kind == MN_LAYER_BATCHNORM) {
            ws->bn_stats[i] = malloc(3 * sizeof(float) * m->out_shape[i].c);
            ok = ok && ws->bn_stats[i];
        } else if (l->kind == MN_LAYER_DROPOUT && training) {
            ws->mask[i] = malloc(n);
            ok = ok && ws->mask[i];
        }
    }
    if (ok) {
        ws->scratch = malloc(larger(ws->plan[0].scratch_floats, ws->plan[1].scratch_floats) *
                             sizeof(float));
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

/* Runs one step of the plan on N samples from x (the step's input, as
 * the previous step left it) into ws->act[s->last], from its sample at on;
 * returns where that output starts, the next step's input. */
static const float *run_step(const mn_model *m, mn_workspace *ws, const mn_plan *plan, const mn_step *s,
                     const float *x, int N, int at, const mn_train_opts *opts)
{
    const mn_kernels *k = plan->k;
    const uint32_t i = s->layer;
    const mn_layer *l = &m->arch.layers[i];
    const float *P = m->params;
    /* a layer's weights and bias (layers without them have no offsets) */
#define W (P + m->w_off[i])
#define B (P + m->b_off[i])
    const mn_shape in = mn_layer_in_shape(m, i);
    const size_t n = mn_shape_size(in);
    const int O = (int)m->out_shape[i].c;
    const size_t out_at = (size_t)at * mn_shape_size(m->out_shape[s->last]);
    int32_t *winners = plan->training ? ws->argmax[s->last] + out_at : NULL;
    float *y = ws->act[s->last] + out_at;
    switch (s->kind) {
    case MN_STEP_BLOCK_WINOGRAD: {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, N);
        k->winograd_block(y, x, W, m->prepared[i], B, &d, ws->scratch, s->layout);
        break;
    }
    case MN_STEP_BLOCK_DIRECT: {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, N);
        k->block_forward(y, winners, x, W, B, &d, ws->scratch, s->layout);
        break;
    }
    case MN_STEP_BLOCK_GEMM: {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, N);
        const mn_layer *pool = &m->arch.layers[s->last];
        mn_convblock_forward(y, winners, x, W, B, &d, (int)pool->k, (int)pool->s, ws->scratch);
        break;
    }
    case MN_STEP_CONV_WINOGRAD: {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, N);
        k->winograd_conv(y, x, W, m->prepared[i], B, &d, ws->scratch, s->relu, s->layout);
        break;
    }
    case MN_STEP_CONV_DIRECT: {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, N);
        k->conv_forward(y, x, W, B, &d, ws->scratch, s->relu, s->layout);
        break;
    }
    case MN_STEP_CONV_GEMM: {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, N);
        mn_conv2d_forward(y, x, W, B, &d, ws->scratch);
        break;
    }
    case MN_STEP_MAXPOOL:
        mn_maxpool_forward_rows(k->pool2x2_row, y, ws->argmax[i], x, N, (int)in.c, (int)in.h,
                                (int)in.w, (int)l->k, (int)l->s);
        break;
    case MN_STEP_DENSE_PREPARED:
    case MN_STEP_DENSE_GEMM:
        /* a model prepared after the plan was made is taken too */
        if (s->kind == MN_STEP_DENSE_PREPARED && m->prepared[i])
            k->dense_forward(y, x, m->prepared[i], B, N, (int)n, O);
        else
            mn_dense_forward(y, x, W, B, N, (int)n, O);
        break;
    case MN_STEP_RELU:
        mn_relu_forward(y, x, (size_t)N * n);
        break;
    case MN_STEP_COPY:
        if (y != x)
            memcpy(y, x, sizeof(float) * N * n);
        break;
    case MN_STEP_SOFTMAX:
        mn_softmax_forward(y, x, N, O);
        break;
    case MN_STEP_BATCHNORM_TRAIN: {
        float *st = ws->bn_stats[i];
        const int C = (int)in.c;
        mn_batchnorm_forward_train(y, st, st + C, st + 2 * C, x, W, B, N, C, (int)(in.h * in.w),
                                   MN_BATCHNORM_EPS);
        break;
    }
    case MN_STEP_BATCHNORM_INFER:
        mn_batchnorm_forward_infer(y, x, W, B, P + m->mean_off[i], P + m->var_off[i], N,
                                   (int)in.c, (int)(in.h * in.w), MN_BATCHNORM_EPS);
        break;
    case MN_STEP_DROPOUT_TRAIN:
        mn_dropout_forward(y, ws->mask[i], x, N, (int)n, (float)l->out / 100.0f, opts->seed,
                           opts->keys, i);
        break;
    }
#undef W
#undef B
    return y;
}

/* Forward through the steps of a plan, leaving each step's output in
 * ws->act: inference's (opts NULL) or training's (opts: the dropout
 * keys). */
static void forward(const mn_model *m, mn_workspace *ws, const float *in, int N,
                    const mn_train_opts *opts)
{
    const mn_plan *plan = &ws->plan[opts != NULL];
    const float *x = in;
    uint32_t j = 0;
    if (N > 1 && plan->per_image) {
        const size_t in_size = mn_shape_size(m->arch.input);
        for (int n = 0; n < N; n++) {
            const float *xn = in + (size_t)n * in_size;
            for (j = 0; j < plan->per_image; j++)
                xn = run_step(m, ws, plan, &plan->steps[j], xn, 1, n, opts);
        }
        x = ws->act[plan->steps[j - 1].last];
    }
    for (; j < plan->n_steps; j++)
        x = run_step(m, ws, plan, &plan->steps[j], x, N, 0, opts);
}

/* Layer i's weights laid out by level k's kernel, n floats, in a new
 * buffer (NULL when out of memory). */
static float *prepare_layer(const mn_kernels *k, const mn_model *m, uint32_t i, size_t n)
{
    const mn_layer *l = &m->arch.layers[i];
    const float *w = m->params + m->w_off[i];
    /* on a cache line, as the kernels' own buffers (conv_tile_avx512.h) */
    float *p = mn_big_alloc(n * sizeof(float));
    if (p && l->kind == MN_LAYER_DENSE) {
        k->dense_prepare(p, w, (int)mn_shape_size(mn_layer_in_shape(m, i)), (int)l->out);
    } else if (p) {
        mn_conv2d_dims d = mn_layer_conv_dims(m, i, 1);
        float *tmp = malloc((size_t)9 * d.C * d.OC * sizeof(float)); /* w transposed */
        if (tmp)
            k->winograd_transform(p, w, &d, tmp);
        else
            free(p), p = NULL;
        free(tmp);
    }
    return p;
}

mn_status mn_model_prepare_inference(mn_model *m, mn_error *err)
{
    mn_isa isa;
    mn_status st = mn_isa_active(&isa, err);
    if (st != MN_OK)
        return st;
    const mn_kernels *k = mn_kernels_for(isa);
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        const mn_layer *l = &m->arch.layers[i];
        size_t n = 0;
        if (l->kind == MN_LAYER_CONV2D && k->winograd_weights_floats) {
            mn_conv2d_dims d = mn_layer_conv_dims(m, i, 1);
            n = k->winograd_weights_floats(&d);
        } else if (l->kind == MN_LAYER_DENSE && k->dense_applies) {
            const int I = (int)mn_shape_size(mn_layer_in_shape(m, i)), O = (int)l->out;
            n = k->dense_applies(I, O) ? k->dense_prepared_floats(I, O) : 0;
        }
        if (n && !m->prepared[i] && !(m->prepared[i] = prepare_layer(k, m, i, n)))
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
        if (i >= 2 && mn_layer_starts_block(m, (uint32_t)i - 2)) {
            const int c = i - 2; /* the block's conv layer */
            mn_conv2d_dims d = mn_layer_conv_dims(m, (uint32_t)c, N);
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
            mn_conv2d_dims d = mn_layer_conv_dims(m, (uint32_t)i, N);
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
                              P + m->w_off[i], N, (int)mn_shape_size(s), (int)m->out_shape[i].c);
            break;
        case MN_LAYER_RELU:
            mn_relu_backward(g, g, ws->act[i], (size_t)N * mn_shape_size(s));
            continue; /* in place: g stays the current gradient */
        case MN_LAYER_DROPOUT:
            mn_dropout_backward(g, g, ws->mask[i], N, (int)mn_shape_size(s), (float)l->out / 100.0f);
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
