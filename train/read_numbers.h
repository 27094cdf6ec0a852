/* read_numbers.h: mnist-eval --numbers: reading numbers of several digits
 * (DIR/labels.csv: file,text,kind,...) with the core segmentation and a
 * model, and the exact-text accuracy overall and per kind. */
#ifndef MNIST_TRAIN_READ_NUMBERS_H
#define MNIST_TRAIN_READ_NUMBERS_H

#include "mnist/mnist.h"

/* Reads every image listed in dir/labels.csv (the header names the
 * columns file, text and kind; others are ignored), prints a line per
 * miss when verbose, then "kind: correct/total (rate)" per kind and
 * "exact text: ..." overall on stdout. Returns 0, or 1 with a message on
 * stderr when the list cannot be read. */
int read_numbers_eval(const mn_ensemble *e, const char *dir, int verbose);

#endif
