/* test_determinism.c: a short training run of the reference model on the
 * level in force (ctest runs it once per level; under qemu-user for
 * arm64): 16 Adam steps of batch 32 from the MNIST training split, twice
 * from the same seed. The two runs must end with the same weights bit for
 * bit, the loss must fall, and the model must classify the first 300
 * test images better than chance by far. Prints the weights' hash, so
 * runs on two machines of one level can be compared. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_level.h"
#include "mnist/mnist.h"

enum { STEPS = 16, BATCH = 32, TEST = 300 };

/* FNV-1a over n bytes. */
static uint64_t hash(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static void to_floats(float *x, const uint8_t *px, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = px[i] / 255.0f;
}

/* Trains a fresh reference model and returns a copy of its n parameters
 * (malloc'd), the mean loss of the first and last 4 steps in *first,
 * *last, and its accuracy on the first TEST test images in *acc. */
static float *train_once(const mn_dataset *tr, const mn_dataset *te, size_t *n_out,
                         double *first, double *last, double *acc)
{
    mn_arch a;
    mn_arch_reference(&a);
    mn_model *m;
    mn_workspace *ws, *wi;
    mn_adam adam = {0};
    mn_error err;
    CHECK(mn_model_create(&a, &m, &err) == MN_OK, "model: %s", err.msg);
    mn_model_init_glorot(m, 20261205);
    const size_t n = *n_out = mn_model_param_count(m);
    CHECK(mn_workspace_create(m, BATCH, 1, &ws, &err) == MN_OK &&
              mn_workspace_create(m, 100, 0, &wi, &err) == MN_OK &&
              mn_adam_init(&adam, n, 1e-3f, &err) == MN_OK,
          "workspaces: %s", err.msg);
    float *x = malloc(sizeof(float) * 784 * 100), *g = malloc(sizeof(float) * n);
    float probs[100 * 10];
    *first = *last = 0;
    for (int s = 0; s < STEPS; s++) {
        to_floats(x, tr->images + (size_t)s * BATCH * 784, (size_t)BATCH * 784);
        memset(g, 0, sizeof(float) * n);
        float loss = mn_model_backward(m, ws, x, tr->labels + (size_t)s * BATCH, BATCH, g, NULL);
        for (size_t i = 0; i < n; i++)
            g[i] /= BATCH;
        mn_adam_step(&adam, mn_model_params(m), g);
        if (s < 4)
            *first += loss / BATCH / 4;
        if (s >= STEPS - 4)
            *last += loss / BATCH / 4;
    }
    int right = 0;
    for (int b = 0; b < TEST; b += 100) { /* TEST: a multiple of 100 */
        to_floats(x, te->images + (size_t)b * 784, (size_t)100 * 784);
        mn_model_forward(m, wi, x, 100, probs);
        for (int i = 0; i < 100; i++) {
            int best = 0;
            for (int k = 1; k < 10; k++)
                if (probs[i * 10 + k] > probs[i * 10 + best])
                    best = k;
            right += best == te->labels[b + i];
        }
    }
    *acc = (double)right / TEST;
    float *params = malloc(sizeof(float) * n);
    memcpy(params, mn_model_params_const(m), sizeof(float) * n);
    free(x), free(g);
    mn_adam_free(&adam);
    mn_workspace_free(ws), mn_workspace_free(wi);
    mn_model_free(m);
    return params;
}

int main(void)
{
    const mn_kernels *k = check_level();
    const char *dir = getenv("MNIST_DATA_DIR");
    mn_dataset tr, te;
    mn_error err;
    if (!dir || mn_dataset_load(dir, "train", &tr, &err) != MN_OK ||
        mn_dataset_load(dir, "t10k", &te, &err) != MN_OK) {
        fprintf(stderr, "FAIL: MNIST from MNIST_DATA_DIR=%s: %s\n", dir ? dir : "(unset)",
                dir ? err.msg : "not set");
        return 1;
    }
    size_t n, n2;
    double f1, l1, a1, f2, l2, a2;
    float *p1 = train_once(&tr, &te, &n, &f1, &l1, &a1);
    float *p2 = train_once(&tr, &te, &n2, &f2, &l2, &a2);
    CHECK(n == n2 && memcmp(p1, p2, sizeof(float) * n) == 0,
          "two runs from one seed: the same weights");
    CHECK(l1 < 0.75 * f1, "loss falls: %.4f -> %.4f", f1, l1);
    CHECK(a1 > 0.6, "accuracy on %d test images after %d steps: %.3f", TEST, STEPS, a1);
    printf("%s: loss %.4f -> %.4f, accuracy %.3f, weights %016llx\n", mn_isa_name(k->isa), f1, l1,
           a1, (unsigned long long)hash(p1, sizeof(float) * n));
    free(p1), free(p2);
    mn_dataset_free(&tr), mn_dataset_free(&te);
    return check_finish();
}
