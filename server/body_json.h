/* body_json.h: the JSON body of POST /predict: {"pixels": P}, {"image": S}
 * or {"instances": [P|S, ...]} (API.md). Parses with cJSON (never its
 * global error pointer), validates shapes and ranges, and hands each item
 * to a callback in order; decoding the images is the callback's job. */
#ifndef SRV_BODY_JSON_H
#define SRV_BODY_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "sbuf.h"

typedef struct {
    int is_image;          /* 1: str holds base64 or a data URL */
    const char *str;       /* NUL-terminated, valid during the callback */
    size_t str_len;
    const uint8_t *pixels; /* !is_image: 784 bytes, MNIST convention */
} jbody_item;

/* Called once per item, in order; index is the item's position; path is
 * a prefix for messages ("" or "instances[3]: "). Returns 0 to go on, or a
 * status (with e filled) to stop. */
typedef int (*jbody_item_fn)(void *ctx, size_t index, const char *path,
                             const jbody_item *item, reply_err *e);

/* Parses body[len]; max_batch bounds the number of instances (413 over
 * it). *batched is set to 1 for an "instances" body. Returns 0 when every
 * item was handed over, else the status in e (400 invalid_json,
 * invalid_pixels, bad_request, 413, or what fn returned). Allocates the
 * parse tree per call and frees it before returning. Thread-safe. */
int jbody_parse(const uint8_t *body, size_t len, int max_batch, jbody_item_fn fn, void *ctx,
                int *batched, reply_err *e);

#endif
