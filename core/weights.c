/* weights.c: the weights file (docs/FORMAT.md): serialising a model with
 * optional training state, parsing untrusted bytes back with every field
 * bounded and checked before use; loading and the crash-safe save go
 * through file_io.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "le_bytes.h"
#include "mnist/sha256.h"
#include "mnist/weights.h"
#include "model_internal.h"

#define MAGIC "MNISTCNN"
/* Version 1: the layer kinds 1-6. Version 2 adds batch norm (7) and
 * dropout (8); a file is written as version 1 whenever its table needs
 * nothing newer, so servers that know only version 1 load every model
 * mnist-train writes as a final model (those are folded). */
#define FORMAT_VERSION 2u
#define FLAG_STATE 1u
#define FLAG_CALIB 2u
#define CALIB_BYTES 32u
#define HEADER_BYTES 64u
#define LAYER_BYTES 20u
#define TENSOR_BYTES 64u
#define STATE_BYTES 40u
#define CHECKSUM_BYTES 32u


static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* Byte offsets of each section, from the counts in the header. */
typedef struct {
    size_t layers, tensors, meta, calib, state, data, checksum, total;
} layout;

static layout compute_layout(uint32_t n_layers, uint32_t n_tensors, uint32_t meta_len,
                             int has_calib, int has_state, uint64_t n_params)
{
    layout L;
    L.layers = HEADER_BYTES;
    L.tensors = L.layers + (size_t)n_layers * LAYER_BYTES;
    L.meta = L.tensors + (size_t)n_tensors * TENSOR_BYTES;
    L.calib = pad4(L.meta + meta_len);
    L.state = L.calib + (has_calib ? CALIB_BYTES : 0);
    L.data = L.state + (has_state ? STATE_BYTES : 0);
    L.checksum = L.data + (size_t)n_params * 4 * (has_state ? 3 : 1);
    L.total = L.checksum + CHECKSUM_BYTES;
    return L;
}

