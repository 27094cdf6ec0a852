/* trainer.h: one training run of mnist-train: the recipe, data, epoch
 * loop, checkpoints, resume and the final weights file. */
#ifndef MNIST_TRAIN_TRAINER_H
#define MNIST_TRAIN_TRAINER_H

#include <stdint.h>

#include "mnist/augment.h"

/* Learning-rate schedules, applied per epoch. */
typedef enum {
    LR_CONSTANT = 0, /* lr */
    LR_EXP = 1,      /* lr * decay^epoch */
    LR_COSINE = 2    /* lr * (1 + cos(pi * epoch / epochs)) / 2 */
} lr_schedule;

typedef struct {
    const char *data_dir;    /* IDX directory (MNIST or Fashion-MNIST) */
    const char *images_dir;  /* train on DIR/<label>/<image> files instead, or NULL */
    const char *dataset;     /* "mnist" or "fashion-mnist": labels and metadata */
    const char *out_path;    /* final weights file */
    const char *ckpt_path;   /* checkpoint written each epoch and on Ctrl-C */
    const char *init_path;   /* start from these weights (fine-tuning), or NULL */
    const char *resume_path; /* resume this checkpoint, or NULL */
    const char *arch;        /* layer string, or NULL for the reference model */
    const char *preset;      /* the preset the recipe came from, or NULL */
    const char *name;        /* model name stored in the metadata */
    const char *nondigits;   /* IDX3 of non-digit images for a background class, or NULL */
    const char *more_digits; /* PREFIX of -images/-labels IDX files of more digits, or NULL */
    const char *feedback;    /* feedback store (SQLite path or postgresql:// URL) to fine-tune on, or NULL */
    const char *feedback_json; /* set by train_run: the "feedback" object of the metadata */
    int lr_given;            /* --lr was given (--feedback lowers the default) */
    int calibrate_only;      /* no training: refit --init's calibration on the --val images */
    int epochs, batch, threads;
    int val;                 /* training images held out for validation (the last ones) */
    int limit;               /* use only the first `limit` training images (0: all) */
    float lr;
    lr_schedule schedule;
    float lr_decay;          /* LR_EXP's factor per epoch */
    float weight_decay;      /* L2 on weights (not biases or batch norm), added to gradients */
    float label_smoothing;   /* 0: plain cross-entropy */
    float bn_momentum;       /* running statistics' momentum (Keras: 0.99) */
    int augment;             /* draw a random affine distortion per sample and epoch */
    mn_augment_config aug;
    int freeze_conv;         /* train only the layers from the first dense layer on */
    uint64_t seed;
    int epochs_given;        /* --epochs was given (a resumed run may extend) */
    char restored[4][1024];  /* storage of the strings a resumed recipe restores */
} train_options;

/* Runs the training; returns the process exit status (0 done, 1 error,
 * 130 interrupted with a checkpoint written). Prints to stdout/stderr. */
int train_run(train_options *o);

/* Asks a running train_run to stop after its current batch (signal-safe). */
void train_request_stop(void);

/* The learning rate of epoch (0-based) under o's schedule. */
float train_lr_at(const train_options *o, uint32_t epoch);

#endif
