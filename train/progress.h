/* progress.h: what the trainer tells the user while it runs: a live bar on
 * a terminal, one plain line per epoch otherwise. */
#ifndef MNIST_TRAIN_PROGRESS_H
#define MNIST_TRAIN_PROGRESS_H

#include <stddef.h>

typedef struct {
    int tty;         /* stderr is a terminal: draw the bar */
    int epoch, epochs;
    size_t batches;  /* in this epoch */
    double start;    /* seconds, omp_get_wtime() at epoch start */
    double last_draw;
} progress;

void progress_epoch_start(progress *p, int epoch, int epochs, size_t batches, double now);
/* Redraws the bar (at most 10 times a second) after batch `done` of the
 * epoch, with the running mean loss and images seen in this run. */
void progress_batch(progress *p, size_t done, double mean_loss, size_t images, double now);
/* Clears the bar. */
void progress_epoch_end(progress *p);

#endif
