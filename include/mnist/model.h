/* model.h: a model is an architecture plus one contiguous array of
 * parameters, its metadata (JSON text) and its version. A loaded model is
 * immutable and may be shared by any number of threads; all per-call
 * memory lives in an mn_workspace that each thread owns. */
#ifndef MNIST_MODEL_H
#define MNIST_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/arch.h"
#include "mnist/error.h"

typedef struct mn_model mn_model;
typedef struct mn_workspace mn_workspace;

/* One named parameter tensor: a view into the model's parameter array. */
typedef struct {
    char name[32];   /* "conv1.w", "conv1.b", "dense2.w", ... */
    uint32_t layer;  /* index in the layer table */
    uint32_t ndim;   /* 1, 2 or 4 */
    uint32_t dims[4];
    size_t offset;   /* first element in mn_model_params() */
    size_t count;    /* elements */
} mn_tensor_info;

/* Creates a model for arch (checked first) with all parameters zero and
 * empty metadata. *out is owned by the caller: mn_model_free. */
mn_status mn_model_create(const mn_arch *arch, mn_model **out, mn_error *err);
/* Frees m; NULL is a no-op. */
void mn_model_free(mn_model *m);

/* Glorot-uniform weights, zero biases (the Keras defaults), from the
 * library's RNG seeded with seed: the same seed gives the same weights. */
void mn_model_init_glorot(mn_model *m, uint64_t seed);

const mn_arch *mn_model_arch(const mn_model *m);
size_t mn_model_param_count(const mn_model *m);
float *mn_model_params(mn_model *m);
const float *mn_model_params_const(const mn_model *m);
uint32_t mn_model_tensor_count(const mn_model *m);
/* Tensor i (0 <= i < mn_model_tensor_count) in file order. */
const mn_tensor_info *mn_model_tensor(const mn_model *m, uint32_t i);
/* Floats in one input sample (C*H*W: 784 for MNIST). */
size_t mn_model_input_size(const mn_model *m);
uint32_t mn_model_classes(const mn_model *m);

/* Metadata: a JSON object as text, never NULL ("{}" when unset). The
 * library stores it verbatim and does not parse it. */
const char *mn_model_meta(const mn_model *m);
/* Replaces the metadata with a copy of json (at most 1 MiB). */
mn_status mn_model_set_meta(mn_model *m, const char *json, mn_error *err);

/* How a model's answers are calibrated and judged (docs/FORMAT.md, the
 * calibration section). A model without one (files written before it
 * existed) has mn_calibration_none(): temperature 1, no background class,
 * fitted_on 0, and its answers are the raw softmax. */
typedef struct {
    float temperature;      /* > 0: softmax(logits / T); 1 leaves outputs as they are */
    int32_t background;     /* the class that means "not a digit", or -1 */
    float digit_threshold;  /* digit score below this: not_a_digit (0 disables) */
    float unsure_threshold; /* calibrated confidence below this: unsure (0 disables) */
    uint32_t fitted_on;     /* held-out images the calibration was fitted on; 0: none */
} mn_calibration;

/* The calibration of an uncalibrated model. */
mn_calibration mn_calibration_none(void);
/* m's calibration (mn_calibration_none() unless loaded or set). */
const mn_calibration *mn_model_calibration(const mn_model *m);
/* Sets m's calibration: MN_ERR_ARG unless the temperature is finite and
 * positive, the thresholds lie in [0, 1] and the background class is -1
 * or one of m's classes. Saving writes it into the file. */
mn_status mn_model_set_calibration(mn_model *m, const mn_calibration *c, mn_error *err);

/* The model version: the first 8 hex digits of the SHA-256 of the weights
 * file it was last loaded from or saved to; "" before either. */
const char *mn_model_version(const mn_model *m);

/* Creates the scratch memory for running m on up to max_batch samples per
 * call; training != 0 also reserves what backward needs. One workspace per
 * thread. Allocated once: forward and backward allocate nothing. */
mn_status mn_workspace_create(const mn_model *m, int max_batch, int training,
                              mn_workspace **out, mn_error *err);
