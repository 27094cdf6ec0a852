/* image_decode.h: encoded image bytes (PNG, JPEG, GIF, BMP, binary PGM/PPM)
 * to 8-bit pixels, with stb_image on a short leash: the format is
 * recognised from its magic bytes, the dimensions are read from the header
 * and checked against the pixel limit before decoding, and the decoder's
 * allocations are bounded. The common PNGs take a faster path of their
 * own (png_fast.h). No normalisation here (core/normalize.c). */
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
    struct img_buffer *buf; /* private: the buffer pix lies in, or NULL: stb's */
} img_decoded;

/* Pixel memory one worker reuses from image to image, so that decoding
 * does not allocate (and fault in) a new image's worth each time; grown
 * as needed, given back after an image over IMG_BUFFER_KEEP bytes.
 * Zero-initialise; img_buffer_free at the end. */
typedef struct img_buffer {
    uint8_t *pix;
    size_t cap;
} img_buffer;
#define IMG_BUFFER_KEEP (16u << 20)
void img_buffer_free(img_buffer *b);

/* The format name of data from its magic bytes, or NULL if unrecognised. */
const char *img_format(const uint8_t *data, size_t len);

/* Decodes data[len]. max_pixels bounds w*h (checked before decoding: 413
 * payload_too_large); anything undecodable is 400 invalid_image with the
 * format and the decoder's reason. The common PNGs are decoded into buf
 * (png_fast.h) when one is given (may be NULL). Returns 0 on success; then
 * out->pix is valid until img_free (and, in buf, until buf's next use).
 * Thread-safe with one buf per thread. */
int img_decode(const uint8_t *data, size_t len, uint64_t max_pixels, img_buffer *buf,
               img_decoded *out, reply_err *e);
void img_free(img_decoded *img);

#endif
