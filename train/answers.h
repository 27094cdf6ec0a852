/* answers.h: what the server would answer for each of a set of 28x28
 * images: the calibrated probabilities over the served classes, the
 * prediction, its confidence, the digit score and the verdict, for one
 * model or an ensemble (mn_ensemble_forward, as the server computes it).
 * Run in parallel over fixed chunks. */
#ifndef MNIST_TRAIN_ANSWERS_H
#define MNIST_TRAIN_ANSWERS_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/mnist.h"
#include "mnist/verdict.h"

typedef struct {
    uint32_t classes;   /* served classes (the models' less a background class) */
    size_t count;
    float *probs;       /* [count, classes] calibrated */
    uint8_t *pred;      /* [count] argmax of probs */
    float *confidence;  /* [count] probs[pred] */
    float *digit_score; /* [count] */
    uint8_t *verdict;   /* [count] mn_verdict */
    size_t escalated;   /* answers every member of an ensemble gave */
} answers;

/* The answers of e for count images (bytes, scaled by 1/255), into a
 * (allocated: answers_free), judged by e->calib. */
mn_status answers_compute(const mn_ensemble *e, const uint8_t *images, size_t count, int threads,
                          answers *a, mn_error *err);
void answers_free(answers *a);

/* Expected calibration error of confidence against correctness over
 * `bins` equal-width bins of confidence; right[i] is 1 when answer i is
 * right. */
double answers_ece(const float *confidence, const uint8_t *right, size_t count, int bins);

/* Prints the reliability table (per bin: count, mean confidence,
 * accuracy) and the ECE line to stdout, under `title`. */
void answers_print_reliability(const char *title, const float *confidence, const uint8_t *right,
                               size_t count, int bins);

#endif
