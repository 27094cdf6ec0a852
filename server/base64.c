/* base64.c: base64 and data URL decoding for JSON "image" strings, and
 * the encoding of an explanation's feature maps. */
#include "base64.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

size_t b64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int b64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, reply_err *e)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0, i = 0;
    int pad = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad)
            return reply_fail(e, 400, "invalid_image",
                              "invalid base64: unexpected character 0x%02x at offset %zu", c, i);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6) /* one lone character: not a whole byte */
        return reply_fail(e, 400, "invalid_image", "invalid base64: truncated final group");
    *out_len = o;
    return 0;
}

int dataurl_payload(const char *s, size_t n, const char **payload, size_t *payload_len,
                    reply_err *e)
{
    if (n < 5 || strncasecmp(s, "data:", 5) != 0) {
        *payload = s;
        *payload_len = n;
        return 0;
    }
    const char *comma = memchr(s, ',', n);
    if (!comma)
        return reply_fail(e, 400, "invalid_image", "data URL has no comma before its data");
    size_t head = (size_t)(comma - s);
    if (head < 12 || strncasecmp(comma - 7, ";base64", 7) != 0)
        return reply_fail(e, 400, "invalid_image",
                          "data URL is not base64 (expected data:image/...;base64,...)");
    *payload = comma + 1;
    *payload_len = n - head - 1;
    return 0;
}

/* Every 12 bits as their two characters: half the lookups of a 6-bit
 * table (the feature maps of an explanation are 50 KB of bytes). */
static char b64_pairs[4096][2];
static pthread_once_t b64_pairs_once = PTHREAD_ONCE_INIT;
static const char b64_abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_pairs_init(void)
{
    for (int v = 0; v < 4096; v++) {
        b64_pairs[v][0] = b64_abc[v >> 6];
        b64_pairs[v][1] = b64_abc[v & 63];
    }
}

void b64_encode(sbuf *out, const uint8_t *d, size_t n)
{
    const size_t len = (n + 2) / 3 * 4;
    if (sbuf_reserve(out, len) != 0)
        return;
    pthread_once(&b64_pairs_once, b64_pairs_init);
    char *q = out->p + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3, q += 4) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        memcpy(q, b64_pairs[v >> 12], 2);
        memcpy(q + 2, b64_pairs[v & 4095], 2);
    }
    if (i < n) { /* one or two bytes left: padded */
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
        q[0] = b64_abc[v >> 18];
        q[1] = b64_abc[v >> 12 & 63];
        q[2] = i + 1 < n ? b64_abc[v >> 6 & 63] : '=';
        q[3] = '=';
    }
    out->len += len;
    out->p[out->len] = '\0';
}
