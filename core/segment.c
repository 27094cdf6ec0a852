/* segment.c: the digits of a number written on one line. One ink map for
 * the whole image (normalize_ink.c), its 8-connected pieces found on runs
 * of ink, pieces grouped into digits, and each digit's ink alone put
 * through the geometry of normalize_geom.c. Owns one scratch block per
 * call; no I/O, nothing global. Touching digits are not split. */
#include <stdlib.h>
#include <string.h>

#include "mnist/segment.h"
#include "normalize_internal.h"

/* Runs of ink kept at most (32 bytes each): a number needs a few runs a
 * row per digit; an image needing more is noise, and answers MN_ERR_LIMIT
 * instead of taking memory and time. */
#define SEG_MAX_RUNS (1u << 18)
/* Pieces of ink heavy enough to be part of a digit, at most. */
#define SEG_MAX_PARTS 4096

/* Pieces lighter than DUST_FRAC of the heaviest are dropped at once;
 * below MINOR_FRAC they join a digit only when they lie within
 * NEAR_H line heights of its box (a broken stroke), else they are specks.
 * Measured on synthetic lines of MNIST digits (tests/test_segment.c). */
#define DUST_FRAC 0.005
#define MINOR_FRAC 0.05
#define NEAR_H 0.10
/* Two pieces are one digit when their x-extents overlap by at least
 * OVERLAP_FRAC of the narrower one (a 5's bar above its body, a 7's
 * crossbar, a 4 in two strokes, a stroke broken across). */
#define OVERLAP_FRAC 0.5
/* A group lower than FRAG_H line heights is a fragment: it joins the
 * nearest digit when the horizontal gap is at most JOIN_H line heights,
 * stays a part of its own when it weighs at least KEEP_MASS of the median
 * digit, and is dropped otherwise. */
#define FRAG_H 0.45
#define JOIN_H 0.20
#define KEEP_MASS 0.25
/* Zero ink kept around a digit for its geometry: side / MARGIN_DIV +
 * MARGIN_MIN pixels covers what normalize_geom.c reads beyond the ink
 * (the reduction's margin of 8 pixels a factor of side / 112, a
 * dilation of at most side / 20), so a digit comes out as it would on
 * an image of its own. */
#define MARGIN_DIV 12
#define MARGIN_MIN 4

typedef struct {
    uint16_t x0, x1;  /* inclusive */
    uint32_t comp;    /* provisional component */
} seg_run;

typedef struct {
    uint32_t parent;  /* union-find */
    int32_t part;     /* index in parts, -1 when dropped (valid at roots) */
    uint16_t x0, y0, x1, y1;
    uint64_t mass;    /* sum of ink */
} seg_comp;

typedef struct {
    int x0, y0, x1, y1;
    double mass;
    int group;        /* union-find over parts; the root's index names the group */
    int minor;
} seg_part;

typedef struct {
    nz_work wk;        /* the whole image's ink map */
    seg_run *runs;
    uint32_t *row_start; /* [h + 1] first run of each row */
    seg_comp *comps;
    size_t run_cap;
    seg_part *parts;
    int *order;        /* [SEG_MAX_PARTS] */
    uint64_t *keys;    /* [SEG_MAX_PARTS] sort keys */
    void *sub_mem;     /* a digit's own nz_work */
} seg_scratch;

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static uint32_t find(seg_comp *c, uint32_t i)
{
    while (c[i].parent != i) {
        c[i].parent = c[c[i].parent].parent;
        i = c[i].parent;
    }
    return i;
}

static int find_part(seg_part *p, int i)
{
    while (p[i].group != i) {
        p[i].group = p[p[i].group].group;
        i = p[i].group;
    }
    return i;
}

static void join_parts(seg_part *p, int a, int b)
{
    a = find_part(p, a), b = find_part(p, b);
    if (a == b)
        return;
    if (b < a) {
        int t = a;
        a = b, b = t;
    }
    p[b].group = a;
    if (p[b].x0 < p[a].x0) p[a].x0 = p[b].x0;
    if (p[b].y0 < p[a].y0) p[a].y0 = p[b].y0;
    if (p[b].x1 > p[a].x1) p[a].x1 = p[b].x1;
    if (p[b].y1 > p[a].y1) p[a].y1 = p[b].y1;
    p[a].mass += p[b].mass;
}

