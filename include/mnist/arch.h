/* arch.h: a network architecture as data, the layer table stored in every
 * weights file, so a server needs no compiled-in model. Layers run in
 * order on one sample shape [C,H,W]; shape inference and validation live
 * here. */
#ifndef MNIST_ARCH_H
#define MNIST_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/error.h"

#define MN_MAX_LAYERS 32
/* Bounds on what a layer table may describe, checked before anything is
 * allocated from it. */
#define MN_MAX_DIM 4096
#define MN_MAX_PARAMS (64u * 1024u * 1024u)

typedef enum {
    MN_LAYER_CONV2D = 1,  /* out = filters, k = kernel, s = stride, p = padding */
    MN_LAYER_MAXPOOL = 2, /* k = window, s = stride */
    MN_LAYER_DENSE = 3,   /* out = units; flattens a [C,H,W] input */
    MN_LAYER_RELU = 4,
    MN_LAYER_FLATTEN = 5,
    MN_LAYER_SOFTMAX = 6, /* must be last */
    MN_LAYER_BATCHNORM = 7, /* per channel; parameters gamma, beta and the
                             * running mean and variance; format version 2 */
    MN_LAYER_DROPOUT = 8    /* out = rate in percent (1..90); identity at
                             * inference; format version 2 */
} mn_layer_kind;

/* Batch normalisation's epsilon (Keras' default), fixed so a file needs
 * not carry it. */
#define MN_BATCHNORM_EPS 1e-3f

typedef struct {
    uint32_t kind; /* mn_layer_kind */
    uint32_t out, k, s, p;
} mn_layer;

/* The sample shape [C,H,W] after a layer. */
typedef struct {
    uint32_t c, h, w;
} mn_shape;

typedef struct {
    mn_shape input;
    uint32_t n_layers;
    mn_layer layers[MN_MAX_LAYERS];
} mn_arch;

/* The reference model of the project: 28x28x1 -> conv 32@3x3 -> relu ->
 * maxpool 2 -> conv 64@3x3 -> relu -> maxpool 2 -> flatten -> dense 128 ->
 * relu -> dense 10 -> softmax. */
void mn_arch_reference(mn_arch *a);

/* Parses a layer string such as
 * "1x28x28:conv32k3,relu,pool2,conv64k3,relu,pool2,flatten,dense128,relu,dense10,softmax"
 * (convNkK[sS][pP], poolK[sS], denseN, relu, flatten, softmax, bn,
 * dropoutN with N the rate in percent; the input
 * prefix CxHxW: is optional and defaults to 1x28x28). Validates the result
 * with mn_arch_check. */
mn_status mn_arch_parse(const char *spec, mn_arch *a, mn_error *err);

/* Writes the layer string of a into buf (always NUL-terminated when
 * len > 0); returns the length it needed, like snprintf. */
size_t mn_arch_format(const mn_arch *a, char *buf, size_t len);

/* Checks that every layer fits the shape it receives, dims stay within
 * MN_MAX_DIM, the parameter count within MN_MAX_PARAMS, and that the table
 * ends with softmax after a dense layer. The message names the layer. */
mn_status mn_arch_check(const mn_arch *a, mn_error *err);

/* Output shape of layer i (0-based) of a checked arch. */
mn_shape mn_arch_shape(const mn_arch *a, uint32_t i);

/* Number of classes (the units of the last dense layer) of a checked arch. */
uint32_t mn_arch_classes(const mn_arch *a);

/* 1 when the table holds a batch-norm or dropout layer: layers only a
 * training run needs (mn_model_fold removes them) and that need weights
 * format version 2. */
int mn_arch_has_training_layers(const mn_arch *a);

/* A short name of a layer kind ("conv2d", "maxpool", ...), "?" if unknown. */
const char *mn_layer_kind_name(uint32_t kind);

#endif
