/* test_png_fast.c: the zlib PNG path (server/png_fast.c) gives exactly
 * stb_image's pixels. PNGs are written here with every row filter, the
 * four common colour types, the stream cut into IDAT chunks of any size,
 * every compression level, ancillary chunks and trailing stream data;
 * the kinds left to stb (palette, 16-bit, interlaced, transparency key)
 * must be declined; corrupted files must never decode to other pixels. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "png_fast.h"

#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>

static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (rng_state >> 8) % n;
}

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}

static void chunk(buf *b, const char *type, const uint8_t *d, uint32_t n)
{
    put32(b, n);
    size_t at = b->n;
    put(b, type, 4);
    put(b, d, n);
    put32(b, (uint32_t)crc32(0, b->p + at, (uInt)(n + 4)));
}

static uint8_t paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

typedef struct {
    int depth, type, interlace;
    int level;     /* zlib level */
    int max_idat;  /* largest IDAT chunk (bytes) */
    int text;      /* ancillary chunks before and after the image data */
    int trns;      /* a tRNS chunk */
    int trailing;  /* extra zero bytes inflated after the last row */
} png_opts;

/* A PNG of pix (w x h, ch bytes a pixel, 8-bit) with a random filter per row. */
static buf write_png(const uint8_t *pix, int w, int h, int ch, png_opts o)
{
    buf b = {0};
    put(&b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ih[13] = {0};
    for (int i = 0; i < 4; i++) {
        ih[i] = (uint8_t)((uint32_t)w >> (24 - 8 * i));
        ih[4 + i] = (uint8_t)((uint32_t)h >> (24 - 8 * i));
    }
    ih[8] = (uint8_t)o.depth;
    ih[9] = (uint8_t)o.type;
    ih[12] = (uint8_t)o.interlace;
    chunk(&b, "IHDR", ih, 13);
    if (o.text)
        chunk(&b, "tEXt", (const uint8_t *)"Comment\0test", 12);
    if (o.trns)
        chunk(&b, "tRNS", (const uint8_t *)"\0\0\0\0\0\0", o.type == 0 ? 2 : 6);
    size_t stride = (size_t)w * ch, rawn = (stride + 1) * h + o.trailing;
    uint8_t *raw = calloc(rawn, 1);
    for (int y = 0; y < h; y++) {
        const uint8_t *cur = pix + y * stride, *up = y ? cur - stride : NULL;
        uint8_t *r = raw + y * (stride + 1);
        r[0] = (uint8_t)rnd(5);
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)ch ? cur[i - ch] : 0, u = up ? up[i] : 0;
            int c = up && i >= (size_t)ch ? up[i - ch] : 0;
            int pred = r[0] == 1 ? a : r[0] == 2 ? u : r[0] == 3 ? (a + u) >> 1 : r[0] == 4 ? paeth(a, u, c) : 0;
            r[1 + i] = (uint8_t)(cur[i] - pred);
        }
    }
    uLongf zn = compressBound(rawn);
    uint8_t *z = malloc(zn);
    compress2(z, &zn, raw, rawn, o.level);
    for (size_t at = 0; at < zn;) {
        size_t n = 1 + rnd((uint32_t)o.max_idat);
        if (n > zn - at)
            n = zn - at;
        chunk(&b, "IDAT", z + at, (uint32_t)n);
        at += n;
    }
    if (o.text)
        chunk(&b, "tIME", (const uint8_t *)"\x07\xea\x0c\x04\x0c\x00\x00", 7);
    chunk(&b, "IEND", NULL, 0);
    free(raw);
    free(z);
    return b;
}

/* png_fast_decode into a buffer of the image's size: NULL when declined. */
static uint8_t *fast_decode(const buf *b, int *w, int *h, int *ch)
{
    uint8_t *pix = NULL;
    size_t cap = 0;
    if (png_fast_decode(b->p, b->n, &pix, &cap, w, h, ch))
        return pix;
    free(pix);
    return NULL;
}

/* The fast path's pixels equal stb's; *declined when it left the file to stb. */
static int same_as_stb(const buf *b, int *declined, int *stb_failed)
{
    int w, h, ch, sw, sh, sc;
    uint8_t *fast = fast_decode(b, &w, &h, &ch);
    uint8_t *ref = stbi_load_from_memory(b->p, (int)b->n, &sw, &sh, &sc, 0);
    *declined = fast == NULL;
    *stb_failed = ref == NULL;
    int same = !fast || (ref && w == sw && h == sh && ch == sc && !memcmp(fast, ref, (size_t)w * h * ch));
    free(fast);
    stbi_image_free(ref);
    return same;
}

