/* model.c: creating a model from a layer table, its named parameter
 * tensors, Glorot initialisation and metadata. Running it is run.c's job;
 * reading and writing it is weights.c's. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "mnist/rng.h"
#include "mnist/sha256.h"
#include "model_internal.h"

static void add_tensor(mn_model *m, uint32_t layer, const char *name, uint32_t ndim,
                       const uint32_t *dims)
{
    mn_tensor_info *t = &m->tensors[m->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->layer = layer;
    t->ndim = ndim;
    t->count = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        t->dims[d] = dims[d];
        t->count *= dims[d];
    }
    t->offset = m->n_params;
    m->n_params += t->count;
}

mn_status mn_model_create(const mn_arch *arch, mn_model **out, mn_error *err)
{
    *out = NULL;
    mn_status st = mn_arch_check(arch, err);
    if (st != MN_OK)
        return st;
    mn_model *m = calloc(1, sizeof *m);
    if (!m)
        return mn_error_set(err, MN_ERR_NOMEM, "model: out of memory");
    m->arch = *arch;
    mn_shape s = arch->input;
    uint32_t n_conv = 0, n_dense = 0, n_bn = 0;
    for (uint32_t i = 0; i < arch->n_layers; i++) {
        const mn_layer *l = &arch->layers[i];
        char name[32];
        m->w_off[i] = m->b_off[i] = m->mean_off[i] = m->var_off[i] = SIZE_MAX;
        if (l->kind == MN_LAYER_CONV2D) {
            uint32_t wd[4] = {l->out, s.c, l->k, l->k}, bd[1] = {l->out};
            n_conv++;
            snprintf(name, sizeof name, "conv%u.w", n_conv);
            m->w_off[i] = m->n_params;
            add_tensor(m, i, name, 4, wd);
            snprintf(name, sizeof name, "conv%u.b", n_conv);
            m->b_off[i] = m->n_params;
            add_tensor(m, i, name, 1, bd);
        } else if (l->kind == MN_LAYER_DENSE) {
            uint32_t wd[2] = {l->out, s.c * s.h * s.w}, bd[1] = {l->out};
            n_dense++;
            snprintf(name, sizeof name, "dense%u.w", n_dense);
            m->w_off[i] = m->n_params;
            add_tensor(m, i, name, 2, wd);
            snprintf(name, sizeof name, "dense%u.b", n_dense);
            m->b_off[i] = m->n_params;
            add_tensor(m, i, name, 1, bd);
        } else if (l->kind == MN_LAYER_BATCHNORM) {
            static const char *const part[4] = {"gamma", "beta", "mean", "var"};
            size_t *off[4] = {&m->w_off[i], &m->b_off[i], &m->mean_off[i], &m->var_off[i]};
            uint32_t cd[1] = {s.c};
            n_bn++;
            for (int k = 0; k < 4; k++) {
                snprintf(name, sizeof name, "bn%u.%s", n_bn, part[k]);
                *off[k] = m->n_params;
                add_tensor(m, i, name, 1, cd);
            }
        }
        s = mn_arch_shape(arch, i);
        m->out_shape[i] = s;
    }
    m->params = mn_big_alloc(m->n_params * sizeof(float));
    if (m->params)
        memset(m->params, 0, m->n_params * sizeof(float));
    m->meta = malloc(3);
    if (!m->params || !m->meta) {
        size_t n = m->n_params;
        mn_model_free(m);
        return mn_error_set(err, MN_ERR_NOMEM, "model: cannot allocate %zu parameters", n);
    }
    memcpy(m->meta, "{}", 3);
    m->calib = mn_calibration_none();
    *out = m;
    return MN_OK;
}

void mn_model_free(mn_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->meta);
    for (int i = 0; i < MN_MAX_LAYERS; i++)
        free(m->prepared[i]);
    free(m);
}

void mn_model_init_glorot(mn_model *m, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const mn_tensor_info *ti = &m->tensors[t];
        float *p = m->params + ti->offset;
        if (m->arch.layers[ti->layer].kind == MN_LAYER_BATCHNORM) {
            /* the identity: gamma = 1, beta = 0, running mean 0, variance 1;
             * no draw, so the weights of the other layers do not depend on
             * whether batch norm is present */
            float v = ti->offset == m->w_off[ti->layer] || ti->offset == m->var_off[ti->layer];
            for (size_t i = 0; i < ti->count; i++)
                p[i] = v;
            continue;
        }
        if (ti->ndim == 1) { /* biases start at zero */
            memset(p, 0, sizeof(float) * ti->count);
            continue;
        }
        /* Glorot & Bengio (2010), as Keras computes fans: a conv kernel's
         * receptive field counts on both sides. */
        size_t field = ti->ndim == 4 ? (size_t)ti->dims[2] * ti->dims[3] : 1;
        double fan_in = (double)ti->dims[1] * field, fan_out = (double)ti->dims[0] * field;
        float limit = (float)sqrt(6.0 / (fan_in + fan_out));
        for (size_t i = 0; i < ti->count; i++)
            p[i] = (2.0f * mn_rng_uniform(&r) - 1.0f) * limit;
    }
}

