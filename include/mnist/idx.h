/* idx.h: the IDX files MNIST is distributed in, raw or gzip-compressed,
 * and a dataset (images + labels) loaded from a directory of them. Every
 * magic number, dimension, count and size is checked; errors name the file
 * and the problem. */
#ifndef MNIST_IDX_H
#define MNIST_IDX_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/error.h"

/* Largest decompressed IDX file accepted (MNIST's train images: 47 MB). */
#define MN_IDX_MAX_BYTES (512u * 1024u * 1024u)

/* An unsigned-byte IDX array: dims[0] items of dims[1] x dims[2]. */
typedef struct {
    uint8_t *data;    /* count * item_size bytes, owned */
    uint32_t ndim;    /* 1 (labels) or 3 (images) */
    uint32_t dims[3];
    size_t count;     /* dims[0] */
    size_t item_size; /* bytes per item: 1, or dims[1] * dims[2] */
} mn_idx;

/* Parses an in-memory (already decompressed) IDX buffer; buf is
 * untrusted; name prefixes messages. out->data is a copy. */
mn_status mn_idx_parse(const uint8_t *buf, size_t len, const char *name, mn_idx *out,
                       mn_error *err);
/* Loads path, gunzipping when it starts with the gzip magic. */
mn_status mn_idx_load(const char *path, mn_idx *out, mn_error *err);
void mn_idx_free(mn_idx *x);

/* Images and labels of one split. */
typedef struct {
    uint8_t *images; /* count * rows * cols bytes, 0 = background, 255 = ink */
    uint8_t *labels; /* count bytes */
    size_t count;
    uint32_t rows, cols;
    uint32_t classes; /* 1 + the largest label */
} mn_dataset;

/* Loads split "train" or "t10k" from dir: looks for
 * <split>-images-idx3-ubyte, <split>-images.idx3-ubyte, each optionally
 * with .gz, and the matching labels; checks the counts agree and every
 * label is < 256. */
mn_status mn_dataset_load(const char *dir, const char *split, mn_dataset *out,
                          mn_error *err);
void mn_dataset_free(mn_dataset *d);

#endif
