/* normalize_geom.c: the geometry of the MNIST normalisation (LeCun et al.,
 * "Gradient-based learning applied to document recognition": the digit's
 * bounding box scaled to fit 20x20 keeping its aspect ratio, with
 * anti-aliasing, then placed in 28x28 so that its centre of mass is at the
 * centre). Works on an ink map; knows nothing of colours or alpha. */
#include <math.h>
#include <string.h>

#include "normalize_internal.h"

/* A piece of ink is kept when it weighs at least KEEP_FRAC of the largest
 * piece, or NEAR_FRAC when it lies next to it (a broken stroke). Lighter
 * pieces are specks of dust or noise. */
#define KEEP_FRAC 0.10f
#define NEAR_FRAC 0.02f

/* Stroke width in the 28x28 result, as 2 * area / perimeter: MNIST's test
 * digits measure 1.3 (5th percentile), 2.0 (median), 3.1 (95th). Strokes
 * far outside that range are brought back to TARGET_* by dilation or
 * erosion, when the source is fine enough (at least twice the result's
 * resolution) for that to be done accurately. */
#define THIN_BELOW 1.2
#define THIN_TARGET 1.8
#define THICK_ABOVE 4.5
#define THICK_TARGET 3.6

/* A big crop is first reduced by a whole factor to about this many
 * pixels a side (four times the 28x28 result's resolution), which keeps
 * the later steps' cost independent of the image size. */
#define REDUCED_SIDE 112
#define REDUCED_MARGIN 8

typedef struct {
    int x0, y0, x1, y1;  /* inclusive bounding box of the ink; x0 > x1 if none */
    double mass;         /* sum of ink / 255 */
    int peak;            /* largest ink value */
} ink_stats;

/* A rectangle of ink: w x h pixels, rows `stride` bytes apart; zero ink
 * all around it. */
typedef struct {
    uint8_t *p;
    int w, h;
    size_t stride;
} ink_view;

/* ---- components on the coarse grid ---------------------------------- */

/* Labels the 8-connected pieces of non-empty cells; returns their count. */
static int label_components(nz_work *wk)
{
    int gw = wk->gw, gh = wk->gh, n = 0;
    memset(wk->label, 0, (size_t)gw * gh * sizeof *wk->label);
    for (int i = 0; i < gw * gh; i++) {
        if (!wk->cell_sum[i] || wk->label[i])
            continue;
        int iy = i / gw, ix = i - iy * gw;
        nz_comp *c = &wk->comp[n++];
        c->mass = 0;
        c->x0 = c->x1 = (uint16_t)ix;
        c->y0 = c->y1 = (uint16_t)iy;
        c->keep = 0;
        int top = 0;
        /* Stack entries pack (y << 8) | x: the grid is at most 64 a side. */
        wk->stack[top++] = (uint16_t)(iy << 8 | ix);
        wk->label[i] = (uint16_t)n;
        while (top) {
            int e = wk->stack[--top], x = e & 255, y = e >> 8, j = y * gw + x;
            c->mass += (float)wk->cell_sum[j];
            if (x < c->x0) c->x0 = (uint16_t)x;
            if (x > c->x1) c->x1 = (uint16_t)x;
            if (y < c->y0) c->y0 = (uint16_t)y;
            if (y > c->y1) c->y1 = (uint16_t)y;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= gw || ny >= gh)
                        continue;
                    int k = ny * gw + nx;
                    if (wk->cell_sum[k] && !wk->label[k]) {
                        wk->label[k] = (uint16_t)n;
                        wk->stack[top++] = (uint16_t)(ny << 8 | nx);
                    }
                }
        }
    }
    return n;
}

/* Marks the pieces to keep, erases the others from the ink map and
 * returns the pixel rectangle holding all kept ink. */
