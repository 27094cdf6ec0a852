/* http_log.c: formatting access-log lines. Writes to stdout (requests) and
 * stderr (events); it keeps no state of its own. */
#include "http_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sbuf.h"

static void now_iso(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

void http_log_write(log_format fmt, const http_log_entry *e)
{
    if (fmt == LOG_OFF)
        return;
    char t[40];
    now_iso(t, sizeof t);
    char line[1200];
    if (fmt == LOG_TEXT) {
        /* The path is the client's: cut it and keep it on one line. */
        char path[512];
        size_t i = 0;
        for (const char *p = e->path; *p && i + 1 < sizeof path; p++)
            path[i++] = (*p < 0x20 || *p == 0x7f) ? '?' : *p;
        path[i] = '\0';
        if (e->status)
            snprintf(line, sizeof line, "%s %s %.16s %s %d %zu %.3fms\n", t, e->remote, e->method, path,
                     e->status, e->bytes, e->ms);
        else
            snprintf(line, sizeof line, "%s %s %.16s %s - %zu %.3fms (%s)\n", t, e->remote, e->method,
                     path, e->bytes, e->ms, e->note ? e->note : "no answer");
        fputs(line, stdout);
        return;
    }
    char buf[1400];
    sbuf b = {buf, 0, sizeof buf, 0};
    /* A stack buffer: sbuf only reallocs past cap, which the clipped
     * fields (at most 6 bytes each when escaped) cannot reach. */
    sbuf_puts(&b, "{\"time\":\"");
    sbuf_puts(&b, t);
    sbuf_puts(&b, "\",\"remote\":");
    sbuf_json_str(&b, e->remote, strlen(e->remote));
    sbuf_puts(&b, ",\"method\":");
    size_t mlen = strlen(e->method);
    sbuf_json_str(&b, e->method, mlen > 16 ? 16 : mlen);
    sbuf_puts(&b, ",\"path\":");
    size_t pl = strlen(e->path);
    sbuf_json_str(&b, e->path, pl > 150 ? 150 : pl);
    if (e->status)
        sbuf_printf(&b, ",\"status\":%d", e->status);
    else
        sbuf_printf(&b, ",\"status\":null,\"note\":\"%s\"", e->note ? e->note : "no answer");
    sbuf_printf(&b, ",\"bytes\":%zu,\"duration_ms\":%.3f}\n", e->bytes, e->ms);
    fputs(b.p, stdout);
}

void http_log_event(log_format fmt, const char *msg)
{
    char t[40];
    now_iso(t, sizeof t);
    if (fmt == LOG_JSON) {
        char buf[1024];
        sbuf b = {buf, 0, sizeof buf, 0};
        sbuf_printf(&b, "{\"time\":\"%s\",\"event\":", t);
        size_t ml = strlen(msg);
        sbuf_json_str(&b, msg, ml > 700 ? 700 : ml);
        sbuf_puts(&b, "}\n");
        fputs(b.p, stderr);
    } else {
        fprintf(stderr, "%s %s\n", t, msg);
    }
}
