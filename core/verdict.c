/* verdict.c: temperature scaling, the digit score and the verdict rule
 * (verdict.h). No allocation: the caller owns every buffer. */
#include "mnist/verdict.h"

#include <math.h>

const char *mn_verdict_name(mn_verdict v)
{
    switch (v) {
    case MN_VERDICT_DIGIT: return "digit";
    case MN_VERDICT_UNSURE: return "unsure";
    case MN_VERDICT_NOT_A_DIGIT: return "not_a_digit";
    case MN_VERDICT_SEVERAL_DIGITS: return "several_digits";
    }
    return "digit";
}

uint32_t mn_calibration_classes(const mn_calibration *c, uint32_t model_classes)
{
    return c->background >= 0 ? model_classes - 1 : model_classes;
}

void mn_calibrate(const mn_calibration *c, const float *raw, uint32_t model_classes, float *out,
                  float *digit_score)
{
    if (c->temperature == 1.0f && c->background < 0) {
        /* uncalibrated: the model's own outputs, to the bit */
        for (uint32_t k = 0; k < model_classes; k++)
            out[k] = raw[k];
        *digit_score = 1.0f;
        return;
    }
    /* log p / T, shifted by its maximum so the largest term is exp(0). A
     * probability that underflowed to 0 stays 0 (log 0 = -inf). */
    double inv_t = 1.0 / c->temperature, top = -INFINITY;
    for (uint32_t k = 0; k < model_classes; k++) {
        double l = raw[k] > 0 ? log(raw[k]) * inv_t : -INFINITY;
        if (l > top)
            top = l;
    }
    double sum = 0, bg = 0;
    uint32_t j = 0;
    for (uint32_t k = 0; k < model_classes; k++) {
        double e = raw[k] > 0 ? exp(log(raw[k]) * inv_t - top) : 0.0;
        sum += e;
        if ((int32_t)k == c->background)
            bg = e;
        else
            out[j++] = (float)e;
    }
    double digits = sum - bg;
    *digit_score = sum > 0 ? (float)(digits / sum) : 0.0f;
    /* The served probabilities are conditional on the input being a digit,
     * so they sum to 1 whatever the background's share. */
    for (uint32_t k = 0; k < j; k++)
        out[k] = digits > 0 ? (float)(out[k] / digits) : 1.0f / (float)j;
}

mn_verdict mn_verdict_of(const mn_calibration *c, float confidence, float digit_score)
{
    if (digit_score < c->digit_threshold)
        return MN_VERDICT_NOT_A_DIGIT;
    if (confidence < c->unsure_threshold)
        return MN_VERDICT_UNSURE;
    return MN_VERDICT_DIGIT;
}
