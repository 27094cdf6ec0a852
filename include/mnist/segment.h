/* segment.h: finding the digits of a number written on one line (digits
 * side by side, not touching) and normalising each of them exactly as
 * mn_normalize_image normalises a single digit. Pure functions on pixel
 * buffers: no decoding, no I/O, nothing global. */
#ifndef MNIST_SEGMENT_H
#define MNIST_SEGMENT_H

#include <stdint.h>
#include "mnist/error.h"
#include "mnist/normalize.h"

/* A digit's box in pixels of the input image. */
typedef struct {
    int x, y, w, h;
} mn_box;

/* Finds the digits of pix (h rows of w pixels, `channels` interleaved
 * 8-bit samples: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA, as
 * mn_normalize_image takes) from left to right. The ink map is made once
 * for the whole image (mn_normalize_image's first step); its connected
 * pieces are grouped into digits (a 5's detached bar, a 4 or 7 drawn in
 * two strokes and a broken stroke join their digit; specks are dropped),
 * and each group's ink alone goes through mn_normalize_image's geometry.
 *
 * boxes: room for max_digits boxes, or NULL. pixels: room for max_digits
 * 28x28 images (MNIST convention), or NULL to only count and box the
 * digits (cheap: no normalisation). *count: the digits found (also when
 * there are more than max_digits, then only the first max_digits are
 * written). Returns MN_ERR_NOINK for an image without ink, MN_ERR_LIMIT
 * when there are more than max_digits digits or the ink is in too many
 * pieces to be a number (noise), MN_ERR_ARG for bad arguments,
 * MN_ERR_NOMEM when its one scratch block cannot be allocated (w*h bytes
 * of ink map, w*h more for a digit's own geometry when pixels is given,
 * and 32 bytes for each run of ink a row can hold, at most 2^18 runs:
 * 8 MiB). Thread-safe. */
mn_status mn_segment_image(const uint8_t *pix, int w, int h, int channels, int max_digits,
                           mn_box *boxes, uint8_t (*pixels)[MN_PIXELS], int *count,
                           mn_error *err);

/* mn_normalize_image's output for pix, bit for bit, and in *count how
 * many digits mn_segment_image finds in it, capped at 2 (0 when the ink is
 * in too many pieces to be a number): the ink map is made once for both,
 * so /predict learns whether an image holds several digits side by side
 * for little more than the normalisation's cost. The same errors as
 * mn_normalize_image. */
mn_status mn_normalize_image_count(const uint8_t *pix, int w, int h, int channels,
                                   uint8_t out[MN_PIXELS], int *count, mn_error *err);

#endif
