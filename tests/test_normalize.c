/* test_normalize.c: the MNIST-style normalisation of user images: geometry
 * (20x20 box, centre of mass at 14,14), every input form (polarity, alpha,
 * colour, size), robustness (specks, noise, thin strokes), errors, and
 * round trips on real MNIST test digits. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mnist/normalize.h"

/* ---- helpers --------------------------------------------------------- */

typedef struct {
    int x0, y0, x1, y1; /* inclusive; x0 > x1 when empty */
    double cx, cy;      /* centre of mass, column and row index */
    double mass;
    int peak;
} summary;

static summary summarize(const uint8_t *img)
{
    summary s = {MN_SIDE, MN_SIDE, -1, -1, 0, 0, 0, 0};
    for (int y = 0; y < MN_SIDE; y++)
        for (int x = 0; x < MN_SIDE; x++) {
            int v = img[y * MN_SIDE + x];
            if (!v)
                continue;
            if (x < s.x0) s.x0 = x;
            if (x > s.x1) s.x1 = x;
            if (y < s.y0) s.y0 = y;
            if (y > s.y1) s.y1 = y;
            s.mass += v, s.cx += (double)v * x, s.cy += (double)v * y;
            if (v > s.peak) s.peak = v;
        }
    if (s.mass > 0)
        s.cx /= s.mass, s.cy /= s.mass;
    return s;
}

/* Mean absolute difference of two 28x28 images, 0..255. */
static double mad(const uint8_t *a, const uint8_t *b)
{
    double d = 0;
    for (int i = 0; i < MN_PIXELS; i++)
        d += abs(a[i] - b[i]);
    return d / MN_PIXELS;
}

/* The smallest mean absolute difference over whole-pixel shifts of up to
 * one pixel: MNIST's centring rounds the centre of mass to a whole pixel,
 * so the same digit drawn at two sizes may land one pixel apart when its
 * centre of mass falls near a half pixel. */
static double mad_shift(const uint8_t *a, const uint8_t *b)
{
    double best = 1e9;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            double d = 0;
            for (int y = 0; y < MN_SIDE; y++)
                for (int x = 0; x < MN_SIDE; x++) {
                    int xx = x + dx, yy = y + dy;
                    int vb = xx >= 0 && yy >= 0 && xx < MN_SIDE && yy < MN_SIDE ? b[yy * MN_SIDE + xx] : 0;
                    d += abs(a[y * MN_SIDE + x] - vb);
                }
            best = d / MN_PIXELS < best ? d / MN_PIXELS : best;
        }
    return best;
}

/* The checks every normalised image must pass. */
static void check_mnist_shape(const uint8_t *out, const char *what)
{
    summary s = summarize(out);
    CHECK(s.x1 - s.x0 + 1 <= 20 && s.y1 - s.y0 + 1 <= 20, "%s: bbox %dx%d fits 20x20", what,
          s.x1 - s.x0 + 1, s.y1 - s.y0 + 1);
    CHECK(s.x1 - s.x0 + 1 >= 19 || s.y1 - s.y0 + 1 >= 19, "%s: bbox %dx%d fills 20 on one side",
          what, s.x1 - s.x0 + 1, s.y1 - s.y0 + 1);
    CHECK(fabs(s.cx - 14) <= 0.5 && fabs(s.cy - 14) <= 0.5, "%s: centre of mass (%.2f, %.2f)",
          what, s.cx, s.cy);
    CHECK(s.peak == 255, "%s: peak %d", what, s.peak);
}

/* Shapes in unit coordinates ([0,1]^2 is the canvas). */
static double seg_dist(double px, double py, double ax, double ay, double bx, double by)
{
    double vx = bx - ax, vy = by - ay, t = ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double dx = px - (ax + t * vx), dy = py - (ay + t * vy);
    return sqrt(dx * dx + dy * dy);
}

typedef int (*shape_fn)(double x, double y, double hw);

