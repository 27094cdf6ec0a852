/* oip.h: the Open Inference Protocol ("v2", KServe and Triton), REST:
 * its paths, the server and model metadata, and inference with the
 * spec's JSON tensors and its binary tensor data extension
 * (Inference-Header-Content-Length, binary_data_size, binary_data,
 * binary_data_output), which Triton's own clients use by default. Pure
 * functions of the request: no HTTP library types, no globals.
 *
 * A model is named by its metadata ("mnist-cnn-large"), or in a model
 * repository by its directory; its version is the repository's, else "1". Input "input": UINT8 (pixels 0-255, ink high) or FP32
 * (the model's input, pixels / 255), shape [N,784], [N,28,28] or
 * [N,1,28,28], as MNIST's 28x28 (no normalisation: that is /predict's).
 * Outputs "probabilities" FP32 [N,classes] (calibrated, as /predict) and
 * "prediction" INT64 [N]. Errors are {"error": "message"}. */
#ifndef SRV_OIP_H
#define SRV_OIP_H

#include <stddef.h>
#include <stdint.h>
#include "model_set.h"
#include "predict.h"
#include "sbuf.h"

typedef enum {
    OIP_NONE,        /* not a /v2 path */
    OIP_SERVER,      /* GET /v2 */
    OIP_LIVE,        /* GET /v2/health/live */
    OIP_READY,       /* GET /v2/health/ready */
    OIP_MODEL,       /* GET /v2/models/{name}[/versions/{v}] */
    OIP_MODEL_READY, /* GET .../ready */
    OIP_INFER,       /* POST .../infer */
    OIP_UNKNOWN      /* under /v2 but no such path */
} oip_route;

/* What a /v2 path asks: the route, and for model paths the name and the
 * version ("" when none is given), NUL-terminated copies. */
typedef struct {
    oip_route route;
    char name[256];
    char version[32];
} oip_path;

/* Parses url (the path, without the query). */
void oip_parse_path(const char *url, oip_path *p);

/* 0 when p names the served model (and, if given, its version); else 404
 * with the {"error"} body in out. */
int oip_check_model(const model_set *ms, const oip_path *p, sbuf *out);

/* The body of GET /v2. */
void oip_server_metadata(const char *server_version, sbuf *out);
/* The body of GET /v2/models/{name}: inputs, outputs, versions. */
void oip_model_metadata(const model_set *ms, sbuf *out);
/* The body of GET /v2/health/ready ({"ready": ...}), or with ms that of
 * the model's .../ready ({"name": ..., "ready": ...}). */
void oip_ready(const model_set *ms, int ready, sbuf *out);
/* {"error": message} (message formatted like printf). */
void oip_error(sbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One worker's memory for inference requests: the inputs as floats and
 * the outputs, grown to the largest request seen (max_batch bounds it). */
typedef struct oip_scratch oip_scratch;
oip_scratch *oip_scratch_create(void);
void oip_scratch_free(oip_scratch *s);

/* POST .../infer: body[len] holds the JSON request, then (when
 * header_len >= 0, from Inference-Header-Content-Length) the binary
 * tensor data after its first header_len bytes. Runs the model (through
 * ps, the worker's predict scratch) and writes the answer into out; when
 * it has binary outputs, *json_len is the length of its JSON part (for
 * the response's Inference-Header-Content-Length), else -1. Returns the
 * HTTP status: 200, 400 (bad request), 413 (batch over max_batch). */
int oip_infer(const predict_env *env, predict_scratch *ps, oip_scratch *s, const uint8_t *body,
              size_t len, long header_len, sbuf *out, long *json_len);

#endif
