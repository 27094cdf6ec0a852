/* normalize.h: turning decoded pixels into the 28x28 input the model was
 * trained on, the way MNIST itself was made (LeCun et al.): transparency
 * composited, grey, inverted when the ink is darker than the background,
 * cropped to the ink, scaled to fit a 20x20 box keeping the aspect ratio,
 * and placed in a 28x28 field centred on the centre of mass. Pure
 * functions on pixel buffers: no decoding, no I/O; part of the model's
 * contract, shared by the server and the trainer. */
#ifndef MNIST_NORMALIZE_H
#define MNIST_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/error.h"

#define MN_SIDE 28
#define MN_PIXELS 784

/* pix: h rows of w pixels, `channels` interleaved 8-bit samples each
 * (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). out: 784 bytes, MNIST convention
 * (0 background, 255 ink). Returns MN_ERR_NOINK ("no ink found") for a
 * blank image, MN_ERR_ARG for bad dimensions, MN_ERR_NOMEM when its
 * w*h scratch cannot be allocated. Thread-safe. */
mn_status mn_normalize_image(const uint8_t *pix, int w, int h, int channels,
                             uint8_t out[MN_PIXELS], mn_error *err);

/* The same normalisation for a 28x28 image already in MNIST convention
 * (ink high): crop, fit 20x20, centre of mass (?preprocess=mnist). */
mn_status mn_normalize_mnist(const uint8_t in[MN_PIXELS], uint8_t out[MN_PIXELS],
                             mn_error *err);

/* No normalisation (?preprocess=none): a 28x28 image converted to grey
 * with transparency composited, and inverted when its ink is darker than
 * its background, so out is in MNIST convention. Returns MN_ERR_ARG unless
 * w == h == 28. */
mn_status mn_image_to_mnist_plain(const uint8_t *pix, int w, int h, int channels,
                                  uint8_t out[MN_PIXELS], mn_error *err);

/* pixels / 255 into model input floats. */
void mn_pixels_to_input(const uint8_t px[MN_PIXELS], float in[MN_PIXELS]);

#endif