mn_status mn_model_serialize(mn_model *m, const mn_checkpoint *ck, uint8_t **buf,
                             size_t *len, mn_error *err)
{
    *buf = NULL;
    *len = 0;
    int has_state = ck && ck->adam.n > 0;
    if (has_state && ck->adam.n != m->n_params)
        return mn_error_set(err, MN_ERR_ARG, "weights: optimiser state has %zu parameters, model %zu",
                            ck->adam.n, m->n_params);
    uint32_t meta_len = (uint32_t)strlen(m->meta);
    /* An uncalibrated model is written without the section, so it stays
     * a file that readers older than the calibration section load. */
    int has_calib = m->calib.fitted_on != 0 || m->calib.background >= 0;
    layout L = compute_layout(m->arch.n_layers, m->n_tensors, meta_len, has_calib, has_state,
                              m->n_params);
    uint8_t *b = calloc(1, L.total);
    if (!b)
        return mn_error_set(err, MN_ERR_NOMEM, "weights: cannot allocate %zu bytes", L.total);
    memcpy(b, MAGIC, 8);
    put32(b + 8, mn_arch_has_training_layers(&m->arch) ? 2u : 1u);
    put32(b + 12, (has_state ? FLAG_STATE : 0) | (has_calib ? FLAG_CALIB : 0));
    put32(b + 16, m->arch.n_layers);
    put32(b + 20, m->n_tensors);
    put32(b + 24, meta_len);
    put64(b + 32, m->n_params);
    put64(b + 40, L.total);
    put32(b + 48, m->arch.input.c);
    put32(b + 52, m->arch.input.h);
    put32(b + 56, m->arch.input.w);
    for (uint32_t i = 0; i < m->arch.n_layers; i++) {
        const mn_layer *l = &m->arch.layers[i];
        uint8_t *p = b + L.layers + (size_t)i * LAYER_BYTES;
        put32(p, l->kind);
        put32(p + 4, l->out);
        put32(p + 8, l->k);
        put32(p + 12, l->s);
        put32(p + 16, l->p);
    }
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const mn_tensor_info *ti = &m->tensors[t];
        uint8_t *p = b + L.tensors + (size_t)t * TENSOR_BYTES;
        memcpy(p, ti->name, strlen(ti->name));
        put32(p + 32, ti->ndim);
        for (int d = 0; d < 4; d++)
            put32(p + 36 + 4 * d, d < (int)ti->ndim ? ti->dims[d] : 0);
        put64(p + 52, ti->offset);
    }
    memcpy(b + L.meta, m->meta, meta_len);
    if (has_calib) {
        uint8_t *p = b + L.calib;
        putf(p, m->calib.temperature);
        put32(p + 4, (uint32_t)m->calib.background);
        putf(p + 8, m->calib.digit_threshold);
        putf(p + 12, m->calib.unsure_threshold);
        put32(p + 16, m->calib.fitted_on);
    }
    if (has_state) {
        uint8_t *p = b + L.state;
        put64(p, ck->seed);
        put32(p + 8, ck->epoch);
        put32(p + 12, ck->batch);
        put64(p + 16, ck->adam.t);
        putf(p + 24, ck->adam.lr);
        putf(p + 28, ck->adam.beta1);
        putf(p + 32, ck->adam.beta2);
        putf(p + 36, ck->adam.eps);
    }
    for (size_t i = 0; i < m->n_params; i++)
        putf(b + L.data + 4 * i, m->params[i]);
    if (has_state)
        for (size_t i = 0; i < m->n_params; i++) {
            putf(b + L.data + 4 * (m->n_params + i), ck->adam.m[i]);
            putf(b + L.data + 4 * (2 * m->n_params + i), ck->adam.v[i]);
        }
    uint8_t digest[32];
    mn_sha256(b, L.checksum, digest);
    memcpy(b + L.checksum, digest, 32);
    mn_model_set_version(m, digest);
    *buf = b;
    *len = L.total;
    return MN_OK;
}

/* The calibration section at p into m, every field checked. */
static mn_status parse_calibration(const uint8_t *p, mn_model *m, const char *name, mn_error *err)
{
    for (size_t i = 20; i < CALIB_BYTES; i++)
        if (p[i])
            return mn_error_set(err, MN_ERR_FORMAT, "%s: calibration: reserved bytes are not zero", name);
    mn_calibration c = {getf(p), (int32_t)get32(p + 4), getf(p + 8), getf(p + 12), get32(p + 16)};
    mn_error cerr;
    if (mn_model_set_calibration(m, &c, &cerr) != MN_OK)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %s", name, cerr.msg);
    return MN_OK;
}

/* Checks n floats at p are finite; names the first bad one. */
static mn_status check_finite(const uint8_t *p, size_t n, const char *name, const char *what,
                              const char *tensor, mn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        float f = getf(p + 4 * i);
        if (!isfinite(f))
            return mn_error_set(err, MN_ERR_FORMAT, "%s: %s %s element %zu is %s", name, what,
                                tensor, i, isnan(f) ? "NaN" : "infinite");
    }
    return MN_OK;
}

/* The header's counts, checked against the format's limits and the
 * file's length, and the sections' offsets they give. */
typedef struct {
    uint32_t version, n_layers, n_tensors, meta_len;
    uint64_t n_params;
    int has_state, has_calib;
    layout L;
} header;

