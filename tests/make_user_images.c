/* make_user_images.c: writes an evaluation set of digits in the forms
 * users send (browser canvases, phone photos, scans, odd formats), drawn
 * from MNIST's TEST images only, never its training images, so a model
 * trained on MNIST can be measured on them honestly. Not a test itself:
 * a tool the sample evaluations (server, model quality) run on its output.
 *
 * Usage: make_user_images MNIST_DIR OUT_DIR [COUNT [SEED]]
 *   COUNT test digits (default 100, spread evenly over the 10,000 test
 *   images) are each written once in every kind, as
 *   OUT_DIR/<kind>/<label>_<index>.<ext>, index = the MNIST test index.
 *
 * Each digit is drawn in one of two ways. Pen: the MNIST image is
 * upscaled 10x, thresholded, thinned to its centre line (Zhang-Suen) and
 * redrawn with an anti-aliased round pen of the kind's width, as a
 * browser canvas or a felt pen gives (filled blobs of the original become
 * loops). Outline: the upscaled, smoothed shape itself, filled, keeping
 * MNIST's thick and thin parts, as a scan or photo of paper gives. Kinds:
 *   alpha   pen, 280x280 RGBA PNG, RGB 0 everywhere, the ink only in alpha
 *           (a transparent browser canvas), pen 18-22 px, digit ~190 px
 *   jpeg    outline, 1200x900 black on white JPEG, quality 70, digit
 *           ~600 px, off-centre
 *   colour  pen, 400x400 RGB PNG, blue, red, green or purple ink on
 *           off-white, white or tinted paper
 *   tiny    outline, 20x20 grey PNG, the digit ~15 px (area-averaged
 *           from 10x)
 *   huge    outline, 2000x2000 grey PNG, black on white, a ~500 px digit
 *           far off-centre
 *   thin    pen, 1500x1500 grey PNG, a 3 px pen on a ~1000 px digit
 *   specks  pen, 280x280 grey PNG, dark grey on near-white, with 10-30
 *           specks of dust (1-3 px)
 *   photo   outline, 800x600 RGB JPEG, quality 80: paper lit unevenly (a
 *           60-level gradient in a random direction), grain noise,
 *           dark blue-grey ink
 *   gif     outline, 280x280 GIF, 256 greys, white ink on black
 *   bmp     outline, 320x240 24-bit BMP, white ink on black
 *   pgm     300x300 binary PGM (P5), black on white */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#define SIDE 28
#define UP 10
#define BIG (SIDE * UP)

/* ---- random numbers: a fixed LCG, so a seed gives the same set ------- */

static uint64_t rng_state;

static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double rnd_range(double lo, double hi) { return lo + (hi - lo) * rnd(); }

/* ---- the digit as strokes -------------------------------------------- */

typedef struct {
    float ax, ay, bx, by; /* in BIG-pixel units */
} segment;

typedef struct {
    segment *seg;
    int n, cap;
    float x0, y0, x1, y1; /* bounding box of the centre line */
} strokes;

static void add_segment(strokes *s, float ax, float ay, float bx, float by)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->seg = realloc(s->seg, (size_t)s->cap * sizeof *s->seg);
        if (!s->seg) {
            perror("realloc");
            exit(1);
        }
    }
    s->seg[s->n++] = (segment){ax, ay, bx, by};
}

/* One Zhang-Suen thinning sub-iteration; returns the pixels removed. */
static int thin_pass(uint8_t *b, int step, uint8_t *mark)
{
    int removed = 0;
    memset(mark, 0, BIG * BIG);
    for (int y = 1; y < BIG - 1; y++)
        for (int x = 1; x < BIG - 1; x++) {
            if (!b[y * BIG + x])
                continue;
            /* Neighbours P2..P9 clockwise from north. */
            int p[8] = {b[(y - 1) * BIG + x],     b[(y - 1) * BIG + x + 1], b[y * BIG + x + 1],
                        b[(y + 1) * BIG + x + 1], b[(y + 1) * BIG + x],     b[(y + 1) * BIG + x - 1],
                        b[y * BIG + x - 1],       b[(y - 1) * BIG + x - 1]};
            int nb = 0, tr = 0;
            for (int k = 0; k < 8; k++) {
                nb += p[k];
                tr += !p[k] && p[(k + 1) % 8];
            }
            if (nb < 2 || nb > 6 || tr != 1)
                continue;
            if (step == 0 && ((p[0] && p[2] && p[4]) || (p[2] && p[4] && p[6])))
                continue;
            if (step == 1 && ((p[0] && p[2] && p[6]) || (p[0] && p[4] && p[6])))
                continue;
            mark[y * BIG + x] = 1;
            removed++;
        }
    for (int i = 0; i < BIG * BIG; i++)
        if (mark[i])
            b[i] = 0;
    return removed;
}

