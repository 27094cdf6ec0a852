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
        int32_t k = (int32_t)c + (ms->calib.background >= 0 && (int32_t)c >= ms->calib.background);
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
    const char *p = paths;
    char names[MS_MAX_MODELS][128];
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0) {
            snprintf(err, errlen, "--model: empty path in the list \"%s\"", paths);
            goto fail;
        }
        if (ms->n == MS_MAX_MODELS) {
            snprintf(err, errlen, "--model: at most %d models in an ensemble", MS_MAX_MODELS);
            goto fail;
        }
        if (n >= sizeof ms->path[0]) {
            snprintf(err, errlen, "--model: path too long");
            goto fail;
        }
        char *path = ms->path[ms->n];
        memcpy(path, p, n);
        path[n] = '\0';
        mn_error e;
        mn_model *m = NULL;
        if (mn_model_load(path, &m, NULL, &e) != MN_OK ||
            mn_model_prepare_inference(m, &e) != MN_OK) {
            mn_model_free(m);
            snprintf(err, errlen, "cannot load model: %s", e.msg);
            goto fail;
        }
        ms->m[ms->n++] = m;
        if (mn_model_input_size(m) != 784) {
            const mn_shape in = mn_model_arch(m)->input;
            snprintf(err, errlen, "model %s takes %ux%ux%u inputs; the server feeds 1x28x28", path,
                     in.c, in.h, in.w);
            goto fail;
        }
        uint32_t classes = mn_model_classes(m);
        if (classes == 0 || classes > MS_MAX_CLASSES) {
            snprintf(err, errlen, "model %s has %u classes (1-%d supported)", path, classes,
                     MS_MAX_CLASSES);
            goto fail;
        }
        const mn_calibration *c = mn_model_calibration(m);
        if (ms->n == 1) {
            ms->model_classes = classes;
            ms->calib = *c;
            ms->classes = mn_calibration_classes(c, classes);
        } else if (classes != ms->model_classes || c->background != ms->calib.background) {
            snprintf(err, errlen,
                     "model %s has %u classes (background %d) but %s has %u (background %d): an "
                     "ensemble needs the same",
                     path, classes, (int)c->background, ms->path[0], ms->model_classes,
                     (int)ms->calib.background);
            goto fail;
        }
        meta_labels_name(ms, m, path, names[ms->n - 1], sizeof names[0]);
        p += n;
        if (*p == ',')
            p++;
    }
    if (ms->n == 0) {
        snprintf(err, errlen, "--model: no model path given");
        goto fail;
    }
    if (ms->n > 0)
        ms->calib = mn_calibration_ensemble((const mn_model *const *)ms->m, ms->n);
    if (ms->n == 1) {
        snprintf(ms->name, sizeof ms->name, "%s", names[0]);
        snprintf(ms->version, sizeof ms->version, "%s", mn_model_version(ms->m[0]));
    } else {
        /* The ensemble's version changes whenever any member does. */
        mn_sha256_ctx h;
        mn_sha256_init(&h);
        size_t o = 0;
        for (int i = 0; i < ms->n; i++) {
            const char *v = mn_model_version(ms->m[i]);
            mn_sha256_update(&h, v, strlen(v) + 1);
            o += (size_t)snprintf(ms->name + o, o < sizeof ms->name ? sizeof ms->name - o : 0,
                                  "%s%s", i ? "+" : "", names[i]);
        }
        uint8_t d[32];
        mn_sha256_final(&h, d);
        mn_hex(d, 4, ms->version);
    }
    return 0;
fail:
    model_set_free(ms);
    return -1;
}

void model_set_free(model_set *ms)
{
    for (int i = 0; i < ms->n; i++)
        mn_model_free(ms->m[i]);
    memset(ms, 0, sizeof *ms);
}

int model_set_find_default(const char *compiled_dir, char *out, size_t outn)
{
    /* The best model first; the reference model is the fallback. */
    static const char *const files[] = {"mnist-cnn-large.bin", "mnist-cnn.bin"};
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
                                           "model (%s or %s) found in",
                                files[0], files[1]);
    for (int i = 0; i < k && o < outn; i++)
        o += (size_t)snprintf(out + o, outn - o, "%s %s", i ? "," : "", dirs[i]);
    return -1;
}

int model_ws_create(const model_set *ms, int max_batch, model_ws *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->max_batch = max_batch;
    for (int i = 0; i < ms->n; i++) {
        mn_error e;
        if (mn_workspace_create(ms->m[i], max_batch, 0, &w->ws[i], &e) != MN_OK) {
            snprintf(err, errlen, "workspace for %s: %s", ms->path[i], e.msg);
            model_ws_free(w);
            return -1;
        }
    }
    for (int i = 0; i < ms->n; i++) {
        mn_error e; /* a model explain cannot run still serves predictions */
        if (mn_explainer_create(ms->m[i], &w->ex[i], &e) != MN_OK)
            w->ex[i] = NULL;
    }
    w->raw = malloc((size_t)max_batch * ms->model_classes * sizeof(float));
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
    for (int i = 0; i < MS_MAX_MODELS; i++) {
        mn_workspace_free(w->ws[i]);
        mn_explainer_free(w->ex[i]);
    }
    free(w->raw);
    free(w->grad);
    memset(w, 0, sizeof *w);
}

void model_set_forward(const model_set *ms, model_ws *w, const float *in, int N, float *probs,
                       float *digit_score)
{
    const uint32_t K = ms->model_classes, C = ms->classes;
    const float share = 1.0f / (float)ms->n;
    float cal[MS_MAX_CLASSES];
    for (int i = 0; i < ms->n; i++) {
        mn_model_forward(ms->m[i], w->ws[i], in, N, w->raw);
        const mn_calibration *c = mn_model_calibration(ms->m[i]);
        for (int s = 0; s < N; s++) {
            float *p = probs + (size_t)s * C, ds;
            /* one member's answer is its own; an ensemble's the mean */
            mn_calibrate(c, w->raw + (size_t)s * K, K, ms->n == 1 ? p : cal, &ds);
            if (ms->n == 1) {
                digit_score[s] = ds;
                continue;
            }
            for (uint32_t k = 0; k < C; k++)
                p[k] = i ? p[k] + cal[k] * share : cal[k] * share;
            digit_score[s] = i ? digit_score[s] + ds * share : ds * share;
        }
    }
}

int model_set_explain(const model_set *ms, model_ws *w, const float *in, int k, float *saliency)
{
    /* served class k is the model's output k, past a background class before it */
    const int bg = ms->calib.background;
    const int out = bg >= 0 && k >= bg ? k + 1 : k;
    const float share = 1.0f / (float)ms->n;
    for (int i = 0; i < ms->n; i++) {
        if (!w->ex[i])
            return -1;
        mn_explain_forward(w->ex[i], in, w->raw);
        mn_explain_saliency(w->ex[i], out, ms->n == 1 ? saliency : w->grad);
        for (int j = 0; ms->n > 1 && j < MN_PIXELS; j++)
            saliency[j] = i ? saliency[j] + w->grad[j] * share : w->grad[j] * share;
    }
    return 0;
}
