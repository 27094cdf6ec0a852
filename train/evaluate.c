/* evaluate.c: parallel evaluation of a model or an ensemble on a labelled
 * set. Each thread owns its workspaces and its own confusion counts; they
 * are summed at the end, so results do not depend on scheduling. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"

#define EVAL_BATCH 256
#define EVAL_MAX_MODELS 16

mn_status evaluate(const mn_model *m, const uint8_t *images, const uint8_t *labels, size_t count,
                   int threads, eval_result *r, mn_error *err)
{
    return evaluate_ensemble(&m, 1, images, labels, count, threads, r, err);
}

mn_status evaluate_ensemble(const mn_model *const *models, int n_models, const uint8_t *images,
                            const uint8_t *labels, size_t count, int threads, eval_result *r,
                            mn_error *err)
{
    memset(r, 0, sizeof *r);
    if (n_models < 1 || n_models > EVAL_MAX_MODELS)
        return mn_error_set(err, MN_ERR_ARG, "evaluate: %d models, expected 1 to %d", n_models,
                            EVAL_MAX_MODELS);
    const mn_model *m = models[0];
    const uint32_t K = mn_model_classes(m);
    const size_t in_size = mn_model_input_size(m);
    const int32_t bg = mn_model_calibration(m)->background;
    for (int j = 1; j < n_models; j++)
        if (mn_model_classes(models[j]) != K || mn_model_input_size(models[j]) != in_size)
            return mn_error_set(err, MN_ERR_ARG,
                                "evaluate: ensemble member %d has %u classes and %zu inputs, member 1 %u and %zu",
                                j + 1, mn_model_classes(models[j]), mn_model_input_size(models[j]), K, in_size);
    for (size_t i = 0; i < count; i++)
        if (labels[i] >= K)
            return mn_error_set(err, MN_ERR_ARG, "evaluate: label %u of image %zu, the model has %u classes",
                                labels[i], i, K);
    if (threads < 1)
        threads = 1;
    r->classes = K;
    r->count = count;
    r->confusion = calloc((size_t)threads * K * K, sizeof(size_t));
    if (!r->confusion)
        return mn_error_set(err, MN_ERR_NOMEM, "evaluate: out of memory");
    mn_status status = MN_OK;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        size_t *conf = r->confusion + (size_t)t * K * K;
        mn_workspace *ws[EVAL_MAX_MODELS] = {0};
        float *in = malloc(sizeof(float) * EVAL_BATCH * in_size);
        float *probs = malloc(sizeof(float) * EVAL_BATCH * K);
        float *one = malloc(sizeof(float) * EVAL_BATCH * K);
        mn_error e;
        int ok = in && probs && one;
        for (int j = 0; j < n_models && ok; j++)
            ok = mn_workspace_create(models[j], EVAL_BATCH, 0, &ws[j], &e) == MN_OK;
        if (!ok) {
#pragma omp critical
            status = MN_ERR_NOMEM;
        } else {
            size_t per = (count + T - 1) / T, lo = per * t, hi = lo + per < count ? lo + per : count;
            for (size_t b = lo; b < hi; b += EVAL_BATCH) {
                int n = (int)(hi - b < EVAL_BATCH ? hi - b : EVAL_BATCH);
                for (size_t i = 0; i < (size_t)n * in_size; i++)
                    in[i] = images[b * in_size + i] * (1.0f / 255.0f);
                mn_model_forward(models[0], ws[0], in, n, probs);
                for (int j = 1; j < n_models; j++) {
                    mn_model_forward(models[j], ws[j], in, n, one);
                    for (size_t i = 0; i < (size_t)n * K; i++)
                        probs[i] += one[i];
                }
                /* argmax of the sum is argmax of the mean */
                for (int i = 0; i < n; i++) {
                    const float *p = probs + (size_t)i * K;
                    /* the served prediction: never the background class */
                    uint32_t best = bg == 0 ? 1 : 0;
                    for (uint32_t k = best + 1; k < K; k++)
                        if ((int32_t)k != bg && p[k] > p[best])
                            best = k;
                    conf[(size_t)labels[b + i] * K + best]++;
                }
            }
        }
        for (int j = 0; j < n_models; j++)
            mn_workspace_free(ws[j]);
        free(in);
        free(probs);
        free(one);
    }
    if (status != MN_OK) {
        eval_result_free(r);
        return mn_error_set(err, status, "evaluate: out of memory");
    }
    for (int t = 1; t < threads; t++)
        for (size_t i = 0; i < (size_t)K * K; i++)
            r->confusion[i] += r->confusion[(size_t)t * K * K + i];
    for (uint32_t k = 0; k < K; k++)
        r->correct += r->confusion[(size_t)k * K + k];
    return MN_OK;
}

void eval_result_free(eval_result *r)
{
    free(r->confusion);
    memset(r, 0, sizeof *r);
}

double eval_accuracy(const eval_result *r) { return r->count ? (double)r->correct / r->count : 0.0; }
