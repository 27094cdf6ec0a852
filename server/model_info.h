/* model_info.h: the GET /v1/model document: name, version, architecture
 * (layers with output shapes and parameter counts), parameter count, input
 * spec, labels, training recipe and test accuracy, from the layer table
 * and the metadata JSON (any key of which may be missing). */
#ifndef SRV_MODEL_INFO_H
#define SRV_MODEL_INFO_H

#include "model_set.h"
#include "sbuf.h"

/* Writes the document into out (replacing it). Built once at start-up. */
void model_info_json(const model_set *ms, uint64_t max_pixels, int max_batch, sbuf *out);

#endif
