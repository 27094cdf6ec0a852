/* evaluate.h: accuracy and confusion matrix of a model, or of an
 * ensemble averaging its members' probabilities, on a labelled set, run
 * in parallel over fixed chunks of the set. */
#ifndef MNIST_TRAIN_EVALUATE_H
#define MNIST_TRAIN_EVALUATE_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/mnist.h"

typedef struct {
    uint32_t classes;
    size_t count, correct;
    size_t *confusion; /* [classes * classes]: row = true label, column = prediction */
} eval_result;

/* Classifies count images (bytes, input_size each, scaled by 1/255) with
 * `threads` threads and fills r (r->confusion allocated; eval_result_free).
 * Labels must be < the model's classes. The prediction is never the
 * model's background class, as the server serves it. */
mn_status evaluate(const mn_model *m, const uint8_t *images, const uint8_t *labels, size_t count,
                   int threads, eval_result *r, mn_error *err);
/* The same for an ensemble: the mean of the n models' softmax outputs
 * (every model with the same input size and classes). */
mn_status evaluate_ensemble(const mn_model *const *models, int n, const uint8_t *images,
                            const uint8_t *labels, size_t count, int threads, eval_result *r,
                            mn_error *err);
void eval_result_free(eval_result *r);
double eval_accuracy(const eval_result *r);

#endif
