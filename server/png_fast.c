/* png_fast.c: the common PNG through zlib (png_fast.h). Each row is
 * inflated into a small buffer that stays in cache and unfiltered
 * straight into the output, so the whole image is written once and the
 * inflated stream is never held. */
#include "png_fast.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The chunks after the signature, walked in order. */
typedef struct {
    const uint8_t *p, *end;
} chunks;

/* The next chunk's type and data; 0 at a chunk that does not fit. */
static int next_chunk(chunks *c, const uint8_t **type, const uint8_t **data, uint32_t *len)
{
    if (c->end - c->p < 12)
        return 0;
    uint32_t n = be32(c->p);
    if (n > (size_t)(c->end - c->p) - 12)
        return 0;
    *len = n;
    *type = c->p + 4;
    *data = c->p + 8;
    c->p += 12 + (size_t)n; /* length, type, data, CRC (stb does not check CRCs either) */
    return 1;
}

/* Feeds z the next IDAT's data when its input is used up; 0 when the
 * file has no more image data or holds a chunk this path leaves to stb. */
static int feed(z_stream *z, chunks *c)
{
    const uint8_t *type, *data;
    uint32_t len;
    while (z->avail_in == 0) {
        if (!next_chunk(c, &type, &data, &len) || !memcmp(type, "IEND", 4))
            return 0;
        if (!memcmp(type, "IDAT", 4)) {
            z->next_in = (Bytef *)data;
            z->avail_in = len;
        } else if (!(type[0] & 0x20)) {
            return 0; /* a critical chunk (PLTE, tRNS's kin, Apple's CgBI): stb's */
        } else if (!memcmp(type, "tRNS", 4)) {
            return 0; /* a transparency key adds an alpha channel in stb */
        }
    }
    return 1;
}

/* After the image data: 1 when the chunks up to IEND are ones stb
 * passes over (more IDAT, ancillary chunks). */
static int rest_of_file(chunks *c)
{
    const uint8_t *type, *data;
    uint32_t len;
    while (next_chunk(c, &type, &data, &len)) {
        if (!memcmp(type, "IEND", 4))
            return 1;
        if (!(type[0] & 0x20) && memcmp(type, "IDAT", 4))
            return 0;
    }
    return 0;
}

/* Consumes the zlib header stb accepts for PNG (deflate, no preset
 * dictionary, check bits right); 0 otherwise. */
static int skip_zlib_header(z_stream *z, chunks *c)
{
    uint8_t hdr[2];
    for (int i = 0; i < 2; i++) {
        if (!feed(z, c))
            return 0;
        hdr[i] = *z->next_in++;
        z->avail_in--;
    }
    return (hdr[0] & 15) == 8 && (hdr[0] >> 4) <= 7 && !(hdr[1] & 32) && (hdr[0] * 256 + hdr[1]) % 31 == 0;
}

/* Inflates exactly n bytes into out; 0 when the stream ends or fails first. */
static int inflate_exactly(z_stream *z, chunks *c, uint8_t *out, size_t n)
{
    z->next_out = out;
    z->avail_out = (uInt)n;
    while (z->avail_out) {
        if (!feed(z, c))
            return 0;
        int r = inflate(z, Z_NO_FLUSH);
        if (r != Z_OK && !(r == Z_STREAM_END && z->avail_out == 0))
            return 0;
    }
    return 1;
}

/* PNG's Paeth predictor, without branches: it runs once per byte of
 * most rows of a canvas's PNG, on a chain through the row. */
static inline uint8_t paeth(int a, int b, int c)
{
    /* Branches, not selects: on a canvas most bytes take the same branch
     * as their neighbour, and a predicted branch keeps the comparison off
     * the chain from one byte to the next. */
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    if (__builtin_expect(pa <= pb && pa <= pc, 1))
        return (uint8_t)a;
    if (pb <= pc)
        return (uint8_t)b;
    return (uint8_t)c;
}

/* One row: raw (filter byte, then stride bytes) against the row above
 * (zeros for the first) into cur, BPP bytes a pixel. A macro so that each
 * pixel size gets its own loops with a constant step. 0 on a bad filter. */
