/* calibrate.h: fitting a model's calibration (mn_calibration) on images
 * held out of its training: the temperature that minimises the negative
 * log-likelihood of the held-out labels, then the verdict's thresholds
 * from the held-out answers. Never fitted on the test set. */
#ifndef MNIST_TRAIN_CALIBRATE_H
#define MNIST_TRAIN_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/mnist.h"

/* What a digit's threshold keeps: the digit score's threshold is the
 * score below which this share of held-out digits falls; the unsure
 * threshold the calibrated confidence below which this share falls
 * (kept within [CALIB_UNSURE_MIN, CALIB_UNSURE_MAX]). */
#define CALIB_DIGIT_QUANTILE 0.002
#define CALIB_UNSURE_QUANTILE 0.003
#define CALIB_UNSURE_MIN 0.5
#define CALIB_UNSURE_MAX 0.9

/* The temperature T in [0.05, 20] minimising the mean of
 * -log softmax(log(raw) / T)[label] over n samples of K classes (raw:
 * softmax outputs [n, K]); golden-section search on log T. */
double calibrate_temperature(const float *raw, const uint8_t *labels, size_t n, uint32_t K);

/* The mean negative log-likelihood of labels at temperature T. */
double calibrate_nll(const float *raw, const uint8_t *labels, size_t n, uint32_t K, double T);

/* Fits m's calibration on n_val held-out labelled images (MNIST
 * convention bytes) and sets it (keeping its background class); n_neg
 * held-out non-digits (may be 0) only measure the rejection. Prints what
 * it fitted and measured to stdout. */
mn_status calibrate_model(mn_model *m, const uint8_t *val_images, const uint8_t *val_labels,
                          size_t n_val, const uint8_t *neg_images, size_t n_neg, int threads,
                          mn_error *err);

/* An ensemble's unsure threshold is fitted for the answers it gives as a
 * whole: of the thresholds in [CALIB_UNSURE_MIN, CALIB_UNSURE_MAX], in
 * steps of CALIB_UNSURE_STEP, that keep at least `coverage` of the
 * held-out digits answered "digit", the lowest with the fewest wrong
 * answers among them (CALIB_UNSURE_MIN when none keeps enough). Its
 * digit-score threshold stays the members' mean: each was fitted on the
 * member's own held-out digits of every kind (the extra sets included),
 * while the images all members held out are MNIST's alone, too clean to
 * say where a digit's score ends. */
#define CALIB_UNSURE_STEP 0.005

/* Fits e's unsure threshold (e->calib; its escalate_below as set) on n_val
 * held-out labelled images that no member trained on, and prints the
 * held-out figures to stdout. */
mn_status calibrate_ensemble(mn_ensemble *e, const uint8_t *val_images, const uint8_t *val_labels,
                             size_t n_val, double coverage, int threads, mn_error *err);

#endif
