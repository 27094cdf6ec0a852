/* feedback_body.h: the fields of a POST /v1/feedback body besides its image
 * (which predict.c decodes and normalises as for /predict): the label, and
 * what the user was shown: the prediction, the model version and the
 * probabilities; and the original upload, kept as sent. Pure: no HTTP, no
 * store, no globals. */
#ifndef SRV_FEEDBACK_BODY_H
#define SRV_FEEDBACK_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "feedback_store.h"
#include "sbuf.h"

/* Parses the JSON body[len] into rec's label, prediction,
 * has_probabilities/probabilities and model_version, and copies the
 * original upload into original (rec->original, original_len and
 * original_type point at it): an "image" string's decoded bytes with their
 * sniffed type, or a "pixels" body's JSON as "application/json"; nothing
 * when it is over FB_ORIGINAL_MAX bytes. rec's image and created_ms are the
 * caller's. Returns 0, or the status with e filled: 400 invalid_label
 * (label missing, not 0-9 and not "not_a_digit"), 400 bad_request (another
 * field malformed, or a batch), 400 invalid_json. */
int feedback_body_parse(const uint8_t *body, size_t len, fb_record *rec, sbuf *original,
                        reply_err *e);

/* Appends a label or prediction value as JSON: 0-9, "not_a_digit", or null
 * for -1 (not sent). */
void feedback_label_json(sbuf *out, int label);

#endif
