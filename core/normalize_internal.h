/* normalize_internal.h (internal): the work area shared by the steps of the
 * MNIST-style normalisation: normalize_ink.c turns decoded pixels into an
 * ink map, normalize_geom.c crops, fits and centres that map into 28x28.
 * Not public API: only normalize*.c and segment.c include it. */
#ifndef MNIST_CORE_NORMALIZE_INTERNAL_H
#define MNIST_CORE_NORMALIZE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/normalize.h"

/* Largest width or height accepted: keeps every size and sum in range
 * (a grid cell holds at most 1024^2 pixels, so a cell's ink sum fits in
 * 32 bits) and is far above any image a user sends. */
#define NZ_MAX_SIDE 65535
/* The coarse grid used to find connected pieces of ink has at most this
 * many cells a side. */
#define NZ_GRID 64

/* One connected piece of ink on the coarse grid. */
typedef struct {
    float mass;                  /* sum of ink over its cells */
    uint16_t x0, y0, x1, y1;     /* its cells' bounding box, inclusive */
    int keep;
} nz_comp;

/* The scratch of one normalisation, carved out of one block of
 * nz_work_bytes(w, h) bytes. */
typedef struct {
    int w, h;
    uint8_t *ink;        /* [h][w] ink map, MNIST convention (0 = none) */
    int cell, gw, gh;    /* grid: cells of cell x cell pixels, gw x gh of them */
    uint32_t *cell_sum;  /* [gh][gw] sum of ink in each cell */
    uint8_t *shade;      /* [gh][gw][4] background colour and luma of each cell */
    uint16_t *label;     /* [gh][gw] component of each cell, 0 = empty */
    uint16_t *stack;     /* [gh*gw] flood-fill stack */
    nz_comp *comp;       /* [gh*gw] components, index label - 1 */
    uint8_t *line;       /* line_bytes: per-column resampling weights */
    size_t line_bytes;
} nz_work;

/* Bytes of scratch for a w x h image (w, h already checked against
 * NZ_MAX_SIDE): w*h for the ink map, plus O(w + h) and a fixed grid. */
size_t nz_work_bytes(int w, int h);
/* Bytes enough for the scratch of any image of at most w x h pixels
 * (a piece cut out of a w x h image). */
size_t nz_work_bytes_upto(int w, int h);
/* Lays out wk inside mem (nz_work_bytes(w, h) bytes, 16-aligned). */
void nz_work_init(nz_work *wk, void *mem, int w, int h);

/* MN_OK when pix, w, h, channels describe an image normalisation takes
 * (1..NZ_MAX_SIDE a side, 1-4 channels), else MN_ERR_ARG. */
mn_status nz_check_dims(const void *pix, int w, int h, int channels, mn_error *err);

/* Fills wk->ink (and wk->cell_sum) from pix: transparency composited,
 * background estimated from the border, polarity decided, noise below a
 * threshold dropped, contrast stretched so the stroke core is 255.
 * Returns MN_ERR_NOINK when nothing stands out from the background. */
mn_status nz_ink_from_pixels(const uint8_t *pix, int channels, nz_work *wk, mn_error *err);

/* The grid sums of an ink map written by someone else (raw pixels). */
void nz_grid_sums(nz_work *wk);

/* ?preprocess=none: out[i] = how far pixel i stands from the background
 * on the ink side, without stretch or threshold (w*h == MN_PIXELS). */
void nz_plain_from_pixels(const uint8_t *pix, int w, int h, int channels,
                          uint8_t out[MN_PIXELS]);

/* Crops wk->ink to its ink (isolated specks dropped), evens out hair-thin
 * or blob-thick strokes, scales the crop to fit 20x20 with area averaging
 * and places it in out centred on its centre of mass. Modifies wk->ink. */
mn_status nz_geometry(nz_work *wk, uint8_t out[MN_PIXELS], mn_error *err);

#endif