/* The digit's outline: its ink density upscaled 10x (bilinear, then a
 * light blur for smooth contours), 0..1, and the box where it is >= 0.4. */
typedef struct {
    float d[BIG * BIG];
    float x0, y0, x1, y1;
} outline;

#define OUTLINE_LEVEL 0.4f

static void digit_outline(const uint8_t *img, outline *o)
{
    static float t[BIG * BIG];
    for (int y = 0; y < BIG; y++)
        for (int x = 0; x < BIG; x++) {
            double u = (x + 0.5) / UP - 0.5, v = (y + 0.5) / UP - 0.5;
            int i = (int)floor(u), j = (int)floor(v);
            double fu = u - i, fv = v - j, s = 0;
            for (int dj = 0; dj <= 1; dj++)
                for (int di = 0; di <= 1; di++) {
                    int ii = i + di, jj = j + dj;
                    if (ii < 0 || jj < 0 || ii >= SIDE || jj >= SIDE)
                        continue;
                    s += (di ? fu : 1 - fu) * (dj ? fv : 1 - fv) * img[jj * SIDE + ii];
                }
            o->d[y * BIG + x] = (float)(s / 255);
        }
    /* Two 7x7 box passes per axis, separable. */
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < BIG; y++)
            for (int x = 0; x < BIG; x++) {
                float s = 0;
                for (int k = -3; k <= 3; k++)
                    s += x + k >= 0 && x + k < BIG ? o->d[y * BIG + x + k] : 0;
                t[y * BIG + x] = s / 7;
            }
        for (int y = 0; y < BIG; y++)
            for (int x = 0; x < BIG; x++) {
                float s = 0;
                for (int k = -3; k <= 3; k++)
                    s += y + k >= 0 && y + k < BIG ? t[(y + k) * BIG + x] : 0;
                o->d[y * BIG + x] = s / 7;
            }
    }
    o->x0 = o->y0 = BIG, o->x1 = o->y1 = 0;
    for (int y = 0; y < BIG; y++)
        for (int x = 0; x < BIG; x++)
            if (o->d[y * BIG + x] >= OUTLINE_LEVEL) {
                o->x0 = fminf(o->x0, (float)x), o->x1 = fmaxf(o->x1, x + 1.0f);
                o->y0 = fminf(o->y0, (float)y), o->y1 = fmaxf(o->y1, y + 1.0f);
            }
}

/* The centre line of an MNIST digit as segments between neighbouring
 * skeleton pixels, in the 10x upscaled frame. */