const mn_arch *mn_model_arch(const mn_model *m) { return &m->arch; }
size_t mn_model_param_count(const mn_model *m) { return m->n_params; }
float *mn_model_params(mn_model *m) { return m->params; }
const float *mn_model_params_const(const mn_model *m) { return m->params; }
uint32_t mn_model_tensor_count(const mn_model *m) { return m->n_tensors; }

const mn_tensor_info *mn_model_tensor(const mn_model *m, uint32_t i)
{
    return i < m->n_tensors ? &m->tensors[i] : NULL;
}

size_t mn_model_input_size(const mn_model *m)
{
    return (size_t)m->arch.input.c * m->arch.input.h * m->arch.input.w;
}

uint32_t mn_model_classes(const mn_model *m) { return m->out_shape[m->arch.n_layers - 1].c; }

const char *mn_model_meta(const mn_model *m) { return m->meta; }

mn_status mn_model_set_meta(mn_model *m, const char *json, mn_error *err)
{
    size_t n = strlen(json);
    if (n > MN_META_MAX)
        return mn_error_set(err, MN_ERR_LIMIT, "model: metadata of %zu bytes, at most %u", n,
                            MN_META_MAX);
    char *copy = malloc(n + 1);
    if (!copy)
        return mn_error_set(err, MN_ERR_NOMEM, "model: out of memory for metadata");
    memcpy(copy, json, n + 1);
    free(m->meta);
    m->meta = copy;
    return MN_OK;
}

const char *mn_model_version(const mn_model *m) { return m->version; }

mn_calibration mn_calibration_none(void) { return (mn_calibration){1.0f, -1, 0.0f, 0.0f, 0}; }

const mn_calibration *mn_model_calibration(const mn_model *m) { return &m->calib; }

mn_status mn_model_set_calibration(mn_model *m, const mn_calibration *c, mn_error *err)
{
    if (!(c->temperature > 0.0f) || !isfinite(c->temperature))
        return mn_error_set(err, MN_ERR_ARG, "calibration: temperature %g is not a positive number",
                            (double)c->temperature);
    if (!(c->digit_threshold >= 0.0f && c->digit_threshold <= 1.0f) ||
        !(c->unsure_threshold >= 0.0f && c->unsure_threshold <= 1.0f))
        return mn_error_set(err, MN_ERR_ARG, "calibration: thresholds %g and %g must lie in [0, 1]",
                            (double)c->digit_threshold, (double)c->unsure_threshold);
    if (c->background < -1 || c->background >= (int32_t)mn_model_classes(m))
        return mn_error_set(err, MN_ERR_ARG, "calibration: background class %d, the model has %u classes",
                            (int)c->background, mn_model_classes(m));
    m->calib = *c;
    return MN_OK;
}

void mn_model_set_version(mn_model *m, const uint8_t digest[32])
{
    mn_hex(digest, 4, m->version);
}

int mn_model_tensor_is_statistic(const mn_model *m, uint32_t t)
{
    if (t >= m->n_tensors)
        return 0;
    const mn_tensor_info *ti = &m->tensors[t];
    return ti->offset == m->mean_off[ti->layer] || ti->offset == m->var_off[ti->layer];
}

