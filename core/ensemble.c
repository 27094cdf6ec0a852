/* ensemble.c: building an ensemble and answering with it, a plain average
 * or a cascade (ensemble.h). The file format is ensemble_file.c's. */
#include "mnist/ensemble.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/sha256.h"
#include "mnist/verdict.h"

struct mn_ensemble_ws {
    mn_workspace *ws[MN_ENSEMBLE_MAX];
    float *raw;   /* [max_batch, K]: one member's softmax */
    float *cal;   /* [K]: one sample's calibrated probabilities */
    float *in;    /* [max_batch, input]: the inputs the other members see */
    int *rows;    /* [max_batch]: where each of those came from */
    int max_batch;
};

mn_ensemble mn_ensemble_single(mn_model *m)
{
    mn_ensemble e;
    memset(&e, 0, sizeof e);
    e.n = 1;
    e.m[0] = m;
    e.calib = *mn_model_calibration(m);
    snprintf(e.version, sizeof e.version, "%.8s", mn_model_version(m));
    return e;
}

mn_status mn_ensemble_add(mn_ensemble *e, mn_model *m, mn_error *err)
{
    if (e->n == MN_ENSEMBLE_MAX)
        return mn_error_set(err, MN_ERR_ARG, "an ensemble has at most %d members", MN_ENSEMBLE_MAX);
    const mn_calibration *c = mn_model_calibration(m);
    if (e->n > 0 && (mn_model_input_size(m) != mn_model_input_size(e->m[0]) ||
                     mn_model_classes(m) != mn_model_classes(e->m[0]) ||
                     c->background != e->calib.background))
        return mn_error_set(err, MN_ERR_ARG,
                            "member %d has %u classes (background %d) and %zu inputs, member 1 %u "
                            "(background %d) and %zu: an ensemble's members must agree",
                            e->n + 1, mn_model_classes(m), (int)c->background, mn_model_input_size(m),
                            mn_model_classes(e->m[0]), (int)e->calib.background,
                            mn_model_input_size(e->m[0]));
    e->m[e->n++] = m;
    /* Judged by the first member's calibration with the members' mean
     * thresholds: the best that can be said without a fit of the whole. */
    e->calib = *mn_model_calibration(e->m[0]);
    double dt = 0, ut = 0;
    for (int i = 0; i < e->n; i++) {
        dt += mn_model_calibration(e->m[i])->digit_threshold;
        ut += mn_model_calibration(e->m[i])->unsure_threshold;
    }
    e->calib.digit_threshold = (float)(dt / e->n);
    e->calib.unsure_threshold = (float)(ut / e->n);
    e->escalate_below = 0;
    if (e->n == 1) {
        snprintf(e->version, sizeof e->version, "%.8s", mn_model_version(m));
    } else {
        /* changes whenever any member does */
        mn_sha256_ctx h;
        mn_sha256_init(&h);
        for (int i = 0; i < e->n; i++) {
            const char *v = mn_model_version(e->m[i]);
            mn_sha256_update(&h, v, strlen(v) + 1);
        }
        uint8_t d[32];
        mn_sha256_final(&h, d);
        mn_hex(d, 4, e->version);
    }
    return MN_OK;
}

void mn_ensemble_free(mn_ensemble *e)
{
    for (int i = 0; i < e->n; i++)
        mn_model_free(e->m[i]);
    free(e->meta);
    memset(e, 0, sizeof *e);
}

mn_status mn_ensemble_set_meta(mn_ensemble *e, const char *json, mn_error *err)
{
    size_t n = strlen(json);
    if (n > MN_ENSEMBLE_META_MAX)
        return mn_error_set(err, MN_ERR_LIMIT, "ensemble metadata of %zu bytes, more than %u", n,
                            MN_ENSEMBLE_META_MAX);
    char *copy = malloc(n + 1);
    if (!copy)
        return mn_error_set(err, MN_ERR_NOMEM, "ensemble metadata: out of memory");
    memcpy(copy, json, n + 1);
    free(e->meta);
    e->meta = copy;
    return MN_OK;
}

uint32_t mn_ensemble_classes(const mn_ensemble *e)
{
    return e->n ? mn_calibration_classes(&e->calib, mn_model_classes(e->m[0])) : 0;
}

void mn_ensemble_ws_free(mn_ensemble_ws *w)
{
    if (!w)
        return;
    for (int i = 0; i < MN_ENSEMBLE_MAX; i++)
        mn_workspace_free(w->ws[i]);
    free(w->raw);
    free(w->cal);
    free(w->in);
    free(w->rows);
    free(w);
}