static void select_components(nz_work *wk, int n, int *px0, int *py0, int *px1, int *py1)
{
    int big = 0;
    for (int i = 1; i < n; i++)
        if (wk->comp[i].mass > wk->comp[big].mass)
            big = i;
    const nz_comp *b = &wk->comp[big];
    float m = b->mass;
    int cx0 = b->x0 - 1, cy0 = b->y0 - 1, cx1 = b->x1 + 1, cy1 = b->y1 + 1;
    int gx0 = wk->gw, gy0 = wk->gh, gx1 = -1, gy1 = -1;
    for (int i = 0; i < n; i++) {
        nz_comp *c = &wk->comp[i];
        int near = c->x1 >= cx0 && c->x0 <= cx1 && c->y1 >= cy0 && c->y0 <= cy1;
        c->keep = c->mass >= KEEP_FRAC * m || (near && c->mass >= NEAR_FRAC * m);
        if (c->keep) {
            if (c->x0 < gx0) gx0 = c->x0;
            if (c->y0 < gy0) gy0 = c->y0;
            if (c->x1 > gx1) gx1 = c->x1;
            if (c->y1 > gy1) gy1 = c->y1;
        }
    }
    for (int i = 0; i < wk->gw * wk->gh; i++) {
        if (!wk->label[i] || wk->comp[wk->label[i] - 1].keep)
            continue;
        int x0 = (i % wk->gw) * wk->cell, y0 = (i / wk->gw) * wk->cell;
        int x1 = x0 + wk->cell < wk->w ? x0 + wk->cell : wk->w;
        int y1 = y0 + wk->cell < wk->h ? y0 + wk->cell : wk->h;
        for (int y = y0; y < y1; y++)
            memset(wk->ink + (size_t)y * wk->w + x0, 0, (size_t)(x1 - x0));
    }
    *px0 = gx0 * wk->cell;
    *py0 = gy0 * wk->cell;
    *px1 = (gx1 + 1) * wk->cell - 1;
    *py1 = (gy1 + 1) * wk->cell - 1;
    if (*px1 >= wk->w) *px1 = wk->w - 1;
    if (*py1 >= wk->h) *py1 = wk->h - 1;
}

static ink_view grown(const ink_view *v, const ink_stats *st, int g, int *ox, int *oy);

/* Bounding box, mass and peak of the ink inside rectangle (x0,y0)-(x1,y1)
 * of v (the ink outside it is zero). */
static void measure(const ink_view *v, int x0, int y0, int x1, int y1, ink_stats *st)
{
    st->x0 = x1 + 1, st->y0 = y1 + 1, st->x1 = x0 - 1, st->y1 = y0 - 1;
    uint64_t mass = 0;
    int peak = 0;
    for (int y = y0; y <= y1; y++) {
        const uint8_t *row = v->p + (size_t)y * v->stride;
        /* Branch-free sum and maximum (the compiler vectorises them);
         * the ends are found by scanning in from both sides. */
        uint32_t rmass = 0;
        uint8_t rpeak = 0;
        for (int x = x0; x <= x1; x++) {
            rmass += row[x];
            rpeak = row[x] > rpeak ? row[x] : rpeak;
        }
        if (!rmass)
            continue;
        int rx0 = x0, rx1 = x1;
        while (!row[rx0])
            rx0++;
        while (!row[rx1])
            rx1--;
        mass += rmass;
        peak = rpeak > peak ? rpeak : peak;
        if (rx0 < st->x0) st->x0 = rx0;
        if (rx1 > st->x1) st->x1 = rx1;
        if (y < st->y0) st->y0 = y;
        st->y1 = y;
    }
    st->mass = (double)mass / 255.0;
    st->peak = peak;
}

/* Stroke width in pixels of v as 2 * area / perimeter of the pixels at
 * half the peak or more (exact for a long straight stroke). Area and
 * perimeter are counted along every k-th row and column (64 or more of
 * each), which estimates them without bias and keeps a big crop cheap. */
static double stroke_width(const ink_view *v, const ink_stats *st)
{
    int on = (st->peak + 1) / 2;
    int bw = st->x1 - st->x0 + 1, bh = st->y1 - st->y0 + 1, side = bw > bh ? bw : bh;
    int k = side / 64 > 1 ? side / 64 : 1;
    uint64_t area = 0, edges = 0;
    for (int y = st->y0; y <= st->y1; y += k) {
        const uint8_t *row = v->p + (size_t)y * v->stride;
        int left = 0;
        for (int x = st->x0; x <= st->x1; x++) {
            int in = row[x] >= on;
            area += (uint64_t)in;
            edges += (uint64_t)(in != left);
            left = in;
        }
        edges += (uint64_t)left;
    }
    for (int x = st->x0; x <= st->x1; x += k) {
        int up = 0;
        for (int y = st->y0; y <= st->y1; y++) {
            int in = v->p[(size_t)y * v->stride + x] >= on;
            edges += (uint64_t)(in != up);
            up = in;
        }
        edges += (uint64_t)up;
    }
    /* Rows sampled give the area and the vertical edges' share of the
     * perimeter, columns the horizontal; both at the same rate 1/k. */
    return edges ? 2.0 * (double)area / (double)edges : 0.0;
}