static strokes digit_strokes(const uint8_t *img)
{
    static uint8_t b[BIG * BIG], mark[BIG * BIG];
    for (int y = 0; y < BIG; y++)
        for (int x = 0; x < BIG; x++) {
            double u = (x + 0.5) / UP - 0.5, v = (y + 0.5) / UP - 0.5;
            int i = (int)floor(u), j = (int)floor(v);
            double fu = u - i, fv = v - j, s = 0;
            for (int dj = 0; dj <= 1; dj++)
                for (int di = 0; di <= 1; di++) {
                    int ii = i + di, jj = j + dj;
                    if (ii < 0 || jj < 0 || ii >= SIDE || jj >= SIDE)
                        continue;
                    s += (di ? fu : 1 - fu) * (dj ? fv : 1 - fv) * img[jj * SIDE + ii];
                }
            b[y * BIG + x] = s >= 100;
        }
    while (thin_pass(b, 0, mark) + thin_pass(b, 1, mark) > 0)
        ;
    /* The skeleton is a staircase of pixels; a pen moves smoothly, so
     * each point moves towards the mean of its neighbours a few times. */
    static float px[BIG * BIG], py[BIG * BIG], qx[BIG * BIG], qy[BIG * BIG];
    for (int y = 0; y < BIG; y++)
        for (int x = 0; x < BIG; x++)
            px[y * BIG + x] = x + 0.5f, py[y * BIG + x] = y + 0.5f;
    for (int it = 0; it < 4; it++) {
        for (int y = 1; y < BIG - 1; y++)
            for (int x = 1; x < BIG - 1; x++) {
                int i = y * BIG + x;
                if (!b[i])
                    continue;
                float sx = 0, sy = 0;
                int n = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int j = i + dy * BIG + dx;
                        if ((dx || dy) && b[j])
                            sx += px[j], sy += py[j], n++;
                    }
                /* Ends and junctions stay where they are. */
                qx[i] = n == 2 ? 0.5f * px[i] + 0.5f * sx / n : px[i];
                qy[i] = n == 2 ? 0.5f * py[i] + 0.5f * sy / n : py[i];
            }
        for (int i = 0; i < BIG * BIG; i++)
            if (b[i])
                px[i] = qx[i], py[i] = qy[i];
    }
    strokes s = {0};
    s.x0 = s.y0 = BIG, s.x1 = s.y1 = 0;
    for (int y = 0; y < BIG; y++)
        for (int x = 0; x < BIG; x++) {
            int i = y * BIG + x;
            if (!b[i])
                continue;
            float cx = px[i], cy = py[i];
            s.x0 = fminf(s.x0, cx), s.x1 = fmaxf(s.x1, cx);
            s.y0 = fminf(s.y0, cy), s.y1 = fmaxf(s.y1, cy);
            static const int nb[4][2] = {{1, 0}, {1, 1}, {0, 1}, {-1, 1}};
            int linked = 0;
            for (int k = 0; k < 4; k++) {
                int xx = x + nb[k][0], yy = y + nb[k][1];
                if (xx < 0 || xx >= BIG || yy >= BIG || !b[yy * BIG + xx])
                    continue;
                add_segment(&s, cx, cy, px[yy * BIG + xx], py[yy * BIG + xx]);
                linked = 1;
            }
            if (!linked)
                add_segment(&s, cx, cy, cx, cy);
        }
    return s;
}

/* ---- rendering ------------------------------------------------------- */

/* Ink coverage 0..1 of a w x h canvas. */
typedef struct {
    float *c;
    int w, h;
} canvas;

static canvas canvas_new(int w, int h)
{
    canvas c = {calloc((size_t)w * h, sizeof(float)), w, h};
    if (!c.c) {
        perror("calloc");
        exit(1);
    }
    return c;
}

/* Draws the strokes with a round pen of radius r (canvas pixels), the
 * digit's centre line scaled to `height` pixels tall and its centre put
 * at (cx, cy). Pen edges are anti-aliased over `soft` pixels. */
static void draw(canvas *cv, const strokes *s, double height, double cx, double cy, double r,
                 double soft)
{
    double k = height / fmax(s->y1 - s->y0, 1.0);
    double mx = (s->x0 + s->x1) / 2, my = (s->y0 + s->y1) / 2;
    for (int i = 0; i < s->n; i++) {
        const segment *g = &s->seg[i];
        double ax = cx + (g->ax - mx) * k, ay = cy + (g->ay - my) * k;
        double bx = cx + (g->bx - mx) * k, by = cy + (g->by - my) * k;
        int x0 = (int)floor(fmin(ax, bx) - r - soft - 1), x1 = (int)ceil(fmax(ax, bx) + r + soft + 1);
        int y0 = (int)floor(fmin(ay, by) - r - soft - 1), y1 = (int)ceil(fmax(ay, by) + r + soft + 1);
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > cv->w ? cv->w : x1, y1 = y1 > cv->h ? cv->h : y1;
        double vx = bx - ax, vy = by - ay, vv = vx * vx + vy * vy;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                double px = x + 0.5 - ax, py = y + 0.5 - ay;
                double t = vv > 0 ? (px * vx + py * vy) / vv : 0;
                t = t < 0 ? 0 : t > 1 ? 1 : t;
                double dx = px - t * vx, dy = py - t * vy, d = sqrt(dx * dx + dy * dy);
                double cov = (r + soft / 2 - d) / soft;
                cov = cov < 0 ? 0 : cov > 1 ? 1 : cov;
                float *p = &cv->c[(size_t)y * cv->w + x];
                if (cov > *p)
                    *p = (float)cov;
            }
    }
}

