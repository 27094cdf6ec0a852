/* verdict.h: what a model's output says about its input, the way the API
 * reports it: calibrated probabilities (temperature scaling), a digit
 * score from the model's background class, and a verdict (digit, unsure,
 * not a digit). Pure arithmetic on one sample's softmax output; the
 * calibration comes from the weights file (mn_model_calibration). */
#ifndef MNIST_VERDICT_H
#define MNIST_VERDICT_H

#include <stdint.h>
#include "mnist/model.h"

typedef enum {
    MN_VERDICT_DIGIT,         /* one digit, read */
    MN_VERDICT_UNSURE,        /* one digit, but the classes are too close to choose */
    MN_VERDICT_NOT_A_DIGIT,   /* not a digit at all */
    MN_VERDICT_SEVERAL_DIGITS /* several digits side by side (decided from the ink) */
} mn_verdict;

/* "digit", "unsure", "not_a_digit", "several_digits". */
const char *mn_verdict_name(mn_verdict v);

/* Classes a calibrated answer has: the model's, less its background class. */
uint32_t mn_calibration_classes(const mn_calibration *c, uint32_t model_classes);

/* One sample's softmax output raw[model_classes] -> calibrated
 * probabilities out[mn_calibration_classes()] summing to 1, and the digit
 * score in *digit_score: 1 minus the calibrated probability of the
 * background class (1 when the model has none). Temperature scaling on
 * probabilities is exp(log(p) / T) renormalised, which equals
 * softmax(logits / T) without needing the logits. out may not alias raw. */
void mn_calibrate(const mn_calibration *c, const float *raw, uint32_t model_classes, float *out,
                  float *digit_score);

/* The verdict for a calibrated confidence (the largest of out) and digit
 * score, by the calibration's thresholds. Never MN_VERDICT_SEVERAL_DIGITS:
 * that one is decided from the ink by the caller. */
mn_verdict mn_verdict_of(const mn_calibration *c, float confidence, float digit_score);

#endif
