/* normalize_ink.c: decoded pixels (grey, grey+alpha, RGB, RGBA) to an ink
 * map in MNIST convention: transparency composited, background and noise
 * estimated from the image border, ink polarity decided, faint noise cut
 * and contrast stretched. No geometry here (normalize_geom.c). */
#include <stdlib.h>
#include <string.h>

#include "normalize_internal.h"

/* Ink must stand at least this far (0..255) from the background. */
#define MIN_CONTRAST 12
/* Share of the ink's peak below which a pixel is taken for noise, JPEG
 * ringing or a shadow. Above it ink is scaled linearly (v / peak), which
 * kept MNIST digits drawn 10x larger closest to the originals. */
#define FLOOR_OF_PEAK 0.15
/* Statistics are taken on about this many pixels of a big image. */
#define STAT_SAMPLES (1 << 16)

/* Border segments a side for the shading model, and the smallest spread
 * of their luminance that counts as uneven lighting. */
#define SEGMENTS 16
#define SHADE_MIN_SPREAD 6

/* What the border says about an image. */
typedef struct {
    int ch;        /* channels */
    int cb;        /* 0 or 255: what transparency is composited over */
    int bg[3];     /* background colour where ink is being judged (grey: bg[0]) */
    int lbg;       /* its luminance */
    int noise;     /* typical |luminance - lbg| of the background */
    const uint8_t *shade; /* NULL when lit evenly, else [gh][gw][4] per cell */
    int cell, gw;
} backdrop;

/* Moves the backdrop to grid cell (cx, cy) of an unevenly lit image. */
static inline void backdrop_at(backdrop *b, int cx, int cy)
{
    if (!b->shade)
        return;
    const uint8_t *s = b->shade + 4 * ((size_t)cy * b->gw + cx);
    b->bg[0] = s[0], b->bg[1] = s[1], b->bg[2] = s[2], b->lbg = s[3];
}

static inline int iabs(int v) { return v < 0 ? -v : v; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Rec. 601 luma of an 8-bit colour. */
static inline int luma(int r, int g, int b) { return (77 * r + 150 * g + 29 * b + 128) >> 8; }

/* x / 255 rounded, exact for 0 <= x <= 255 * 255. */
static inline int div255(int x) { return (x + 128 + ((x + 128) >> 8)) >> 8; }

/* A pixel's colour after compositing its alpha over cb. */
static inline void px_colour(const uint8_t *p, int ch, int cb, int c[3])
{
    switch (ch) {
    case 1:
        c[0] = c[1] = c[2] = p[0];
        break;
    case 2: {
        int a = p[1];
        c[0] = c[1] = c[2] = div255(p[0] * a + cb * (255 - a));
        break;
    }
    case 3:
        c[0] = p[0], c[1] = p[1], c[2] = p[2];
        break;
    default: {
        int a = p[3];
        for (int k = 0; k < 3; k++)
            c[k] = div255(p[k] * a + cb * (255 - a));
        break;
    }
    }
}

/* How strongly a composited colour is ink, for ink darker (dark != 0) or
 * lighter than the background: the luminance step on that side, or, for
 * coloured ink whose luminance is close to the paper's (yellow on white),
 * the colour distance beyond that step. 0..255. */
static inline void ink_both(const int c[3], const backdrop *b, int *dark, int *light)
{
    int l = b->ch >= 3 ? luma(c[0], c[1], c[2]) : c[0];
    int dl = l - b->lbg;
    int chroma = 0;
    if (b->ch >= 3) {
        int dc = imax(iabs(c[0] - b->bg[0]), imax(iabs(c[1] - b->bg[1]), iabs(c[2] - b->bg[2])));
        chroma = dc - iabs(dl);
    }
    *dark = imax(imax(-dl, chroma), 0);
    *light = imax(imax(dl, chroma), 0);
}

static inline int ink_value(const uint8_t *p, const backdrop *b, int dark_ink)
{
    int c[3], d, l;
    px_colour(p, b->ch, b->cb, c);
    ink_both(c, b, &d, &l);
    d = dark_ink ? d : l;
    return d > 255 ? 255 : d;
}

/* A pixel's bytes as one number. */
static inline uint32_t pixel_key(const uint8_t *p, int ch)
{
    switch (ch) {
    case 1: return p[0];
    case 2: return (uint32_t)p[0] | (uint32_t)p[1] << 8;
    case 3: return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    default: return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
}

/* Ink of pixels [x0, x1) of a row; ch is a constant at each call site so
 * that the compiler specialises the loop for it. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline uint32_t ink_run(const uint8_t *row, uint8_t *out, int x0, int x1, int ch,
                               const backdrop *b, int dark_ink, const uint8_t *lut)
{
    uint32_t s = 0, last = 0;
    int have = 0;
    uint8_t v = 0;
    for (int x = x0; x < x1; x++) {
        const uint8_t *p = row + (size_t)x * ch;
        /* Runs of one colour (a canvas's background) are computed once. */
        uint32_t key = pixel_key(p, ch);
        if (!have || key != last) {
            int c[3], d, l;
            px_colour(p, ch, b->cb, c);
            ink_both(c, b, &d, &l);
            d = dark_ink ? d : l;
            v = lut[d > 255 ? 255 : d];
            last = key, have = 1;
        }
        s += out[x] = v;
    }
    return s;
}

