/* image_decode.c: the one translation unit that compiles stb_image (only
 * the PNG, JPEG, GIF, BMP and PNM decoders, from memory, with a bounded
 * allocator and a dimension cap), and the checks around it. stb's failure
 * reason is thread-local, so concurrent decodes do not mix messages. */
#include "image_decode.h"
#include "image_check.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes the decoder may hold at once on this thread; set per decode from
 * the image's dimensions. A malformed file that makes stb allocate more
 * fails cleanly with "outofmem" instead of exhausting the process. */
static _Thread_local size_t dec_budget, dec_used;

typedef union {
    size_t n;
    max_align_t align;
} dec_hdr;

static void *dec_malloc(size_t n)
{
    if (n > dec_budget - dec_used || n > SIZE_MAX - sizeof(dec_hdr))
        return NULL;
    /* Zeroed: stb 2.27 reads parts of its decoder state it never wrote
     * (a JPEG scan may name a Huffman table no DHT defined), and must
     * find zeros there, not an earlier request's bytes. */
    dec_hdr *h = calloc(1, sizeof(dec_hdr) + n);
    if (!h)
        return NULL;
    h->n = n;
    dec_used += n;
    return h + 1;
}

static void dec_free(void *p)
{
    if (!p)
        return;
    dec_hdr *h = (dec_hdr *)p - 1;
    dec_used -= h->n;
    free(h);
}

static void *dec_realloc(void *p, size_t n)
{
    if (!p)
        return dec_malloc(n);
    dec_hdr *h = (dec_hdr *)p - 1;
    size_t old = h->n;
    if (n > old && n - old > dec_budget - dec_used)
        return NULL;
    if (n > SIZE_MAX - sizeof(dec_hdr))
        return NULL;
    dec_hdr *nh = realloc(h, sizeof(dec_hdr) + n);
    if (!nh)
        return NULL;
    nh->n = n;
    dec_used = dec_used - old + n;
    return nh + 1;
}

#define STBI_MALLOC(sz) dec_malloc(sz)
#define STBI_REALLOC(p, newsz) dec_realloc(p, newsz)
#define STBI_FREE(p) dec_free(p)
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
/* No side may exceed this, whatever the pixel limit: it keeps stb's
 * internal size arithmetic far from overflow. */
#define STBI_MAX_DIMENSIONS 65536
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#if defined(__GNUC__) && !defined(__clang__)
/* GCC 12 at -O3 misreads stb's format conversion as writing out of bounds. */
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
#include <stb_image.h>
/* -Wunused-function stays off to the end of this file: with
 * STB_IMAGE_STATIC, GCC reports stb's unused static functions there. */
#if defined(__GNUC__)
#pragma GCC diagnostic warning "-Wsign-compare"
#pragma GCC diagnostic warning "-Wimplicit-fallthrough"
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic warning "-Wstringop-overflow"
#endif

/* stb's reason for the last failure on this thread; some paths give none. */
static const char *reason(void)
{
    const char *r = stbi_failure_reason();
    return r && r[0] ? r : "truncated or corrupt data";
}

