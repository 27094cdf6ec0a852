/* test_segment.c: mn_segment_image on synthetic lines of MNIST test digits
 * with known boxes (random gaps, baseline and size jitter), on digits in
 * several pieces (a 5 with its bar detached, a 7 and a 4 drawn in two
 * strokes, a stroke broken across, specks around), each digit's 28x28
 * against mn_normalize_image of that digit alone, and the bounds (blank,
 * too many digits, noise, a million specks). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "mnist/idx.h"
#include "mnist/segment.h"

#define MAXD 8

typedef struct {
    int w, h;
    uint8_t *ink;   /* [h][w] 0 or 255 */
    uint8_t *owner; /* [h][w] 1 + the digit that drew the pixel, 0 none */
    mn_box truth[MAXD];
    int n;
} line_img;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void line_init(line_img *l, int w, int h)
{
    l->w = w, l->h = h, l->n = 0;
    l->ink = calloc((size_t)w * h, 1);
    l->owner = calloc((size_t)w * h, 1);
}

static void line_free(line_img *l)
{
    free(l->ink);
    free(l->owner);
}

static void put(line_img *l, int x, int y)
{
    if (x < 0 || y < 0 || x >= l->w || y >= l->h)
        return;
    l->ink[(size_t)y * l->w + x] = 255;
    l->owner[(size_t)y * l->w + x] = (uint8_t)(l->n + 1);
}

/* The bounding box of digit l->n's pixels becomes its truth; next digit. */
static void close_digit(line_img *l)
{
    int x0 = l->w, y0 = l->h, x1 = -1, y1 = -1;
    for (int y = 0; y < l->h; y++)
        for (int x = 0; x < l->w; x++)
            if (l->owner[(size_t)y * l->w + x] == l->n + 1) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    l->truth[l->n++] = (mn_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

/* An MNIST digit (ink > 0) scaled by s with nearest neighbours, its ink's
 * top-left at (x, y); rows [cut0, cut1) of the source erased (a broken
 * stroke). Returns the width of its ink. */
static int draw_mnist(line_img *l, const uint8_t *px, double s, int x, int y, int cut0, int cut1)
{
    int sx0 = 28, sy0 = 28, sx1 = -1, sy1 = -1;
    for (int j = 0; j < 28; j++)
        for (int i = 0; i < 28; i++)
            if (px[j * 28 + i]) {
                sx0 = i < sx0 ? i : sx0, sx1 = i > sx1 ? i : sx1;
                sy0 = j < sy0 ? j : sy0, sy1 = j > sy1 ? j : sy1;
            }
    int W = (int)((sx1 - sx0 + 1) * s), H = (int)((sy1 - sy0 + 1) * s);
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) {
            int i = sx0 + (int)(u / s), j = sy0 + (int)(v / s);
            if (j >= cut0 && j < cut1)
                continue;
            if (px[j * 28 + i])
                put(l, x + u, y + v);
        }
    close_digit(l);
    return W;
}

/* A stroke of radius r from (ax, ay) to (bx, by). */
static void stroke(line_img *l, double ax, double ay, double bx, double by, double r)
{
    int x0 = (int)floor(fmin(ax, bx) - r), x1 = (int)ceil(fmax(ax, bx) + r);
    int y0 = (int)floor(fmin(ay, by) - r), y1 = (int)ceil(fmax(ay, by) + r);
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = ax + t * dx - x, ey = ay + t * dy - y;
            if (ex * ex + ey * ey <= r * r)
                put(l, x, y);
        }
}

/* Polyline through n points (pairs), relative to a W x H box at (x, y). */
static void poly(line_img *l, int x, int y, int W, int H, const double *pt, int n, double r)
{
    for (int i = 0; i + 1 < n; i++)
        stroke(l, x + pt[2 * i] * W, y + pt[2 * i + 1] * H, x + pt[2 * i + 2] * W,
               y + pt[2 * i + 3] * H, r);
}

/* Dark ink on white, one channel: what a scan or a canvas export gives. */
static uint8_t *to_grey(const line_img *l)
{
    uint8_t *g = malloc((size_t)l->w * l->h);
    for (size_t i = 0; i < (size_t)l->w * l->h; i++)
        g[i] = (uint8_t)(255 - l->ink[i]);
    return g;
}

