/* paths.h: where the command-line tools look for the bundled model and
 * the MNIST data when the user names none. */
#ifndef MNIST_TRAIN_PATHS_H
#define MNIST_TRAIN_PATHS_H

#include <stddef.h>

/* Writes into out the first existing of: <exe dir>/models/F,
 * <exe dir>/../models/F, <exe dir>/../share/mnist/models/F,
 * /usr/share/mnist/models/F, the source tree's models/F, for F the
 * server's default (the cascade mnist-cnn-ensemble.bin), then the best
 * single model mnist-cnn-large.bin, then the reference mnist-cnn.bin.
 * Returns 0 when one exists, -1 (out holds the last candidate) otherwise. */
int paths_default_model(char *out, size_t len);

/* Writes the MNIST directory to use: $MNIST_DATA_DIR, else the first
 * existing of ./data/mnist, <exe dir>/../data/mnist, the source tree's
 * data/mnist. Returns 0 when one exists, -1 otherwise. */
int paths_default_data(char *out, size_t len);

/* Writes the Fashion-MNIST directory to use: $FASHION_MNIST_DIR, else
 * Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). */
void paths_default_fashion(char *out, size_t len);

#endif
