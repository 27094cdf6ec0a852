/* ensemble.h: the model the server and the evaluator answer with: one
 * network, or several whose calibrated probabilities are averaged. An
 * ensemble may be a cascade: its first member answers alone when it is
 * sure, and the others are consulted only for the inputs it is not sure
 * of, which costs a few percent more than one network instead of n times
 * as much. An ensemble file (docs/FORMAT.md) holds the members and the
 * thresholds fitted for the whole on held-out images. */
#ifndef MNIST_ENSEMBLE_H
#define MNIST_ENSEMBLE_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/error.h"
#include "mnist/model.h"

#define MN_ENSEMBLE_MAX 8
#define MN_ENSEMBLE_META_MAX (1u << 20)

typedef struct {
    int n;
    mn_model *m[MN_ENSEMBLE_MAX];
    /* How the answer is judged: the background class the members share and
     * the verdict's thresholds (mn_verdict_of). The temperature is unused:
     * every member applies its own. */
    mn_calibration calib;
    /* > 0: a cascade. Member 1 answers alone for an input when its
     * calibrated confidence is at least this and its digit score at least
     * its own digit threshold; otherwise every member answers and the mean
     * is judged by calib. 0: every member answers every input. */
    float escalate_below;
    char version[9]; /* 8 hex digits: the file's checksum, a weights file's, or a hash of a list's */
    char *meta;      /* an ensemble file's metadata JSON (name, test accuracy, ...), or NULL */
} mn_ensemble;

/* An ensemble of the one model m, judged by m's calibration. It borrows
 * m: never pass it to mn_ensemble_free. */
mn_ensemble mn_ensemble_single(mn_model *m);

/* Appends m (ownership passes to e on success): MN_ERR_ARG when e is full
 * or m differs from the first member in input size, classes or
 * background class. e starts zeroed. The thresholds become the members'
 * means, escalate_below 0 (a plain average) and the version the hash of
 * the members' versions, as for a --model A,B list. */
mn_status mn_ensemble_add(mn_ensemble *e, mn_model *m, mn_error *err);

/* Frees the members and the metadata and zeroes e. */
void mn_ensemble_free(mn_ensemble *e);

/* Replaces e's metadata with a copy of json (at most 1 MiB, no NUL),
 * written into the ensemble file by mn_ensemble_save. */
mn_status mn_ensemble_set_meta(mn_ensemble *e, const char *json, mn_error *err);

/* Loads path: an ensemble file (its members, thresholds and cascade; the
 * version is its checksum's, as for a weights file) or a weights file (an
 * ensemble of one judged by its calibration). e is zeroed on failure;
 * messages start with the path. */
mn_status mn_ensemble_load(const char *path, mn_ensemble *e, mn_error *err);

/* Loads a comma-separated list: one path as mn_ensemble_load, several
 * weights files as the plain ensemble of mn_ensemble_add (the --model
 * A,B,C of the server and mnist-eval). */
mn_status mn_ensemble_load_list(const char *paths, mn_ensemble *e, mn_error *err);

/* The same from memory: buf[len] is untrusted; name prefixes messages. */
mn_status mn_ensemble_parse(const uint8_t *buf, size_t len, const char *name, mn_ensemble *e,
                            mn_error *err);

/* Writes e (2 members or more) as an ensemble file, crash-safe (temporary
 * file, fsync, rename); sets e->version from the new checksum. Members
 * are written as final weights files, without training state. */
mn_status mn_ensemble_save(mn_ensemble *e, const char *path, mn_error *err);

/* Classes e answers: the members' less the background class. */
uint32_t mn_ensemble_classes(const mn_ensemble *e);

/* Whether member 1's calibrated answer (probs[classes], digit_score)
 * stands alone in cascade e: always for one network, never for a plain
 * ensemble. */
int mn_ensemble_first_suffices(const mn_ensemble *e, const float *probs, float digit_score);

/* A thread's scratch for running e on up to max_batch inputs a call. */
typedef struct mn_ensemble_ws mn_ensemble_ws;
mn_status mn_ensemble_ws_create(const mn_ensemble *e, int max_batch, mn_ensemble_ws **out,
                                mn_error *err);
void mn_ensemble_ws_free(mn_ensemble_ws *w);

/* For in[N, input size] (N <= max_batch): probs[N, classes] the calibrated
 * probabilities (a member's by mn_calibrate; several members' mean) and
 * digit_score[N] likewise. Returns how many of the N inputs every member
 * answered (N for a plain ensemble, 0 for one network). Allocates
 * nothing. */
int mn_ensemble_forward(const mn_ensemble *e, mn_ensemble_ws *w, const float *in, int N,
                        float *probs, float *digit_score);

#endif
