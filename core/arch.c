/* arch.c: the layer table: the reference architecture, parsing and
 * formatting of layer strings, shape inference and validation. Nothing
 * here allocates; a table is checked before anything is sized from it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/arch.h"

const char *mn_layer_kind_name(uint32_t kind)
{
    switch (kind) {
    case MN_LAYER_CONV2D: return "conv2d";
    case MN_LAYER_MAXPOOL: return "maxpool";
    case MN_LAYER_DENSE: return "dense";
    case MN_LAYER_RELU: return "relu";
    case MN_LAYER_FLATTEN: return "flatten";
    case MN_LAYER_SOFTMAX: return "softmax";
    case MN_LAYER_BATCHNORM: return "bn";
    case MN_LAYER_DROPOUT: return "dropout";
    }
    return "?";
}

int mn_arch_has_training_layers(const mn_arch *a)
{
    for (uint32_t i = 0; i < a->n_layers && i < MN_MAX_LAYERS; i++)
        if (a->layers[i].kind == MN_LAYER_BATCHNORM || a->layers[i].kind == MN_LAYER_DROPOUT)
            return 1;
    return 0;
}

void mn_arch_reference(mn_arch *a)
{
    static const mn_layer ref[] = {
        {MN_LAYER_CONV2D, 32, 3, 1, 0}, {MN_LAYER_RELU, 0, 0, 0, 0},
        {MN_LAYER_MAXPOOL, 0, 2, 2, 0}, {MN_LAYER_CONV2D, 64, 3, 1, 0},
        {MN_LAYER_RELU, 0, 0, 0, 0},    {MN_LAYER_MAXPOOL, 0, 2, 2, 0},
        {MN_LAYER_FLATTEN, 0, 0, 0, 0}, {MN_LAYER_DENSE, 128, 0, 0, 0},
        {MN_LAYER_RELU, 0, 0, 0, 0},    {MN_LAYER_DENSE, 10, 0, 0, 0},
        {MN_LAYER_SOFTMAX, 0, 0, 0, 0},
    };
    memset(a, 0, sizeof *a);
    a->input = (mn_shape){1, 28, 28};
    a->n_layers = sizeof ref / sizeof ref[0];
    memcpy(a->layers, ref, sizeof ref);
}

/* Shape after layer l applied to in; returns 0, or -1 with a reason in why. */
static int layer_shape(const mn_layer *l, mn_shape in, mn_shape *out, const char **why)
{
    switch (l->kind) {
    case MN_LAYER_CONV2D:
        if (l->out < 1 || l->out > MN_MAX_DIM || l->k < 1 || l->k > 64 || l->s < 1 ||
            l->s > 64 || l->p >= l->k)
            return *why = "filters, kernel, stride or padding out of range", -1;
        if (in.h + 2 * l->p < l->k || in.w + 2 * l->p < l->k)
            return *why = "kernel larger than its padded input", -1;
        *out = (mn_shape){l->out, (in.h + 2 * l->p - l->k) / l->s + 1,
                          (in.w + 2 * l->p - l->k) / l->s + 1};
        return 0;
    case MN_LAYER_MAXPOOL:
        if (l->k < 1 || l->k > 64 || l->s < 1 || l->s > 64)
            return *why = "window or stride out of range", -1;
        if (in.h < l->k || in.w < l->k)
            return *why = "window larger than its input", -1;
        *out = (mn_shape){in.c, (in.h - l->k) / l->s + 1, (in.w - l->k) / l->s + 1};
        return 0;
    case MN_LAYER_DENSE:
        if (l->out < 1 || l->out > MN_MAX_DIM)
            return *why = "units out of range", -1;
        *out = (mn_shape){l->out, 1, 1};
        return 0;
    case MN_LAYER_RELU:
    case MN_LAYER_SOFTMAX:
    case MN_LAYER_BATCHNORM:
        *out = in;
        return 0;
    case MN_LAYER_DROPOUT:
        if (l->out < 1 || l->out > 90)
            return *why = "rate out of range (1 to 90 percent)", -1;
        *out = in;
        return 0;
    case MN_LAYER_FLATTEN:
        *out = (mn_shape){in.c * in.h * in.w, 1, 1};
        return 0;
    }
    return *why = "unknown layer kind", -1;
}