static int shape_bar(double x, double y, double hw)
{
    (void)hw;
    return x >= 0.45 && x < 0.55 && y >= 0.2 && y < 0.8;
}

static int shape_ring(double x, double y, double hw)
{
    double r = sqrt((x - 0.5) * (x - 0.5) + (y - 0.5) * (y - 0.5));
    return fabs(r - 0.3) < hw;
}

/* A seven: a top bar and a slanted stem. */
static int shape_seven(double x, double y, double hw)
{
    return seg_dist(x, y, 0.3, 0.2, 0.7, 0.2) < hw || seg_dist(x, y, 0.7, 0.2, 0.45, 0.8) < hw;
}

/* Renders a shape with half stroke width hw (unit coordinates) onto a
 * side x side grey canvas, anti-aliased by ss x ss supersampling, as ink
 * coverage 0..255 (white on black). */
static uint8_t *render(shape_fn f, int side, double hw, int ss)
{
    uint8_t *g = malloc((size_t)side * side);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int n = 0;
            for (int a = 0; a < ss; a++)
                for (int b = 0; b < ss; b++)
                    n += f((x + (b + 0.5) / ss) / side, (y + (a + 0.5) / ss) / side, hw);
            g[(size_t)y * side + x] = (uint8_t)((n * 255 + ss * ss / 2) / (ss * ss));
        }
    return g;
}

static uint8_t *read_mnist_test(int *count)
{
    const char *dir = getenv("MNIST_DATA_DIR");
    if (!dir)
        dir = "data/mnist";
    char path[4096];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t hdr[16];
    uint8_t *img = NULL;
    if (fread(hdr, 1, 16, f) == 16 && hdr[2] == 8 && hdr[3] == 3) {
        int n = (hdr[4] << 24) | (hdr[5] << 16) | (hdr[6] << 8) | hdr[7];
        img = malloc((size_t)n * MN_PIXELS);
        if (img && fread(img, MN_PIXELS, (size_t)n, f) == (size_t)n) {
            *count = n;
        } else {
            free(img);
            img = NULL;
        }
    }
    fclose(f);
    return img;
}

/* ---- tests ----------------------------------------------------------- */

static void test_geometry(void)
{
    uint8_t out[MN_PIXELS];
    mn_error err = {{0}};
    uint8_t *bar = render(shape_bar, 100, 0, 4);
    CHECK(mn_normalize_image(bar, 100, 100, 1, out, &err) == MN_OK, "bar: %s", err.msg);
    check_mnist_shape(out, "bar");
    summary s = summarize(out);
    /* A 10x60 bar becomes about 3.3x20: an aspect ratio kept. */
    CHECK(s.y1 - s.y0 + 1 == 20 && s.x1 - s.x0 + 1 >= 3 && s.x1 - s.x0 + 1 <= 5,
          "bar keeps its aspect ratio: %dx%d", s.x1 - s.x0 + 1, s.y1 - s.y0 + 1);
    free(bar);

    /* A ring off-centre on a wide canvas: centred on its centre of mass. */
    int w = 300, h = 150;
    uint8_t *ring = render(shape_ring, 100, 0.06, 4);
    uint8_t *wide = calloc((size_t)w * h, 1);
    for (int y = 0; y < 100; y++)
        memcpy(wide + (size_t)(y + 40) * w + 190, ring + (size_t)y * 100, 100);
    CHECK(mn_normalize_image(wide, w, h, 1, out, &err) == MN_OK, "ring: %s", err.msg);
    check_mnist_shape(out, "ring");
    s = summarize(out);
    CHECK(s.x1 - s.x0 + 1 == 20 && s.y1 - s.y0 + 1 == 20, "ring is 20x20: %dx%d",
          s.x1 - s.x0 + 1, s.y1 - s.y0 + 1);
    CHECK(out[14 * MN_SIDE + 14] == 0, "the ring's hole stays empty");

    /* Black on white gives the same result as white on black. */
    uint8_t inv_out[MN_PIXELS];
    for (size_t i = 0; i < (size_t)w * h; i++)
        wide[i] = (uint8_t)(255 - wide[i]);
    CHECK(mn_normalize_image(wide, w, h, 1, inv_out, &err) == MN_OK, "inverted ring: %s", err.msg);
    CHECK(mad(out, inv_out) < 0.5, "black-on-white == white-on-black (mad %.3f)", mad(out, inv_out));
    free(wide);
    free(ring);
}