static mn_status parse_header(const uint8_t *buf, size_t len, const char *name, header *hd,
                              mn_error *err)
{
    if (len < HEADER_BYTES + CHECKSUM_BYTES)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %zu bytes, too short for a weights file (at least %u)",
                            name, len, HEADER_BYTES + CHECKSUM_BYTES);
    if (memcmp(buf, MAGIC, 8) != 0)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: not a weights file (magic is not \"%s\")", name, MAGIC);
    uint32_t version = get32(buf + 8), flags = get32(buf + 12);
    if (version < 1 || version > FORMAT_VERSION)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: format version %u, this reader knows 1 to %u", name,
                            version, FORMAT_VERSION);
    if (flags & ~(FLAG_STATE | FLAG_CALIB))
        return mn_error_set(err, MN_ERR_FORMAT, "%s: unknown flags 0x%x", name, flags);
    uint32_t n_layers = get32(buf + 16), n_tensors = get32(buf + 20), meta_len = get32(buf + 24);
    uint64_t n_params = get64(buf + 32), file_size = get64(buf + 40);
    if (get32(buf + 28) != 0 || get32(buf + 60) != 0)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: reserved header fields are not zero", name);
    if (n_layers < 2 || n_layers > MN_MAX_LAYERS)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %u layers, expected 2 to %d", name, n_layers,
                            MN_MAX_LAYERS);
    if (n_tensors > MN_MAX_TENSORS)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %u tensors, at most %d", name, n_tensors,
                            MN_MAX_TENSORS);
    if (meta_len > MN_META_MAX)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: metadata of %u bytes, at most %u", name,
                            meta_len, MN_META_MAX);
    if (n_params > MN_MAX_PARAMS)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %llu parameters, at most %u", name,
                            (unsigned long long)n_params, MN_MAX_PARAMS);
    if (file_size != len)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: header says %llu bytes, the file has %zu%s", name,
                            (unsigned long long)file_size, len,
                            file_size > len ? " (truncated)" : " (trailing bytes)");
    int has_state = (flags & FLAG_STATE) != 0, has_calib = (flags & FLAG_CALIB) != 0;
    layout L = compute_layout(n_layers, n_tensors, meta_len, has_calib, has_state, n_params);
    if (L.total != len)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: its sections add up to %zu bytes, the file has %zu",
                            name, L.total, len);
    *hd = (header){version, n_layers, n_tensors, meta_len, n_params, has_state, has_calib, L};
    return MN_OK;
}

/* Each entry of the tensor table names, shapes and places the tensor the
 * layer table makes (m's), byte for byte. */
static mn_status check_tensor_table(const uint8_t *buf, const layout *lay, const mn_model *m,
                                    const char *name, mn_error *err)
{
    const layout L = *lay;
    const uint32_t n_tensors = m->n_tensors;
    for (uint32_t t = 0; t < n_tensors; t++) {
        const mn_tensor_info *ti = &m->tensors[t];
        const uint8_t *p = buf + L.tensors + (size_t)t * TENSOR_BYTES;
        char fname[33];
        memcpy(fname, p, 32);
        fname[32] = 0;
        if (memchr(p, 0, 32) == NULL || strcmp(fname, ti->name) != 0) {
            mn_error_set(err, MN_ERR_FORMAT, "%s: tensor %u is named \"%.32s\", expected \"%s\"", name,
                         t, fname, ti->name);
            return MN_ERR_FORMAT;
        }
        for (size_t k = strlen(fname); k < 32; k++)
            if (p[k]) {
                mn_error_set(err, MN_ERR_FORMAT, "%s: tensor %s: name padding is not zero", name, ti->name);
                return MN_ERR_FORMAT;
            }
        uint32_t ndim = get32(p + 32), dims[4];
        for (int d = 0; d < 4; d++)
            dims[d] = get32(p + 36 + 4 * d);
        int same = ndim == ti->ndim;
        for (int d = 0; d < 4 && same; d++)
            same = dims[d] == (d < (int)ti->ndim ? ti->dims[d] : 0);
        if (!same) {
            char got[64], want[64];
            int gn = 0, wn = 0;
            for (uint32_t d = 0; d < (ndim < 4 ? ndim : 4); d++)
                gn += snprintf(got + gn, sizeof got - gn, "%s%u", d ? "," : "", dims[d]);
            got[gn] = 0;
            for (uint32_t d = 0; d < ti->ndim; d++)
                wn += snprintf(want + wn, sizeof want - wn, "%s%u", d ? "," : "", ti->dims[d]);
            want[wn] = 0;
            mn_error_set(err, MN_ERR_FORMAT, "%s: tensor %s has shape [%s] (%u dims), expected [%s]",
                         name, ti->name, got, ndim, want);
            return MN_ERR_FORMAT;
        }
        if (get64(p + 52) != ti->offset || get32(p + 60) != 0) {
            mn_error_set(err, MN_ERR_FORMAT, "%s: tensor %s at offset %llu, expected %zu", name,
                         ti->name, (unsigned long long)get64(p + 52), ti->offset);
            return MN_ERR_FORMAT;
        }
    }
    return MN_OK;
}

