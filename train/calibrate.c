/* calibrate.c: temperature scaling and the verdict's thresholds, fitted
 * on held-out training images (calibrate.h). */
#include "calibrate.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"

double calibrate_nll(const float *raw, const uint8_t *labels, size_t n, uint32_t K, double T)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = raw + i * K;
        double top = -INFINITY;
        for (uint32_t k = 0; k < K; k++)
            if (p[k] > 0 && log(p[k]) / T > top)
                top = log(p[k]) / T;
        double sum = 0;
        for (uint32_t k = 0; k < K; k++)
            if (p[k] > 0)
                sum += exp(log(p[k]) / T - top);
        /* a label whose probability underflowed to 0 counts as float's
         * smallest, so one such sample cannot make the mean infinite */
        double py = p[labels[i]] > 0 ? (double)p[labels[i]] : 1e-45;
        total -= log(py) / T - top - log(sum);
    }
    return n ? total / (double)n : 0;
}

double calibrate_temperature(const float *raw, const uint8_t *labels, size_t n, uint32_t K)
{
    /* The NLL is unimodal in log T for temperature scaling. */
    const double g = (sqrt(5.0) - 1) / 2;
    double a = log(0.05), b = log(20.0);
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = calibrate_nll(raw, labels, n, K, exp(c)), fd = calibrate_nll(raw, labels, n, K, exp(d));
    for (int it = 0; it < 60; it++) {
        if (fc < fd) {
            b = d, d = c, fd = fc;
            c = b - g * (b - a);
            fc = calibrate_nll(raw, labels, n, K, exp(c));
        } else {
            a = c, c = d, fc = fd;
            d = a + g * (b - a);
            fd = calibrate_nll(raw, labels, n, K, exp(d));
        }
    }
    return exp((a + b) / 2);
}

/* The softmax outputs of m for n images, into raw[n, K]. */
static mn_status raw_outputs(const mn_model *m, const uint8_t *images, size_t n, int threads,
                             float *raw, mn_error *err)
{
    const size_t in_size = mn_model_input_size(m);
    const uint32_t K = mn_model_classes(m);
    int failed = 0;
#pragma omp parallel num_threads(threads < 1 ? 1 : threads)
    {
        enum { B = 256 };
        mn_workspace *ws = NULL;
        mn_error e;
        float *in = malloc(sizeof(float) * B * in_size);
        if (!in || mn_workspace_create(m, B, 0, &ws, &e) != MN_OK) {
#pragma omp atomic write
            failed = 1;
        } else {
            int t = omp_get_thread_num(), T = omp_get_num_threads();
            size_t per = (n + T - 1) / T, lo = per * t, hi = lo + per < n ? lo + per : n;
            for (size_t b = lo; b < hi; b += B) {
                int nb = (int)(hi - b < B ? hi - b : B);
                for (size_t i = 0; i < (size_t)nb * in_size; i++)
                    in[i] = images[b * in_size + i] * (1.0f / 255.0f);
                mn_model_forward(m, ws, in, nb, raw + b * K);
            }
        }
        mn_workspace_free(ws);
        free(in);
    }
    return failed ? mn_error_set(err, MN_ERR_NOMEM, "calibrate: out of memory for a workspace") : MN_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[n] (sorted in place): the value below which a
 * share q of them falls. */
static float quantile(float *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_float);
    size_t i = (size_t)floor(q * (double)n);
    return v[i < n ? i : n - 1];
}

/* How many of the answers c judges "digit", and how many of those are right. */
static void digit_counts(const mn_calibration *c, const answers *a, const uint8_t *labels, size_t n,
                         size_t *digit, size_t *right)
{
    *digit = *right = 0;
    for (size_t i = 0; i < n; i++)
        if (mn_verdict_of(c, a->confidence[i], a->digit_score[i]) == MN_VERDICT_DIGIT) {
            ++*digit;
            *right += a->pred[i] == labels[i];
        }
}

