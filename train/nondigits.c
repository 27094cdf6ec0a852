/* nondigits.c: loading the negatives and growing a background class
 * (nondigits.h). */
#include "nondigits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/rng.h"

mn_status nondigits_load(const char *path, const char *labels_path, uint8_t label, mn_dataset *out,
                         mn_error *err)
{
    memset(out, 0, sizeof *out);
    mn_idx x, y = {0};
    mn_status st = mn_idx_load(path, &x, err);
    if (st != MN_OK)
        return st;
    if (labels_path) {
        if ((st = mn_idx_load(labels_path, &y, err)) != MN_OK) {
            mn_idx_free(&x);
            return st;
        }
        if (y.ndim != 1 || y.count != x.count) {
            mn_idx_free(&x);
            mn_idx_free(&y);
            return mn_error_set(err, MN_ERR_FORMAT, "%s: %zu labels for the %zu images of %s",
                                labels_path, y.count, x.count, path);
        }
    }
    if (x.ndim != 3 || x.count == 0) {
        mn_idx_free(&x);
        return mn_error_set(err, MN_ERR_FORMAT, "%s: expected an IDX3 file of images, got %u dimensions and %zu items",
                            path, x.ndim, x.count);
    }
    out->images = malloc(x.count * MN_PIXELS);
    out->labels = malloc(x.count);
    if (!out->images || !out->labels) {
        mn_idx_free(&x);
        mn_idx_free(&y);
        mn_dataset_free(out);
        return mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory for %zu images", path, x.count);
    }
    size_t kept = 0;
    for (size_t i = 0; i < x.count; i++) {
        mn_error e;
        st = mn_normalize_image(x.data + i * x.item_size, (int)x.dims[2], (int)x.dims[1], 1,
                                out->images + kept * MN_PIXELS, &e);
        if (st == MN_ERR_NOINK)
            continue; /* a texture too faint to hold ink: the server answers 400 for it */
        if (st != MN_OK) {
            mn_idx_free(&x);
            mn_idx_free(&y);
            mn_dataset_free(out);
            return mn_error_set(err, st, "%s: image %zu: %s", path, i, e.msg);
        }
        uint8_t l = labels_path ? y.data[i] : label;
        if (l + 1u > out->classes)
            out->classes = l + 1u;
        out->labels[kept++] = l;
    }
    mn_idx_free(&x);
    mn_idx_free(&y);
    if (!kept) {
        mn_dataset_free(out);
        return mn_error_set(err, MN_ERR_FORMAT, "%s: no image holds ink", path);
    }
    out->count = kept;
    out->rows = out->cols = MN_SIDE;
    return MN_OK;
}

mn_status nondigits_grow(const mn_model *m, uint64_t seed, mn_model **out, mn_error *err)
{
    *out = NULL;
    const mn_arch *a = mn_model_arch(m);
    uint32_t n = a->n_layers;
    if (n < 2 || a->layers[n - 1].kind != MN_LAYER_SOFTMAX || a->layers[n - 2].kind != MN_LAYER_DENSE)
        return mn_error_set(err, MN_ERR_ARG, "background class: the model must end with dense -> softmax");
    if (mn_model_calibration(m)->background >= 0)
        return mn_error_set(err, MN_ERR_ARG, "background class: the model has one already (class %d)",
                            (int)mn_model_calibration(m)->background);
    mn_arch g = *a;
    g.layers[n - 2].out++;
    mn_model *o;
    mn_status st = mn_model_create(&g, &o, err);
    if (st != MN_OK)
        return st;
    if ((st = mn_model_set_meta(o, mn_model_meta(m), err)) != MN_OK) {
        mn_model_free(o);
        return st;
    }
    /* Same tensors in the same order; only the last dense layer's weights
     * [K, I] -> [K+1, I] and bias [K] -> [K+1] grow, by one row. */
    const float *src = mn_model_params_const(m);
    float *dst = mn_model_params(o);
    mn_rng rng;
    mn_rng_seed(&rng, seed ^ 0x6267636c617373ull);
    for (uint32_t t = 0; t < mn_model_tensor_count(m); t++) {
        const mn_tensor_info *ti = mn_model_tensor(m, t), *to = mn_model_tensor(o, t);
        memcpy(dst + to->offset, src + ti->offset, ti->count * sizeof(float));
        if (to->count == ti->count)
            continue;
        size_t row = to->count - ti->count;
        float *extra = dst + to->offset + ti->count;
        if (to->ndim == 1) {
            extra[0] = -2.0f;
        } else {
            float limit = sqrtf(6.0f / (float)(row + 1));
            for (size_t i = 0; i < row; i++)
                extra[i] = (2.0f * mn_rng_uniform(&rng) - 1.0f) * limit;
        }
    }
    mn_calibration c = *mn_model_calibration(m);
    c.background = (int32_t)(g.layers[n - 2].out - 1);
    if ((st = mn_model_set_calibration(o, &c, err)) != MN_OK) {
        mn_model_free(o);
        return st;
    }
    *out = o;
    return MN_OK;
}