/* Row and column step that visits about STAT_SAMPLES pixels. */
static int stat_stride(int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    int s = 1;
    while (n / ((size_t)s * (size_t)s) > STAT_SAMPLES)
        s++;
    return s;
}

static int hist_median(const uint32_t *hist, int bins, uint64_t n)
{
    uint64_t acc = 0;
    for (int v = 0; v < bins; v++) {
        acc += hist[v];
        if (2 * acc >= n)
            return v;
    }
    return bins - 1;
}

/* Chooses what transparency is composited over: the opposite of the
 * visible pixels' mean luminance, so that ink carried only by alpha (a
 * canvas whose RGB is 0 everywhere, or 255 everywhere) keeps its contrast.
 * Returns 0 when every pixel is fully transparent. */
static int choose_composite(const uint8_t *pix, int w, int h, int ch, int *cb)
{
    *cb = 255;
    if (ch != 2 && ch != 4)
        return 1;
    int step = stat_stride(w, h);
    uint64_t sa = 0, sal = 0;
    for (int y = 0; y < h; y += step) {
        const uint8_t *row = pix + (size_t)y * w * ch;
        for (int x = 0; x < w; x += step) {
            const uint8_t *p = row + (size_t)x * ch;
            int a = p[ch - 1];
            int l = ch == 2 ? p[0] : luma(p[0], p[1], p[2]);
            sa += (uint64_t)a;
            sal += (uint64_t)a * (uint64_t)l;
        }
    }
    if (sa == 0) {
        /* A sparse subsample can miss thin ink: look at every pixel. */
        for (size_t i = 0; i < (size_t)w * h && sa == 0; i++)
            sa += pix[i * ch + ch - 1];
        if (sa == 0)
            return 0;
        return 1; /* too little alpha to weigh: ink over white */
    }
    *cb = 2 * sal < 255 * sa ? 255 : 0;
    return 1;
}

/* Median colour of the pixels of rectangle [x0,x1) x [y0,y1). */
static void rect_median(const uint8_t *pix, int w, const backdrop *b, int x0, int y0, int x1,
                        int y1, int out[3])
{
    uint32_t hist[3][256];
    memset(hist, 0, sizeof hist);
    int nc = b->ch >= 3 ? 3 : 1;
    uint64_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            int c[3];
            px_colour(pix + ((size_t)y * w + x) * b->ch, b->ch, b->cb, c);
            for (int k = 0; k < nc; k++)
                hist[k][c[k]]++;
            n++;
        }
    for (int k = 0; k < 3; k++)
        out[k] = hist_median(hist[k < nc ? k : 0], 256, n);
}

/* Median of three, to drop a border segment that a stroke crosses. */
static int med3(int a, int b, int c)
{
    if (a > b) { int t = a; a = b; b = t; }
    return c < a ? a : c > b ? b : c;
}

/* The value at position t (0..n_px) of a profile sampled at the centres
 * of k equal segments, linear in between, flat beyond the end centres. */
static double profile_at(const int seg[SEGMENTS][3], int k, int ch, double t, int n_px)
{
    double pos = t * k / n_px - 0.5;
    if (pos <= 0 || k == 1)
        return seg[0][ch];
    if (pos >= k - 1)
        return seg[k - 1][ch];
    int i = (int)pos;
    double f = pos - i;
    return seg[i][ch] * (1 - f) + seg[i + 1][ch] * f;
}