/* Every parameter is finite and every variance of batch norm is not
 * negative. */
static mn_status check_tensor_values(const uint8_t *data, const mn_model *m, const char *name,
                                     mn_error *err)
{
    mn_status st;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const mn_tensor_info *ti = &m->tensors[t];
        if ((st = check_finite(data + 4 * ti->offset, ti->count, name, "tensor", ti->name, err)) != MN_OK)
            return st;
        if (ti->offset == m->var_off[ti->layer])
            for (size_t i = 0; i < ti->count; i++)
                if (getf(data + 4 * (ti->offset + i)) < 0) {
                    mn_error_set(err, MN_ERR_FORMAT, "%s: tensor %s element %zu is negative (a variance)",
                                 name, ti->name, i);
                    return MN_ERR_FORMAT;
                }
    }
    return MN_OK;
}

/* The optimiser state of a checkpoint into ck: its scalars from the state
 * section, Adam's moments after the parameters. */
static mn_status read_checkpoint(const uint8_t *buf, const layout *lay, const mn_model *m,
                                 const char *name, mn_checkpoint *ck, mn_error *err)
{
    const layout L = *lay;
    const size_t n_params = m->n_params;
    mn_status st;
    const uint8_t *p = buf + L.state;
    if ((st = check_finite(buf + L.data + 4 * n_params, 2 * n_params, name, "optimiser state",
                           "adam", err)) != MN_OK)
        return st;
    if ((st = mn_adam_init(&ck->adam, m->n_params, getf(p + 24), err)) != MN_OK)
        return st;
    ck->seed = get64(p);
    ck->epoch = get32(p + 8);
    ck->batch = get32(p + 12);
    ck->adam.t = get64(p + 16);
    ck->adam.beta1 = getf(p + 28);
    ck->adam.beta2 = getf(p + 32);
    ck->adam.eps = getf(p + 36);
    for (size_t i = 0; i < m->n_params; i++) {
        ck->adam.m[i] = getf(buf + L.data + 4 * (n_params + i));
        ck->adam.v[i] = getf(buf + L.data + 4 * (2 * n_params + i));
    }
    return MN_OK;
}