/* Draws the digit's filled outline (its shape as MNIST has it, thick and
 * thin parts kept), scaled to `height` pixels tall, centred at (cx, cy),
 * anti-aliased by 2x2 samples. */
static void draw_outline(canvas *cv, const outline *o, double height, double cx, double cy)
{
    double k = height / fmax(o->y1 - o->y0, 1.0);
    double mx = (o->x0 + o->x1) / 2, my = (o->y0 + o->y1) / 2;
    int x0 = (int)floor(cx - (mx - o->x0) * k) - 2, x1 = (int)ceil(cx + (o->x1 - mx) * k) + 2;
    int y0 = (int)floor(cy - (my - o->y0) * k) - 2, y1 = (int)ceil(cy + (o->y1 - my) * k) + 2;
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > cv->w ? cv->w : x1, y1 = y1 > cv->h ? cv->h : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            int n = 0;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    double u = mx + (x + (b + 0.5) / 2 - cx) / k - 0.5;
                    double v = my + (y + (a + 0.5) / 2 - cy) / k - 0.5;
                    int i = (int)floor(u), j = (int)floor(v);
                    if (i < 0 || j < 0 || i + 1 >= BIG || j + 1 >= BIG)
                        continue;
                    double fu = u - i, fv = v - j;
                    double d = (1 - fu) * (1 - fv) * o->d[j * BIG + i] + fu * (1 - fv) * o->d[j * BIG + i + 1] +
                               (1 - fu) * fv * o->d[(j + 1) * BIG + i] + fu * fv * o->d[(j + 1) * BIG + i + 1];
                    n += d >= OUTLINE_LEVEL;
                }
            float cov = n / 4.0f, *p = &cv->c[(size_t)y * cv->w + x];
            if (cov > *p)
                *p = cov;
        }
}

/* Area-averages a canvas down by an integer factor f. */
static canvas shrink(const canvas *src, int f)
{
    canvas d = canvas_new(src->w / f, src->h / f);
    for (int y = 0; y < d.h; y++)
        for (int x = 0; x < d.w; x++) {
            double s = 0;
            for (int j = 0; j < f; j++)
                for (int i = 0; i < f; i++)
                    s += src->c[(size_t)(y * f + j) * src->w + x * f + i];
            d.c[(size_t)y * d.w + x] = (float)(s / (f * f));
        }
    return d;
}

static uint8_t clamp8(double v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5); }

/* Grey image: paper colour where no ink, ink colour where full ink. */
static uint8_t *to_grey(const canvas *cv, double paper, double ink)
{
    uint8_t *g = malloc((size_t)cv->w * cv->h);
    for (size_t i = 0; i < (size_t)cv->w * cv->h; i++)
        g[i] = clamp8(paper + (ink - paper) * cv->c[i]);
    return g;
}

/* ---- writers ------------------------------------------------------------ */

static int write_pgm(const char *path, const uint8_t *g, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fprintf(f, "P5\n%d %d\n255\n", w, h);
    int ok = fwrite(g, 1, (size_t)w * h, f) == (size_t)w * h;
    return fclose(f) == 0 && ok;
}

/* A GIF of 256 greys. The LZW stream sends only literals, with a clear
 * code every 254 of them, so every code stays 9 bits wide: valid GIF that
 * any decoder reads, at the size of uncompressed data. */
