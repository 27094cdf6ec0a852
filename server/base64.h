/* base64.h: base64 (RFC 4648, standard and URL-safe alphabets) and the
 * data URLs of RFC 2397 that canvas.toDataURL() produces. Pure functions
 * on (pointer, length); no allocation, no HTTP. */
#ifndef SRV_BASE64_H
#define SRV_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include "sbuf.h"

/* Bytes b64_decode may write for n input characters (an upper bound). */
size_t b64_decoded_max(size_t n);

/* Decodes s[n] into out (at least b64_decoded_max(n) bytes); whitespace is
 * skipped, '=' padding is optional. Returns 0 and *out_len, or 400
 * invalid_image naming the offending character's position in e. */
int b64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, reply_err *e);

/* Appends data[n] to out in standard base64 with '=' padding. */
void b64_encode(sbuf *out, const uint8_t *data, size_t n);

/* If s[n] is a data URL, points *payload at its base64 data; otherwise
 * passes s through unchanged. A data URL that is not base64, or has no
 * comma, is a 400 invalid_image. Returns 0 on success. */
int dataurl_payload(const char *s, size_t n, const char **payload, size_t *payload_len,
                    reply_err *e);

#endif