/* Runs of ink row by row, 8-connected to the runs of the row above,
 * labelled with union-find. Returns MN_ERR_LIMIT past run_cap. */
static mn_status label_runs(seg_scratch *s, size_t *n_runs, mn_error *err)
{
    const nz_work *wk = &s->wk;
    size_t n = 0, prev = 0;
    for (int y = 0; y < wk->h; y++) {
        const uint8_t *row = wk->ink + (size_t)y * wk->w;
        size_t start = n, p = prev;
        s->row_start[y] = (uint32_t)start;
        for (int x = 0; x < wk->w;) {
            /* Most of a line is paper: skip it eight bytes at a time. */
            uint64_t eight;
            if (x + 8 <= wk->w && (memcpy(&eight, row + x, 8), eight == 0)) {
                x += 8;
                continue;
            }
            if (!row[x]) {
                x++;
                continue;
            }
            int x0 = x;
            uint64_t mass = 0;
            while (x < wk->w && row[x])
                mass += row[x++];
            if (n == s->run_cap)
                return mn_error_set(err, MN_ERR_LIMIT,
                                    "the ink is in more than %zu runs: noise, not a number",
                                    s->run_cap);
            seg_run *r = &s->runs[n];
            r->x0 = (uint16_t)x0, r->x1 = (uint16_t)(x - 1), r->comp = (uint32_t)n;
            seg_comp *c = &s->comps[n];
            c->parent = (uint32_t)n, c->part = -1, c->mass = mass;
            c->x0 = (uint16_t)x0, c->x1 = (uint16_t)(x - 1), c->y0 = c->y1 = (uint16_t)y;
            /* Runs of the row above touching [x0 - 1, x - 1 + 1]. */
            while (p < start && s->runs[p].x1 + 1 < x0)
                p++;
            for (size_t q = p; q < start && s->runs[q].x0 <= x; q++) {
                uint32_t a = find(s->comps, s->runs[q].comp), b = find(s->comps, r->comp);
                if (a != b)
                    s->comps[a > b ? a : b].parent = a < b ? a : b;
            }
            n++;
        }
        prev = start;
    }
    s->row_start[wk->h] = (uint32_t)n;
    /* Fold every run's statistics into its root (roots have the lowest
     * index of their component, so one ascending pass suffices). */
    for (size_t i = 0; i < n; i++) {
        uint32_t r = find(s->comps, (uint32_t)i);
        s->runs[i].comp = r;
        if (r == i)
            continue;
        seg_comp *a = &s->comps[r], *b = &s->comps[i];
        if (b->x0 < a->x0) a->x0 = b->x0;
        if (b->x1 > a->x1) a->x1 = b->x1;
        if (b->y0 < a->y0) a->y0 = b->y0;
        if (b->y1 > a->y1) a->y1 = b->y1;
        a->mass += b->mass;
    }
    *n_runs = n;
    return MN_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The roots of the non-minor groups, sorted by x0, into order; returns
 * their count. keys: [SEG_MAX_PARTS] scratch. */
static int group_roots(seg_part *p, int np, int *order, uint64_t *keys)
{
    int k = 0;
    for (int i = 0; i < np; i++)
        if (!p[i].minor && find_part(p, i) == i)
            keys[k++] = (uint64_t)p[i].x0 << 32 | (uint32_t)i;
    qsort(keys, (size_t)k, sizeof *keys, cmp_u64);
    for (int i = 0; i < k; i++)
        order[i] = (int)(uint32_t)keys[i];
    return k;
}

/* The median of the n first values of v (sorted in place). */
static uint64_t median_u64(uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return n ? v[n / 2] : 0;
}

/* Horizontal gap between the boxes of a and b, negative when they
 * overlap (minus the overlap's width). */
static int x_gap(const seg_part *a, const seg_part *b)
{
    int lo = a->x0 > b->x0 ? a->x0 : b->x0, hi = a->x1 < b->x1 ? a->x1 : b->x1;
    return lo - hi - 1;
}

/* Groups the parts into digits (see the constants above); returns the
 * digits' count, their roots left to right in order. keys: scratch of
 * SEG_MAX_PARTS. */
static int group_parts(seg_part *p, int np, int *order, uint64_t *keys)
{
    double heaviest = 0;
    for (int i = 0; i < np; i++)
        heaviest = p[i].mass > heaviest ? p[i].mass : heaviest;
    for (int i = 0; i < np; i++) {
        p[i].group = i;
        p[i].minor = p[i].mass < MINOR_FRAC * heaviest;
    }
    /* 1. Pieces whose x-extents overlap enough, in sweeps until none
     * joins (a joined group is wider and may reach the next piece). */
    for (int sweep = 0, changed = 1; changed && sweep < 16; sweep++) {
        changed = 0;
        int k = group_roots(p, np, order, keys);
        for (int i = 0; i < k; i++) {
            int a = find_part(p, order[i]);
            for (int j = i + 1; j < k && p[order[j]].x0 <= p[a].x1; j++) {
                int b = find_part(p, order[j]);
                int wa = p[a].x1 - p[a].x0 + 1, wb = p[b].x1 - p[b].x0 + 1;
                if (a != b && -x_gap(&p[a], &p[b]) >= OVERLAP_FRAC * (wa < wb ? wa : wb)) {
                    join_parts(p, a, b);
                    a = find_part(p, a);
                    changed = 1;
                }
            }
        }
    }
    /* 2. The line's digit height: the median height of the groups at
     * least half as high as the highest. */
    int k = group_roots(p, np, order, keys);
    if (k == 0)
        return 0;
    int nh = 0, top = 0;
    for (int i = 0; i < k; i++) {
        int hh = p[order[i]].y1 - p[order[i]].y0 + 1;
        top = hh > top ? hh : top;
    }
    for (int i = 0; i < k; i++) {
        int hh = p[order[i]].y1 - p[order[i]].y0 + 1;
        if (2 * hh >= top)
            keys[nh++] = (uint64_t)hh;
    }
    double line_h = (double)median_u64(keys, nh);
    int nm = 0;
    for (int i = 0; i < k; i++)
        if (p[order[i]].y1 - p[order[i]].y0 + 1 >= FRAG_H * line_h)
            keys[nm++] = (uint64_t)p[order[i]].mass; /* a sum of bytes: exact */
    double median_mass = (double)median_u64(keys, nm);

    /* 3. Fragments join the nearest digit, stand alone or go. */
    for (int i = 0; i < k; i++) {
        seg_part *f = &p[order[i]];
        if (f->y1 - f->y0 + 1 >= FRAG_H * line_h)
            continue;
        int best = -1, best_gap = 0;
        for (int j = 0; j < k; j++) {
            const seg_part *d = &p[order[j]];
            if (j == i || d->y1 - d->y0 + 1 < FRAG_H * line_h)
                continue;
            int g = x_gap(f, d);
            if (best < 0 || g < best_gap)
                best = order[j], best_gap = g;
        }
        if (best >= 0 && best_gap <= JOIN_H * line_h)
            join_parts(p, best, order[i]);
        else if (f->mass < KEEP_MASS * median_mass)
            f->minor = 1; /* dropped below unless near a digit */
    }
    /* 4. Minor pieces join a digit whose box, grown by NEAR_H line
     * heights, they touch; the others are specks. */
    k = group_roots(p, np, order, keys);
    int near = (int)(NEAR_H * line_h + 0.5);
    for (int i = 0; i < np; i++) {
        if (!p[i].minor || find_part(p, i) != i)
            continue;
        int best = -1;
        long best_d = 0;
        for (int j = 0; j < k; j++) {
            const seg_part *d = &p[order[j]];
            int gx = x_gap(&p[i], d);
            int gy = (p[i].y0 > d->y0 ? p[i].y0 : d->y0) - (p[i].y1 < d->y1 ? p[i].y1 : d->y1) - 1;
            if (gx > near || gy > near)
                continue;
            long dd = (long)(gx > 0 ? gx : 0) + (gy > 0 ? gy : 0);
            if (best < 0 || dd < best_d)
                best = order[j], best_d = dd;
        }
        if (best >= 0) {
            int was_minor = p[best].minor;
            join_parts(p, best, i);
            p[find_part(p, best)].minor = was_minor;
        }
    }
    return group_roots(p, np, order, keys);
}

/* Normalises the ink of group g alone (box in pixels) into out, with the
 * geometry of mn_normalize_image. */
static mn_status normalize_group(seg_scratch *s, seg_part *p, int g, uint8_t out[MN_PIXELS],
                                 mn_error *err)
{
    const nz_work *wk = &s->wk;
    const seg_part *b = &p[g];
    int bw = b->x1 - b->x0 + 1, bh = b->y1 - b->y0 + 1, side = bw > bh ? bw : bh;
    int m = side / MARGIN_DIV + MARGIN_MIN;
    int x0 = b->x0 - m < 0 ? 0 : b->x0 - m, y0 = b->y0 - m < 0 ? 0 : b->y0 - m;
    int x1 = b->x1 + m >= wk->w ? wk->w - 1 : b->x1 + m;
    int y1 = b->y1 + m >= wk->h ? wk->h - 1 : b->y1 + m;
    nz_work sub;
    nz_work_init(&sub, s->sub_mem, x1 - x0 + 1, y1 - y0 + 1);
    memset(sub.ink, 0, (size_t)sub.w * sub.h);
    for (int y = b->y0; y <= b->y1; y++) {
        const uint8_t *src = wk->ink + (size_t)y * wk->w;
        uint8_t *dst = sub.ink + (size_t)(y - y0) * sub.w - x0;
        for (uint32_t r = s->row_start[y]; r < s->row_start[y + 1]; r++) {
            const seg_run *run = &s->runs[r];
            if (run->x1 < b->x0)
                continue;
            if (run->x0 > b->x1)
                break;
            int part = s->comps[run->comp].part;
            if (part >= 0 && find_part(p, part) == g)
                memcpy(dst + run->x0, src + run->x0, (size_t)(run->x1 - run->x0 + 1));
        }
    }
    nz_grid_sums(&sub);
    return nz_geometry(&sub, out, err);
}

/* mn_segment_image, and with whole non-NULL also mn_normalize_image's
 * output from the same ink map: the geometry of the whole image runs
 * last, since it rewrites the map. With whole, a failure of the grouping
 * (too many pieces) leaves *count 0 and still normalises the image. */
static mn_status segment(const uint8_t *pix, int w, int h, int channels, int max_digits,
                         mn_box *boxes, uint8_t (*pixels)[MN_PIXELS], int *count,
                         uint8_t *whole, mn_error *err)
{
    if (count)
        *count = 0;
    mn_status st = nz_check_dims(pix, w, h, channels, err);
    if (st != MN_OK)
        return st;
    if (!count || max_digits < 1)
        return mn_error_set(err, MN_ERR_ARG, "segment: no count, or max_digits %d < 1", max_digits);

    /* One block: the ink map, runs and components, parts, and a digit's
     * own scratch. A run covers at least one pixel and is followed by a
     * gap, so a row of w pixels has at most (w + 1) / 2 runs. */
    size_t run_cap = (size_t)h * (size_t)((w + 1) / 2);
    run_cap = run_cap < SEG_MAX_RUNS ? run_cap : SEG_MAX_RUNS;
    size_t b_wk = align16(nz_work_bytes(w, h)), b_runs = align16(run_cap * sizeof(seg_run));
    size_t b_rows = align16(((size_t)h + 1) * sizeof(uint32_t));
    size_t b_comps = align16(run_cap * sizeof(seg_comp));
    size_t b_parts = align16(SEG_MAX_PARTS * sizeof(seg_part));
    size_t b_order = align16(SEG_MAX_PARTS * sizeof(int));
    size_t b_keys = align16(SEG_MAX_PARTS * sizeof(uint64_t));
    size_t b_sub = pixels ? nz_work_bytes_upto(w, h) : 0;
    uint8_t *mem = malloc(b_wk + b_runs + b_rows + b_comps + b_parts + b_order + b_keys + b_sub);
    if (!mem)
        return mn_error_set(err, MN_ERR_NOMEM, "segment: cannot allocate scratch for a %dx%d image",
                            w, h);
    seg_scratch s;
    uint8_t *q = mem;
    nz_work_init(&s.wk, q, w, h), q += b_wk;
    s.runs = (seg_run *)q, q += b_runs;
    s.row_start = (uint32_t *)q, q += b_rows;
    s.comps = (seg_comp *)q, q += b_comps;
    s.parts = (seg_part *)q, q += b_parts;
    s.order = (int *)q, q += b_order;
    s.keys = (uint64_t *)q, q += b_keys;
    s.sub_mem = q;
    s.run_cap = run_cap;

    size_t n_runs = 0;
    st = nz_ink_from_pixels(pix, channels, &s.wk, err);
    int inked = st == MN_OK;
    if (st == MN_OK)
        st = label_runs(&s, &n_runs, err);
    if (st != MN_OK)
        goto done;

    /* Components to parts, dust dropped. */
    uint64_t heaviest = 0;
    for (size_t i = 0; i < n_runs; i++)
        if (s.comps[i].parent == i && s.comps[i].mass > heaviest)
            heaviest = s.comps[i].mass;
    int np = 0;
    for (size_t i = 0; i < n_runs; i++) {
        seg_comp *c = &s.comps[i];
        if (c->parent != i || (double)c->mass < DUST_FRAC * (double)heaviest)
            continue;
        if (np == SEG_MAX_PARTS) {
            st = mn_error_set(err, MN_ERR_LIMIT,
                              "the ink is in more than %d pieces: noise, not a number",
                              SEG_MAX_PARTS);
            goto done;
        }
        c->part = np;
        s.parts[np++] = (seg_part){c->x0, c->y0, c->x1, c->y1, (double)c->mass, 0, 0};
    }
    int n = group_parts(s.parts, np, s.order, s.keys);
    *count = n;
    if (n == 0) {
        st = mn_error_set(err, MN_ERR_NOINK, "no ink found");
        goto done;
    }
    int k = n < max_digits ? n : max_digits;
    for (int i = 0; i < k; i++) {
        const seg_part *g = &s.parts[s.order[i]];
        if (boxes)
            boxes[i] = (mn_box){g->x0, g->y0, g->x1 - g->x0 + 1, g->y1 - g->y0 + 1};
    }
    if (n > max_digits) {
        st = mn_error_set(err, MN_ERR_LIMIT, "the image holds %d digits, more than the limit of %d",
                          n, max_digits);
        goto done;
    }
    for (int i = 0; pixels && i < n && st == MN_OK; i++)
        st = normalize_group(&s, s.parts, s.order[i], pixels[i], err);
done:
    if (whole && inked && (st == MN_OK || st == MN_ERR_LIMIT)) {
        if (*count > max_digits)
            *count = max_digits;
        st = nz_geometry(&s.wk, whole, err);
    }
    free(mem);
    return st;
}

mn_status mn_segment_image(const uint8_t *pix, int w, int h, int channels, int max_digits,
                           mn_box *boxes, uint8_t (*pixels)[MN_PIXELS], int *count,
                           mn_error *err)
{
    return segment(pix, w, h, channels, max_digits, boxes, pixels, count, NULL, err);
}

mn_status mn_normalize_image_count(const uint8_t *pix, int w, int h, int channels,
                                   uint8_t out[MN_PIXELS], int *count, mn_error *err)
{
    if (!out)
        return mn_error_set(err, MN_ERR_ARG, "normalize: no output buffer");
    return segment(pix, w, h, channels, 2, NULL, NULL, count, out, err);
}
