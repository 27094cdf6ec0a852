/* sbuf.c: the server's growable buffer and JSON writing helpers. It owns
 * the buffer memory; callers own the sbuf struct. No JSON parsing here
 * (that is cJSON's, in body_json.c). */
#include "sbuf.h"

#include "num_fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sbuf_reserve(sbuf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t need = b->len + more + 1;
    if (need < more) { /* overflow */
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void sbuf_reset(sbuf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->p)
        b->p[0] = '\0';
}

void sbuf_shrink(sbuf *b, size_t keep)
{
    if (b->cap > keep) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    sbuf_reset(b);
}

void sbuf_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void sbuf_put(sbuf *b, const void *data, size_t n)
{
    if (sbuf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sbuf_puts(sbuf *b, const char *s) { sbuf_put(b, s, strlen(s)); }

void sbuf_putc(sbuf *b, char c)
{
    if (sbuf_reserve(b, 1) != 0)
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

static void vput(sbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof small) {
        sbuf_put(b, small, (size_t)n);
    } else if (sbuf_reserve(b, (size_t)n) == 0) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid
 * (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void sbuf_json_str(sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    sbuf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sbuf_put(b, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sbuf_put(b, e, 6);
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l == 0) {
                sbuf_puts(b, "\\ufffd");
                i++;
            } else {
                sbuf_put(b, s + i, l);
                i += l;
            }
        }
    }
    sbuf_putc(b, '"');
}

void sbuf_json_num(sbuf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    char t[NUM_FMT_G6_MAX];
    sbuf_put(b, t, num_fmt_g6(t, v));
}

void sbuf_json_uint(sbuf *b, uint64_t v)
{
    char t[20];
    int i = (int)sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sbuf_put(b, t + i, sizeof t - (size_t)i);
}

int reply_fail(reply_err *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return status;
}

void reply_prefix(reply_err *e, const char *prefix)
{
    size_t pl = strlen(prefix), cap = sizeof e->msg - 1;
    if (pl == 0)
        return;
    if (pl > cap)
        pl = cap;
    size_t ml = strlen(e->msg);
    if (ml > cap - pl)
        ml = cap - pl;
    memmove(e->msg + pl, e->msg, ml);
    memcpy(e->msg, prefix, pl);
    e->msg[pl + ml] = '\0';
}

void sbuf_error(sbuf *b, const reply_err *e)
{
    sbuf_reset(b);
    sbuf_printf(b, "{\"error\":{\"status\":%d,\"code\":", e->status);
    sbuf_json_str(b, e->code, strlen(e->code));
    sbuf_puts(b, ",\"message\":");
    sbuf_json_str(b, e->msg, strlen(e->msg));
    sbuf_puts(b, "}}\n");
}

void sbuf_error_msg(sbuf *b, int status, const char *code, const char *fmt, ...)
{
    reply_err e;
    e.status = status;
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    sbuf_error(b, &e);
}
