/* model_set.c: loading the served model(s), their labels and name from
 * the metadata JSON, the bundled-model search path, and the ensemble
 * forward pass. The /v1/model description is model_info.c's. */
#include "model_set.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnist/sha256.h"
#include "mnist/weights.h"

static void meta_labels_name(model_set *ms, const mn_model *m, const char *path, char *name,
                             size_t namen)
{
    cJSON *meta = cJSON_Parse(mn_model_meta(m));
    const cJSON *nm = meta ? cJSON_GetObjectItemCaseSensitive(meta, "name") : NULL;
    if (cJSON_IsString(nm) && nm->valuestring[0]) {
        snprintf(name, namen, "%s", nm->valuestring);
    } else {
        /* No name recorded: the file's base name without extension. */
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        snprintf(name, namen, "%s", b);
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = '\0';
    }
    const cJSON *lab = meta ? cJSON_GetObjectItemCaseSensitive(meta, "labels") : NULL;
    int use_meta = cJSON_IsArray(lab) && (uint32_t)cJSON_GetArraySize(lab) == ms->model_classes;
    for (uint32_t c = 0; c < ms->classes; c++) {
        /* the served classes skip the background class */
        int32_t k = (int32_t)c + (ms->ens.calib.background >= 0 && (int32_t)c >= ms->ens.calib.background);
        const cJSON *l = use_meta ? cJSON_GetArrayItem(lab, (int)k) : NULL;
        if (cJSON_IsString(l))
            snprintf(ms->labels[c], MS_LABEL_MAX, "%s", l->valuestring);
        else if (cJSON_IsNumber(l))
            snprintf(ms->labels[c], MS_LABEL_MAX, "%g", l->valuedouble);
        else
            snprintf(ms->labels[c], MS_LABEL_MAX, "%u", c);
    }
    cJSON_Delete(meta);
}

int model_set_load(model_set *ms, const char *paths, char *err, size_t errlen)
{
    memset(ms, 0, sizeof *ms);
    mn_error e;
    if (mn_ensemble_load_list(paths, &ms->ens, &e) != MN_OK) {
        snprintf(err, errlen, "cannot load model: %s", e.msg);
        return -1;
    }
    char names[MN_ENSEMBLE_MAX][128];
    const char *p = paths;
    for (int i = 0; i < ms->ens.n; i++) {
        /* a list names each member's file; an ensemble file holds them all */
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        snprintf(ms->path[i], sizeof ms->path[i], "%.*s", (int)n, p);
        if (comma)
            p = comma + 1;
        mn_model *m = ms->ens.m[i];
        if (mn_model_prepare_inference(m, &e) != MN_OK) {
            snprintf(err, errlen, "cannot load model: %s", e.msg);
            goto fail;
        }
        if (mn_model_input_size(m) != 784) {
            const mn_shape in = mn_model_arch(m)->input;
            snprintf(err, errlen, "model %s takes %ux%ux%u inputs; the server feeds 1x28x28", ms->path[i],
                     in.c, in.h, in.w);
            goto fail;
        }
        uint32_t classes = mn_model_classes(m);
        if (classes == 0 || classes > MS_MAX_CLASSES) {
            snprintf(err, errlen, "model %s has %u classes (1-%d supported)", ms->path[i], classes,
                     MS_MAX_CLASSES);
            goto fail;
        }
        ms->model_classes = classes; /* the members agree (mn_ensemble_add) */
        ms->classes = mn_ensemble_classes(&ms->ens);
        meta_labels_name(ms, m, ms->path[i], names[i], sizeof names[0]);
    }
    snprintf(ms->version, sizeof ms->version, "%s", ms->ens.version);
    snprintf(ms->served_version, sizeof ms->served_version, "1");
    cJSON *meta = ms->ens.meta ? cJSON_Parse(ms->ens.meta) : NULL;
    const cJSON *nm = meta ? cJSON_GetObjectItemCaseSensitive(meta, "name") : NULL;
    if (cJSON_IsString(nm) && nm->valuestring[0]) {
        /* an ensemble file names itself */
        snprintf(ms->name, sizeof ms->name, "%s", nm->valuestring);
        cJSON_Delete(meta);
        return 0;
    }
    cJSON_Delete(meta);
    if (ms->ens.n > 1 && !strchr(paths, ',')) {
        /* an ensemble file: named by its file, as a model without a name is */
        const char *b = strrchr(paths, '/');
        snprintf(ms->name, sizeof ms->name, "%s", b ? b + 1 : paths);
        char *dot = strrchr(ms->name, '.');
        if (dot && dot != ms->name)
            *dot = '\0';
        return 0;
    }
    size_t o = 0;
    for (int i = 0; i < ms->ens.n; i++)
        o += (size_t)snprintf(ms->name + o, o < sizeof ms->name ? sizeof ms->name - o : 0, "%s%s",
                              i ? "+" : "", names[i]);
    return 0;
fail:
    model_set_free(ms);
    return -1;
}

