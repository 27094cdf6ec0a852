/* trainer.h: one training run of mnist-train: the recipe, data, epoch
 * loop, checkpoints, resume and the final weights file. */
#ifndef MNIST_TRAIN_TRAINER_H
#define MNIST_TRAIN_TRAINER_H

#include <stdint.h>

typedef struct {
    const char *data_dir;    /* MNIST IDX directory */
    const char *out_path;    /* final weights file */
    const char *ckpt_path;   /* checkpoint written each epoch and on Ctrl-C */
    const char *init_path;   /* start from these weights (fine-tuning), or NULL */
    const char *resume_path; /* resume this checkpoint, or NULL */
    const char *arch;        /* layer string, or NULL for the reference model */
    const char *name;        /* model name stored in the metadata */
    int epochs, batch, threads;
    int val;                 /* training images held out for validation (the last ones) */
    int limit;               /* use only the first `limit` training images (0: all) */
    float lr;
    uint64_t seed;
    int epochs_given;        /* --epochs was given (a resumed run may extend) */
} train_options;

/* Runs the training; returns the process exit status (0 done, 1 error,
 * 130 interrupted with a checkpoint written). Prints to stdout/stderr. */
int train_run(train_options *o);

/* Asks a running train_run to stop after its current batch (signal-safe). */
void train_request_stop(void);

#endif