#define UNFILTER_BPP(BPP)                                                                   \
    static int unfilter##BPP(const uint8_t *raw, const uint8_t *up, uint8_t *cur, size_t stride) \
    {                                                                                       \
        const uint8_t *r = raw + 1;                                                         \
        size_t i;                                                                           \
        switch (raw[0]) {                                                                   \
        case 0:                                                                             \
            memcpy(cur, r, stride);                                                         \
            return 1;                                                                       \
        case 1:                                                                             \
            memcpy(cur, r, BPP);                                                            \
            for (i = BPP; i < stride; i++)                                                  \
                cur[i] = (uint8_t)(r[i] + cur[i - BPP]);                                    \
            return 1;                                                                       \
        case 2:                                                                             \
            for (i = 0; i < stride; i++)                                                    \
                cur[i] = (uint8_t)(r[i] + up[i]);                                           \
            return 1;                                                                       \
        case 3:                                                                             \
            for (i = 0; i < BPP; i++)                                                       \
                cur[i] = (uint8_t)(r[i] + (up[i] >> 1));                                    \
            for (; i < stride; i++)                                                         \
                cur[i] = (uint8_t)(r[i] + ((cur[i - BPP] + up[i]) >> 1));                  \
            return 1;                                                                       \
        case 4: /* the first pixel's predictor is paeth(0, up, 0) = up */                 \
            for (i = 0; i < BPP; i++)                                                       \
                cur[i] = (uint8_t)(r[i] + up[i]);                                           \
            for (; i < stride; i++)                                                         \
                cur[i] = (uint8_t)(r[i] + paeth(cur[i - BPP], up[i], up[i - BPP]));        \
            return 1;                                                                       \
        default:                                                                            \
            return 0;                                                                       \
        }                                                                                   \
    }
UNFILTER_BPP(1)
UNFILTER_BPP(2)
UNFILTER_BPP(3)
UNFILTER_BPP(4)

static int unfilter(const uint8_t *raw, const uint8_t *up, uint8_t *cur, size_t stride, int bpp)
{
    switch (bpp) {
    case 1: return unfilter1(raw, up, cur, stride);
    case 2: return unfilter2(raw, up, cur, stride);
    case 3: return unfilter3(raw, up, cur, stride);
    default: return unfilter4(raw, up, cur, stride);
    }
}

int png_fast_decode(const uint8_t *data, size_t len, uint8_t **pix_mem, size_t *cap, int *w, int *h,
                    int *channels)
{
    /* signature, then IHDR: width, height, depth, colour type,
     * compression, filter method, interlace */
    if (len < 33 || memcmp(data + 12, "IHDR", 4) || be32(data + 8) != 13)
        return 0;
    const uint8_t *ih = data + 16;
    uint32_t width = be32(ih), height = be32(ih + 4);
    static const int channels_of[7] = {1, 0, 3, 0, 2, 0, 4};
    int ch = ih[9] <= 6 ? channels_of[ih[9]] : 0;
    if (ih[8] != 8 || !ch || ih[10] || ih[11] || ih[12] || !width || !height ||
        width > (1u << 24) || height > (1u << 24))
        return 0;
    const size_t stride = (size_t)width * (size_t)ch;
    if (stride > SIZE_MAX / height - 1)
        return 0;
    if (*cap < stride * height) {
        uint8_t *grown = realloc(*pix_mem, stride * height);
        if (!grown)
            return 0;
        *pix_mem = grown;
        *cap = stride * height;
    }
    uint8_t *pix = *pix_mem;
    /* the row being inflated (filter byte first), and a row of zeros
     * standing for the row above the first */
    uint8_t *raw = malloc(2 * (stride + 1));
    z_stream z = {0};
    chunks c = {data + 33, data + len};
    /* The zlib header's two bytes are skipped by hand and the stream is
     * inflated raw: stb does not check the Adler-32 at its end, and
     * skipping it saves a pass over the image. */
    int ok = raw && feed(&z, &c) && skip_zlib_header(&z, &c) &&
             inflateInit2(&z, -15) == Z_OK;
    if (ok) {
        uint8_t *zero = raw + stride + 1;
        memset(zero, 0, stride);
        for (uint32_t y = 0; ok && y < height; y++) {
            uint8_t *cur = pix + (size_t)y * stride;
            ok = inflate_exactly(&z, &c, raw, stride + 1) &&
                 unfilter(raw, y ? cur - stride : zero, cur, stride, ch);
        }
        /* stb inflates the whole stream and reads the chunks to IEND:
         * what follows the last row must end the stream cleanly, and
         * the file must end as stb accepts (else stb decides). */
        uint8_t rest[64];
        while (ok) {
            z.next_out = rest;
            z.avail_out = sizeof rest;
            int r = inflate(&z, Z_NO_FLUSH); /* Z_STREAM_END again once ended */
            if (r == Z_STREAM_END)
                break;
            ok = r == Z_OK || (r == Z_BUF_ERROR && feed(&z, &c));
        }
        ok = ok && rest_of_file(&c);
        inflateEnd(&z);
    }
    free(raw);
    if (!ok)
        return 0;
    *w = (int)width;
    *h = (int)height;
    *channels = ch;
    return 1;
}
