/* image_decode.h: encoded image bytes (PNG, JPEG, GIF, BMP, binary PGM/PPM)
 * to 8-bit pixels, with stb_image on a short leash: the format is
 * recognised from its magic bytes, the dimensions are read from the header
 * and checked against the pixel limit before decoding, and the decoder's
 * allocations are bounded. No normalisation here (core/normalize.c). */
#ifndef SRV_IMAGE_DECODE_H
#define SRV_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "sbuf.h"

typedef struct {
    uint8_t *pix;     /* h rows of w pixels of `channels` bytes; img_free */
    int w, h;
    int channels;     /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    const char *format; /* "PNG", "JPEG", ... (static) */
} img_decoded;

/* The format name of data from its magic bytes, or NULL if unrecognised. */
const char *img_format(const uint8_t *data, size_t len);

/* Decodes data[len]. max_pixels bounds w*h (checked before decoding: 413
 * payload_too_large); anything undecodable is 400 invalid_image with the
 * format and the decoder's reason. Returns 0 on success; then out->pix is
 * owned by the caller (img_free). Thread-safe. */
int img_decode(const uint8_t *data, size_t len, uint64_t max_pixels, img_decoded *out,
               reply_err *e);
void img_free(img_decoded *img);

#endif