mn_status mn_arch_check(const mn_arch *a, mn_error *err)
{
    if (a->input.c < 1 || a->input.h < 1 || a->input.w < 1 || a->input.c > MN_MAX_DIM ||
        a->input.h > MN_MAX_DIM || a->input.w > MN_MAX_DIM ||
        (uint64_t)a->input.c * a->input.h * a->input.w > (1u << 24))
        return mn_error_set(err, MN_ERR_FORMAT, "arch: input shape %ux%ux%u out of range",
                            a->input.c, a->input.h, a->input.w);
    if (a->n_layers < 2 || a->n_layers > MN_MAX_LAYERS)
        return mn_error_set(err, MN_ERR_FORMAT, "arch: %u layers, expected 2 to %d",
                            a->n_layers, MN_MAX_LAYERS);
    mn_shape s = a->input;
    uint64_t params = 0;
    for (uint32_t i = 0; i < a->n_layers; i++) {
        const mn_layer *l = &a->layers[i];
        const char *why = NULL;
        mn_shape o;
        if (layer_shape(l, s, &o, &why))
            return mn_error_set(err, MN_ERR_FORMAT, "arch: layer %u (%s, kind %u): %s", i,
                                mn_layer_kind_name(l->kind), l->kind, why);
        if ((uint64_t)o.c * o.h * o.w > (1u << 24) || o.c > (1u << 24))
            return mn_error_set(err, MN_ERR_FORMAT, "arch: layer %u (%s): output %ux%ux%u too large",
                                i, mn_layer_kind_name(l->kind), o.c, o.h, o.w);
        if (l->kind == MN_LAYER_CONV2D)
            params += (uint64_t)l->out * s.c * l->k * l->k + l->out;
        else if (l->kind == MN_LAYER_DENSE)
            params += (uint64_t)l->out * s.c * s.h * s.w + l->out;
        else if (l->kind == MN_LAYER_BATCHNORM)
            params += 4 * (uint64_t)s.c;
        if (params > MN_MAX_PARAMS)
            return mn_error_set(err, MN_ERR_FORMAT, "arch: more than %u parameters at layer %u",
                                MN_MAX_PARAMS, i);
        if (l->kind == MN_LAYER_SOFTMAX && i != a->n_layers - 1)
            return mn_error_set(err, MN_ERR_FORMAT, "arch: softmax at layer %u, allowed only last", i);
        s = o;
    }
    const mn_layer *last = &a->layers[a->n_layers - 1];
    if (last->kind != MN_LAYER_SOFTMAX)
        return mn_error_set(err, MN_ERR_FORMAT, "arch: the last layer is %s, expected softmax",
                            mn_layer_kind_name(last->kind));
    if (a->layers[a->n_layers - 2].kind != MN_LAYER_DENSE)
        return mn_error_set(err, MN_ERR_FORMAT, "arch: softmax must follow a dense layer");
    if (s.c < 2 || s.c > 256)
        return mn_error_set(err, MN_ERR_FORMAT, "arch: %u classes, expected 2 to 256", s.c);
    return MN_OK;
}

mn_shape mn_arch_shape(const mn_arch *a, uint32_t i)
{
    mn_shape s = a->input;
    for (uint32_t j = 0; j <= i && j < a->n_layers; j++) {
        const char *why;
        mn_shape o = s;
        layer_shape(&a->layers[j], s, &o, &why);
        s = o;
    }
    return s;
}

uint32_t mn_arch_classes(const mn_arch *a)
{
    return mn_arch_shape(a, a->n_layers - 1).c;
}

/* Reads an unsigned decimal at *p, advancing it; -1 if none or too big. */
static long read_uint(const char **p)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > 1000000)
            return -1;
        (*p)++;
    }
    return v;
}

static int starts(const char *p, const char *word) { return strncmp(p, word, strlen(word)) == 0; }