static int box_near(mn_box a, mn_box b, int tol)
{
    return abs(a.x - b.x) <= tol && abs(a.y - b.y) <= tol && abs(a.x + a.w - b.x - b.w) <= tol &&
           abs(a.y + a.h - b.y - b.h) <= tol;
}

/* mn_normalize_image of digit d alone: the crop segment.c gives its
 * geometry (the box grown by a twelfth of its side plus 4, clamped),
 * every other digit's ink erased. */
static void normalize_alone(const line_img *l, int d, mn_box b, uint8_t out[MN_PIXELS])
{
    int side = b.w > b.h ? b.w : b.h, m = side / 12 + 4;
    int x0 = b.x - m < 0 ? 0 : b.x - m, y0 = b.y - m < 0 ? 0 : b.y - m;
    int x1 = b.x + b.w - 1 + m >= l->w ? l->w - 1 : b.x + b.w - 1 + m;
    int y1 = b.y + b.h - 1 + m >= l->h ? l->h - 1 : b.y + b.h - 1 + m;
    int cw = x1 - x0 + 1, ch = y1 - y0 + 1;
    uint8_t *crop = malloc((size_t)cw * ch);
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            size_t i = (size_t)(y + y0) * l->w + x + x0;
            crop[(size_t)y * cw + x] = l->owner[i] == d + 1 ? (uint8_t)(255 - l->ink[i]) : 255;
        }
    mn_error e;
    mn_status st = mn_normalize_image(crop, cw, ch, 1, out, &e);
    CHECK(st == MN_OK, "normalize alone: %s", e.msg);
    free(crop);
}

/* Segments l and checks count, order, boxes (within tol pixels) and,
 * where the box is exact, each 28x28 against the digit alone. */
static int exact_compared, exact_equal;
static void check_line(const line_img *l, int tol, const char *what)
{
    uint8_t *g = to_grey(l);
    mn_box boxes[32], boxes2[32];
    static uint8_t px[32][MN_PIXELS];
    int n = -1, n2 = -1;
    mn_error e;
    mn_status st = mn_segment_image(g, l->w, l->h, 1, 32, boxes, px, &n, &e);
    CHECK(st == MN_OK, "%s: %s", what, e.msg);
    CHECK(n == l->n, "%s: %d digits found, %d drawn", what, n, l->n);
    mn_status st2 = mn_segment_image(g, l->w, l->h, 1, 32, boxes2, NULL, &n2, &e);
    CHECK(st2 == MN_OK && n2 == n && !memcmp(boxes, boxes2, sizeof boxes[0] * (size_t)(n < 0 ? 0 : n)),
          "%s: counting without pixels gives the same boxes", what);
    for (int i = 0; st == MN_OK && n == l->n && i < n; i++) {
        CHECK(box_near(boxes[i], l->truth[i], tol), "%s: digit %d box [%d,%d,%d,%d], drawn [%d,%d,%d,%d]",
              what, i, boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h, l->truth[i].x,
              l->truth[i].y, l->truth[i].w, l->truth[i].h);
        if (box_near(boxes[i], l->truth[i], 0)) {
            uint8_t alone[MN_PIXELS];
            normalize_alone(l, i, boxes[i], alone);
            exact_compared++;
            exact_equal += !memcmp(alone, px[i], MN_PIXELS);
            CHECK(!memcmp(alone, px[i], MN_PIXELS), "%s: digit %d's 28x28 differs from the digit alone",
                  what, i);
        }
    }
    free(g);
}

/* Lines of 2-6 MNIST test digits: scale 2.2-3.2 each (size jitter),
 * baseline +-8%, gaps of 6-36% of the line height. */
static void test_mnist_lines(const mn_dataset *ds)
{
    size_t next = 0;
    for (int t = 0; t < 60; t++) {
        int nd = 2 + (int)(urand() * 5);
        line_img l;
        line_init(&l, 110 * nd + 60, 130);
        int x = 20 + (int)(urand() * 20);
        for (int d = 0; d < nd; d++) {
            const uint8_t *px = ds->images + (next++ % ds->count) * MN_PIXELS;
            double s = 2.2 + urand();
            int y = 30 + (int)((urand() - 0.5) * 16);
            int wd = draw_mnist(&l, px, s, x, y, 0, 0);
            x += wd + (int)((0.06 + 0.30 * urand()) * 60);
        }
        check_line(&l, 0, "mnist line");
        line_free(&l);
    }
}