void mn_workspace_free(mn_workspace *ws);
int mn_workspace_max_batch(const mn_workspace *ws);

/* Runs the model on N samples: in [N, input_size] floats (pixels / 255 for
 * MNIST), probs [N, classes] softmax outputs. 1 <= N <= max batch of ws.
 * Single-threaded; thread-safe for distinct workspaces. */
void mn_model_forward(const mn_model *m, mn_workspace *ws, const float *in, int N,
                      float *probs);

/* Readies m for serving: lays out its weights once as the inference
 * kernels read them fastest (on CPUs with AVX-512: the Winograd
 * transforms of 3x3 convolutions, which mn_model_forward would otherwise
 * compute per call, and dense weights transposed). The parameters must
 * not change afterwards: servers and evaluators call this after loading,
 * training never does. mn_model_forward's outputs then equal the
 * unprepared model's within float rounding (the dense layers sum in
 * another order), and still do not depend on the batch a sample is run
 * in. Calling it again is a no-op. MN_ERR_NOMEM when it cannot allocate. */
mn_status mn_model_prepare_inference(mn_model *m, mn_error *err);

/* Forward and backward of cross-entropy on N labelled samples (ws created
 * with training != 0). ADDS the per-sample gradients' SUM into grads
 * (param_count floats, laid out as the parameters) and returns the SUM of
 * the N losses; *n_correct (if non-NULL) gets the count of argmax hits.
 * The caller divides by the batch size, so one batch may be split across
 * threads, each with its own workspace and gradient buffer. */
float mn_model_backward(const mn_model *m, mn_workspace *ws, const float *in,
                        const uint8_t *labels, int N, float *grads, int *n_correct);

/* What a training step needs beyond the samples. */
typedef struct {
    uint64_t seed;         /* the run's seed: dropout masks derive from it */
    const uint64_t *keys;  /* [N] a key per sample (e.g. epoch << 32 | index):
                            * sample n's dropout mask depends only on
                            * (seed, keys[n], layer); NULL: keys[n] = n */
    float label_smoothing; /* 0: plain cross-entropy; e: targets
                            * (1 - e) one-hot + e / classes (Szegedy et al., 2016) */
} mn_train_opts;

/* mn_model_backward in training mode with options (opts NULL: seed 0,
 * keys NULL, no smoothing; mn_model_backward is this with NULL). Batch-norm
 * layers normalise with the statistics of these N samples and, instead of
 * a gradient, ADD N * the batch mean and N * the unbiased batch variance
 * into the gradient slots of their running mean and variance: after the
 * caller's division by the batch size those slots hold the batch
 * statistics, which mn_model_update_batch_stats then consumes. Dropout
 * layers drop; the returned loss is the (smoothed) cross-entropy sum. */
float mn_model_backward_train(const mn_model *m, mn_workspace *ws, const float *in,
                              const uint8_t *labels, int N, const mn_train_opts *opts,
                              float *grads, int *n_correct);

/* After a step's gradients are averaged: moves every batch-norm layer's
 * running statistics toward the batch statistics in their gradient slots
 * (running = momentum * running + (1 - momentum) * batch) and zeroes those
 * slots, so an optimiser step leaves them alone. No-op without batch norm. */
void mn_model_update_batch_stats(mn_model *m, float *grads, float momentum);

/* 1 when parameter tensor t is a running statistic (batch-norm mean or
 * variance) rather than a trained weight. */
int mn_model_tensor_is_statistic(const mn_model *m, uint32_t t);

/* A copy of m for serving: every batch-norm layer that directly follows a
 * convolution or dense layer is folded into it (w' = w * g, b' = (b - mean)
 * * g + beta with g = gamma / sqrt(var + eps)), every dropout layer is
 * removed; other batch-norm layers stay (inference mode). Metadata is
 * copied. The result computes the same function as m's inference forward
 * (up to rounding). *out owned by the caller. */
mn_status mn_model_fold(const mn_model *m, mn_model **out, mn_error *err);

#endif
