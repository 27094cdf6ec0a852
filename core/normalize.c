/* normalize.c: the public entry points of the MNIST-style normalisation:
 * argument checks, the one scratch allocation, and the order of the steps
 * (normalize_ink.c: pixels to ink; normalize_geom.c: crop, fit, centre).
 * No decoding and no I/O. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize_internal.h"

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static void grid_shape(int w, int h, int *cell, int *gw, int *gh)
{
    int side = w > h ? w : h;
    int c = (side + NZ_GRID - 1) / NZ_GRID;
    *cell = c;
    *gw = (w + c - 1) / c;
    *gh = (h + c - 1) / c;
}

size_t nz_work_bytes(int w, int h)
{
    int cell, gw, gh;
    grid_shape(w, h, &cell, &gw, &gh);
    size_t cells = (size_t)gw * gh, side = (size_t)(w > h ? w : h);
    return align16(cells * sizeof(uint32_t)) + align16(cells * 4) + align16(cells * sizeof(nz_comp)) +
           align16(cells * sizeof(uint16_t)) * 2 + align16(9 * side + 32) +
           align16((size_t)w * (size_t)h);
}

size_t nz_work_bytes_upto(int w, int h)
{
    /* The grid has at most NZ_GRID x NZ_GRID cells whatever the size. */
    size_t cells = (size_t)NZ_GRID * NZ_GRID, side = (size_t)(w > h ? w : h);
    return align16(cells * sizeof(uint32_t)) + align16(cells * 4) + align16(cells * sizeof(nz_comp)) +
           align16(cells * sizeof(uint16_t)) * 2 + align16(9 * side + 32) +
           align16((size_t)w * (size_t)h);
}

void nz_work_init(nz_work *wk, void *mem, int w, int h)
{
    uint8_t *p = mem;
    wk->w = w, wk->h = h;
    grid_shape(w, h, &wk->cell, &wk->gw, &wk->gh);
    size_t cells = (size_t)wk->gw * wk->gh, side = (size_t)(w > h ? w : h);
    wk->cell_sum = (uint32_t *)p, p += align16(cells * sizeof(uint32_t));
    wk->shade = p, p += align16(cells * 4);
    wk->comp = (nz_comp *)p, p += align16(cells * sizeof(nz_comp));
    wk->label = (uint16_t *)p, p += align16(cells * sizeof(uint16_t));
    wk->stack = (uint16_t *)p, p += align16(cells * sizeof(uint16_t));
    wk->line = p, wk->line_bytes = align16(9 * side + 32), p += wk->line_bytes;
    wk->ink = p;
}

void nz_grid_sums(nz_work *wk)
{
    memset(wk->cell_sum, 0, (size_t)wk->gw * wk->gh * sizeof *wk->cell_sum);
    for (int y = 0; y < wk->h; y++) {
        const uint8_t *row = wk->ink + (size_t)y * wk->w;
        uint32_t *cells = wk->cell_sum + (size_t)(y / wk->cell) * wk->gw;
        for (int x0 = 0, cx = 0; x0 < wk->w; x0 += wk->cell, cx++) {
            int x1 = x0 + wk->cell < wk->w ? x0 + wk->cell : wk->w;
            uint32_t s = 0;
            for (int x = x0; x < x1; x++)
                s += row[x];
            cells[cx] += s;
        }
    }
}

mn_status nz_check_dims(const void *pix, int w, int h, int channels, mn_error *err)
{
    if (!pix)
        return mn_error_set(err, MN_ERR_ARG, "normalize: no pixels");
    if (w < 1 || h < 1)
        return mn_error_set(err, MN_ERR_ARG, "normalize: image is %dx%d, needs at least 1x1", w, h);
    if (w > NZ_MAX_SIDE || h > NZ_MAX_SIDE)
        return mn_error_set(err, MN_ERR_ARG, "normalize: image is %dx%d, at most %d a side", w, h,
                            NZ_MAX_SIDE);
    if (channels < 1 || channels > 4)
        return mn_error_set(err, MN_ERR_ARG, "normalize: %d channels, expected 1 to 4", channels);
    /* w, h <= 65535, so w*h*4 < 2^34: check against a 32-bit size_t. */
    if ((size_t)w > SIZE_MAX / 8 / (size_t)h / (size_t)channels)
        return mn_error_set(err, MN_ERR_ARG, "normalize: image of %dx%dx%d is too large", w, h,
                            channels);
    return MN_OK;
}

/* Scratch: w*h bytes of ink map, O(w + h) bytes of line buffers and a
 * grid of at most 64x64 cells (under 100 KiB), in one allocation. */
mn_status mn_normalize_image(const uint8_t *pix, int w, int h, int channels,
                             uint8_t out[MN_PIXELS], mn_error *err)
{
    mn_status st = nz_check_dims(pix, w, h, channels, err);
    if (st != MN_OK)
        return st;
    if (!out)
        return mn_error_set(err, MN_ERR_ARG, "normalize: no output buffer");
    size_t bytes = nz_work_bytes(w, h);
    void *mem = malloc(bytes);
    if (!mem)
        return mn_error_set(err, MN_ERR_NOMEM, "normalize: cannot allocate %zu bytes for a %dx%d image",
                            bytes, w, h);
    nz_work wk;
    nz_work_init(&wk, mem, w, h);
    st = nz_ink_from_pixels(pix, channels, &wk, err);
    if (st == MN_OK)
        st = nz_geometry(&wk, out, err);
    free(mem);
    return st;
}

mn_status mn_normalize_mnist(const uint8_t in[MN_PIXELS], uint8_t out[MN_PIXELS], mn_error *err)
{
    if (!in || !out)
        return mn_error_set(err, MN_ERR_ARG, "normalize: no pixels");
    /* 28x28 needs about 20 KiB: on the stack, nothing to fail. */
    _Alignas(16) uint8_t mem[24576];
    assert(nz_work_bytes(MN_SIDE, MN_SIDE) <= sizeof mem);
    nz_work wk;
    nz_work_init(&wk, mem, MN_SIDE, MN_SIDE);
    memcpy(wk.ink, in, MN_PIXELS);
    nz_grid_sums(&wk);
    return nz_geometry(&wk, out, err);
}

mn_status mn_image_to_mnist_plain(const uint8_t *pix, int w, int h, int channels,
                                  uint8_t out[MN_PIXELS], mn_error *err)
{
    mn_status st = nz_check_dims(pix, w, h, channels, err);
    if (st != MN_OK)
        return st;
    if (w != MN_SIDE || h != MN_SIDE)
        return mn_error_set(err, MN_ERR_ARG,
                            "preprocess=none needs a 28x28 image, got %dx%d", w, h);
    if (!out)
        return mn_error_set(err, MN_ERR_ARG, "normalize: no output buffer");
    nz_plain_from_pixels(pix, w, h, channels, out);
    return MN_OK;
}

void mn_pixels_to_input(const uint8_t px[MN_PIXELS], float in[MN_PIXELS])
{
    for (int i = 0; i < MN_PIXELS; i++)
        in[i] = px[i] / 255.0f;
}
