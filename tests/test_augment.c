/* test_augment.c: the affine augmentation: the identity is exact, a
 * whole-pixel shift moves ink by exactly that, a rotation keeps ink mass
 * and its centre, draws stay within their ranges and depend only on the
 * stream they are given, and bad ranges are refused. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "mnist/mnist.h"

/* Ink mass and centre of mass of a 28x28 image. */
static void moments(const float *im, double *mass, double *cx, double *cy)
{
    double m = 0, x = 0, y = 0;
    for (int v = 0; v < 28; v++)
        for (int u = 0; u < 28; u++) {
            m += im[v * 28 + u];
            x += u * (double)im[v * 28 + u];
            y += v * (double)im[v * 28 + u];
        }
    *mass = m;
    *cx = x / m;
    *cy = y / m;
}

int main(void)
{
    float in[784], out[784];
    memset(in, 0, sizeof in);
    /* a plus sign centred on the image centre (13.5, 13.5) */
    for (int k = 9; k <= 18; k++) {
        in[13 * 28 + k] = in[14 * 28 + k] = 1.0f;
        in[k * 28 + 13] = in[k * 28 + 14] = 1.0f;
    }
    mn_affine id = {1, 0, 0, 1, 0, 0};
    mn_affine_warp(out, in, 28, 28, &id);
    CHECK(!memcmp(in, out, sizeof in), "identity warp is exact");

    /* draws with all-zero ranges are the identity */
    mn_augment_config none = {0, 0, 0, 0};
    mn_rng r;
    mn_rng_seed(&r, 1);
    mn_affine t = mn_augment_draw(&none, &r);
    CHECK(t.a == 1 && t.b == 0 && t.c == 0 && t.d == 1 && t.tx == 0 && t.ty == 0, "zero ranges: identity");

    /* shift by (+3, -2) pixels: source = output - shift */
    mn_affine sh = {1, 0, 0, 1, -3, 2};
    mn_affine_warp(out, in, 28, 28, &sh);
    int moved = 1;
    for (int v = 0; v < 28; v++)
        for (int u = 0; u < 28; u++) {
            int su = u - 3, sv = v + 2;
            float want = su >= 0 && su < 28 && sv >= 0 && sv < 28 ? in[sv * 28 + su] : 0.0f;
            moved &= out[v * 28 + u] == want;
        }
    CHECK(moved, "whole-pixel shift moves every pixel exactly");

    /* a 90 degree rotation of a symmetric plus about the centre gives it back */
    mn_affine rot = {0, -1, 1, 0, 0, 0};
    mn_affine_warp(out, in, 28, 28, &rot);
    CHECK(!memcmp(in, out, sizeof in), "plus sign rotated by 90 degrees is itself");

    /* random draws: mass roughly kept, centre moved by at most the shift */
    mn_augment_config c = {15, 0.1f, 2.0f, 10};
    CHECK(mn_augment_config_check(&c, NULL) == MN_OK, "valid config");
    double m0, x0, y0;
    moments(in, &m0, &x0, &y0);
    int ok = 1, differs = 0;
    for (int i = 0; i < 200; i++) {
        mn_rng_derive(&r, 7, 1, (uint64_t)i);
        t = mn_augment_draw(&c, &r);
        mn_affine_warp(out, in, 28, 28, &t);
        double m, x, y;
        moments(out, &m, &x, &y);
        /* zoom 0.9..1.1 changes area by at most 1.1^2 */
        ok &= m > m0 * 0.9 * 0.9 * 0.95 && m < m0 * 1.1 * 1.1 * 1.05;
        ok &= fabs(x - x0) <= 2.0 * 1.1 + 0.3 && fabs(y - y0) <= 2.0 * 1.1 + 0.3;
        differs += memcmp(in, out, sizeof in) != 0;
    }
    CHECK(ok, "random draws keep ink mass and move the centre within the shift");
    CHECK(differs == 200, "every draw changes the image (%d of 200)", differs);

    /* the draw depends only on the stream: same (seed, a, b), same map */
    mn_rng r1, r2;
    mn_rng_derive(&r1, 3, 4, 5);
    mn_rng_derive(&r2, 3, 4, 5);
    mn_affine t1 = mn_augment_draw(&c, &r1), t2 = mn_augment_draw(&c, &r2);
    CHECK(!memcmp(&t1, &t2, sizeof t1), "same stream, same transformation");
    mn_rng_derive(&r2, 3, 4, 6);
    t2 = mn_augment_draw(&c, &r2);
    CHECK(memcmp(&t1, &t2, sizeof t1) != 0, "another sample, another transformation");

    mn_augment_config bad[] = {{-1, 0, 0, 0}, {0, 0.95f, 0, 0}, {0, 0, 15, 0}, {0, 0, 0, 70}, {NAN, 0, 0, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mn_error err;
        err.msg[0] = 0;
        CHECK(mn_augment_config_check(&bad[i], &err) == MN_ERR_ARG && strstr(err.msg, "augment:"),
              "bad range %zu refused: %s", i, err.msg);
    }
    return check_finish();
}