/* Histograms (per channel, of px_colour) of the band of the given depth
 * along the border; returns the band's pixel count. */
static uint64_t band_histogram(const uint8_t *pix, int w, int h, const backdrop *b, int depth,
                               uint32_t hist[3][256])
{
    int nc = b->ch >= 3 ? 3 : 1;
    memset(hist, 0, 3 * sizeof hist[0]);
    uint64_t n = 0;
    for (int y = 0; y < h; y++) {
        int band_row = y < depth || y >= h - depth;
        const uint8_t *row = pix + (size_t)y * w * b->ch;
        /* Runs of one colour are counted once: incrementing the same bin
         * pixel after pixel would wait on each previous increment. */
        uint32_t last = 0, run = 0;
        int c[3] = {0, 0, 0};
        for (int x = 0; x < w; x++) {
            if (!band_row && x == depth && w - depth > x)
                x = w - depth;
            const uint8_t *p = row + (size_t)x * b->ch;
            uint32_t key = pixel_key(p, b->ch);
            if (run && key == last) {
                run++;
                continue;
            }
            for (int k = 0; k < nc && run; k++)
                hist[k][c[k]] += run;
            px_colour(p, b->ch, b->cb, c);
            last = key, run = 1;
        }
        for (int k = 0; k < nc && run; k++)
            hist[k][c[k]] += run;
        n += (uint64_t)(band_row || w <= 2 * depth ? w : 2 * depth);
    }
    return n;
}

/* The widest 20th-to-80th percentile span of the band's channels (for
 * colour, the widest channel's bounds the luma's). */
static int band_spread(uint32_t hist[3][256], int nc, uint64_t n)
{
    int spread = 0;
    for (int k = 0; k < nc; k++) {
        int p20 = -1, p80 = -1;
        uint64_t acc = 0;
        for (int v = 0; v < 256; v++) {
            acc += hist[k][v];
            if (p20 < 0 && 5 * acc >= n) p20 = v;
            if (p80 < 0 && 5 * acc >= 4 * n) p80 = v;
        }
        spread = p80 - p20 > spread ? p80 - p20 : spread;
    }
    return spread;
}

/* The four sides' colour profiles, each the median of kx (top, bottom) or
 * ky (left, right) segments of the band, smoothed by a median of three;
 * returns the spread of their lumas. */
static int border_profiles(const uint8_t *pix, int w, int h, const backdrop *b, int depth, int kx,
                           int ky, int seg[4][SEGMENTS][3])
{
    int raw[SEGMENTS][3];
    int lo = 255, hi = 0;
    /* Sides: 0 top, 1 bottom (kx segments), 2 left, 3 right (ky). */
    for (int side = 0; side < 4; side++) {
        int k = side < 2 ? kx : ky;
        for (int i = 0; i < k; i++) {
            if (side < 2) {
                int x0 = (int)((int64_t)i * w / k), x1 = (int)((int64_t)(i + 1) * w / k);
                int y0 = side == 0 ? 0 : h - depth;
                rect_median(pix, w, b, x0, y0, x1, y0 + depth, raw[i]);
            } else {
                int y0 = (int)((int64_t)i * h / k), y1 = (int)((int64_t)(i + 1) * h / k);
                int x0 = side == 2 ? 0 : w - depth;
                rect_median(pix, w, b, x0, y0, x0 + depth, y1, raw[i]);
            }
        }
        for (int i = 0; i < k; i++)
            for (int c = 0; c < 3; c++) {
                int l = raw[i > 0 ? i - 1 : i][c], r = raw[i + 1 < k ? i + 1 : i][c];
                seg[side][i][c] = med3(l, raw[i][c], r);
            }
        for (int i = 0; i < k; i++) {
            int l = luma(seg[side][i][0], seg[side][i][1], seg[side][i][2]);
            lo = l < lo ? l : lo;
            hi = l > hi ? l : hi;
        }
    }
    return hi - lo;
}

/* The background of each grid cell: a Coons patch between the four
 * sides' profiles (RGB and luma, 4 bytes a cell). */