void mn_model_update_batch_stats(mn_model *m, float *grads, float momentum)
{
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        if (m->arch.layers[i].kind != MN_LAYER_BATCHNORM)
            continue;
        size_t C = m->out_shape[i].c;
        float *rm = m->params + m->mean_off[i], *rv = m->params + m->var_off[i];
        float *bm = grads + m->mean_off[i], *bv = grads + m->var_off[i];
        for (size_t c = 0; c < C; c++) {
            rm[c] = momentum * rm[c] + (1.0f - momentum) * bm[c];
            rv[c] = momentum * rv[c] + (1.0f - momentum) * bv[c];
            bm[c] = bv[c] = 0.0f;
        }
    }
}

mn_status mn_model_fold(const mn_model *m, mn_model **out, mn_error *err)
{
    *out = NULL;
    mn_arch a;
    memset(&a, 0, sizeof a);
    a.input = m->arch.input;
    uint32_t src[MN_MAX_LAYERS];  /* layer of m each new layer comes from */
    uint32_t fold[MN_MAX_LAYERS]; /* batch-norm layer of m folded into it, or UINT32_MAX */
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        const mn_layer *l = &m->arch.layers[i];
        uint32_t prev = i ? m->arch.layers[i - 1].kind : 0;
        if (l->kind == MN_LAYER_DROPOUT)
            continue;
        if (l->kind == MN_LAYER_BATCHNORM && (prev == MN_LAYER_CONV2D || prev == MN_LAYER_DENSE) &&
            a.n_layers && src[a.n_layers - 1] == i - 1) {
            fold[a.n_layers - 1] = i;
            continue;
        }
        src[a.n_layers] = i;
        fold[a.n_layers] = UINT32_MAX;
        a.layers[a.n_layers++] = *l;
    }
    mn_model *f;
    mn_status st = mn_model_create(&a, &f, err);
    if (st != MN_OK)
        return st;
    if ((st = mn_model_set_meta(f, m->meta, err)) != MN_OK) {
        mn_model_free(f);
        return st;
    }
    f->calib = m->calib;
    for (uint32_t j = 0; j < a.n_layers; j++) {
        uint32_t i = src[j];
        const mn_layer *l = &a.layers[j];
        if (l->kind == MN_LAYER_BATCHNORM) {
            size_t C = f->out_shape[j].c;
            memcpy(f->params + f->w_off[j], m->params + m->w_off[i], C * sizeof(float));
            memcpy(f->params + f->b_off[j], m->params + m->b_off[i], C * sizeof(float));
            memcpy(f->params + f->mean_off[j], m->params + m->mean_off[i], C * sizeof(float));
            memcpy(f->params + f->var_off[j], m->params + m->var_off[i], C * sizeof(float));
            continue;
        }
        if (l->kind != MN_LAYER_CONV2D && l->kind != MN_LAYER_DENSE)
            continue;
        size_t O = f->out_shape[j].c;
        mn_shape in = j ? f->out_shape[j - 1] : a.input;
        size_t per = l->kind == MN_LAYER_CONV2D ? (size_t)in.c * l->k * l->k
                                                : (size_t)in.c * in.h * in.w;
        const float *w = m->params + m->w_off[i], *b = m->params + m->b_off[i];
        float *fw = f->params + f->w_off[j], *fb = f->params + f->b_off[j];
        uint32_t bn = fold[j];
        for (size_t o = 0; o < O; o++) {
            float g = 1.0f, shift = 0.0f, mean = 0.0f;
            if (bn != UINT32_MAX) {
                g = m->params[m->w_off[bn] + o] / sqrtf(m->params[m->var_off[bn] + o] + MN_BATCHNORM_EPS);
                shift = m->params[m->b_off[bn] + o];
                mean = m->params[m->mean_off[bn] + o];
            }
            for (size_t k = 0; k < per; k++)
                fw[o * per + k] = w[o * per + k] * g;
            fb[o] = (b[o] - mean) * g + shift;
        }
    }
    *out = f;
    return MN_OK;
}