/* The same ring as grey, as alpha over black RGB, over white RGB, as grey
 * + alpha, and as coloured ink on tinted paper: one result. */
static void test_input_forms(void)
{
    int side = 120;
    uint8_t *g = render(shape_seven, side, 0.05, 4);
    size_t n = (size_t)side * side;
    uint8_t ref[MN_PIXELS], out[MN_PIXELS];
    mn_error err = {{0}};
    CHECK(mn_normalize_image(g, side, side, 1, ref, &err) == MN_OK, "grey: %s", err.msg);
    check_mnist_shape(ref, "grey seven");

    uint8_t *rgba = malloc(n * 4);
    for (int rgb = 0; rgb <= 255; rgb += 255) {
        for (size_t i = 0; i < n; i++) {
            rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = (uint8_t)rgb;
            rgba[4 * i + 3] = g[i];
        }
        CHECK(mn_normalize_image(rgba, side, side, 4, out, &err) == MN_OK, "alpha: %s", err.msg);
        CHECK(mad(out, ref) < 0.5, "ink only in alpha, RGB=%d, == grey (mad %.3f)", rgb,
              mad(out, ref));
    }
    uint8_t *ga = malloc(n * 2);
    for (size_t i = 0; i < n; i++)
        ga[2 * i] = 0, ga[2 * i + 1] = g[i];
    CHECK(mn_normalize_image(ga, side, side, 2, out, &err) == MN_OK, "grey+alpha: %s", err.msg);
    CHECK(mad(out, ref) < 0.5, "grey+alpha == grey (mad %.3f)", mad(out, ref));

    /* Opaque RGBA: alpha 255 everywhere, ink in RGB. */
    for (size_t i = 0; i < n; i++) {
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = (uint8_t)(255 - g[i]);
        rgba[4 * i + 3] = 255;
    }
    CHECK(mn_normalize_image(rgba, side, side, 4, out, &err) == MN_OK, "opaque: %s", err.msg);
    CHECK(mad(out, ref) < 0.5, "opaque RGBA black on white == grey (mad %.3f)", mad(out, ref));

    /* Coloured inks on off-white paper, including yellow, whose luminance
     * is close to the paper's. */
    static const uint8_t inks[][3] = {{20, 40, 200}, {200, 20, 20}, {230, 200, 0}, {0, 120, 0}};
    static const uint8_t paper[3] = {250, 246, 235};
    uint8_t *rgb = malloc(n * 3);
    for (size_t k = 0; k < sizeof inks / sizeof inks[0]; k++) {
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = (uint8_t)((inks[k][c] * g[i] + paper[c] * (255 - g[i]) + 127) / 255);
        CHECK(mn_normalize_image(rgb, side, side, 3, out, &err) == MN_OK, "colour %zu: %s", k,
              err.msg);
        CHECK(mad(out, ref) < 6, "ink (%d,%d,%d) on paper close to grey (mad %.2f)", inks[k][0],
              inks[k][1], inks[k][2], mad(out, ref));
    }
    free(rgb);
    free(ga);
    free(rgba);
    free(g);
}

