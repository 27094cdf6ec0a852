/* model_info.c: renders /v1/model. Metadata is parsed with cJSON and
 * copied key by key with its type checked, so a hand-made file with
 * missing or odd keys gives nulls, never a crash or invalid JSON. */
#include "model_info.h"

#include <cJSON.h>
#include <string.h>

#include "mnist/arch.h"
#include "mnist/model.h"
#include "predict.h"

static void put_str(sbuf *o, const char *s) { sbuf_json_str(o, s, strlen(s)); }

/* Copies meta[key] when it has the wanted type, else null. */
static void meta_field(sbuf *o, const cJSON *meta, const char *key, int want_number)
{
    const cJSON *v = meta ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
    if (want_number && cJSON_IsNumber(v)) {
        sbuf_json_num(o, v->valuedouble);
    } else if (!want_number && cJSON_IsString(v)) {
        put_str(o, v->valuestring);
    } else {
        sbuf_puts(o, "null");
    }
}

/* Any JSON value, re-serialised by cJSON (for "recipe"), or null. */
static void meta_raw(sbuf *o, const cJSON *meta, const char *key)
{
    const cJSON *v = meta ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
    char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
    sbuf_puts(o, txt ? txt : "null");
    cJSON_free(txt);
}

static void one_model(sbuf *o, const mn_model *m, const char *path)
{
    cJSON *meta = cJSON_Parse(mn_model_meta(m));
    const mn_arch *a = mn_model_arch(m);
    sbuf_puts(o, "{\"name\":");
    meta_field(o, meta, "name", 0);
    sbuf_puts(o, ",\"version\":");
    put_str(o, mn_model_version(m));
    sbuf_puts(o, ",\"file\":");
    const char *base = strrchr(path, '/');
    put_str(o, base ? base + 1 : path);
    sbuf_puts(o, ",\"description\":");
    meta_field(o, meta, "description", 0);
    sbuf_puts(o, ",\"dataset\":");
    meta_field(o, meta, "dataset", 0);
    sbuf_printf(o, ",\"parameters\":%zu", mn_model_param_count(m));

    char spec[1024];
    mn_arch_format(a, spec, sizeof spec);
    sbuf_puts(o, ",\"architecture\":{\"spec\":");
    put_str(o, spec);
    sbuf_printf(o, ",\"input\":[%u,%u,%u],\"layers\":[", a->input.c, a->input.h, a->input.w);
    for (uint32_t i = 0; i < a->n_layers; i++) {
        const mn_layer *l = &a->layers[i];
        mn_shape s = mn_arch_shape(a, i);
        size_t params = 0;
        for (uint32_t t = 0; t < mn_model_tensor_count(m); t++) {
            const mn_tensor_info *ti = mn_model_tensor(m, t);
            if (ti->layer == i)
                params += ti->count;
        }
        sbuf_printf(o, "%s{\"type\":", i ? "," : "");
        put_str(o, mn_layer_kind_name(l->kind));
        switch (l->kind) {
        case MN_LAYER_CONV2D:
            sbuf_printf(o, ",\"filters\":%u,\"kernel\":%u,\"stride\":%u,\"padding\":%u", l->out,
                        l->k, l->s, l->p);
            break;
        case MN_LAYER_MAXPOOL:
            sbuf_printf(o, ",\"window\":%u,\"stride\":%u", l->k, l->s);
            break;
        case MN_LAYER_DENSE:
            sbuf_printf(o, ",\"units\":%u", l->out);
            break;
        default:
            break;
        }
        sbuf_printf(o, ",\"output\":[%u,%u,%u],\"parameters\":%zu}", s.c, s.h, s.w, params);
    }
    sbuf_puts(o, "]},\"recipe\":");
    meta_raw(o, meta, "recipe");
    sbuf_puts(o, ",\"test_accuracy\":");
    meta_field(o, meta, "test_accuracy", 1);
    sbuf_puts(o, ",\"train_seconds\":");
    meta_field(o, meta, "train_seconds", 1);
    sbuf_puts(o, ",\"created\":");
    meta_field(o, meta, "created", 0);
    sbuf_puts(o, ",\"trainer\":");
    meta_field(o, meta, "trainer", 0);
    sbuf_putc(o, '}');
    cJSON_Delete(meta);
}

/* "calibration" and "verdict": how confidence is calibrated and how the
 * verdict is decided, with the thresholds in force. */
