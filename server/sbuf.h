/* sbuf.h: a growable byte buffer with a hard capacity limit, reused across
 * requests so the hot path does not allocate, plus the few JSON writers the
 * server needs (escaped strings, numbers) and the error object of API.md.
 * It owns its memory; it knows nothing about HTTP. */
#ifndef SRV_SBUF_H
#define SRV_SBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *p;      /* data, NUL-terminated after every append when cap > 0 */
    size_t len;   /* bytes used, excluding the terminating NUL */
    size_t cap;   /* bytes allocated */
    int failed;   /* an allocation failed; the content is truncated */
} sbuf;

/* Ensures room for `more` bytes after len (plus the NUL); returns 0, or -1
 * (and sets failed) when memory cannot be had. */
int sbuf_reserve(sbuf *b, size_t more);
/* Empties b, keeping its memory. */
void sbuf_reset(sbuf *b);
/* Frees the memory when it grew past keep bytes (so one big request does
 * not pin memory on an idle connection), then empties b. */
void sbuf_shrink(sbuf *b, size_t keep);
void sbuf_free(sbuf *b);

void sbuf_put(sbuf *b, const void *data, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_putc(sbuf *b, char c);
void sbuf_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal (quotes included) of s[n], escaping what JSON
 * requires; bytes that are not valid UTF-8 become U+FFFD. */
void sbuf_json_str(sbuf *b, const char *s, size_t n);
/* A JSON number with up to 6 significant digits; non-finite -> 0. */
void sbuf_json_num(sbuf *b, double v);
/* Unsigned integer, fast (used for the 784 values of ?input=1). */
void sbuf_json_uint(sbuf *b, uint64_t v);

/* What went wrong with a request: the status, the stable code of API.md
 * and a precise message for the user. */
typedef struct {
    int status;
    const char *code; /* static string */
    char msg[400];
} reply_err;

/* Fills e and returns status, so error paths read
 * `return reply_fail(e, 400, "invalid_json", "...", ...);`. */
int reply_fail(reply_err *e, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Puts prefix (e.g. "instances[3]: ") before e's message, cutting the
 * message's end if the whole does not fit. */
void reply_prefix(reply_err *e, const char *prefix);
/* Replaces b's content with {"error":{"status":..,"code":..,"message":..}}. */
void sbuf_error(sbuf *b, const reply_err *e);
/* The same from parts, for the HTTP layer's own errors. */
void sbuf_error_msg(sbuf *b, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