/* Reduces the rectangle (x0,y0)-(x1,y1) of v by the whole factor f,
 * averaging f x f blocks (pixels beyond v count as 0) and multiplying by
 * gain (saturating), in place: block (X, Y) is written at (X, Y) of the
 * rectangle, which no later block reads. */
static ink_view reduce(const ink_view *v, int x0, int y0, int x1, int y1, int f, double gain)
{
    ink_view r;
    r.p = v->p + (size_t)y0 * v->stride + x0;
    r.stride = v->stride;
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    int rw = (bw + f - 1) / f, rh = (bh + f - 1) / f;
    int avail_w = v->w - x0, avail_h = v->h - y0;
    uint32_t area = (uint32_t)f * (uint32_t)f;
    /* s / area * gain in 16.16 fixed point. */
    uint64_t mul = (uint64_t)(gain * 65536.0 / area + 0.5);
    for (int y = 0; y < rh; y++) {
        int ys = y * f, ye = ys + f < avail_h ? ys + f : avail_h;
        for (int x = 0; x < rw; x++) {
            int xs = x * f, xe = xs + f < avail_w ? xs + f : avail_w;
            uint32_t s = 0;
            for (int yy = ys; yy < ye; yy++) {
                const uint8_t *row = r.p + (size_t)yy * r.stride;
                for (int xx = xs; xx < xe; xx++)
                    s += row[xx];
            }
            uint64_t q = ((uint64_t)s * mul + 32768) >> 16;
            r.p[(size_t)y * r.stride + x] = (uint8_t)(q > 255 ? 255 : q);
        }
    }
    /* Zero the rest of the crop so the reduced image has zero ink around. */
    for (int y = 0; y < bh && y < avail_h; y++) {
        uint8_t *row = r.p + (size_t)y * r.stride;
        int from = y < rh ? rw : 0, to = bw < avail_w ? bw : avail_w;
        if (to > from)
            memset(row + from, 0, (size_t)(to - from));
    }
    r.w = rw, r.h = rh;
    return r;
}

/* ---- stroke width: dilation and erosion ----------------------------- */

/* Square dilation (is_max) or erosion of radius r over a view, the ink
 * outside it counting as 0, in place and without extra memory: along
 * each axis, F(i) = op of [i, i+r] is built by doubling windows
 * (ascending, so each step reads samples not yet overwritten), then
 * out(i) = op(F(i-r), F(i)) covers [i-r, i+r] (descending). About
 * log2(r) + 2 passes. */
static inline uint8_t op8(uint8_t a, uint8_t b, int is_max)
{
    return is_max ? (a > b ? a : b) : (a < b ? a : b);
}

/* dst[i] = op(dst[i], src[i]) over a row, or = 0 for a min with the zero
 * beyond the view (src NULL). */
static void row_op(uint8_t *dst, const uint8_t *src, int len, int is_max)
{
    if (!src) {
        if (!is_max)
            memset(dst, 0, (size_t)len);
        return;
    }
    if (is_max) {
        for (int i = 0; i < len; i++)
            dst[i] = dst[i] > src[i] ? dst[i] : src[i];
    } else {
        for (int i = 0; i < len; i++)
            dst[i] = dst[i] < src[i] ? dst[i] : src[i];
    }
}

static void morph_vertical(const ink_view *v, int r, int is_max)
{
#define ROW(i) (v->p + (size_t)(i) * v->stride)
    int n = v->h, span = 1;
    for (; 2 * span <= r + 1; span *= 2)
        for (int i = 0; i < n; i++)
            row_op(ROW(i), i + span < n ? ROW(i + span) : NULL, v->w, is_max);
    int d = r + 1 - span;
    if (d > 0)
        for (int i = 0; i < n; i++)
            row_op(ROW(i), i + d < n ? ROW(i + d) : NULL, v->w, is_max);
    for (int i = n - 1; i >= 0; i--)
        row_op(ROW(i), i - r >= 0 ? ROW(i - r) : NULL, v->w, is_max);
#undef ROW
}

