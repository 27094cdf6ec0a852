/* adam.c: the Adam optimiser, Keras' formulation (epsilon outside the
 * bias correction). Moments are allocated once per training run. */
#include <math.h>
#include <stdlib.h>

#include "mnist/adam.h"

mn_status mn_adam_init(mn_adam *a, size_t n, float lr, mn_error *err)
{
    a->lr = lr;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-7f;
    a->t = 0;
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof(float));
    a->v = calloc(n ? n : 1, sizeof(float));
    if (!a->m || !a->v) {
        mn_adam_free(a);
        return mn_error_set(err, MN_ERR_NOMEM, "adam: cannot allocate moments for %zu parameters", n);
    }
    return MN_OK;
}

void mn_adam_free(mn_adam *a)
{
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
    a->n = 0;
}

void mn_adam_step(mn_adam *a, float *params, const float *grads)
{
    a->t++;
    /* Kingma & Ba, Algorithm 1 with the bias corrections folded into the
     * step size, as Keras does. */
    const double t = (double)a->t;
    const float lr_t = (float)(a->lr * sqrt(1.0 - pow(a->beta2, t)) / (1.0 - pow(a->beta1, t)));
    const float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    float *m = a->m, *v = a->v;
    for (size_t i = 0; i < a->n; i++) {
        float g = grads[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}