static void calibration_json(const model_set *ms, sbuf *out)
{
    const mn_calibration *c = &ms->ens.calib;
    sbuf_puts(out, "\"calibration\":");
    if (c->fitted_on) {
        sbuf_puts(out, "{\"method\":\"temperature\",\"temperature\":[");
        for (int i = 0; i < ms->ens.n; i++) {
            if (i)
                sbuf_putc(out, ',');
            sbuf_json_num(out, mn_model_calibration(ms->ens.m[i])->temperature);
        }
        sbuf_printf(out, "],\"fitted_on\":\"%u images held out of training\"", c->fitted_on);
        if (ms->ens.escalate_below > 0) {
            /* a cascade: the first member alone when it is this sure */
            sbuf_puts(out, ",\"cascade\":{\"escalate_below\":");
            sbuf_json_num(out, ms->ens.escalate_below);
            sbuf_puts(out, ",\"means\":\"the first member answers alone when its calibrated confidence "
                           "is at least escalate_below (and its digit score clears its own threshold); "
                           "otherwise every member answers and their mean is judged\"}");
        }
        sbuf_putc(out, '}');
    } else {
        sbuf_puts(out, "null");
    }
    sbuf_puts(out, ",\"verdict\":{\"digit_score\":");
    sbuf_puts(out, c->background >= 0 ? "\"1 - the calibrated probability of the model's background "
                                        "class (trained on synthetic non-digits)\""
                                      : "\"1: the model has no background class\"");
    sbuf_puts(out, ",\"not_a_digit_below\":");
    sbuf_json_num(out, c->digit_threshold);
    sbuf_puts(out, ",\"unsure_below\":");
    sbuf_json_num(out, c->unsure_threshold);
    sbuf_puts(out, ",\"unsure_means\":\"the calibrated confidence is below unsure_below\"}");
}

void model_info_json(const model_set *ms, uint64_t max_pixels, int max_batch, sbuf *out)
{
    sbuf_reset(out);
    /* The first member describes a single model; an ensemble adds "members". */
    sbuf_puts(out, "{\"name\":");
    put_str(out, ms->name);
    sbuf_puts(out, ",\"version\":");
    put_str(out, ms->version);
    size_t params = 0;
    for (int i = 0; i < ms->ens.n; i++)
        params += mn_model_param_count(ms->ens.m[i]);
    sbuf_printf(out, ",\"parameters\":%zu,\"ensemble\":%s", params, ms->ens.n > 1 ? "true" : "false");

    sbuf first = {0};
    one_model(&first, ms->ens.m[0], ms->path[0]);
    cJSON *f = cJSON_Parse(first.p);
    /* An ensemble file's own metadata speaks for the whole; the members'
     * architecture stays the first member's. */
    cJSON *em = ms->ens.meta ? cJSON_Parse(ms->ens.meta) : NULL;
    if (f && em) {
        static const char *const own[] = {"description", "dataset", "recipe", "test_accuracy",
                                          "train_seconds", "created", "trainer"};
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(em, own[i]);
            cJSON_ReplaceItemInObjectCaseSensitive(f, own[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
        }
    }
    cJSON_Delete(em);
    static const char *const copy[] = {"description", "dataset",      "architecture",
                                       "recipe",      "test_accuracy", "train_seconds",
                                       "created",     "trainer"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        const cJSON *v = f ? cJSON_GetObjectItemCaseSensitive(f, copy[i]) : NULL;
        char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
        sbuf_printf(out, ",\"%s\":%s", copy[i], txt ? txt : "null");
        cJSON_free(txt);
    }
    cJSON_Delete(f);

    sbuf_printf(out, ",\"input\":{\"shape\":[1,28,28],\"pixel_range\":[0,255],"
                    "\"convention\":\"0 = background, 255 = ink\","
                    "\"preprocess\":[\"mnist\",\"none\"],\"max_pixels\":%llu,\"max_batch\":%d,"
                    "\"content_types\":[",
                (unsigned long long)max_pixels, max_batch);
    static const char *const types[] = {"image/png",
                                        "image/jpeg",
                                        "image/gif",
                                        "image/bmp",
                                        "image/x-portable-graymap",
                                        "image/x-portable-pixmap",
                                        "application/octet-stream",
                                        "multipart/form-data",
                                        "application/json"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        sbuf_printf(out, "%s\"%s\"", i ? "," : "", types[i]);
    sbuf_printf(out, "]},\"classes\":%u,\"labels\":[", ms->classes);
    for (uint32_t c = 0; c < ms->classes; c++) {
        if (c)
            sbuf_putc(out, ',');
        put_str(out, ms->labels[c]);
    }
    sbuf_puts(out, "],");
    calibration_json(ms, out);
    sbuf_puts(out, ",\"members\":[");
    for (int i = 0; i < ms->ens.n; i++) {
        if (i)
            sbuf_putc(out, ',');
        if (i == 0) {
            sbuf_put(out, first.p, first.len);
        } else {
            one_model(out, ms->ens.m[i], ms->path[i]);
        }
    }
    sbuf_puts(out, "]}\n");
    sbuf_free(&first);
}
