/* eval_sets.h: mnist-eval's reports on folders of images users send,
 * each described by DIR/labels.csv (a header line naming the columns):
 * digits (columns file, label and optionally kind) and non-digits
 * (columns file and optionally kind). Images are decoded and normalised
 * as the server does, and answered as the server answers (answers.h). */
#ifndef MNIST_TRAIN_EVAL_SETS_H
#define MNIST_TRAIN_EVAL_SETS_H

#include "mnist/mnist.h"

/* Per kind and overall: the share answered "digit" with the right
 * prediction, the share answered otherwise, the accuracy, and the ECE
 * with its reliability table. Returns 0, or 1 with a message on stderr
 * naming the file. */
int eval_sets_digits(const mn_ensemble *e, const char *dir, int threads);

/* Per kind and overall: the share answered with a verdict other than
 * "digit" (images without ink count apart: the server answers them 400). */
int eval_sets_nondigits(const mn_ensemble *e, const char *dir, int threads);

#endif
