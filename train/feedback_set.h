/* feedback_set.h: users' corrections from a feedback store (mnist_feedback)
 * as training and held-out images for mnist-train --feedback. */
#ifndef MNIST_TRAIN_FEEDBACK_SET_H
#define MNIST_TRAIN_FEEDBACK_SET_H

#include <stddef.h>
#include <stdint.h>

/* Every FEEDBACK_HOLD_EVERY-th id (id % 5 == 0) is held out: the split
 * depends on the id alone, so records added later never move between
 * the parts. */
#define FEEDBACK_HOLD_EVERY 5

typedef struct {
    uint8_t *train_images, *train_labels; /* [n_train * 784], [n_train] */
    uint8_t *held_images, *held_labels;   /* [n_held * 784], [n_held] */
    size_t n_train, n_held;
    size_t n_records;     /* all records listed */
    size_t n_skipped;     /* not_a_digit records for a model without that class */
    int64_t first_id, last_id;
    char location[1024];  /* the store's location, any password removed */
} feedback_set;

/* Reads every record of the store at `location` (a SQLite file that must
 * already exist, or a postgresql:// URL). Pixels are rounded to bytes
 * (x * 255). Labels 0-9 are kept; not_a_digit becomes class `background`
 * when it is >= 0, else the record is skipped. Returns 0, or -1 with a
 * message naming the location in err; an empty store is an error. */
int feedback_set_load(const char *location, int32_t background, feedback_set *out, char *err,
                      size_t errlen);

void feedback_set_free(feedback_set *f);

/* Copies location into out with the password of a URL's user:password@
 * removed. */
void feedback_location_public(const char *location, char *out, size_t outlen);

#endif