/* The same with a band of source rows erased in the middle of every
 * digit: each falls into pieces one above the other. */
static void test_broken_strokes(const mn_dataset *ds)
{
    for (int t = 0; t < 20; t++) {
        line_img l;
        line_init(&l, 500, 120);
        int x = 20;
        for (int d = 0; d < 4; d++) {
            const uint8_t *px = ds->images + (size_t)(1000 + 4 * t + d) * MN_PIXELS;
            x += draw_mnist(&l, px, 2.5, x, 25 + d * 3, 13, 15) + 25;
        }
        check_line(&l, 0, "broken strokes");
        line_free(&l);
    }
}

/* Digits in several strokes, between MNIST digits: 5 with its bar
 * detached, 7 and 4 in two strokes, specks around. */
static void test_strokes(const mn_dataset *ds)
{
    static const double five_body[] = {0.22, 0.16, 0.15, 0.48, 0.55, 0.40, 0.88, 0.58,
                                       0.85, 0.85, 0.50, 1.00, 0.08, 0.90};
    static const double four_l[] = {0.50, 0.00, 0.02, 0.68, 1.00, 0.68};
    for (int t = 0; t < 12; t++) {
        line_img l;
        line_init(&l, 640, 140);
        double r = 3 + urand() * 2;
        int W = 48 + (int)(urand() * 12), H = 72 + (int)(urand() * 8), y = 30;
        int x = 20;
        x += draw_mnist(&l, ds->images + (size_t)(2000 + t) * MN_PIXELS, 2.6, x, y, 0, 0) + 30;
        /* 5: the bar ends 3 pixels above the body. */
        stroke(&l, x + 0.28 * W, y, x + W, y - 2, r);
        poly(&l, x, y, W, H, five_body, 7, r);
        close_digit(&l);
        x += W + 30;
        /* 7: the bar, then the diagonal starting below it. */
        stroke(&l, x, y, x + W, y, r);
        stroke(&l, x + 0.9 * W, y + 2 * r + 4, x + 0.35 * W, y + H, r);
        close_digit(&l);
        x += W + 30;
        /* 4: the L, then the vertical stroke, apart from it. */
        poly(&l, x, y, W, H, four_l, 3, r);
        stroke(&l, x + 0.78 * W, y + 0.1 * H, x + 0.78 * W, y + 0.68 * H - 2 * r - 3, r);
        stroke(&l, x + 0.78 * W, y + 0.68 * H + 2 * r + 3, x + 0.78 * W, y + H, r);
        close_digit(&l);
        x += W + 30;
        draw_mnist(&l, ds->images + (size_t)(3000 + t) * MN_PIXELS, 2.6, x, y, 0, 0);
        /* Specks (a few pixels each) well away from the digits. */
        int saved = l.n;
        l.n = 200; /* owner of no digit */
        for (int k = 0; k < 25; k++) {
            int sx = (int)(urand() * (l.w - 4)), sy = urand() < 0.5 ? 2 + (int)(urand() * 10)
                                                                    : l.h - 14 + (int)(urand() * 10);
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    put(&l, sx + dx, sy + dy);
        }
        l.n = saved;
        check_line(&l, 0, "strokes and specks");
        line_free(&l);
    }
}

static void test_errors(void)
{
    uint8_t blank[64 * 64];
    memset(blank, 255, sizeof blank);
    int n = -1;
    mn_box b[4];
    mn_error e;
    CHECK(mn_segment_image(blank, 64, 64, 1, 4, b, NULL, &n, &e) == MN_ERR_NOINK && n == 0,
          "blank image: no ink");
    CHECK(mn_segment_image(NULL, 64, 64, 1, 4, b, NULL, &n, &e) == MN_ERR_ARG, "no pixels");
    CHECK(mn_segment_image(blank, 0, 64, 1, 4, b, NULL, &n, &e) == MN_ERR_ARG, "zero width");
    CHECK(mn_segment_image(blank, 64, 64, 5, 4, b, NULL, &n, &e) == MN_ERR_ARG, "5 channels");
    CHECK(mn_segment_image(blank, 64, 64, 1, 0, b, NULL, &n, &e) == MN_ERR_ARG, "max_digits 0");

    /* Six bars, max_digits 4: MN_ERR_LIMIT, the count and the first four boxes. */
    line_img l;
    line_init(&l, 400, 100);
    for (int d = 0; d < 6; d++) {
        stroke(&l, 30 + 60 * d, 20, 30 + 60 * d, 80, 4);
        close_digit(&l);
    }
    uint8_t *g = to_grey(&l);
    mn_status st = mn_segment_image(g, l.w, l.h, 1, 4, b, NULL, &n, &e);
    CHECK(st == MN_ERR_LIMIT && n == 6, "6 digits over a limit of 4: status %d, count %d", st, n);
    CHECK(box_near(b[3], l.truth[3], 0), "the first boxes are still written");
    free(g);
    line_free(&l);
}