static void coons_patch(int seg[4][SEGMENTS][3], int kx, int ky, int w, int h, int nc,
                        uint8_t *shade, int cell, int gw, int gh)
{
    for (int cy = 0; cy < gh; cy++)
        for (int cx = 0; cx < gw; cx++) {
            double x = (cx + 0.5) * cell, y = (cy + 0.5) * cell;
            x = x > w ? w : x, y = y > h ? h : y;
            double u = x / w, v = y / h;
            uint8_t *out = shade + 4 * ((size_t)cy * gw + cx);
            for (int c = 0; c < 3; c++) {
                double t = profile_at(seg[0], kx, c, x, w), bo = profile_at(seg[1], kx, c, x, w);
                double l = profile_at(seg[2], ky, c, y, h), r = profile_at(seg[3], ky, c, y, h);
                double c00 = (seg[0][0][c] + seg[2][0][c]) / 2.0;
                double c10 = (seg[0][kx - 1][c] + seg[3][0][c]) / 2.0;
                double c01 = (seg[1][0][c] + seg[2][ky - 1][c]) / 2.0;
                double c11 = (seg[1][kx - 1][c] + seg[3][ky - 1][c]) / 2.0;
                double sv = (1 - v) * t + v * bo + (1 - u) * l + u * r -
                            ((1 - u) * (1 - v) * c00 + u * (1 - v) * c10 +
                             (1 - u) * v * c01 + u * v * c11);
                int iv = (int)(sv + 0.5);
                out[c] = (uint8_t)(iv < 0 ? 0 : iv > 255 ? 255 : iv);
            }
            out[3] = (uint8_t)(nc == 3 ? luma(out[0], out[1], out[2]) : out[0]);
        }
}

/* Noise: the median luma distance of the band from the background (for a
 * shaded background, each pixel's cell's: this moves b through the grid). */
static int band_noise(const uint8_t *pix, int w, int h, backdrop *b, int depth, int cell,
                      uint64_t n)
{
    int nc = b->ch >= 3 ? 3 : 1;
    uint32_t dist[256];
    memset(dist, 0, sizeof dist);
    for (int y = 0; y < h; y++) {
        int band_row = y < depth || y >= h - depth;
        const uint8_t *row = pix + (size_t)y * w * b->ch;
        uint32_t last = 0, run = 0;
        int dl = 0;
        for (int x = 0; x < w; x++) {
            if (!band_row && x == depth && w - depth > x)
                x = w - depth;
            const uint8_t *p = row + (size_t)x * b->ch;
            uint32_t key = pixel_key(p, b->ch);
            if (run && key == last && !b->shade) {
                run++;
                continue;
            }
            if (run)
                dist[dl] += run;
            int c[3];
            if (b->shade)
                backdrop_at(b, x / cell, y / cell);
            px_colour(p, b->ch, b->cb, c);
            int l = nc == 3 ? luma(c[0], c[1], c[2]) : c[0];
            dl = iabs(l - b->lbg), last = key, run = 1;
        }
        if (run)
            dist[dl] += run;
    }
    return hist_median(dist, 256, n);
}

/* Background colour = per-channel median of a band along the border (the
 * digit sits inside the frame; a stroke crossing the edge is a minority
 * of the border). When shade is given and the border's segments differ
 * (a photo lit from one side), the background becomes a Coons patch
 * interpolated between the four sides' profiles, one colour per grid
 * cell. Noise = median distance of the border from the background. */
static void estimate_backdrop(const uint8_t *pix, int w, int h, backdrop *b, uint8_t *shade,
                              int cell, int gw, int gh)
{
    int depth = (w < h ? w : h) / 40;
    depth = depth < 1 ? 1 : depth > 8 ? 8 : depth;
    int nc = b->ch >= 3 ? 3 : 1;
    uint32_t hist[3][256];
    uint64_t n = band_histogram(pix, w, h, b, depth, hist);
    for (int k = 0; k < 3; k++)
        b->bg[k] = hist_median(hist[k < nc ? k : 0], 256, n);
    b->lbg = nc == 3 ? luma(b->bg[0], b->bg[1], b->bg[2]) : b->bg[0];
    b->shade = NULL;

    /* Only a border whose middle 60% spans several levels can be lit
     * unevenly; most images (canvases, scans) skip the shading model. */
    int kx = w / 16 < SEGMENTS ? w / 16 : SEGMENTS, ky = h / 16 < SEGMENTS ? h / 16 : SEGMENTS;
    if (shade && kx >= 3 && ky >= 3 && band_spread(hist, nc, n) >= SHADE_MIN_SPREAD) {
        int seg[4][SEGMENTS][3];
        if (border_profiles(pix, w, h, b, depth, kx, ky, seg) >= SHADE_MIN_SPREAD) {
            coons_patch(seg, kx, ky, w, h, nc, shade, cell, gw, gh);
            b->shade = shade;
            b->cell = cell;
            b->gw = gw;
        }
    }
    b->noise = band_noise(pix, w, h, b, depth, cell, n);
}

