/* augment.c: random affine augmentation of training images: drawing a
 * transformation (rotation, zoom, shift, shear) and warping an image by
 * inverse mapping with bilinear interpolation. No state and no I/O; the
 * caller owns the random stream. */
#include <math.h>

#include "mnist/augment.h"

#define PI_F 3.14159265358979f

mn_status mn_augment_config_check(const mn_augment_config *c, mn_error *err)
{
    if (!(c->rotate_deg >= 0 && c->rotate_deg <= 180))
        return mn_error_set(err, MN_ERR_ARG, "augment: rotation %g degrees, expected 0 to 180",
                            (double)c->rotate_deg);
    if (!(c->scale >= 0 && c->scale <= 0.9f))
        return mn_error_set(err, MN_ERR_ARG, "augment: scale %g, expected 0 to 0.9", (double)c->scale);
    if (!(c->shift >= 0 && c->shift <= 14))
        return mn_error_set(err, MN_ERR_ARG, "augment: shift %g pixels, expected 0 to 14", (double)c->shift);
    if (!(c->shear_deg >= 0 && c->shear_deg <= 60))
        return mn_error_set(err, MN_ERR_ARG, "augment: shear %g degrees, expected 0 to 60",
                            (double)c->shear_deg);
    return MN_OK;
}

/* Uniform in [-r, r]. */
static float sym(mn_rng *rng, float r) { return (2.0f * mn_rng_uniform(rng) - 1.0f) * r; }

mn_affine mn_augment_draw(const mn_augment_config *c, mn_rng *r)
{
    float angle = sym(r, c->rotate_deg) * (PI_F / 180.0f);
    float zoom = 1.0f + sym(r, c->scale);
    float shear = sym(r, c->shear_deg) * (PI_F / 180.0f);
    float tx = sym(r, c->shift), ty = sym(r, c->shift);
    /* Forward map: p' = R(angle) * Shear * zoom * p + t. The warp needs its
     * inverse: p = (R Sh zoom)^-1 (p' - t). */
    float ca = cosf(angle), sa = sinf(angle), sh = tanf(shear);
    /* M = R * [[1, sh], [0, 1]] * zoom */
    float m00 = ca * zoom, m01 = (ca * sh - sa) * zoom;
    float m10 = sa * zoom, m11 = (sa * sh + ca) * zoom;
    float det = m00 * m11 - m01 * m10;
    mn_affine t;
    t.a = m11 / det;
    t.b = -m01 / det;
    t.c = -m10 / det;
    t.d = m00 / det;
    t.tx = -(t.a * tx + t.b * ty);
    t.ty = -(t.c * tx + t.d * ty);
    return t;
}

void mn_affine_warp(float *out, const float *in, int h, int w, const mn_affine *t)
{
    const float cx = 0.5f * (float)(w - 1), cy = 0.5f * (float)(h - 1);
    for (int v = 0; v < h; v++) {
        const float dv = (float)v - cy;
        for (int u = 0; u < w; u++) {
            const float du = (float)u - cx;
            float x = t->a * du + t->b * dv + t->tx + cx;
            float y = t->c * du + t->d * dv + t->ty + cy;
            float fx = floorf(x), fy = floorf(y);
            int x0 = (int)fx, y0 = (int)fy;
            float wx = x - fx, wy = y - fy, s = 0.0f;
            /* the four neighbours, each counted only when inside */
            if (y0 >= 0 && y0 < h) {
                if (x0 >= 0 && x0 < w)
                    s += (1 - wx) * (1 - wy) * in[y0 * w + x0];
                if (x0 + 1 >= 0 && x0 + 1 < w)
                    s += wx * (1 - wy) * in[y0 * w + x0 + 1];
            }
            if (y0 + 1 >= 0 && y0 + 1 < h) {
                if (x0 >= 0 && x0 < w)
                    s += (1 - wx) * wy * in[(y0 + 1) * w + x0];
                if (x0 + 1 >= 0 && x0 + 1 < w)
                    s += wx * wy * in[(y0 + 1) * w + x0 + 1];
            }
            out[v * w + u] = s;
        }
    }
}