const char *img_format(const uint8_t *d, size_t n)
{
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "PNG";
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return "JPEG";
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return "GIF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M')
        return "BMP";
    if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6')
        return d[1] == '2' || d[1] == '5' ? "PGM" : d[1] == '3' || d[1] == '6' ? "PPM" : "PBM";
    return NULL;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Dimensions from a PNG, GIF or BMP header, for the message about an image
 * stb refuses outright as too large. 0 when unknown. */
static uint64_t header_dims(const uint8_t *d, size_t n, uint32_t *w, uint32_t *h)
{
    *w = *h = 0;
    if (n >= 24 && d[0] == 0x89 && !memcmp(d + 12, "IHDR", 4)) {
        *w = be32(d + 16);
        *h = be32(d + 20);
    } else if (n >= 10 && d[0] == 'G') {
        *w = (uint32_t)d[6] | (uint32_t)d[7] << 8;
        *h = (uint32_t)d[8] | (uint32_t)d[9] << 8;
    } else if (n >= 26 && d[0] == 'B') {
        int32_t bw = (int32_t)((uint32_t)d[18] | (uint32_t)d[19] << 8 | (uint32_t)d[20] << 16 | (uint32_t)d[21] << 24);
        int32_t bh = (int32_t)((uint32_t)d[22] | (uint32_t)d[23] << 8 | (uint32_t)d[24] << 16 | (uint32_t)d[25] << 24);
        *w = bw < 0 ? 0 : (uint32_t)bw;
        *h = bh == INT32_MIN ? 0 : (uint32_t)(bh < 0 ? -bh : bh);
    }
    return (uint64_t)*w * *h;
}

int img_decode(const uint8_t *data, size_t len, uint64_t max_pixels, img_decoded *out,
               reply_err *e)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return reply_fail(e, 400, "empty_body", "the image is empty (0 bytes)");
    const char *fmt = img_format(data, len);
    if (!fmt)
        return reply_fail(e, 400, "invalid_image",
                          "unrecognised image format (expected PNG, JPEG, GIF, BMP or "
                          "binary PGM/PPM; the data starts with 0x%02x)",
                          data[0]);
    if (data[0] == 'P' && (data[1] == '1' || data[1] == '2' || data[1] == '3' || data[1] == '4'))
        return reply_fail(e, 400, "invalid_image",
                          "%s in plain/bitmap form P%c is not supported: use binary P5 (PGM) or "
                          "P6 (PPM)",
                          fmt, data[1]);
    if (len > INT_MAX)
        return reply_fail(e, 413, "payload_too_large", "image of %zu bytes is too large", len);

    int st = img_check_safe(data, len, fmt, e);
    if (st)
        return st;
    int w = 0, h = 0, comp = 0;
    dec_budget = SIZE_MAX;
    dec_used = 0;
    if (!stbi_info_from_memory(data, (int)len, &w, &h, &comp)) {
        uint32_t hw, hh;
        uint64_t px = header_dims(data, len, &hw, &hh);
        if (hw > STBI_MAX_DIMENSIONS || hh > STBI_MAX_DIMENSIONS || px > max_pixels)
            return reply_fail(e, 413, "payload_too_large",
                              "image is %ux%u = %llu pixels, over the limit of %llu (and no side "
                              "may exceed %d)",
                              hw, hh, (unsigned long long)px, (unsigned long long)max_pixels,
                              STBI_MAX_DIMENSIONS);
        return reply_fail(e, 400, "invalid_image", "could not decode %s: %s", fmt, reason());
    }
    if (fmt[0] == 'B' && h < 0 && h != INT_MIN)
        h = -h; /* stb's info reports a top-down BMP's height as stored */
    if (w <= 0 || h <= 0 || comp < 1 || comp > 4)
        return reply_fail(e, 400, "invalid_image", "could not decode %s: bad header (%dx%d, %d channels)",
                          fmt, w, h, comp);
    uint64_t pixels = (uint64_t)w * (uint64_t)h;
    if (pixels > max_pixels)
        return reply_fail(e, 413, "payload_too_large",
                          "image is %dx%d = %llu pixels, over the limit of %llu", w, h,
                          (unsigned long long)pixels, (unsigned long long)max_pixels);

    st = img_check_complete(data, len, fmt, e);
    if (st)
        return st;

    /* The largest legitimate need (GIF: three RGBA frames; progressive
     * JPEG: coefficients) stays well under 24 bytes a pixel, plus slack
     * for tables and PNG's compressed stream. */
    dec_budget = (size_t)pixels * 24 + 2 * len + (16u << 20);
    dec_used = 0;
    int dw = 0, dh = 0, dc = 0;
    uint8_t *pix = stbi_load_from_memory(data, (int)len, &dw, &dh, &dc, 0);
    if (!pix)
        return reply_fail(e, 400, "invalid_image", "could not decode %s: %s", fmt, reason());
    if (dw != w || dh != h || dc < 1 || dc > 4) {
        stbi_image_free(pix);
        return reply_fail(e, 400, "invalid_image",
                          "could not decode %s: header says %dx%d, data gave %dx%d", fmt, w, h,
                          dw, dh);
    }
    out->pix = pix;
    out->w = dw;
    out->h = dh;
    out->channels = dc;
    out->format = fmt;
    return 0;
}

void img_free(img_decoded *img)
{
    if (img->pix)
        stbi_image_free(img->pix);
    img->pix = NULL;
}