/* The same digit drawn at 28, 280 and 2800 pixels: nearly one result. */
static void test_scale_invariance(void)
{
    static const int sides[] = {28, 280, 2800};
    uint8_t res[3][MN_PIXELS];
    mn_error err = {{0}};
    for (int k = 0; k < 3; k++) {
        uint8_t *g = render(shape_seven, sides[k], 0.045, sides[k] >= 1000 ? 1 : 4);
        CHECK(mn_normalize_image(g, sides[k], sides[k], 1, res[k], &err) == MN_OK, "%d px: %s",
              sides[k], err.msg);
        check_mnist_shape(res[k], "seven");
        free(g);
    }
    /* 28 px is a coarser drawing: its pixel box is up to a pixel larger
     * than the stroke, so its centre may round the other way. */
    CHECK(mad_shift(res[0], res[1]) < 8, "28 px vs 280 px: mad %.2f", mad_shift(res[0], res[1]));
    CHECK(mad(res[1], res[2]) < 3, "280 px vs 2800 px: mad %.2f", mad(res[1], res[2]));
    /* For scale: a different shape of the same size is far off. */
    uint8_t *ring = render(shape_ring, 280, 0.045, 2), other[MN_PIXELS];
    CHECK(mn_normalize_image(ring, 280, 280, 1, other, &err) == MN_OK, "ring: %s", err.msg);
    CHECK(mad_shift(res[1], other) > 30, "a ring is not a seven: mad %.2f",
          mad_shift(res[1], other));
    free(ring);

    /* A tiny 8x8 canvas still yields a full-size digit. */
    uint8_t *tiny = render(shape_seven, 8, 0.08, 8);
    uint8_t out[MN_PIXELS];
    CHECK(mn_normalize_image(tiny, 8, 8, 1, out, &err) == MN_OK, "8x8: %s", err.msg);
    check_mnist_shape(out, "8x8 seven");
    free(tiny);
}

