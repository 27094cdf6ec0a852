/* make_feedback_db.c: a feedback store for the tests and measurements:
 * N images of MNIST's test split from FIRST on, stored through
 * fb_store_insert as the server would store users' corrections (label the
 * true digit, prediction a wrong one for every third record), plus
 * NONDIGITS blank-noise images labelled not_a_digit.
 * usage: make_feedback_db DB MNIST_DIR FIRST N NONDIGITS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback_store.h"
#include "mnist/mnist.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: make_feedback_db DB MNIST_DIR FIRST N NONDIGITS\n");
        return 2;
    }
    size_t first = strtoul(argv[3], NULL, 10), n = strtoul(argv[4], NULL, 10),
           neg = strtoul(argv[5], NULL, 10);
    mn_dataset t;
    mn_error err;
    if (mn_dataset_load(argv[2], "t10k", &t, &err) != MN_OK || first + n > t.count) {
        fprintf(stderr, "make_feedback_db: %s: cannot read %zu test images\n", argv[2], first + n);
        return 1;
    }
    fb_record *r = calloc(n + neg, sizeof *r);
    int64_t *ids = calloc(n + neg + 1, sizeof *ids);
    if (!r || !ids)
        return 1;
    unsigned seed = 12345;
    for (size_t i = 0; i < n + neg; i++) {
        fb_record *x = &r[i];
        x->created_ms = 1764900000000LL + (int64_t)i * 60000;
        snprintf(x->model_version, sizeof x->model_version, i % 2 ? "v1a2b3c4" : "v5d6e7f8");
        snprintf(x->original_type, sizeof x->original_type, "application/json");
        if (i < n) {
            const uint8_t *px = t.images + (first + i) * 784;
            for (int k = 0; k < 784; k++)
                x->image[k] = px[k] / 255.0f;
            x->label = t.labels[first + i];
            x->prediction = i % 3 ? x->label : (x->label + 1) % 10;
        } else {
            for (int k = 0; k < 784; k++) {
                seed = seed * 1103515245u + 12345u;
                x->image[k] = (seed >> 16) % 7 == 0 ? (float)((seed >> 8) % 256) / 255.0f : 0.0f;
            }
            x->label = FB_LABEL_NOT_A_DIGIT;
            x->prediction = (int)(i % 10);
        }
    }
    fb_store *s;
    char e[512];
    if (fb_store_open(argv[1], &s, e, sizeof e) != FB_OK || fb_store_insert(s, r, n + neg, ids, e, sizeof e) != FB_OK) {
        fprintf(stderr, "make_feedback_db: %s: %s\n", argv[1], e);
        return 1;
    }
    fb_store_close(s);
    mn_dataset_free(&t);
    free(r);
    free(ids);
    printf("%s: %zu records\n", argv[1], n + neg);
    return 0;
}
