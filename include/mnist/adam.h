/* adam.h: the Adam optimiser (Kingma & Ba, 2015) in the form Keras uses:
 * lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t * m / (sqrt(v) + eps).
 * The first and second moments are each one array, allocated once. */
#ifndef MNIST_ADAM_H
#define MNIST_ADAM_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/error.h"

typedef struct {
    float lr, beta1, beta2, eps;
    uint64_t t; /* steps taken */
    size_t n;   /* parameters */
    float *m, *v;
} mn_adam;

/* Allocates zeroed moments for n parameters; lr as given, beta1 0.9,
 * beta2 0.999, eps 1e-7 (Keras' defaults). */
mn_status mn_adam_init(mn_adam *a, size_t n, float lr, mn_error *err);
/* Frees the moments; safe on a zeroed or already freed struct. */
void mn_adam_free(mn_adam *a);
/* One step: params[n] updated from grads[n] (already averaged). */
void mn_adam_step(mn_adam *a, float *params, const float *grads);

#endif