static uint8_t *random_image(int w, int h, int ch, int smooth)
{
    uint8_t *pix = malloc((size_t)w * h * ch);
    for (size_t i = 0; i < (size_t)w * h * ch; i++)
        /* smooth images make long runs and matches, noise makes literals */
        pix[i] = (uint8_t)(smooth ? ((i / ch) % w * 255 / w + (i % ch) * 60) * (rnd(8) != 0) : rnd(256));
    return pix;
}

int main(void)
{
    static const int types[4] = {0, 4, 2, 6}; /* 1, 2, 3, 4 channels */
    static const int levels[4] = {0, 1, 6, 9};
    int declined, stb_failed;

    /* The common kinds: decoded here, byte for byte stb's. */
    for (int t = 0; t < 400; t++) {
        int ch = 1 + t % 4, w = 1 + (int)rnd(t < 350 ? 40 : 1200), h = 1 + (int)rnd(t < 350 ? 30 : 300);
        png_opts o = {8, types[ch - 1], 0, levels[rnd(4)], 1 + (int)rnd(t % 3 ? 70000 : 7), (int)rnd(2), 0,
                      t % 5 == 0 ? (int)rnd(100) : 0};
        uint8_t *pix = random_image(w, h, ch, t % 2);
        buf b = write_png(pix, w, h, ch, o);
        int same = same_as_stb(&b, &declined, &stb_failed);
        CHECK(same && !declined && !stb_failed, "%dx%d, %d channels, level %d, IDAT <= %d, text %d, trailing %d: %s",
              w, h, ch, o.level, o.max_idat, o.text, o.trailing,
              declined ? "declined" : stb_failed ? "stb failed" : "other pixels");
        if (!declined && !stb_failed) {
            int fw, fh, fc;
            uint8_t *fast = fast_decode(&b, &fw, &fh, &fc);
            CHECK(fast && !memcmp(fast, pix, (size_t)w * h * ch), "%dx%d: not the written pixels", w, h);
            free(fast);
        }
        /* A few corruptions of the same file: never other pixels than stb's. */
        for (int k = 0; k < 6; k++) {
            size_t at = 8 + rnd((uint32_t)(b.n - 8));
            uint8_t keep = b.p[at];
            b.p[at] ^= (uint8_t)(1 + rnd(255));
            CHECK(same_as_stb(&b, &declined, &stb_failed), "corrupt byte %zu of %zu: other pixels", at, b.n);
            CHECK(!stb_failed || declined, "corrupt byte %zu of %zu: decoded where stb fails", at, b.n);
            b.p[at] = keep;
        }
        /* Cut short anywhere: declined (stb decides what that means). */
        size_t cut = 8 + rnd((uint32_t)(b.n - 20));
        size_t full = b.n;
        b.n = cut;
        int dw, dh, dc;
        uint8_t *fast = fast_decode(&b, &dw, &dh, &dc);
        CHECK(fast == NULL, "%zu of %zu bytes: decoded", cut, full);
        free(fast);
        free(b.p);
        free(pix);
    }

    /* The kinds left to stb: declined. */
    struct {
        int depth, type, interlace, trns, ch;
        const char *what;
    } other[] = {
        {8, 0, 1, 0, 1, "interlaced"},
        {16, 0, 0, 0, 2, "16-bit"},
        {8, 2, 0, 1, 3, "RGB with a transparency key"},
        {8, 0, 0, 1, 1, "grey with a transparency key"},
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        int w = 7, h = 5;
        uint8_t *pix = random_image(w, h, other[i].ch, 0);
        png_opts o = {other[i].depth, other[i].type, other[i].interlace, 6, 1000, 0, other[i].trns, 0};
        buf b = write_png(pix, w, h, other[i].ch, o);
        int dw, dh, dc;
        uint8_t *fast = fast_decode(&b, &dw, &dh, &dc);
        CHECK(fast == NULL, "%s: not declined", other[i].what);
        free(fast);
        free(b.p);
        free(pix);
    }
    return check_finish();
}