mn_status mn_ensemble_ws_create(const mn_ensemble *e, int max_batch, mn_ensemble_ws **out,
                                mn_error *err)
{
    *out = NULL;
    if (e->n < 1 || max_batch < 1)
        return mn_error_set(err, MN_ERR_ARG, "ensemble workspace: %d members, batch %d", e->n, max_batch);
    mn_ensemble_ws *w = calloc(1, sizeof *w);
    if (!w)
        return mn_error_set(err, MN_ERR_NOMEM, "ensemble workspace: out of memory");
    w->max_batch = max_batch;
    const size_t K = mn_model_classes(e->m[0]), in_size = mn_model_input_size(e->m[0]);
    for (int i = 0; i < e->n; i++) {
        mn_status st = mn_workspace_create(e->m[i], max_batch, 0, &w->ws[i], err);
        if (st != MN_OK) {
            mn_ensemble_ws_free(w);
            return st;
        }
    }
    w->raw = malloc(sizeof(float) * (size_t)max_batch * K);
    w->cal = malloc(sizeof(float) * K);
    if (e->n > 1) {
        w->in = malloc(sizeof(float) * (size_t)max_batch * in_size);
        w->rows = malloc(sizeof(int) * (size_t)max_batch);
    }
    if (!w->raw || !w->cal || (e->n > 1 && (!w->in || !w->rows))) {
        mn_ensemble_ws_free(w);
        return mn_error_set(err, MN_ERR_NOMEM, "ensemble workspace: out of memory for a batch of %d",
                            max_batch);
    }
    *out = w;
    return MN_OK;
}

/* Member i on in[N]: adds share x its calibrated answer of input s to
 * probs and digit_score at row rows[s] (s itself when rows is NULL);
 * share 0 overwrites instead (member 1's own answer). */
static void member_answer(const mn_ensemble *e, mn_ensemble_ws *w, int i, const float *in, int N,
                          const int *rows, float share, float *probs, float *digit_score)
{
    const uint32_t K = mn_model_classes(e->m[0]), C = mn_ensemble_classes(e);
    const mn_calibration *c = mn_model_calibration(e->m[i]);
    mn_model_forward(e->m[i], w->ws[i], in, N, w->raw);
    for (int s = 0; s < N; s++) {
        int r = rows ? rows[s] : s;
        float *p = probs + (size_t)r * C, ds;
        if (share == 0) {
            mn_calibrate(c, w->raw + (size_t)s * K, K, p, &digit_score[r]);
            continue;
        }
        mn_calibrate(c, w->raw + (size_t)s * K, K, w->cal, &ds);
        for (uint32_t k = 0; k < C; k++)
            p[k] += w->cal[k] * share;
        digit_score[r] += ds * share;
    }
}

int mn_ensemble_first_suffices(const mn_ensemble *e, const float *probs, float digit_score)
{
    if (e->n == 1)
        return 1;
    if (e->escalate_below <= 0)
        return 0;
    const uint32_t C = mn_ensemble_classes(e);
    float top = probs[0];
    for (uint32_t k = 1; k < C; k++)
        top = probs[k] > top ? probs[k] : top;
    return top >= e->escalate_below && digit_score >= mn_model_calibration(e->m[0])->digit_threshold;
}

int mn_ensemble_forward(const mn_ensemble *e, mn_ensemble_ws *w, const float *in, int N,
                        float *probs, float *digit_score)
{
    const uint32_t C = mn_ensemble_classes(e);
    const size_t in_size = mn_model_input_size(e->m[0]);
    member_answer(e, w, 0, in, N, NULL, 0, probs, digit_score);
    if (e->n == 1)
        return 0;
    /* The inputs the others answer too: all, or those member 1 is not
     * sure of, gathered so that the others run on a dense batch. */
    const float *others_in = in;
    const int *rows = NULL;
    int M = N;
    if (e->escalate_below > 0) {
        M = 0;
        for (int s = 0; s < N; s++) {
            if (mn_ensemble_first_suffices(e, probs + (size_t)s * C, digit_score[s]))
                continue;
            memcpy(w->in + (size_t)M * in_size, in + (size_t)s * in_size, sizeof(float) * in_size);
            w->rows[M++] = s;
        }
        others_in = w->in;
        rows = w->rows;
    }
    const float share = 1.0f / (float)e->n;
    for (int j = 0; j < M; j++) {
        int r = rows ? rows[j] : j;
        for (uint32_t k = 0; k < C; k++)
            probs[(size_t)r * C + k] *= share;
        digit_score[r] *= share;
    }
    for (int i = 1; i < e->n && M > 0; i++)
        member_answer(e, w, i, others_in, M, rows, share, probs, digit_score);
    return M;
}
