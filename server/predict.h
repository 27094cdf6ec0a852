/* predict.h: the pure "request bytes -> response" path of POST /predict,
 * POST /v1/read and POST /v1/explain: given the Content-Type, the query parameters and the
 * body, produce the status and the JSON answer of API.md. No HTTP library
 * types, no globals: the server's workers call it, and so can a fuzzer or
 * a test directly.
 * It is split in phases (parse, forward, render) so that a worker can run
 * the model once over the items of several waiting requests. */
#ifndef SRV_PREDICT_H
#define SRV_PREDICT_H

#include <stddef.h>
#include <stdint.h>
#include "model_set.h"
#include "sbuf.h"

typedef enum {
    MEDIA_NONE,        /* no Content-Type */
    MEDIA_IMAGE,       /* image/png, image/jpeg, ... */
    MEDIA_RAW,         /* application/octet-stream: 784 bytes */
    MEDIA_MULTIPART,   /* multipart/form-data */
    MEDIA_JSON,        /* application/json */
    MEDIA_UNSUPPORTED
} predict_media;

/* What a Content-Type value (parameters ignored, case-insensitive) is. */
predict_media predict_media_of(const char *content_type);
/* The accepted types, comma-separated, for 415 messages. */
extern const char predict_accepted_types[];

typedef struct {
    const model_set *models;
    uint64_t max_pixels; /* width x height of one image */
    int max_batch;       /* instances in one request */
    int max_digits;      /* digits in one /v1/read image (0: 32) */
} predict_env;

/* The most items one request may add: a batch, or a number's digits. */
size_t predict_items_max(const predict_env *env);

typedef struct {
    const char *content_type;  /* the header, NUL-terminated; NULL if absent */
    const char *q_input;       /* ?input= value, NULL if absent */
    const char *q_preprocess;  /* ?preprocess= value, NULL if absent */
    const uint8_t *body;       /* not NUL-terminated */
    size_t len;
    int read;                  /* POST /v1/read: the digits of one number */
    int explain;               /* POST /v1/explain: one image, explained */
    const char *q_class;       /* ?class= value (explain), NULL if absent */
    const char *q_layers;      /* ?layers= value (explain), NULL if absent */
    int oip;                   /* POST /v2/models/{name}/infer (oip.h) */
    long oip_header_len;       /* its Inference-Header-Content-Length, -1 if absent */
} predict_request;

/* One worker's memory for the whole path: items' pixels and outputs, the
 * model workspaces and the base64 buffer. Created once per worker. */
typedef struct predict_scratch predict_scratch;

/* extra_items: room for items beyond one full request (what a worker may
 * batch from other requests); chunk: samples per model call. */
predict_scratch *predict_scratch_create(const predict_env *env, int extra_items, int chunk,
                                        char *err, size_t errlen);
void predict_scratch_free(predict_scratch *s);

/* Where one request's items sit in the scratch, or why it failed. */
typedef struct {
    int status;         /* 0 parsed; else the HTTP status of err */
    reply_err err;
    size_t first, count;
    int batched, want_input, read;
    int explain;         /* an explanation follows the answer */
    int explain_class;   /* the served class explained; -1: the predicted one */
    uint32_t layers;     /* the convolutions whose feature maps are sent, a bit each */
} predict_parsed;

/* Empties the scratch for a new round of requests. */
void predict_begin(predict_scratch *s);
/* Items that can still be added; a caller parses another request only
 * while this is at least predict_items_max(env). */
size_t predict_room(const predict_scratch *s);
/* Reads one request into the scratch: every item decoded, normalised and
 * stored. Returns 0 or the error status (also in p->status / p->err). */
int predict_parse(const predict_env *env, predict_scratch *s, const predict_request *r,
                  predict_parsed *p);
/* Runs the model over every item added since the last call. */
void predict_forward(const predict_env *env, predict_scratch *s);
/* Runs the model over n samples given as its inputs, in[n, 784] (pixels /
 * 255), with the scratch's workspaces, in chunks: probs[n, classes]
 * calibrated, digit_score[n]. For protocols whose requests carry tensors
 * (oip.h); leaves the scratch's items alone. */
void predict_forward_floats(const predict_env *env, predict_scratch *s, const float *in, size_t n,
                            float *probs, float *digit_score);
/* For an explain request (after forward): the saliency of its class and
 * the feature maps, kept in the scratch for predict_render, which must
 * follow before the next call. Returns 0, or sets p's error (500 when a
 * model cannot be explained). */
int predict_explain(const predict_env *env, predict_scratch *s, predict_parsed *p);
/* Writes the answer of a parsed (and forwarded) request, or its error,
 * into out (replacing its content); elapsed_ms is reported as is.
 * Returns the HTTP status. */
int predict_render(const predict_env *env, const predict_scratch *s, const predict_parsed *p,
                   double elapsed_ms, sbuf *out);
/* The largest of probs[classes]: the prediction they make. */
int predict_class_of(const float *probs, uint32_t classes);
/* Item i's image as the model sees it (after parse): 784 bytes, 0-255,
 * row-major; the model's input is each / 255. */
const uint8_t *predict_item_pixels(const predict_scratch *s, size_t i);

/* The predicted class of item i (after forward). */
int predict_item_class(const predict_env *env, const predict_scratch *s, size_t i);
/* What item i's answer says about its input (after forward): the verdict
 * of API.md, by the model set's calibrated thresholds. */
mn_verdict predict_item_verdict(const predict_env *env, const predict_scratch *s, size_t i);
/* Whether item i (after forward) reads as a digit; a /v1/read part that
 * does not stands as '?' in the text. */
int predict_item_is_digit(const predict_env *env, const predict_scratch *s, size_t i);
/* Appends the fields of item i's answer (after forward), without braces:
 * "prediction":..,"label":..,"confidence":..,"probabilities":[..],
 * "verdict":..,"digit_score":.. and, with want_input, "input":[784
 * integers]. One /predict answer, each item of a batch and each digit of
 * /v1/read are rendered by it. */
void predict_render_item(const predict_env *env, const predict_scratch *s, size_t i,
                         int want_input, sbuf *out);

/* The whole path for one request: begin, parse, forward, render.
 * Returns the HTTP status; out holds the JSON body. */
int predict_run(const predict_env *env, predict_scratch *s, const predict_request *r,
                sbuf *out);

#endif