static void morph_horizontal(const ink_view *v, int r, int is_max)
{
    int n = v->w;
    uint8_t zero = 0;
    for (int y = 0; y < v->h; y++) {
        uint8_t *a = v->p + (size_t)y * v->stride;
        int span = 1;
        for (; 2 * span <= r + 1; span *= 2)
            for (int i = 0; i < n; i++)
                a[i] = op8(a[i], i + span < n ? a[i + span] : zero, is_max);
        int d = r + 1 - span;
        if (d > 0)
            for (int i = 0; i < n; i++)
                a[i] = op8(a[i], i + d < n ? a[i + d] : zero, is_max);
        for (int i = n - 1; i >= 0; i--)
            a[i] = op8(a[i], i - r >= 0 ? a[i - r] : zero, is_max);
    }
}

/* The sub-view of v holding the crop st grown by g pixels (clamped). */
static ink_view grown(const ink_view *v, const ink_stats *st, int g, int *ox, int *oy)
{
    int x0 = st->x0 - g < 0 ? 0 : st->x0 - g, y0 = st->y0 - g < 0 ? 0 : st->y0 - g;
    int x1 = st->x1 + g >= v->w ? v->w - 1 : st->x1 + g;
    int y1 = st->y1 + g >= v->h ? v->h - 1 : st->y1 + g;
    ink_view s = {v->p + (size_t)y0 * v->stride + x0, x1 - x0 + 1, y1 - y0 + 1, v->stride};
    *ox = x0, *oy = y0;
    return s;
}

static void morph(const ink_view *v, const ink_stats *st, int r, int is_max, ink_stats *out)
{
    int ox, oy;
    ink_view s = grown(v, st, is_max ? r : 0, &ox, &oy);
    morph_vertical(&s, r, is_max);
    morph_horizontal(&s, r, is_max);
    measure(v, ox, oy, ox + s.w - 1, oy + s.h - 1, out);
}

/* Brings a hair-thin or blob-thick stroke back into MNIST's range. The
 * result width of a stroke of width W in a box of side B is 20 W / B; a
 * dilation by r makes it 20 (W + 2r) / (B + 2r), which solves for r. */
static void even_strokes(const ink_view *v, ink_stats *st, double width)
{
    int bw = st->x1 - st->x0 + 1, bh = st->y1 - st->y0 + 1;
    double side = bw > bh ? bw : bh, s = 20.0 / side;
    if (width <= 0 || s > 0.5)
        return;
    double wt = width * s;
    if (wt < THIN_BELOW) {
        int r = (int)lround((THIN_TARGET * side - 20.0 * width) / (40.0 - 2.0 * THIN_TARGET));
        int lim = v->w > v->h ? v->w : v->h;
        r = r > lim ? lim : r;
        if (r >= 1)
            morph(v, st, r, 1, st);
    } else if (wt > THICK_ABOVE) {
        int r = (int)lround((20.0 * width - THICK_TARGET * side) / (40.0 - 2.0 * THICK_TARGET));
        if (r < 1)
            return;
        /* Erosion must thin the digit, not dissolve it: the width is an
         * estimate, so stop at a quarter of the ink. */
        ink_stats e;
        morph(v, st, r, 0, &e);
        if (e.x1 >= e.x0 && e.mass >= 0.25 * st->mass)
            *st = e;
        else
            morph(v, st, r, 1, st);
    }
}

/* ---- resampling ------------------------------------------------------ */

/* Downscaling (s <= 1) by exact area averaging: source pixel i covers
 * [o + i s, o + (i+1) s) of the result, which straddles at most two result
 * pixels. idx/wa/wb: per source column, the first result column and the
 * two shares. */
static void weights_down(int n, double o, double s, uint8_t *idx, float *wa, float *wb)
{
    for (int i = 0; i < n; i++) {
        double t0 = o + i * s, t1 = t0 + s;
        int j = (int)floor(t0);
        if (j < 0) j = 0;
        if (j > MN_SIDE - 1) j = MN_SIDE - 1;
        double split = j + 1.0;
        idx[i] = (uint8_t)j;
        if (t1 <= split) {
            wa[i] = (float)s, wb[i] = 0.0f;
        } else {
            wa[i] = (float)(split - t0), wb[i] = (float)(t1 - split);
        }
    }
}