/* Noise and a million specks: a bounded answer, quickly (generous for
 * sanitizer builds). */
static void test_bounds(void)
{
    int w = 2000, h = 2000;
    uint8_t *g = malloc((size_t)w * h);
    for (size_t i = 0; i < (size_t)w * h; i++)
        g[i] = (uint8_t)(urand() * 256);
    mn_box b[32];
    int n = -1;
    mn_error e;
    double t0 = now();
    mn_status st = mn_segment_image(g, w, h, 1, 32, b, NULL, &n, &e);
    double t1 = now();
    CHECK(st != MN_OK || n <= 32, "noise: status %d, %d digits", st, n);
    CHECK(t1 - t0 < 10, "noise 2000x2000 took %.2f s", t1 - t0);
    /* One million one-pixel specks on white. */
    memset(g, 255, (size_t)w * h);
    for (int y = 0; y < h; y += 2)
        for (int x = 0; x < w; x += 2)
            g[(size_t)y * w + x] = 0;
    t0 = now();
    st = mn_segment_image(g, w, h, 1, 32, b, NULL, &n, &e);
    t1 = now();
    CHECK(st == MN_ERR_LIMIT, "a million specks: status %d (%s)", st, st ? e.msg : "ok");
    CHECK(t1 - t0 < 10, "a million specks took %.2f s", t1 - t0);
    free(g);
}

/* /predict's entry: mn_normalize_image's bits and the digit count
 * (capped at 2) from one ink map, for lines of 1 to 4 digits. */
static void test_normalize_count(const mn_dataset *ds)
{
    for (int t = 0; t < 40; t++) {
        int nd = 1 + t % 4;
        line_img l;
        line_init(&l, 110 * nd + 60, 130);
        int x = 20;
        for (int d = 0; d < nd; d++) {
            const uint8_t *px = ds->images + (size_t)(500 + 7 * t + d) * MN_PIXELS;
            x += draw_mnist(&l, px, 2.5, x, 30, 0, 0) + 25;
        }
        uint8_t *grey = to_grey(&l), a[MN_PIXELS], b[MN_PIXELS];
        mn_error e;
        int count = -1;
        mn_status sa = mn_normalize_image(grey, l.w, l.h, 1, a, &e);
        mn_status sb = mn_normalize_image_count(grey, l.w, l.h, 1, b, &count, &e);
        CHECK(sa == MN_OK && sb == MN_OK && !memcmp(a, b, MN_PIXELS),
              "line %d: the same 28x28 as mn_normalize_image (%d %d)", t, sa, sb);
        CHECK(count == (nd < 2 ? nd : 2), "line %d of %d digits: count %d", t, nd, count);
        free(grey);
        line_free(&l);
    }
}

int main(void)
{
    const char *dir = getenv("MNIST_DATA_DIR");
    mn_dataset ds;
    mn_error e;
    if (!dir || mn_dataset_load(dir, "t10k", &ds, &e) != MN_OK) {
        CHECK(0, "MNIST test images readable from MNIST_DATA_DIR (%s)", dir ? e.msg : "unset");
        return check_finish();
    }
    test_mnist_lines(&ds);
    test_normalize_count(&ds);
    test_broken_strokes(&ds);
    test_strokes(&ds);
    test_errors();
    test_bounds();
    CHECK(exact_compared >= 250, "%d digits compared with the digit alone", exact_compared);
    printf("%d of %d digits equal to the digit normalised alone\n", exact_equal, exact_compared);
    mn_dataset_free(&ds);
    return check_finish();
}