mn_status calibrate_model(mn_model *m, const uint8_t *val_images, const uint8_t *val_labels,
                          size_t n_val, const uint8_t *neg_images, size_t n_neg, int threads,
                          mn_error *err)
{
    if (n_val < 100)
        return mn_error_set(err, MN_ERR_ARG,
                            "calibrate: %zu held-out images, at least 100 are needed (give --val N)", n_val);
    const uint32_t K = mn_model_classes(m);
    const mn_calibration keep = *mn_model_calibration(m);
    mn_error ignored;
    float *raw = malloc(sizeof(float) * n_val * K);
    float *scores = malloc(sizeof(float) * (n_val > n_neg ? n_val : n_neg));
    uint8_t *right = malloc(n_val);
    answers a = {0}, neg = {0};
    mn_status st = MN_ERR_NOMEM;
    if (!raw || !scores || !right) {
        mn_error_set(err, st, "calibrate: out of memory");
        goto done;
    }
    if ((st = raw_outputs(m, val_images, n_val, threads, raw, err)) != MN_OK)
        goto done;
    mn_calibration c = mn_calibration_none();
    c.background = mn_model_calibration(m)->background;
    c.fitted_on = (uint32_t)n_val;
    const double nll_raw = calibrate_nll(raw, val_labels, n_val, K, 1.0);
    c.temperature = (float)calibrate_temperature(raw, val_labels, n_val, K);

    /* ECE before (raw) and after, over the held-out answers. */
    mn_ensemble one;
    mn_calibration raw_c = c;
    raw_c.temperature = 1.0f;
    double ece[2];
    for (int pass = 0; pass < 2; pass++) {
        if ((st = mn_model_set_calibration(m, pass ? &c : &raw_c, err)) != MN_OK ||
            (one = mn_ensemble_single(m), st = answers_compute(&one, val_images, n_val, threads, &a, err)) != MN_OK)
            goto done;
        for (size_t i = 0; i < n_val; i++)
            right[i] = a.pred[i] == val_labels[i];
        ece[pass] = answers_ece(a.confidence, right, n_val, 15);
        if (!pass)
            answers_free(&a);
    }
    /* The thresholds, from the calibrated held-out answers. */
    if (c.background >= 0) {
        memcpy(scores, a.digit_score, sizeof(float) * n_val);
        c.digit_threshold = quantile(scores, n_val, CALIB_DIGIT_QUANTILE);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n_val; i++)
        if (a.digit_score[i] >= c.digit_threshold)
            scores[kept++] = a.confidence[i];
    double u = kept ? quantile(scores, kept, CALIB_UNSURE_QUANTILE) : CALIB_UNSURE_MIN;
    c.unsure_threshold = (float)(u < CALIB_UNSURE_MIN ? CALIB_UNSURE_MIN : u > CALIB_UNSURE_MAX ? CALIB_UNSURE_MAX : u);
    if ((st = mn_model_set_calibration(m, &c, err)) != MN_OK)
        goto done;
    /* The thresholds change only the verdicts, not the answers above. */
    size_t digit, digit_right;
    digit_counts(&c, &a, val_labels, n_val, &digit, &digit_right);
    printf("calibration: fitted on %zu held-out images: temperature %.4f (NLL %.4f -> %.4f), "
           "ECE %.4f -> %.4f\n",
           n_val, (double)c.temperature, nll_raw, calibrate_nll(raw, val_labels, n_val, K, c.temperature),
           ece[0], ece[1]);
    printf("calibration: thresholds: digit score %.4f%s, unsure below confidence %.4f; held-out "
           "digits answered \"digit\" %.4f, right among those %.4f\n",
           (double)c.digit_threshold, c.background >= 0 ? "" : " (no background class)",
           (double)c.unsure_threshold, (double)digit / n_val, digit ? (double)digit_right / digit : 0.0);
    if (n_neg) {
        one = mn_ensemble_single(m);
        if ((st = answers_compute(&one, neg_images, n_neg, threads, &neg, err)) != MN_OK)
            goto done;
        size_t rejected = 0;
        for (size_t i = 0; i < n_neg; i++)
            rejected += neg.verdict[i] != MN_VERDICT_DIGIT;
        printf("calibration: held-out synthetic non-digits answered other than \"digit\": %.4f (%zu)\n",
               (double)rejected / n_neg, n_neg);
    }
    st = MN_OK;
done:
    if (st != MN_OK)
        mn_model_set_calibration(m, &keep, &ignored);
    answers_free(&a);
    answers_free(&neg);
    free(raw);
    free(scores);
    free(right);
    return st;
}

mn_status calibrate_ensemble(mn_ensemble *e, const uint8_t *val_images, const uint8_t *val_labels,
                             size_t n_val, double coverage, int threads, mn_error *err)
{
    if (n_val < 100)
        return mn_error_set(err, MN_ERR_ARG, "calibrate: %zu held-out images, at least 100 are needed",
                            n_val);
    /* The answers themselves do not depend on the thresholds. */
    answers a;
    mn_status st = answers_compute(e, val_images, n_val, threads, &a, err);
    if (st != MN_OK)
        return st;
    uint8_t *right = malloc(n_val);
    if (!right) {
        answers_free(&a);
        return mn_error_set(err, MN_ERR_NOMEM, "calibrate: out of memory");
    }
    mn_calibration c = e->calib;
    c.fitted_on = (uint32_t)n_val;
    /* Every threshold of the grid that keeps `coverage` of the held-out
     * digits answered; of those, the lowest with the fewest wrong answers. */
    size_t best_wrong = SIZE_MAX;
    float best = CALIB_UNSURE_MIN;
    for (int step = 0; CALIB_UNSURE_MIN + step * CALIB_UNSURE_STEP <= CALIB_UNSURE_MAX + 1e-9; step++) {
        c.unsure_threshold = (float)(CALIB_UNSURE_MIN + step * CALIB_UNSURE_STEP);
        size_t d = 0, dr = 0;
        digit_counts(&c, &a, val_labels, n_val, &d, &dr);
        if ((double)d < coverage * (double)n_val)
            break; /* higher thresholds answer fewer still */
        if (d - dr < best_wrong) {
            best_wrong = d - dr;
            best = c.unsure_threshold;
        }
    }
    c.unsure_threshold = best;
    size_t digit, digit_right;
    digit_counts(&c, &a, val_labels, n_val, &digit, &digit_right);
    e->calib = c;
    size_t hits = 0;
    for (size_t i = 0; i < n_val; i++)
        hits += right[i] = a.pred[i] == val_labels[i];
    printf("ensemble calibration: fitted on %zu held-out images: accuracy %.4f, every member answered "
           "%.4f of them, ECE %.4f\n",
           n_val, (double)hits / n_val, (double)a.escalated / n_val,
           answers_ece(a.confidence, right, n_val, 15));
    printf("ensemble calibration: thresholds: digit score %.4f, unsure below confidence %.4f; held-out "
           "answered \"digit\" %.4f, right among those %.4f\n",
           (double)c.digit_threshold, (double)c.unsure_threshold, (double)digit / n_val,
           digit ? (double)digit_right / digit : 0.0);
    free(right);
    answers_free(&a);
    return MN_OK;
}