static int write_gif(const char *path, const uint8_t *g, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    uint8_t hdr[13] = {'G', 'I', 'F', '8', '9', 'a', (uint8_t)w, (uint8_t)(w >> 8), (uint8_t)h,
                       (uint8_t)(h >> 8), 0xF7, 0, 0};
    fwrite(hdr, 1, 13, f);
    for (int i = 0; i < 256; i++) {
        uint8_t rgb[3] = {(uint8_t)i, (uint8_t)i, (uint8_t)i};
        fwrite(rgb, 1, 3, f);
    }
    uint8_t desc[11] = {0x2C, 0, 0, 0, 0, (uint8_t)w, (uint8_t)(w >> 8), (uint8_t)h,
                        (uint8_t)(h >> 8), 0, 8};
    fwrite(desc, 1, 11, f);
    uint8_t block[256];
    int blen = 0;
    uint32_t bits = 0;
    int nbits = 0;
#define EMIT(code)                                                    \
    do {                                                              \
        bits |= (uint32_t)(code) << nbits;                            \
        nbits += 9;                                                   \
        while (nbits >= 8) {                                          \
            block[1 + blen++] = (uint8_t)bits;                        \
            bits >>= 8, nbits -= 8;                                   \
            if (blen == 255) {                                        \
                block[0] = 255;                                       \
                fwrite(block, 1, 256, f);                             \
                blen = 0;                                             \
            }                                                         \
        }                                                             \
    } while (0)
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        if (i % 254 == 0)
            EMIT(256);
        EMIT(g[i]);
    }
    EMIT(257);
    if (nbits > 0) {
        block[1 + blen++] = (uint8_t)bits;
        if (blen == 255) {
            block[0] = 255;
            fwrite(block, 1, 256, f);
            blen = 0;
        }
    }
#undef EMIT
    if (blen) {
        block[0] = (uint8_t)blen;
        fwrite(block, 1, (size_t)blen + 1, f);
    }
    uint8_t tail[2] = {0, 0x3B};
    fwrite(tail, 1, 2, f);
    return fclose(f) == 0;
}

/* ---- the kinds ------------------------------------------------------- */

static const char *out_dir;

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_user_images: cannot create %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void path_for(char *buf, size_t len, const char *kind, int label, int index, const char *ext)
{
    snprintf(buf, len, "%s/%s/%d_%05d.%s", out_dir, kind, label, index, ext);
}

static void check_written(int ok, const char *path)
{
    if (!ok) {
        fprintf(stderr, "make_user_images: cannot write %s\n", path);
        exit(1);
    }
}

