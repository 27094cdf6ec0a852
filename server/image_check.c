/* image_check.c: walks just enough of each format's structure to know how
 * many bytes its image data needs (BMP, PNM) or where it must end (GIF's
 * block chain, JPEG's EOI after the first scan), and refuses the header
 * values that stb_image 2.27 mishandles. Never decodes pixels. */
#include "image_check.h"

#include <string.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int truncated(reply_err *e, const char *fmt, const char *what, unsigned long long need,
                     size_t have)
{
    if (need)
        return reply_fail(e, 400, "invalid_image",
                          "could not decode %s: truncated (%s needs %llu bytes, the image has %zu)",
                          fmt, what, need, have);
    return reply_fail(e, 400, "invalid_image", "could not decode %s: truncated (%s)", fmt, what);
}

static int check_bmp(const uint8_t *d, size_t n, reply_err *e)
{
    if (n < 26)
        return truncated(e, "BMP", "the header", 26, n);
    uint32_t off = le32(d + 10), hsz = le32(d + 14);
    uint64_t w, h, bpp, comp = 0;
    if (hsz == 12) { /* OS/2 BITMAPCOREHEADER */
        w = le16(d + 18);
        h = le16(d + 20);
        bpp = le16(d + 24);
    } else {
        if (n < 34)
            return truncated(e, "BMP", "the header", 34, n);
        int32_t sh = (int32_t)le32(d + 22);
        w = le32(d + 18);
        h = sh < 0 ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
        bpp = le16(d + 28);
        comp = le32(d + 30);
    }
    if (comp == 1 || comp == 2 || comp == 4 || comp == 5)
        return 0; /* compressed: stb refuses these itself */
    uint64_t stride = (w * bpp + 31) / 32 * 4;
    uint64_t need = (uint64_t)off + stride * h;
    if (need > n)
        return truncated(e, "BMP", "its pixel data", need, n);
    return 0;
}

/* Reads an unsigned decimal after whitespace and '#' comments. */
static int pnm_number(const uint8_t *d, size_t n, size_t *i, uint64_t *v, size_t *start)
{
    for (;;) {
        while (*i < n && (d[*i] == ' ' || d[*i] == '\t' || d[*i] == '\n' || d[*i] == '\r' ||
                          d[*i] == '\v' || d[*i] == '\f'))
            (*i)++;
        if (*i < n && d[*i] == '#') {
            while (*i < n && d[*i] != '\n')
                (*i)++;
            continue;
        }
        break;
    }
    *start = *i;
    if (*i >= n || d[*i] < '0' || d[*i] > '9')
        return -1;
    *v = 0;
    while (*i < n && d[*i] >= '0' && d[*i] <= '9') {
        if (*i - *start >= 9) { /* over 9 digits: leave *i on the 10th */
            (*i)++;
            return -1;
        }
        *v = *v * 10 + (uint64_t)(d[*i] - '0');
        (*i)++;
    }
    return 0;
}

static int check_pnm(const uint8_t *d, size_t n, const char *fmt, reply_err *e)
{
    size_t i = 2;
    uint64_t w, h, maxval;
    size_t at;
    if (pnm_number(d, n, &i, &w, &at) || pnm_number(d, n, &i, &h, &at) ||
        pnm_number(d, n, &i, &maxval, &at))
        return truncated(e, fmt, "the header is incomplete", 0, n);
    i++; /* the single whitespace byte before the data */
    uint64_t channels = d[1] == '6' ? 3 : 1;
    uint64_t need = (uint64_t)i + w * h * channels * (maxval > 255 ? 2 : 1);
    if (need > n)
        return truncated(e, fmt, "its pixel data", need, n);
    return 0;
}

/* Skips a chain of GIF data sub-blocks starting at *i; 0 when its
 * terminating empty block is within n. */
static int gif_blocks(const uint8_t *d, size_t n, size_t *i)
{
    while (*i < n) {
        size_t len = d[*i];
        (*i)++;
        if (len == 0)
            return 0;
        *i += len;
    }
    return -1;
}

static int check_gif(const uint8_t *d, size_t n, reply_err *e)
{
    if (n < 13)
        return truncated(e, "GIF", "the header", 13, n);
    size_t i = 13;
    if (d[10] & 0x80)
        i += (size_t)3 << ((d[10] & 7) + 1);
    while (i < n) {
        uint8_t b = d[i++];
        if (b == 0x21) { /* extension: label, then sub-blocks */
            i++;
            if (gif_blocks(d, n, &i))
                break;
        } else if (b == 0x2C) { /* the first image: stb decodes this one */
            if (i + 9 > n)
                break;
            uint8_t flags = d[i + 8];
            i += 9;
            if (flags & 0x80)
                i += (size_t)3 << ((flags & 7) + 1);
            i++; /* LZW minimum code size */
            if (i > n || gif_blocks(d, n, &i))
                break;
            return 0;
        } else {
            return reply_fail(e, 400, "invalid_image",
                              "could not decode GIF: unexpected block 0x%02x before the image", b);
        }
    }
    return truncated(e, "GIF", "the image data ends early", 0, n);
}

