/* http_log.c: the access log (see http_log.h) and server events. Lines are
 * formatted by hand, without printf, strftime or gmtime_r (which takes
 * glibc's time-zone lock): formatting and writing a line had cost an HTTP
 * thread 1.4-2.4 us, appending one now costs about 0.5. */
#include "http_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "num_fmt.h"
#include "sbuf.h"

/* Each of the two buffers: thousands of lines. */
#define LOG_BUF_BYTES (64u << 10)
/* How long the writer lets lines gather after a write. */
#define GATHER_NS (1000 * 1000)

struct http_log {
    log_format fmt;
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* for the writer: lines appended, or closing */
    pthread_cond_t room; /* for appenders: the writer took the full buffer */
    char *fill;          /* appenders add here ... */
    char *spare;         /* ... while the writer writes this one */
    size_t used;         /* bytes in fill */
    int writer_waiting;  /* the writer sleeps on wake */
    int closing;
    pthread_t writer;
};

/* v as n digits, zero-padded. */
static void put_fixed(sbuf *b, unsigned v, int n)
{
    char t[12];
    for (int i = n - 1; i >= 0; i--, v /= 10)
        t[i] = (char)('0' + v % 10);
    sbuf_put(b, t, (size_t)n);
}

static void put_ms(sbuf *b, double ms)
{
    char t[NUM_FMT_F3_MAX];
    sbuf_put(b, t, num_fmt_f3(t, ms));
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC); the date from the day count by the
 * proleptic Gregorian calendar's 400-year eras (days_from_civil inverted). */
static void put_time(sbuf *b, const struct timespec *now)
{
    int64_t secs = now->tv_sec;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    unsigned sod = (unsigned)(secs - days * 86400);
    days += 719468; /* from 1970-01-01 to 0000-03-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);                        /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                     /* March = 0 */
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = (int64_t)yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999) { /* not a real clock: no four digits */
        sbuf_puts(b, "0000-00-00T00:00:00.000Z");
        return;
    }
    put_fixed(b, (unsigned)year, 4);
    sbuf_putc(b, '-');
    put_fixed(b, month, 2);
    sbuf_putc(b, '-');
    put_fixed(b, day, 2);
    sbuf_putc(b, 'T');
    put_fixed(b, sod / 3600, 2);
    sbuf_putc(b, ':');
    put_fixed(b, sod / 60 % 60, 2);
    sbuf_putc(b, ':');
    put_fixed(b, sod % 60, 2);
    sbuf_putc(b, '.');
    put_fixed(b, (unsigned)(now->tv_nsec / 1000000), 3);
    sbuf_putc(b, 'Z');
}

size_t http_log_format(char *out, log_format fmt, const http_log_entry *e,
                       const struct timespec *now)
{
    /* out's size holds every field at its longest, so b never grows: the
     * remote address (an IP, at most 63 bytes), the method (16), the path
     * (511 as text, 150 in JSON, at most 6 bytes each when escaped), the
     * duration (NUM_FMT_F3_MAX), the note (a short constant). */
    sbuf b = {out, 0, HTTP_LOG_LINE_MAX, 0};
    const size_t mlen = strnlen(e->method, 16);
    if (fmt == LOG_TEXT) {
        put_time(&b, now);
        sbuf_putc(&b, ' ');
        sbuf_put(&b, e->remote, strnlen(e->remote, 63));
        sbuf_putc(&b, ' ');
        sbuf_put(&b, e->method, mlen);
        sbuf_putc(&b, ' ');
        /* The path is the client's: cut it and keep it on one line. */
        for (size_t i = 0; e->path[i] && i < 511; i++)
            sbuf_putc(&b, (e->path[i] < 0x20 || e->path[i] == 0x7f) ? '?' : e->path[i]);
        sbuf_putc(&b, ' ');
        if (e->status)
            sbuf_json_uint(&b, (uint64_t)e->status);
        else
            sbuf_putc(&b, '-');
        sbuf_putc(&b, ' ');
        sbuf_json_uint(&b, e->bytes);
        sbuf_putc(&b, ' ');
        put_ms(&b, e->ms);
        sbuf_puts(&b, "ms");
        if (!e->status) {
            sbuf_puts(&b, " (");
            sbuf_puts(&b, e->note ? e->note : "no answer");
            sbuf_putc(&b, ')');
        }
        sbuf_putc(&b, '\n');
        return b.len;
    }
    sbuf_puts(&b, "{\"time\":\"");
    put_time(&b, now);
    sbuf_puts(&b, "\",\"remote\":");
    sbuf_json_str(&b, e->remote, strnlen(e->remote, 63));
    sbuf_puts(&b, ",\"method\":");
    sbuf_json_str(&b, e->method, mlen);
    sbuf_puts(&b, ",\"path\":");
    sbuf_json_str(&b, e->path, strnlen(e->path, 150));
    if (e->status) {
        sbuf_puts(&b, ",\"status\":");
        sbuf_json_uint(&b, (uint64_t)e->status);
    } else {
        sbuf_puts(&b, ",\"status\":null,\"note\":\"");
        sbuf_puts(&b, e->note ? e->note : "no answer");
        sbuf_putc(&b, '"');
    }
    sbuf_puts(&b, ",\"bytes\":");
    sbuf_json_uint(&b, e->bytes);
    sbuf_puts(&b, ",\"duration_ms\":");
    put_ms(&b, e->ms);
    sbuf_puts(&b, "}\n");
    return b.len;
}