mn_status mn_arch_parse(const char *spec, mn_arch *a, mn_error *err)
{
    memset(a, 0, sizeof *a);
    a->input = (mn_shape){1, 28, 28};
    const char *p = spec;
    const char *colon = strchr(spec, ':');
    if (colon) {
        long c, h, w;
        if ((c = read_uint(&p)) < 1 || *p++ != 'x' || (h = read_uint(&p)) < 1 || *p++ != 'x' ||
            (w = read_uint(&p)) < 1 || p != colon)
            return mn_error_set(err, MN_ERR_ARG, "arch '%s': bad input shape, expected CxHxW:", spec);
        a->input = (mn_shape){(uint32_t)c, (uint32_t)h, (uint32_t)w};
        p = colon + 1;
    }
    while (*p) {
        if (a->n_layers == MN_MAX_LAYERS)
            return mn_error_set(err, MN_ERR_ARG, "arch '%s': more than %d layers", spec, MN_MAX_LAYERS);
        mn_layer *l = &a->layers[a->n_layers];
        const char *tok = p;
        long v = 0;
        if (starts(p, "conv")) {
            p += 4;
            *l = (mn_layer){MN_LAYER_CONV2D, 0, 0, 1, 0};
            if ((v = read_uint(&p)) < 1 || *p++ != 'k')
                goto bad;
            l->out = (uint32_t)v;
            if ((v = read_uint(&p)) < 1)
                goto bad;
            l->k = (uint32_t)v;
            if (*p == 's') {
                p++;
                if ((v = read_uint(&p)) < 1)
                    goto bad;
                l->s = (uint32_t)v;
            }
            if (*p == 'p') {
                p++;
                if ((v = read_uint(&p)) < 0)
                    goto bad;
                l->p = (uint32_t)v;
            }
        } else if (starts(p, "pool")) {
            p += 4;
            if ((v = read_uint(&p)) < 1)
                goto bad;
            *l = (mn_layer){MN_LAYER_MAXPOOL, 0, (uint32_t)v, (uint32_t)v, 0};
            if (*p == 's') {
                p++;
                if ((v = read_uint(&p)) < 1)
                    goto bad;
                l->s = (uint32_t)v;
            }
        } else if (starts(p, "dense")) {
            p += 5;
            if ((v = read_uint(&p)) < 1)
                goto bad;
            *l = (mn_layer){MN_LAYER_DENSE, (uint32_t)v, 0, 0, 0};
        } else if (starts(p, "dropout")) {
            p += 7;
            if ((v = read_uint(&p)) < 1)
                goto bad;
            *l = (mn_layer){MN_LAYER_DROPOUT, (uint32_t)v, 0, 0, 0};
        } else if (starts(p, "bn")) {
            p += 2;
            *l = (mn_layer){MN_LAYER_BATCHNORM, 0, 0, 0, 0};
        } else if (starts(p, "relu")) {
            p += 4;
            *l = (mn_layer){MN_LAYER_RELU, 0, 0, 0, 0};
        } else if (starts(p, "flatten")) {
            p += 7;
            *l = (mn_layer){MN_LAYER_FLATTEN, 0, 0, 0, 0};
        } else if (starts(p, "softmax")) {
            p += 7;
            *l = (mn_layer){MN_LAYER_SOFTMAX, 0, 0, 0, 0};
        } else {
            goto bad;
        }
        if (*p != ',' && *p != 0)
            goto bad;
        if (*p == ',')
            p++;
        a->n_layers++;
        continue;
    bad:;
        int n = (int)strcspn(tok, ",");
        return mn_error_set(err, MN_ERR_ARG,
                            "arch '%s': cannot read layer '%.*s' (expected convNkK[sS][pP], "
                            "poolK[sS], denseN, relu, flatten, bn, dropoutN or softmax)",
                            spec, n, tok);
    }
    return mn_arch_check(a, err) == MN_OK ? MN_OK : MN_ERR_ARG;
}

size_t mn_arch_format(const mn_arch *a, char *buf, size_t len)
{
    size_t used = 0;
#define EMIT(...)                                                                  \
    do {                                                                           \
        int k = snprintf(buf ? buf + (used < len ? used : len) : NULL,             \
                         used < len ? len - used : 0, __VA_ARGS__);                \
        used += k > 0 ? (size_t)k : 0;                                             \
    } while (0)
    EMIT("%ux%ux%u:", a->input.c, a->input.h, a->input.w);
    for (uint32_t i = 0; i < a->n_layers && i < MN_MAX_LAYERS; i++) {
        const mn_layer *l = &a->layers[i];
        const char *sep = i ? "," : "";
        switch (l->kind) {
        case MN_LAYER_CONV2D:
            EMIT("%sconv%uk%u", sep, l->out, l->k);
            if (l->s != 1)
                EMIT("s%u", l->s);
            if (l->p)
                EMIT("p%u", l->p);
            break;
        case MN_LAYER_MAXPOOL:
            EMIT("%spool%u", sep, l->k);
            if (l->s != l->k)
                EMIT("s%u", l->s);
            break;
        case MN_LAYER_DENSE: EMIT("%sdense%u", sep, l->out); break;
        case MN_LAYER_DROPOUT: EMIT("%sdropout%u", sep, l->out); break;
        default: EMIT("%s%s", sep, mn_layer_kind_name(l->kind)); break;
        }
    }
#undef EMIT
    return used;
}