/* Adds the ink strengths of every step-th pixel of a row to the
 * histograms; ch is a constant at each call site. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void hist_run(const uint8_t *row, int w, int y, int step, int ch, backdrop *b,
                            uint32_t *dark, uint32_t *light)
{
    uint32_t last = 0;
    int have = 0, d = 0, l = 0;
    for (int x = 0; x < w; x += step) {
        const uint8_t *p = row + (size_t)x * ch;
        uint32_t key = pixel_key(p, ch);
        if (b->shade)
            backdrop_at(b, x / b->cell, y / b->cell);
        if (b->shade || !have || key != last) {
            int c[3];
            px_colour(p, ch, b->cb, c);
            ink_both(c, b, &d, &l);
            d = d > 255 ? 255 : d;
            l = l > 255 ? 255 : l;
            last = key, have = 1;
        }
        dark[d]++;
        light[l]++;
    }
}

/* Histograms of ink strength for both polarities over a subsample. */
static void ink_histograms(const uint8_t *pix, int w, int h, backdrop *b,
                           uint32_t dark[256], uint32_t light[256])
{
    memset(dark, 0, 256 * sizeof *dark);
    memset(light, 0, 256 * sizeof *light);
    int step = stat_stride(w, h);
    if (!b->shade && b->ch <= 2) {
        /* Evenly lit grey: histogram the grey levels, then map them. */
        uint32_t grey[256];
        memset(grey, 0, sizeof grey);
        for (int y = 0; y < h; y += step) {
            const uint8_t *row = pix + (size_t)y * w * b->ch;
            if (b->ch == 1) {
                /* Runs counted once (see estimate_backdrop). */
                int prev = row[0];
                uint32_t run = 0;
                for (int x = 0; x < w; x += step) {
                    if (row[x] == prev) {
                        run++;
                    } else {
                        grey[prev] += run;
                        prev = row[x], run = 1;
                    }
                }
                grey[prev] += run;
            } else {
                for (int x = 0; x < w; x += step) {
                    int a = row[2 * x + 1];
                    grey[div255(row[2 * x] * a + b->cb * (255 - a))]++;
                }
            }
        }
        for (int g = 0; g < 256; g++) {
            int c[3] = {g, g, g}, d, l;
            ink_both(c, b, &d, &l);
            dark[d] += grey[g];
            light[l] += grey[g];
        }
        return;
    }
    for (int y = 0; y < h; y += step) {
        const uint8_t *row = pix + (size_t)y * w * b->ch;
        switch (b->ch) {
        case 1: hist_run(row, w, y, step, 1, b, dark, light); break;
        case 2: hist_run(row, w, y, step, 2, b, dark, light); break;
        case 3: hist_run(row, w, y, step, 3, b, dark, light); break;
        default: hist_run(row, w, y, step, 4, b, dark, light); break;
        }
    }
}

/* Weight of the ink above the noise threshold t. */
static uint64_t ink_score(const uint32_t *hist, int t)
{
    uint64_t s = 0;
    for (int v = t + 1; v < 256; v++)
        s += (uint64_t)hist[v] * (uint64_t)(v - t);
    return s;
}

static int noise_threshold(const backdrop *b)
{
    /* 1.4826 * median absolute deviation estimates the noise's sigma;
     * four sigma leaves paper grain and JPEG blocking below the line. */
    int t = (int)(4.0 * 1.4826 * b->noise + 0.5) + 6;
    return t > MIN_CONTRAST ? t : MIN_CONTRAST;
}

