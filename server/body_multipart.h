/* body_multipart.h: finding the uploaded image in a multipart/form-data
 * body (RFC 7578), as curl -F image=@digit.png sends it. Pure function
 * on (pointer, length); the part is returned as a view into the body. */
#ifndef SRV_BODY_MULTIPART_H
#define SRV_BODY_MULTIPART_H

#include <stddef.h>
#include <stdint.h>
#include "sbuf.h"

/* content_type is the request's full Content-Type (its boundary parameter
 * is required). Picks the part named "image", else the first part with a
 * filename. Returns 0 with *part and *part_len set to a view into body, or 400
 * invalid_multipart with the reason in e. */
int mpart_find_image(const uint8_t *body, size_t len, const char *content_type,
                     const uint8_t **part, size_t *part_len, reply_err *e);

#endif
