/* augment.h: random affine distortions of training images (rotation,
 * scale, shift, shear), applied in the normalised 28x28 space the model
 * sees, so training covers the spread of digits that the normalisation
 * leaves. Pure functions on float images; randomness comes only from the
 * caller's mn_rng, so a run can derive it from (seed, epoch, sample). */
#ifndef MNIST_AUGMENT_H
#define MNIST_AUGMENT_H

#include "mnist/error.h"
#include "mnist/rng.h"

/* Ranges of the random transformation; all zero: the identity. */
typedef struct {
    float rotate_deg; /* rotation angle uniform in [-rotate_deg, rotate_deg] */
    float scale;      /* zoom factor uniform in [1 - scale, 1 + scale] */
    float shift;      /* translation in pixels, each axis uniform in [-shift, shift] */
    float shear_deg;  /* horizontal shear angle uniform in [-shear_deg, shear_deg] */
} mn_augment_config;

/* An affine map of the plane about the image centre: a source pixel
 * position (x, y) for each output position (u, v), relative to the centre
 * ((w - 1) / 2, (h - 1) / 2): x = a*u + b*v + tx, y = c*u + d*v + ty. */
typedef struct {
    float a, b, c, d, tx, ty;
} mn_affine;

/* Checks the ranges: rotation 0..180, scale 0..0.9, shift 0..14,
 * shear 0..60; the message names the bad one. */
mn_status mn_augment_config_check(const mn_augment_config *c, mn_error *err);

/* Draws one transformation from r (always 5 draws, so the stream a sample
 * consumes does not depend on the ranges). Returns the inverse map that
 * mn_affine_warp takes: output pixel -> source position. */
mn_affine mn_augment_draw(const mn_augment_config *c, mn_rng *r);

/* out[h,w] = in[h,w] sampled at t's source positions with bilinear
 * interpolation, zero outside the image. out must not alias in. */
void mn_affine_warp(float *out, const float *in, int h, int w, const mn_affine *t);

#endif