static void resample_down(const ink_view *v, const ink_stats *st, uint8_t *line, double s,
                          double ox, double oy, float acc[MN_SIDE + 1][MN_SIDE + 1])
{
    int bw = st->x1 - st->x0 + 1, bh = st->y1 - st->y0 + 1;
    uint8_t *idx = line;
    float *wa = (float *)(line + ((bw + 15) & ~15));
    float *wb = wa + bw;
    weights_down(bw, ox, s, idx, wa, wb);
    for (int y = 0; y < bh; y++) {
        const uint8_t *row = v->p + (size_t)(st->y0 + y) * v->stride + st->x0;
        float tmp[MN_SIDE + 2] = {0};
        /* Neighbouring source pixels mostly land in the same result
         * pixel: sum in registers, store when the result pixel changes. */
        int cj = idx[0];
        float sa = 0, sb = 0;
        for (int x = 0; x < bw; x++) {
            if (idx[x] != cj) {
                tmp[cj] += sa, tmp[cj + 1] += sb;
                cj = idx[x], sa = 0, sb = 0;
            }
            sa += wa[x] * row[x];
            sb += wb[x] * row[x];
        }
        tmp[cj] += sa, tmp[cj + 1] += sb;
        uint8_t j;
        float a, b;
        weights_down(1, oy + y * s, s, &j, &a, &b);
        for (int i = 0; i <= MN_SIDE; i++) {
            acc[j][i] += a * tmp[i];
            acc[j + 1][i] += b * tmp[i];
        }
    }
}

/* Bilinear sample of the ink at continuous point (u, v) of the view,
 * pixel centres at +0.5, 0 outside it. */
static float bilinear(const ink_view *v, double u, double w)
{
    u -= 0.5, w -= 0.5;
    int x = (int)floor(u), y = (int)floor(w);
    float fx = (float)(u - x), fy = (float)(w - y), s = 0;
    for (int dy = 0; dy <= 1; dy++)
        for (int dx = 0; dx <= 1; dx++) {
            int xx = x + dx, yy = y + dy;
            if (xx < 0 || yy < 0 || xx >= v->w || yy >= v->h)
                continue;
            float wgt = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
            s += wgt * v->p[(size_t)yy * v->stride + xx];
        }
    return s;
}

/* Upscaling (s > 1), for tiny images: the ink as a bilinear surface,
 * averaged over each result pixel from 4x4 samples, clipped to the box
 * so the result still fits 20x20. */
static void resample_up(const ink_view *v, const ink_stats *st, double s, double ox, double oy,
                        float acc[MN_SIDE + 1][MN_SIDE + 1])
{
    int bw = st->x1 - st->x0 + 1, bh = st->y1 - st->y0 + 1;
    double ex = ox + bw * s, ey = oy + bh * s;
    for (int j = (int)floor(oy); j < MN_SIDE && j < ey; j++)
        for (int i = (int)floor(ox); i < MN_SIDE && i < ex; i++) {
            float sum = 0;
            for (int a = 0; a < 4; a++) {
                double ty = j + (a + 0.5) / 4;
                if (ty < oy || ty >= ey)
                    continue;
                for (int b = 0; b < 4; b++) {
                    double tx = i + (b + 0.5) / 4;
                    if (tx < ox || tx >= ex)
                        continue;
                    sum += bilinear(v, st->x0 + (tx - ox) / s, st->y0 + (ty - oy) / s);
                }
            }
            acc[j][i] = sum / 16.0f;
        }
}