/* Specks of dust and sensor noise must not move or shrink the digit. */
static void test_robustness(void)
{
    int side = 280;
    size_t n = (size_t)side * side;
    uint8_t *g = render(shape_seven, side, 0.04, 2);
    uint8_t ref[MN_PIXELS], out[MN_PIXELS];
    mn_error err = {{0}};
    CHECK(mn_normalize_image(g, side, side, 1, ref, &err) == MN_OK, "clean: %s", err.msg);

    uint8_t *d = malloc(n);
    memcpy(d, g, n);
    static const int specks[][2] = {{5, 5}, {260, 20}, {20, 270}, {270, 270}, {150, 260}, {100, 120}};
    for (size_t k = 0; k < sizeof specks / sizeof specks[0]; k++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
                d[(size_t)(specks[k][1] + y) * side + specks[k][0] + x] = 255;
    CHECK(mn_normalize_image(d, side, side, 1, out, &err) == MN_OK, "specks: %s", err.msg);
    check_mnist_shape(out, "with specks");
    CHECK(mad(out, ref) < 1.5, "specks ignored (mad %.2f)", mad(out, ref));

    /* Black on grey paper with +-8 noise everywhere (JPEG-like): the
     * noise is cut, the digit is the same. */
    uint32_t rng = 12345;
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1664525u + 1013904223u;
        int noise = (int)(rng >> 28) - 8;
        int v = 200 - (g[i] * 180) / 255 + noise;
        d[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    CHECK(mn_normalize_image(d, side, side, 1, out, &err) == MN_OK, "noisy: %s", err.msg);
    check_mnist_shape(out, "noisy");
    CHECK(mad(out, ref) < 8, "noise cut (mad %.2f)", mad(out, ref));

    /* Paper lit from one side: a background ramp of 60 levels. */
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int v = 170 + (60 * x) / side - (g[(size_t)y * side + x] * 150) / 255;
            d[(size_t)y * side + x] = (uint8_t)(v < 0 ? 0 : v);
        }
    CHECK(mn_normalize_image(d, side, side, 1, out, &err) == MN_OK, "lighting: %s", err.msg);
    check_mnist_shape(out, "uneven lighting");
    CHECK(mad(out, ref) < 8, "uneven lighting (mad %.2f)", mad(out, ref));
    free(d);
    free(g);

    /* A hair-thin stroke on a big canvas is thickened to MNIST's range,
     * not reduced to a faint trace. */
    int big = 2000;
    uint8_t *thin = render(shape_ring, big, 1.0 / big, 1);
    CHECK(mn_normalize_image(thin, big, big, 1, out, &err) == MN_OK, "thin: %s", err.msg);
    check_mnist_shape(out, "hair-thin ring");
    summary s = summarize(out);
    int strong = 0;
    for (int i = 0; i < MN_PIXELS; i++)
        strong += out[i] >= 128;
    /* A ring of diameter 20 with a stroke of width >= 1.2 has >= 70 pixels
     * at half intensity or more. */
    CHECK(strong >= 70, "thin ring has %d strong pixels (mass %.0f)", strong, s.mass / 255);
    free(thin);
}

/* A heavy blob at one end of the crop and a lighter dot at the other: the
 * centre of mass is near the blob, and centring it must not push the dot
 * out of the field. */
static void test_lopsided(void)
{
    int w = 100, h = 40;
    uint8_t *g = calloc((size_t)w * h, 1), out[MN_PIXELS];
    for (int y = 18; y < 22; y++)
        for (int x = 10; x < 14; x++)
            g[y * w + x] = 255;
    g[20 * w + 90] = g[20 * w + 91] = 255;
    mn_error err = {{0}};
    CHECK(mn_normalize_image(g, w, h, 1, out, &err) == MN_OK, "lopsided: %s", err.msg);
    summary s = summarize(out);
    CHECK(s.x1 - s.x0 + 1 == 20, "blob and dot both kept, 20 apart (%d..%d)", s.x0, s.x1);
    int dot = 0;
    for (int y = 0; y < MN_SIDE; y++)
        dot += out[y * MN_SIDE + s.x1] > 0;
    CHECK(dot > 0, "the dot is in the field");
    free(g);
}

static void test_errors(void)
{
    uint8_t out[MN_PIXELS], px[64 * 64 * 4];
    mn_error err = {{0}};
    memset(px, 200, sizeof px);
    CHECK(mn_normalize_image(px, 64, 64, 1, out, &err) == MN_ERR_NOINK, "uniform grey is blank");
    CHECK(strcmp(err.msg, "no ink found") == 0, "message: %s", err.msg);
    memset(px, 0, sizeof px);
    CHECK(mn_normalize_image(px, 64, 64, 4, out, &err) == MN_ERR_NOINK, "transparent is blank");
    uint32_t rng = 7;
    for (size_t i = 0; i < 64 * 64; i++) {
        rng = rng * 1664525u + 1013904223u;
        px[i] = (uint8_t)(240 + (rng >> 29));
    }
    CHECK(mn_normalize_image(px, 64, 64, 1, out, &err) == MN_ERR_NOINK, "paper grain is blank");
    uint8_t zero[MN_PIXELS] = {0};
    CHECK(mn_normalize_mnist(zero, out, &err) == MN_ERR_NOINK, "blank raw pixels");

    CHECK(mn_normalize_image(px, 0, 8, 1, out, &err) == MN_ERR_ARG, "width 0");
    CHECK(mn_normalize_image(px, 8, -1, 1, out, &err) == MN_ERR_ARG, "height -1");
    CHECK(mn_normalize_image(px, 8, 8, 0, out, &err) == MN_ERR_ARG, "0 channels");
    CHECK(mn_normalize_image(px, 8, 8, 5, out, &err) == MN_ERR_ARG, "5 channels");
    CHECK(mn_normalize_image(NULL, 8, 8, 1, out, &err) == MN_ERR_ARG, "no pixels");
    CHECK(mn_normalize_image(px, INT_MAX, INT_MAX, 4, out, &err) == MN_ERR_ARG, "INT_MAX^2");
    CHECK(err.msg[0] != 0, "a message for huge dimensions");
    CHECK(mn_normalize_image(px, 1 << 20, 1 << 20, 4, out, &err) == MN_ERR_ARG, "2^40 pixels");
    CHECK(mn_normalize_image(px, 1, 70000, 1, out, &err) == MN_ERR_ARG, "70000 high");
    CHECK(mn_image_to_mnist_plain(px, 27, 28, 1, out, &err) == MN_ERR_ARG, "plain needs 28x28");
    CHECK(mn_image_to_mnist_plain(px, 28, 28, 7, out, &err) == MN_ERR_ARG, "plain channels");
    CHECK(mn_normalize_image(px, 1, 1, 1, out, NULL) == MN_ERR_NOINK, "1x1 is blank, err NULL ok");
}

/* Arbitrary small images of every shape, channel count and kind of
 * content (noise, sparse dots, stripes): always OK or "no ink", and every
 * OK result is full-intensity ink inside a 20x20 box (its centre of mass
 * can be anywhere: a crop of scattered dots need not have it near its
 * middle). */
static void test_arbitrary_inputs(void)
{
    uint32_t rng = 99;
    int bad_status = 0, bad_shape = 0, ok = 0;
    uint8_t *p = malloc(70 * 70 * 4);
    for (int it = 0; it < 3000; it++) {
        rng = rng * 1664525u + 1013904223u;
        int w = 1 + (int)(rng >> 8) % 70, h = 1 + (int)(rng >> 16) % 70, ch = 1 + (int)(rng >> 4) % 4;
        int mode = (int)(rng >> 28) % 4;
        for (int i = 0; i < w * h * ch; i++) {
            rng = rng * 1664525u + 1013904223u;
            uint8_t r = (uint8_t)(rng >> 24);
            p[i] = mode == 0 ? r : mode == 1 ? (r < 3 ? r * 80 : 200) : mode == 2 ? (i % 7 ? 255 : 0) : r & 0x80;
        }
        uint8_t out[MN_PIXELS];
        mn_status st = mn_normalize_image(p, w, h, ch, out, NULL);
        if (st != MN_OK) {
            bad_status += st != MN_ERR_NOINK;
            continue;
        }
        ok++;
        summary sm = summarize(out);
        bad_shape += sm.peak != 255 || sm.x1 - sm.x0 >= 20 || sm.y1 - sm.y0 >= 20;
    }
    free(p);
    CHECK(bad_status == 0, "%d arbitrary images gave a status other than OK or NOINK", bad_status);
    CHECK(bad_shape == 0, "%d of %d results out of shape", bad_shape, ok);
    CHECK(ok > 100, "some arbitrary images have ink (%d)", ok);
}

static void test_plain_and_input(void)
{
    uint8_t *g = render(shape_seven, 28, 0.05, 4);
    uint8_t inv[MN_PIXELS], out[MN_PIXELS], rgba[MN_PIXELS * 4];
    mn_error err = {{0}};
    for (int i = 0; i < MN_PIXELS; i++) {
        inv[i] = (uint8_t)(255 - g[i]);
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = 0;
        rgba[4 * i + 3] = g[i];
    }
    CHECK(mn_image_to_mnist_plain(g, 28, 28, 1, out, &err) == MN_OK, "plain: %s", err.msg);
    CHECK(memcmp(out, g, MN_PIXELS) == 0, "plain white-on-black unchanged");
    CHECK(mn_image_to_mnist_plain(inv, 28, 28, 1, out, &err) == MN_OK, "plain inv");
    CHECK(memcmp(out, g, MN_PIXELS) == 0, "plain black-on-white inverted");
    CHECK(mn_image_to_mnist_plain(rgba, 28, 28, 4, out, &err) == MN_OK, "plain rgba");
    CHECK(memcmp(out, g, MN_PIXELS) == 0, "plain alpha-only canvas");

    float in[MN_PIXELS];
    mn_pixels_to_input(g, in);
    int ok = 1;
    for (int i = 0; i < MN_PIXELS; i++)
        ok &= fabsf(in[i] - g[i] / 255.0f) < 1e-6f;
    CHECK(ok && in[0] == 0.0f, "pixels / 255");
    free(g);
}

/* Real MNIST test digits: re-normalising changes them only slightly, and
 * a digit blown up 10x, inverted and put off-centre on a big canvas comes
 * back close to the original. */
static void test_mnist_round_trip(void)
{
    int count = 0;
    uint8_t *imgs = read_mnist_test(&count);
    CHECK(imgs != NULL && count >= 10000, "MNIST test images readable from MNIST_DATA_DIR");
    if (!imgs)
        return;
    mn_error err = {{0}};
    uint8_t out[MN_PIXELS];
    double sum = 0, worst = 0;
    int n = 1000, fails = 0;
    for (int k = 0; k < n; k++) {
        const uint8_t *x = imgs + (size_t)k * MN_PIXELS;
        fails += mn_normalize_mnist(x, out, &err) != MN_OK;
        double d = mad(out, x);
        sum += d;
        worst = d > worst ? d : worst;
    }
    CHECK(fails == 0, "all %d MNIST digits normalise", n);
    /* For scale: two different MNIST digits differ by about 40 on average. */
    CHECK(sum / n < 1.0, "re-normalised MNIST mean abs diff %.3f", sum / n);
    fprintf(stderr, "mnist re-normalise: mean mad %.3f, worst %.2f\n", sum / n, worst);

    int W = 900, H = 700, up = 10;
    uint8_t *canvas = malloc((size_t)W * H);
    sum = 0, worst = 0;
    n = 50;
    for (int k = 0; k < n; k++) {
        const uint8_t *x = imgs + (size_t)k * 97 * MN_PIXELS;
        memset(canvas, 255, (size_t)W * H);
        int ox = 500 + k % 7 * 10, oy = 60 + k % 5 * 30;
        /* Bilinear 10x upscaling, pixel centres at +0.5. */
        for (int y = 0; y < MN_SIDE * up; y++)
            for (int xx = 0; xx < MN_SIDE * up; xx++) {
                double u = (xx + 0.5) / up - 0.5, v = (y + 0.5) / up - 0.5;
                int i = (int)floor(u), j = (int)floor(v);
                double fu = u - i, fv = v - j, s = 0;
                for (int dj = 0; dj <= 1; dj++)
                    for (int di = 0; di <= 1; di++) {
                        int ii = i + di, jj = j + dj;
                        if (ii < 0 || jj < 0 || ii >= MN_SIDE || jj >= MN_SIDE)
                            continue;
                        s += (di ? fu : 1 - fu) * (dj ? fv : 1 - fv) * x[jj * MN_SIDE + ii];
                    }
                canvas[(size_t)(oy + y) * W + ox + xx] = (uint8_t)(255 - (int)(s + 0.5));
            }
        CHECK(mn_normalize_image(canvas, W, H, 1, out, &err) == MN_OK, "digit %d: %s", k, err.msg);
        double d = mad(out, x);
        sum += d;
        worst = d > worst ? d : worst;
    }
    fprintf(stderr, "mnist 10x black-on-white: mean mad %.3f, worst %.2f\n", sum / n, worst);
    CHECK(sum / n < 8, "upscaled inverted off-centre MNIST comes back (mean mad %.2f)", sum / n);
    CHECK(worst < 20, "and no digit far off (worst mad %.2f)", worst);
    free(canvas);
    free(imgs);
}

int main(void)
{
    test_geometry();
    test_input_forms();
    test_scale_invariance();
    test_robustness();
    test_lopsided();
    test_errors();
    test_arbitrary_inputs();
    test_plain_and_input();
    test_mnist_round_trip();
    return check_finish();
}
