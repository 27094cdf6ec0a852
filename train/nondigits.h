/* nondigits.h: the negatives a model learns "not a digit" from: an IDX3
 * file of greyscale images of any side (scripts/make-nondigits.py makes
 * one), normalised exactly as the server normalises what it is sent; and
 * the background class they are labelled with, added to a digit model by
 * growing its last dense layer by one unit. */
#ifndef MNIST_TRAIN_NONDIGITS_H
#define MNIST_TRAIN_NONDIGITS_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/mnist.h"

/* Loads the IDX3 images at path and normalises each into out
 * (mn_dataset_free): 28x28, MNIST convention, labelled from the IDX1 file
 * labels_path (same count) or, when that is NULL, all `label`. Images
 * without ink (normalisation finds none) are dropped. Messages name the
 * file. */
mn_status nondigits_load(const char *path, const char *labels_path, uint8_t label, mn_dataset *out,
                         mn_error *err);

/* A copy of m with one more class: the last dense layer gains a unit
 * whose weights are drawn from seed (Glorot-uniform) and whose bias is
 * -2, so the new class starts unlikely; every other parameter is copied.
 * The copy's calibration names the new class as the background class.
 * m must end with dense -> softmax and have no background class yet. */
mn_status nondigits_grow(const mn_model *m, uint64_t seed, mn_model **out, mn_error *err);

#endif