void model_set_free(model_set *ms)
{
    mn_ensemble_free(&ms->ens);
    memset(ms, 0, sizeof *ms);
}

int model_set_find_default(const char *compiled_dir, char *out, size_t outn)
{
    /* The best model first; the reference model is the fallback. */
    static const char *const files[] = {"mnist-cnn-ensemble.bin", "mnist-cnn-large.bin", "mnist-cnn.bin"};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char dir[PATH_MAX] = ".";
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(dir, sizeof dir, "%s", exe);
        }
    }
    char dirs[5][PATH_MAX + 32];
    int k = 0;
    snprintf(dirs[k++], sizeof dirs[0], "%s/models", dir);
    snprintf(dirs[k++], sizeof dirs[0], "%s/../models", dir);
    snprintf(dirs[k++], sizeof dirs[0], "%s/../share/mnist/models", dir);
    snprintf(dirs[k++], sizeof dirs[0], "/usr/share/mnist/models");
    if (compiled_dir && compiled_dir[0])
        snprintf(dirs[k++], sizeof dirs[0], "%s", compiled_dir);
    char cand[PATH_MAX + 64];
    for (int i = 0; i < k; i++) {
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            snprintf(cand, sizeof cand, "%.4000s/%s", dirs[i], files[f]);
            if (access(cand, R_OK) == 0) {
                snprintf(out, outn, "%s", cand);
                return 0;
            }
        }
    }
    size_t o = (size_t)snprintf(out, outn, "no model given (--model or MNIST_MODEL) and no bundled "
                                           "model (%s, %s or %s) found in",
                                files[0], files[1], files[2]);
    for (int i = 0; i < k && o < outn; i++)
        o += (size_t)snprintf(out + o, outn - o, "%s %s", i ? "," : "", dirs[i]);
    return -1;
}

int model_ws_create(const model_set *ms, int max_batch, model_ws *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->max_batch = max_batch;
    mn_error e;
    if (mn_ensemble_ws_create(&ms->ens, max_batch, &w->ews, &e) != MN_OK) {
        snprintf(err, errlen, "workspace for %s: %s", ms->path[0], e.msg);
        return -1;
    }
    w->raw = malloc(ms->model_classes * sizeof(float));
    w->grad = malloc(MN_PIXELS * sizeof(float));
    if (!w->raw || !w->grad) {
        snprintf(err, errlen, "out of memory for the models' outputs");
        model_ws_free(w);
        return -1;
    }
    return 0;
}

void model_ws_free(model_ws *w)
{
    mn_ensemble_ws_free(w->ews);
    for (int i = 0; i < MN_ENSEMBLE_MAX; i++)
        mn_explainer_free(w->ex[i]);
    free(w->raw);
    free(w->grad);
    memset(w, 0, sizeof *w);
}

int model_set_forward(const model_set *ms, model_ws *w, const float *in, int N, float *probs,
                      float *digit_score)
{
    return mn_ensemble_forward(&ms->ens, w->ews, in, N, probs, digit_score);
}

int model_set_explain(const model_set *ms, model_ws *w, const float *in, int k, float *saliency)
{
    /* served class k is the model's output k, past a background class before it */
    const mn_ensemble *e = &ms->ens;
    const int bg = e->calib.background;
    const int out = bg >= 0 && k >= bg ? k + 1 : k;
    int members = e->n;
    if (w->explain_state == 0) {
        /* a model explain cannot run still serves predictions */
        mn_error err;
        w->explain_state = 1;
        for (int i = 0; i < members; i++)
            if (mn_explainer_create(e->m[i], &w->ex[i], &err) != MN_OK)
                w->explain_state = -1;
    }
    if (w->explain_state < 0)
        return -1;
    for (int i = 0; i < members; i++) {
        mn_explain_forward(w->ex[i], in, w->raw);
        if (i == 0 && e->escalate_below > 0) {
            /* a cascade explains the members that answered */
            float cal[MS_MAX_CLASSES], ds;
            mn_calibrate(mn_model_calibration(e->m[0]), w->raw, ms->model_classes, cal, &ds);
            if (mn_ensemble_first_suffices(e, cal, ds))
                members = 1;
        }
        mn_explain_saliency(w->ex[i], out, i ? w->grad : saliency);
        for (int j = 0; i && j < MN_PIXELS; j++)
            saliency[j] += w->grad[j];
    }
    for (int j = 0; members > 1 && j < MN_PIXELS; j++)
        saliency[j] /= (float)members;
    return 0;
}