/* All of p[n] to fd. A descriptor that fails (closed pipe, full disk)
 * loses these lines: the server goes on serving. */
static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void *writer_main(void *arg)
{
    http_log *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->used && !l->closing) {
            l->writer_waiting = 1;
            pthread_cond_wait(&l->wake, &l->mu);
            l->writer_waiting = 0;
        }
        if (!l->used)
            break; /* closing, and everything written */
        char *out = l->fill;
        size_t n = l->used;
        l->fill = l->spare;
        l->spare = out;
        l->used = 0;
        int closing = l->closing;
        pthread_cond_broadcast(&l->room);
        pthread_mutex_unlock(&l->mu);
        write_all(l->fd, out, n);
        if (!closing) {
            struct timespec gather = {0, GATHER_NS};
            nanosleep(&gather, NULL);
        }
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

http_log *http_log_open(log_format fmt, int fd, char *err, size_t errlen)
{
    http_log *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->fmt = fmt;
    l->fd = fd;
    if (fmt == LOG_OFF)
        return l;
    l->fill = malloc(LOG_BUF_BYTES);
    l->spare = malloc(LOG_BUF_BYTES);
    if (!l->fill || !l->spare) {
        snprintf(err, errlen, "out of memory for the access log's buffers");
        goto fail;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->wake, NULL);
    pthread_cond_init(&l->room, NULL);
    int rc = pthread_create(&l->writer, NULL, writer_main, l);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the access log's writer thread: %s", strerror(rc));
        pthread_cond_destroy(&l->room);
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->mu);
        goto fail;
    }
    return l;
fail:
    free(l->fill);
    free(l->spare);
    free(l);
    return NULL;
}

void http_log_request(http_log *l, const http_log_entry *e)
{
    if (l->fmt == LOG_OFF)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char line[HTTP_LOG_LINE_MAX];
    size_t n = http_log_format(line, l->fmt, e, &now);
    pthread_mutex_lock(&l->mu);
    while (l->used + n > LOG_BUF_BYTES)
        pthread_cond_wait(&l->room, &l->mu);
    memcpy(l->fill + l->used, line, n);
    l->used += n;
    if (l->writer_waiting) {
        l->writer_waiting = 0; /* one signal is enough */
        pthread_cond_signal(&l->wake);
    }
    pthread_mutex_unlock(&l->mu);
}

void http_log_close(http_log *l)
{
    if (!l)
        return;
    if (l->fmt != LOG_OFF) {
        pthread_mutex_lock(&l->mu);
        l->closing = 1;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->writer, NULL);
        pthread_cond_destroy(&l->room);
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->mu);
        free(l->fill);
        free(l->spare);
    }
    free(l);
}

void http_log_event(log_format fmt, const char *msg)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char buf[5000];
    sbuf b = {buf, 0, sizeof buf, 0};
    if (fmt == LOG_JSON) {
        sbuf_puts(&b, "{\"time\":\"");
        put_time(&b, &now);
        sbuf_puts(&b, "\",\"event\":");
        size_t ml = strlen(msg);
        sbuf_json_str(&b, msg, ml > 700 ? 700 : ml);
        sbuf_puts(&b, "}\n");
    } else {
        put_time(&b, &now);
        sbuf_putc(&b, ' ');
        size_t ml = strlen(msg);
        sbuf_put(&b, msg, ml > 4400 ? 4400 : ml);
        sbuf_putc(&b, '\n');
    }
    fputs(b.p, stderr);
}