mn_status nz_geometry(nz_work *wk, uint8_t out[MN_PIXELS], mn_error *err)
{
    int n = label_components(wk);
    if (n == 0)
        return mn_error_set(err, MN_ERR_NOINK, "no ink found");
    int x0, y0, x1, y1;
    select_components(wk, n, &x0, &y0, &x1, &y1);
    ink_view v = {wk->ink, wk->w, wk->h, (size_t)wk->w};
    ink_stats st;
    measure(&v, x0, y0, x1, y1, &st);
    if (st.x1 < st.x0)
        return mn_error_set(err, MN_ERR_NOINK, "no ink found");
    /* The width is measured at full resolution: a reduced hair-thin
     * stroke is a faint blur whose width cannot be read any more. */
    double width = stroke_width(&v, &st);
    int side0 = st.x1 - st.x0 + 1 > st.y1 - st.y0 + 1 ? st.x1 - st.x0 + 1 : st.y1 - st.y0 + 1;
    int f = side0 / REDUCED_SIDE;
    if (f >= 2) {
        /* Reduce with a margin of zero ink (where the image has room), so
         * a dilation of the reduced strokes is not cut at the crop. */
        int gx, gy;
        ink_view m = grown(&v, &st, REDUCED_MARGIN * f, &gx, &gy);
        /* A stroke narrower than f pixels would come out as a faint
         * line; the gain makes it full ink again, as a pen drawn at the
         * reduced size would be (and dilation can then thicken it). */
        double gain = width > 0 && width < f ? f / width : 1.0;
        v = reduce(&v, gx, gy, gx + m.w - 1, gy + m.h - 1, f, gain > 16 ? 16 : gain);
        measure(&v, 0, 0, v.w - 1, v.h - 1, &st);
        width = width < f ? 1.0 : width / f;
    }
    even_strokes(&v, &st, width);

    /* The longer side of the box becomes exactly 20 pixels, starting on a
     * pixel boundary; the shorter one is centred on a whole-pixel offset,
     * so an image already at MNIST scale is copied without blur. */
    int bw = st.x1 - st.x0 + 1, bh = st.y1 - st.y0 + 1;
    int side = bw > bh ? bw : bh;
    double s = 20.0 / side;
    double ox = 4.0 + (bw == side ? 0.0 : floor((20.0 - bw * s) / 2.0));
    double oy = 4.0 + (bh == side ? 0.0 : floor((20.0 - bh * s) / 2.0));
    float acc[MN_SIDE + 1][MN_SIDE + 1];
    memset(acc, 0, sizeof acc);
    if (s <= 1.0)
        resample_down(&v, &st, wk->line, s, ox, oy, acc);
    else
        resample_up(&v, &st, s, ox, oy, acc);

    /* MNIST strokes reach full intensity; so does the result. */
    float peak = 0;
    for (int j = 0; j < MN_SIDE; j++)
        for (int i = 0; i < MN_SIDE; i++)
            peak = acc[j][i] > peak ? acc[j][i] : peak;
    if (peak <= 0)
        return mn_error_set(err, MN_ERR_NOINK, "no ink found");
    float gain = 255.0f / peak;
    uint8_t q[MN_SIDE][MN_SIDE];
    for (int j = 0; j < MN_SIDE; j++)
        for (int i = 0; i < MN_SIDE; i++) {
            float v = acc[j][i] * gain + 0.5f;
            q[j][i] = (uint8_t)(v >= 255.0f ? 255 : v);
        }

    /* Centre of mass to the centre by a whole-pixel shift, as MNIST did:
     * its digits' centres of mass (row, column indices) average 14.0 with
     * the 0.29 spread of rounding. Taken on the rounded pixels, so that
     * haze too faint to survive rounding cannot pull the digit aside. */
    double m = 0, mx = 0, my = 0;
    int ix0 = MN_SIDE, iy0 = MN_SIDE, ix1 = -1, iy1 = -1;
    for (int j = 0; j < MN_SIDE; j++)
        for (int i = 0; i < MN_SIDE; i++) {
            int v = q[j][i];
            if (!v)
                continue;
            m += v, mx += (double)v * i, my += (double)v * j;
            ix0 = i < ix0 ? i : ix0, ix1 = i > ix1 ? i : ix1;
            iy0 = j < iy0 ? j : iy0, iy1 = j > iy1 ? j : iy1;
        }
    int dx = (int)lround(14.0 - mx / m), dy = (int)lround(14.0 - my / m);
    /* A lopsided crop (most ink at one end) would be pushed partly out of
     * the field; keep all of it in, slightly off-centre, instead. */
    dx = dx < -ix0 ? -ix0 : dx > MN_SIDE - 1 - ix1 ? MN_SIDE - 1 - ix1 : dx;
    dy = dy < -iy0 ? -iy0 : dy > MN_SIDE - 1 - iy1 ? MN_SIDE - 1 - iy1 : dy;
    memset(out, 0, MN_PIXELS);
    for (int j = 0; j < MN_SIDE; j++) {
        int tj = j + dy;
        if (tj < 0 || tj >= MN_SIDE)
            continue;
        for (int i = 0; i < MN_SIDE; i++) {
            int ti = i + dx;
            if (ti >= 0 && ti < MN_SIDE)
                out[tj * MN_SIDE + ti] = q[j][i];
        }
    }
    return MN_OK;
}