mn_status nz_ink_from_pixels(const uint8_t *pix, int channels, nz_work *wk, mn_error *err)
{
    int w = wk->w, h = wk->h;
    backdrop b = {.ch = channels};
    if (!choose_composite(pix, w, h, channels, &b.cb))
        return mn_error_set(err, MN_ERR_NOINK, "no ink found");
    estimate_backdrop(pix, w, h, &b, wk->shade, wk->cell, wk->gw, wk->gh);

    uint32_t dark[256], light[256];
    ink_histograms(pix, w, h, &b, dark, light);
    int t0 = noise_threshold(&b);
    uint64_t sd = ink_score(dark, t0), sl = ink_score(light, t0);
    int dark_ink = sd >= sl;
    const uint32_t *hist = dark_ink ? dark : light;

    /* The stroke's core: the 90th percentile of the ink above noise. */
    uint64_t n = 0;
    for (int v = t0 + 1; v < 256; v++)
        n += hist[v];
    int peak = 255;
    if (n > 0) {
        uint64_t acc = 0;
        for (int v = t0 + 1; v < 256; v++) {
            acc += hist[v];
            if (10 * acc >= 9 * n) {
                peak = v;
                break;
            }
        }
    } else if (sd == 0 && sl == 0) {
        /* The subsample may have stepped over hair-thin ink: the full pass
         * below decides, with the peak taken as full contrast. */
        dark_ink = b.lbg >= 128;
    }
    int t = imax(t0, (int)(FLOOR_OF_PEAK * peak));
    if (t > 254)
        t = 254;
    if (peak <= t)
        peak = t + 1;

    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        int s = v <= t ? 0 : (v * 255 + peak / 2) / peak;
        lut[v] = (uint8_t)(s > 255 ? 255 : s);
    }

    /* Evenly lit grey: ink is a function of the grey level alone. */
    uint8_t glut[256];
    int grey = channels <= 2 && !b.shade;
    if (grey)
        for (int g = 0; g < 256; g++) {
            uint8_t p2[4] = {(uint8_t)g, 255, 0, 0};
            glut[g] = lut[ink_value(p2, &b, dark_ink)];
        }

    memset(wk->cell_sum, 0, (size_t)wk->gw * wk->gh * sizeof *wk->cell_sum);
    uint64_t total = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = pix + (size_t)y * w * channels;
        uint8_t *out = wk->ink + (size_t)y * w;
        uint32_t *cells = wk->cell_sum + (size_t)(y / wk->cell) * wk->gw;
        for (int cx = 0; cx < wk->gw; cx++) {
            int x0 = cx * wk->cell, x1 = x0 + wk->cell < w ? x0 + wk->cell : w;
            uint32_t s = 0;
            if (grey && channels == 1) {
                for (int x = x0; x < x1; x++)
                    s += out[x] = glut[row[x]];
            } else if (grey) {
                for (int x = x0; x < x1; x++) {
                    int a = row[2 * x + 1];
                    s += out[x] = glut[div255(row[2 * x] * a + b.cb * (255 - a))];
                }
            } else {
                backdrop_at(&b, cx, y / wk->cell);
                switch (channels) {
                case 1: s = ink_run(row, out, x0, x1, 1, &b, dark_ink, lut); break;
                case 2: s = ink_run(row, out, x0, x1, 2, &b, dark_ink, lut); break;
                case 3: s = ink_run(row, out, x0, x1, 3, &b, dark_ink, lut); break;
                default: s = ink_run(row, out, x0, x1, 4, &b, dark_ink, lut); break;
                }
            }
            cells[cx] += s;
            total += s;
        }
    }
    if (total == 0)
        return mn_error_set(err, MN_ERR_NOINK, "no ink found");
    return MN_OK;
}

void nz_plain_from_pixels(const uint8_t *pix, int w, int h, int channels,
                          uint8_t out[MN_PIXELS])
{
    backdrop b = {.ch = channels};
    if (!choose_composite(pix, w, h, channels, &b.cb)) {
        memset(out, 0, MN_PIXELS);
        return;
    }
    estimate_backdrop(pix, w, h, &b, NULL, 1, 1, 1);
    uint32_t dark[256], light[256];
    ink_histograms(pix, w, h, &b, dark, light);
    int t0 = noise_threshold(&b);
    uint64_t sd = ink_score(dark, t0), sl = ink_score(light, t0);
    int dark_ink = sd != sl ? sd > sl : b.lbg >= 128;
    for (int i = 0; i < w * h; i++)
        out[i] = (uint8_t)ink_value(pix + (size_t)i * channels, &b, dark_ink);
}