mn_status mn_model_parse(const uint8_t *buf, size_t len, const char *name, mn_model **out,
                         mn_checkpoint *ck, mn_error *err)
{
    *out = NULL;
    if (ck)
        memset(ck, 0, sizeof *ck);
    header hd = {0};
    mn_status st = parse_header(buf, len, name, &hd, err);
    if (st != MN_OK)
        return st;
    const layout L = hd.L;

    mn_arch arch;
    memset(&arch, 0, sizeof arch);
    arch.input = (mn_shape){get32(buf + 48), get32(buf + 52), get32(buf + 56)};
    arch.n_layers = hd.n_layers;
    for (uint32_t i = 0; i < hd.n_layers; i++) {
        const uint8_t *p = buf + L.layers + (size_t)i * LAYER_BYTES;
        arch.layers[i] = (mn_layer){get32(p), get32(p + 4), get32(p + 8), get32(p + 12), get32(p + 16)};
    }
    mn_error aerr;
    if (mn_arch_check(&arch, &aerr) != MN_OK)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: layer table: %s", name, aerr.msg);
    if (hd.version < 2 && mn_arch_has_training_layers(&arch))
        return mn_error_set(err, MN_ERR_FORMAT,
                            "%s: layer table: batch norm or dropout in a version 1 file (they need version 2)",
                            name);
    mn_model *m;
    st = mn_model_create(&arch, &m, err);
    if (st != MN_OK)
        return st;
    if (m->n_tensors != hd.n_tensors || m->n_params != hd.n_params) {
        mn_error_set(err, MN_ERR_FORMAT,
                     "%s: the layer table needs %u tensors and %zu parameters, the file has %u and %llu",
                     name, m->n_tensors, m->n_params, hd.n_tensors, (unsigned long long)hd.n_params);
        goto fail;
    }
    if ((st = check_tensor_table(buf, &L, m, name, err)) != MN_OK)
        goto fail_st;
    const uint8_t *meta = buf + L.meta;
    if (memchr(meta, 0, hd.meta_len)) {
        mn_error_set(err, MN_ERR_FORMAT, "%s: metadata holds a NUL byte", name);
        goto fail;
    }
    for (size_t i = L.meta + hd.meta_len; i < L.calib; i++)
        if (buf[i]) {
            mn_error_set(err, MN_ERR_FORMAT, "%s: metadata padding is not zero", name);
            goto fail;
        }
    if (hd.has_calib && (st = parse_calibration(buf + L.calib, m, name, err)) != MN_OK)
        goto fail_st;
    uint8_t digest[32];
    mn_sha256(buf, L.checksum, digest);
    if (memcmp(digest, buf + L.checksum, 32) != 0) {
        char want[65], got[65];
        mn_hex(buf + L.checksum, 32, want);
        mn_hex(digest, 32, got);
        mn_error_set(err, MN_ERR_CHECKSUM, "%s: checksum mismatch: the file says %.16s..., its content hashes to %.16s...",
                     name, want, got);
        st = MN_ERR_CHECKSUM;
        goto fail_st;
    }
    if ((st = check_tensor_values(buf + L.data, m, name, err)) != MN_OK)
        goto fail_st;
    char *meta_copy = malloc((size_t)hd.meta_len + 1);
    if (!meta_copy) {
        st = mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory", name);
        goto fail_st;
    }
    memcpy(meta_copy, meta, hd.meta_len);
    meta_copy[hd.meta_len] = 0;
    free(m->meta);
    m->meta = meta_copy;
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] = getf(buf + L.data + 4 * i);
    if (hd.has_state && ck && (st = read_checkpoint(buf, &L, m, name, ck, err)) != MN_OK)
        goto fail_st;
    mn_model_set_version(m, digest);
    *out = m;
    return MN_OK;
fail:
    st = MN_ERR_FORMAT;
fail_st:
    mn_model_free(m);
    return st;
}

mn_status mn_model_load(const char *path, mn_model **out, mn_checkpoint *ck, mn_error *err)
{
    *out = NULL;
    if (ck)
        memset(ck, 0, sizeof *ck);
    uint8_t *buf;
    size_t len;
    mn_status st = mn_file_read(path, MN_WEIGHTS_MAX_BYTES, &buf, &len, err);
    if (st != MN_OK)
        return st;
    st = mn_model_parse(buf, len, path, out, ck, err);
    free(buf);
    return st;
}

mn_status mn_model_save(mn_model *m, const char *path, const mn_checkpoint *ck, mn_error *err)
{
    uint8_t *buf;
    size_t len;
    mn_status st = mn_model_serialize(m, ck, &buf, &len, err);
    if (st != MN_OK)
        return st;
    st = mn_file_write_atomic(path, buf, len, err);
    free(buf);
    return st;
}
