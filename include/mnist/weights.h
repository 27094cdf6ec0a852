/* weights.h: reading and writing the weights file (docs/FORMAT.md): the
 * layer table, the tensors, a JSON metadata block, optional training state
 * (a checkpoint) and a SHA-256 checksum. The reader checks every field
 * before trusting it; the writer never leaves a half-written file under the
 * real name (temporary file, fsync, rename). */
#ifndef MNIST_WEIGHTS_H
#define MNIST_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/adam.h"
#include "mnist/error.h"
#include "mnist/model.h"

/* Largest weights file the reader accepts. */
#define MN_WEIGHTS_MAX_BYTES (512u * 1024u * 1024u)

/* Where a training run stands, saved in checkpoints so that a resumed run
 * ends with the same weights as an uninterrupted one. */
typedef struct {
    uint64_t seed;  /* the run's seed: every random stream derives from it */
    uint32_t epoch; /* epochs completed */
    uint32_t batch; /* batches completed within epoch `epoch` */
    mn_adam adam;   /* optimiser state; adam.n == 0 when the file has none */
} mn_checkpoint;

/* Writes m (and, if ck is non-NULL, its training state) to path via
 * path.tmp-PID, fsync, rename, fsync of the directory. On success sets the
 * model's version from the new checksum. */
mn_status mn_model_save(mn_model *m, const char *path, const mn_checkpoint *ck,
                        mn_error *err);

/* Serialises into a malloc'd buffer (*buf, *len; caller frees). */
mn_status mn_model_serialize(mn_model *m, const mn_checkpoint *ck, uint8_t **buf,
                             size_t *len, mn_error *err);

/* Loads a weights file. If ck is non-NULL and the file holds training
 * state, ck is filled and ck->adam allocated (free with mn_adam_free);
 * otherwise ck is zeroed. Messages start with the path. */
mn_status mn_model_load(const char *path, mn_model **out, mn_checkpoint *ck,
                        mn_error *err);

/* The same from memory: buf[len] is untrusted; name prefixes messages. */
mn_status mn_model_parse(const uint8_t *buf, size_t len, const char *name,
                         mn_model **out, mn_checkpoint *ck, mn_error *err);

#endif
