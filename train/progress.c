/* progress.c: the trainer's progress bar (stderr, terminals only). */
#include <stdio.h>

#include "progress.h"

void progress_epoch_start(progress *p, int epoch, int epochs, size_t batches, double now)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->batches = batches;
    p->start = now;
    p->last_draw = 0;
}

void progress_batch(progress *p, size_t done, double mean_loss, size_t images, double now)
{
    if (!p->tty || (now - p->last_draw < 0.1 && done != p->batches))
        return;
    p->last_draw = now;
    const int width = 30;
    int fill = p->batches ? (int)(width * done / p->batches) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    double secs = now - p->start, rate = secs > 0 ? images / secs : 0;
    double eta = done ? secs * (double)(p->batches - done) / done : 0;
    fprintf(stderr, "\repoch %d/%d [%s] %zu/%zu loss %.4f %6.0f img/s ETA %3.0fs ", p->epoch,
            p->epochs, bar, done, p->batches, mean_loss, rate, eta);
    fflush(stderr);
}

void progress_epoch_end(progress *p)
{
    if (p->tty)
        fprintf(stderr, "\r%100s\r", "");
}
