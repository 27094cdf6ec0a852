/* answers.c: the server's answer for many images at once (answers.h).
 * Each thread owns its workspaces and writes only its own rows. */
#include "answers.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANS_BATCH 256

void answers_free(answers *a)
{
    free(a->probs);
    free(a->pred);
    free(a->confidence);
    free(a->digit_score);
    free(a->verdict);
    memset(a, 0, sizeof *a);
}

mn_status answers_compute(const mn_ensemble *e, const uint8_t *images, size_t count, int threads,
                          answers *a, mn_error *err)
{
    memset(a, 0, sizeof *a);
    const size_t in_size = mn_model_input_size(e->m[0]);
    const uint32_t C = mn_ensemble_classes(e);
    a->classes = C;
    a->count = count;
    a->probs = malloc(sizeof(float) * (count ? count : 1) * C);
    a->pred = malloc(count ? count : 1);
    a->confidence = malloc(sizeof(float) * (count ? count : 1));
    a->digit_score = malloc(sizeof(float) * (count ? count : 1));
    a->verdict = malloc(count ? count : 1);
    if (!a->probs || !a->pred || !a->confidence || !a->digit_score || !a->verdict) {
        answers_free(a);
        return mn_error_set(err, MN_ERR_NOMEM, "answers: out of memory for %zu images", count);
    }
    if (threads < 1)
        threads = 1;
    int failed = 0;
    size_t escalated = 0;
#pragma omp parallel num_threads(threads) reduction(+ : escalated)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        mn_ensemble_ws *ws = NULL;
        float *in = malloc(sizeof(float) * ANS_BATCH * in_size);
        mn_error ignored;
        if (!in || mn_ensemble_ws_create(e, ANS_BATCH, &ws, &ignored) != MN_OK) {
#pragma omp atomic write
            failed = 1;
        } else {
            size_t per = (count + T - 1) / T, lo = per * t, hi = lo + per < count ? lo + per : count;
            for (size_t b = lo; b < hi; b += ANS_BATCH) {
                int nb = (int)(hi - b < ANS_BATCH ? hi - b : ANS_BATCH);
                for (size_t i = 0; i < (size_t)nb * in_size; i++)
                    in[i] = images[b * in_size + i] * (1.0f / 255.0f);
                escalated += (size_t)mn_ensemble_forward(e, ws, in, nb, a->probs + b * C, a->digit_score + b);
                for (int i = 0; i < nb; i++) {
                    const float *p = a->probs + (b + i) * C;
                    uint32_t best = 0;
                    for (uint32_t k = 1; k < C; k++)
                        if (p[k] > p[best])
                            best = k;
                    a->pred[b + i] = (uint8_t)best;
                    a->confidence[b + i] = p[best];
                    a->verdict[b + i] = (uint8_t)mn_verdict_of(&e->calib, p[best], a->digit_score[b + i]);
                }
            }
        }
        mn_ensemble_ws_free(ws);
        free(in);
    }
    if (failed) {
        answers_free(a);
        return mn_error_set(err, MN_ERR_NOMEM, "answers: out of memory for a thread's workspace");
    }
    a->escalated = escalated;
    return MN_OK;
}

/* Bin b of `bins` equal-width bins of confidence ((lo, hi], the first
 * one [0, hi]): its count, confidence sum and right answers. */
static size_t bin_stats(const float *confidence, const uint8_t *right, size_t count, int bins, int b,
                        double *conf, size_t *hits)
{
    double lo = (double)b / bins, hi = (double)(b + 1) / bins;
    size_t n = 0;
    *conf = 0;
    *hits = 0;
    for (size_t i = 0; i < count; i++) {
        double c = confidence[i];
        if ((c > lo || (b == 0 && c >= lo)) && c <= hi) {
            n++;
            *conf += c;
            *hits += right[i];
        }
    }
    return n;
}

double answers_ece(const float *confidence, const uint8_t *right, size_t count, int bins)
{
    double gap = 0, conf;
    size_t hits;
    for (int b = 0; b < bins && count; b++)
        if (bin_stats(confidence, right, count, bins, b, &conf, &hits))
            gap += fabs(conf - (double)hits) / (double)count;
    return gap;
}

void answers_print_reliability(const char *title, const float *confidence, const uint8_t *right,
                               size_t count, int bins)
{
    printf("%s: reliability (%d equal-width bins of confidence)\n", title, bins);
    printf("  confidence       count  mean conf  accuracy\n");
    for (int b = 0; b < bins; b++) {
        double conf;
        size_t hits, n = bin_stats(confidence, right, count, bins, b, &conf, &hits);
        if (n)
            printf("  %.3f-%.3f  %9zu  %9.4f  %8.4f\n", (double)b / bins, (double)(b + 1) / bins, n,
                   conf / n, (double)hits / n);
    }
    printf("%s: expected calibration error %.4f (%zu answers)\n", title,
           answers_ece(confidence, right, count, bins), count);
}