static int check_jpeg(const uint8_t *d, size_t n, reply_err *e)
{
    /* Walk the marker segments to the first scan (thumbnails in APP
     * segments come before it), then its data must reach an EOI. */
    size_t i = 2;
    while (i + 1 < n) {
        if (d[i] != 0xFF)
            return reply_fail(e, 400, "invalid_image",
                              "could not decode JPEG: bad marker at byte %zu", i);
        while (i + 1 < n && d[i + 1] == 0xFF)
            i++; /* fill bytes */
        if (i + 1 >= n)
            break;
        uint8_t m = d[i + 1];
        i += 2;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue; /* no length */
        if (m == 0xD9)
            return reply_fail(e, 400, "invalid_image", "could not decode JPEG: no image scan");
        if (i + 2 > n)
            break;
        size_t seg = (size_t)d[i] << 8 | d[i + 1];
        if (seg < 2)
            return reply_fail(e, 400, "invalid_image", "could not decode JPEG: bad segment length");
        i += seg;
        if (m == 0xDA) {
            for (size_t j = i; j + 1 < n; j++)
                if (d[j] == 0xFF && d[j + 1] == 0xD9)
                    return 0;
            break;
        }
    }
    return truncated(e, "JPEG", "no end-of-image marker after the scan data", 0, n);
}

/* stb_image 2.27 sums a DHT table's 16 code counts without checking that
 * they stay within its 256-entry arrays, so a crafted table writes past
 * them. Every DHT segment in the file (progressive JPEGs carry more after
 * the first scan) is checked before stb sees the data. */
static int check_jpeg_tables(const uint8_t *d, size_t n, reply_err *e)
{
    size_t i = 2;
    while (i + 3 < n) {
        if (d[i] != 0xFF) { /* entropy-coded data: skip to the next marker */
            i++;
            continue;
        }
        uint8_t m = d[i + 1];
        if (m == 0x00 || m == 0xFF || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {
            i += m == 0xFF ? 1 : 2; /* stuffed byte, fill, or a marker without length */
            continue;
        }
        size_t seg = (size_t)d[i + 2] << 8 | d[i + 3];
        if (seg < 2)
            return reply_fail(e, 400, "invalid_image", "could not decode JPEG: bad segment length");
        if (m == 0xC4) {
            /* As stb reads it: tables follow one another while the
             * segment has bytes left, a table's own bytes may run past the
             * segment, and bytes past the end of the data read as 0. */
            size_t j = i + 4, end = i + 2 + seg;
            while (j < end && j < n) {
                uint8_t tc = d[j] >> 4, th = d[j] & 15;
                size_t codes = 0;
                for (size_t k = j + 1; k <= j + 16 && k < n; k++)
                    codes += d[k];
                if (tc > 1 || th > 3 || codes > 256)
                    return reply_fail(e, 400, "invalid_image",
                                      "could not decode JPEG: corrupt Huffman table "
                                      "(class %u, id %u, %zu codes; at most 256)",
                                      tc, th, codes);
                j += 17 + codes;
            }
        }
        i += 2 + seg;
    }
    return 0;
}

/* stb_image 2.27 reads PNM header numbers into an int without an overflow
 * check; more than 9 digits is refused before it sees them. */
static int check_pnm_header(const uint8_t *d, size_t n, const char *fmt, reply_err *e)
{
    size_t i = 2;
    for (int field = 0; field < 3; field++) {
        uint64_t v;
        size_t start;
        if (pnm_number(d, n, &i, &v, &start)) {
            if (i - start > 9)
                return reply_fail(e, 400, "invalid_image",
                                  "could not decode %s: header number with more than 9 digits", fmt);
            return 0; /* incomplete: stb and the completeness check say so */
        }
    }
    return 0;
}

/* stb_image appends each IDAT chunk to a buffer it allocates on the first
 * non-empty one: an empty IDAT before that makes it offset and copy from a
 * null pointer (undefined behaviour; found by fuzz_read,
 * crash-stb-png-empty-first-idat). Such a chunk carries nothing: refused. */
static int check_png_idat(const uint8_t *d, size_t n, reply_err *e)
{
    int have_data = 0;
    for (size_t i = 8; i + 8 <= n;) {
        uint32_t len = be32(d + i);
        const uint8_t *type = d + i + 4;
        if (!memcmp(type, "IDAT", 4)) {
            if (len == 0 && !have_data)
                return reply_fail(e, 400, "invalid_image",
                                  "could not decode PNG: empty IDAT chunk before the image data");
            have_data |= len > 0;
        } else if (!memcmp(type, "IEND", 4)) {
            break;
        }
        if (len > n - i - 8 || n - i - 8 - len < 4)
            break; /* cut short: stb says so */
        i += 12 + (size_t)len;
    }
    return 0;
}

int img_check_safe(const uint8_t *d, size_t n, const char *fmt, reply_err *e)
{
    if (!strcmp(fmt, "PNG"))
        return check_png_idat(d, n, e);
    if (!strcmp(fmt, "JPEG"))
        return check_jpeg_tables(d, n, e);
    if (!strcmp(fmt, "PGM") || !strcmp(fmt, "PPM"))
        return check_pnm_header(d, n, fmt, e);
    return 0;
}

int img_check_complete(const uint8_t *d, size_t n, const char *fmt, reply_err *e)
{
    if (!strcmp(fmt, "BMP"))
        return check_bmp(d, n, e);
    if (!strcmp(fmt, "PGM") || !strcmp(fmt, "PPM"))
        return check_pnm(d, n, fmt, e);
    if (!strcmp(fmt, "GIF"))
        return check_gif(d, n, e);
    if (!strcmp(fmt, "JPEG"))
        return check_jpeg(d, n, e);
    return 0;
}