static void make_all(const strokes *s, const outline *o, int label, int index)
{
    char path[4096];

    { /* alpha: a transparent browser canvas */
        canvas cv = canvas_new(280, 280);
        draw(&cv, s, rnd_range(170, 210), rnd_range(125, 155), rnd_range(125, 155),
             rnd_range(9, 11), 1.5);
        uint8_t *rgba = calloc((size_t)280 * 280 * 4, 1);
        for (int i = 0; i < 280 * 280; i++)
            rgba[4 * i + 3] = clamp8(255 * cv.c[i]);
        path_for(path, sizeof path, "alpha", label, index, "png");
        check_written(stbi_write_png(path, 280, 280, 4, rgba, 280 * 4), path);
        free(rgba);
        free(cv.c);
    }
    { /* jpeg: a big black-on-white picture */
        canvas cv = canvas_new(1200, 900);
        draw_outline(&cv, o, rnd_range(500, 700), rnd_range(450, 750), rnd_range(400, 500));
        uint8_t *g = to_grey(&cv, 250, 15);
        path_for(path, sizeof path, "jpeg", label, index, "jpg");
        check_written(stbi_write_jpg(path, 1200, 900, 1, g, 70), path);
        free(g);
        free(cv.c);
    }
    { /* colour: coloured ink on off-white or tinted paper */
        static const uint8_t inks[4][3] = {{25, 45, 160}, {190, 30, 30}, {20, 120, 40}, {110, 30, 140}};
        static const uint8_t papers[3][3] = {{250, 247, 238}, {255, 255, 255}, {235, 240, 250}};
        const uint8_t *ink = inks[(int)(rnd() * 4) % 4], *paper = papers[(int)(rnd() * 3) % 3];
        canvas cv = canvas_new(400, 400);
        draw(&cv, s, rnd_range(220, 300), rnd_range(180, 220), rnd_range(180, 220),
             rnd_range(10, 14), 1.5);
        uint8_t *rgb = malloc((size_t)400 * 400 * 3);
        for (int i = 0; i < 400 * 400; i++)
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = clamp8(paper[c] + (ink[c] - paper[c]) * cv.c[i]);
        path_for(path, sizeof path, "colour", label, index, "png");
        check_written(stbi_write_png(path, 400, 400, 3, rgb, 400 * 3), path);
        free(rgb);
        free(cv.c);
    }
    { /* tiny: 20x20, area-averaged from a 200x200 drawing */
        canvas big = canvas_new(200, 200);
        draw_outline(&big, o, rnd_range(140, 165), 100, 100);
        canvas cv = shrink(&big, 10);
        uint8_t *g = to_grey(&cv, 255, 0);
        path_for(path, sizeof path, "tiny", label, index, "png");
        check_written(stbi_write_png(path, 20, 20, 1, g, 20), path);
        free(g);
        free(cv.c);
        free(big.c);
    }
    { /* huge: a 2000x2000 page, the digit far off-centre */
        canvas cv = canvas_new(2000, 2000);
        double cx = rnd() < 0.5 ? rnd_range(350, 700) : rnd_range(1300, 1650);
        double cy = rnd() < 0.5 ? rnd_range(350, 700) : rnd_range(1300, 1650);
        draw_outline(&cv, o, rnd_range(400, 550), cx, cy);
        uint8_t *g = to_grey(&cv, 255, 0);
        path_for(path, sizeof path, "huge", label, index, "png");
        check_written(stbi_write_png(path, 2000, 2000, 1, g, 2000), path);
        free(g);
        free(cv.c);
    }
    { /* thin: a 3 px pen on a big drawing */
        canvas cv = canvas_new(1500, 1500);
        draw(&cv, s, rnd_range(900, 1100), rnd_range(700, 800), rnd_range(700, 800), 1.5, 1);
        uint8_t *g = to_grey(&cv, 255, 0);
        path_for(path, sizeof path, "thin", label, index, "png");
        check_written(stbi_write_png(path, 1500, 1500, 1, g, 1500), path);
        free(g);
        free(cv.c);
    }
    { /* specks: dust on a scan */
        canvas cv = canvas_new(280, 280);
        draw(&cv, s, rnd_range(170, 210), rnd_range(125, 155), rnd_range(125, 155),
             rnd_range(8, 11), 1.5);
        int n = 10 + (int)(rnd() * 21);
        for (int k = 0; k < n; k++) {
            int x = (int)(rnd() * 277), y = (int)(rnd() * 277), sz = 1 + (int)(rnd() * 3);
            for (int j = 0; j < sz; j++)
                for (int i = 0; i < sz; i++)
                    cv.c[(size_t)(y + j) * 280 + x + i] = (float)rnd_range(0.6, 1.0);
        }
        uint8_t *g = to_grey(&cv, 245, 10);
        path_for(path, sizeof path, "specks", label, index, "png");
        check_written(stbi_write_png(path, 280, 280, 1, g, 280), path);
        free(g);
        free(cv.c);
    }
    { /* photo: unevenly lit paper, grain, a soft pen, JPEG */
        int w = 800, h = 600;
        canvas cv = canvas_new(w, h);
        draw_outline(&cv, o, rnd_range(300, 420), rnd_range(330, 470), rnd_range(260, 340));
        double ang = rnd() * 6.283185307179586, gx = cos(ang), gy = sin(ang);
        uint8_t *rgb = malloc((size_t)w * h * 3);
        static const double paper[3] = {205, 200, 185}, ink[3] = {40, 45, 70};
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                /* A 60-level ramp across the sheet, plus grain. */
                double light = 30 * (((x - w / 2.0) * gx + (y - h / 2.0) * gy) / (w / 2.0));
                double grain = rnd_range(-6, 6);
                double c = cv.c[(size_t)y * w + x];
                for (int k = 0; k < 3; k++)
                    rgb[3 * ((size_t)y * w + x) + k] =
                        clamp8((paper[k] + (ink[k] - paper[k]) * c) * (1 + light / 200) + grain);
            }
        path_for(path, sizeof path, "photo", label, index, "jpg");
        check_written(stbi_write_jpg(path, w, h, 3, rgb, 80), path);
        free(rgb);
        free(cv.c);
    }
    { /* gif: white on black */
        canvas cv = canvas_new(280, 280);
        draw_outline(&cv, o, rnd_range(170, 210), rnd_range(125, 155), rnd_range(125, 155));
        uint8_t *g = to_grey(&cv, 0, 255);
        path_for(path, sizeof path, "gif", label, index, "gif");
        check_written(write_gif(path, g, 280, 280), path);
        free(g);
        free(cv.c);
    }
    { /* bmp: white on black, 24-bit */
        canvas cv = canvas_new(320, 240);
        draw_outline(&cv, o, rnd_range(150, 190), rnd_range(130, 190), rnd_range(110, 130));
        uint8_t *rgb = malloc((size_t)320 * 240 * 3);
        for (int i = 0; i < 320 * 240; i++)
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = clamp8(255 * cv.c[i]);
        path_for(path, sizeof path, "bmp", label, index, "bmp");
        check_written(stbi_write_bmp(path, 320, 240, 3, rgb), path);
        free(rgb);
        free(cv.c);
    }
    { /* pgm: black on white */
        canvas cv = canvas_new(300, 300);
        draw_outline(&cv, o, rnd_range(180, 230), rnd_range(135, 165), rnd_range(135, 165));
        uint8_t *g = to_grey(&cv, 255, 0);
        path_for(path, sizeof path, "pgm", label, index, "pgm");
        check_written(write_pgm(path, g, 300, 300), path);
        free(g);
        free(cv.c);
    }
}

static const char *const kinds[] = {"alpha", "jpeg", "colour", "tiny", "huge", "thin",
                                    "specks", "photo", "gif", "bmp", "pgm"};

static uint8_t *read_idx(const char *dir, const char *name, size_t header, size_t item, int *count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "make_user_images: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    uint8_t h[16];
    if (fread(h, 1, header, f) != header) {
        fprintf(stderr, "make_user_images: %s: short header\n", path);
        exit(1);
    }
    int n = (h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7];
    uint8_t *data = malloc((size_t)n * item);
    if (!data || fread(data, item, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "make_user_images: %s: truncated\n", path);
        exit(1);
    }
    fclose(f);
    *count = n;
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s MNIST_DIR OUT_DIR [COUNT [SEED]]\n", argv[0]);
        return 2;
    }
    int count = argc > 3 ? atoi(argv[3]) : 100;
    rng_state = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    out_dir = argv[2];
    int n_img, n_lab;
    /* The test split only: these digits were never trained on. */
    uint8_t *images = read_idx(argv[1], "t10k-images-idx3-ubyte", 16, SIDE * SIDE, &n_img);
    uint8_t *labels = read_idx(argv[1], "t10k-labels-idx1-ubyte", 8, 1, &n_lab);
    if (n_img != n_lab || count < 1 || count > n_img) {
        fprintf(stderr, "make_user_images: %d images, %d labels, count %d\n", n_img, n_lab, count);
        return 1;
    }
    make_dir(out_dir);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out_dir, kinds[k]);
        make_dir(path);
    }
    for (int i = 0; i < count; i++) {
        int index = (int)((long)i * n_img / count);
        static outline o;
        digit_outline(images + (size_t)index * SIDE * SIDE, &o);
        strokes s = digit_strokes(images + (size_t)index * SIDE * SIDE);
        make_all(&s, &o, labels[index], index);
        free(s.seg);
    }
    printf("%d digits x %zu kinds written to %s\n", count, sizeof kinds / sizeof kinds[0], out_dir);
    free(images);
    free(labels);
    return 0;
}
