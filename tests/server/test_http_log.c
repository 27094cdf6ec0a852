/* test_http_log.c: the access log.
 *  - http_log_format against the line printf and strftime wrote before it
 *    (the reference below), byte for byte: text and JSON, answered and
 *    unanswered requests, times across leap days, centuries and random
 *    instants up to year 9999, durations on and near rounding ties.
 *  - The writer: four threads append 20,000 lines each, far more than the
 *    buffers hold, to a file; after close every line is there once, whole,
 *    and each thread's lines are in its order.
 *  - A lone line reaches the file while the log is open (the writer wakes
 *    for it), and LOG_OFF writes nothing. */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "http_log.h"

/* The lines as they were written with printf, strftime and gmtime_r. */
static void reference(char *out, size_t cap, log_format fmt, const http_log_entry *e,
                      const struct timespec *now)
{
    char t[40];
    struct tm tm;
    gmtime_r(&now->tv_sec, &tm);
    size_t k = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(t + k, sizeof t - k, ".%03ldZ", now->tv_nsec / 1000000);
    if (fmt == LOG_TEXT) {
        char path[512];
        size_t i = 0;
        for (const char *p = e->path; *p && i + 1 < sizeof path; p++)
            path[i++] = (*p < 0x20 || *p == 0x7f) ? '?' : *p;
        path[i] = '\0';
        if (e->status)
            snprintf(out, cap, "%s %s %.16s %s %d %zu %.3fms\n", t, e->remote, e->method, path,
                     e->status, e->bytes, e->ms);
        else
            snprintf(out, cap, "%s %s %.16s %s - %zu %.3fms (%s)\n", t, e->remote, e->method, path,
                     e->bytes, e->ms, e->note ? e->note : "no answer");
        return;
    }
    /* JSON: the fields here need no escaping (the tests' paths are plain). */
    char status[64];
    if (e->status)
        snprintf(status, sizeof status, "%d", e->status);
    else
        snprintf(status, sizeof status, "null,\"note\":\"%s\"", e->note ? e->note : "no answer");
    snprintf(out, cap,
             "{\"time\":\"%s\",\"remote\":\"%s\",\"method\":\"%.16s\",\"path\":\"%.150s\","
             "\"status\":%s,\"bytes\":%zu,\"duration_ms\":%.3f}\n",
             t, e->remote, e->method, e->path, status, e->bytes, e->ms);
}

static long compared, differing;

static void same(log_format fmt, const http_log_entry *e, const struct timespec *now)
{
    char want[4096], got[HTTP_LOG_LINE_MAX];
    reference(want, sizeof want, fmt, e, now);
    size_t n = http_log_format(got, fmt, e, now);
    compared++;
    if (n != strlen(want) || memcmp(want, got, n) != 0) {
        if (differing++ < 10)
            fprintf(stderr, "  want %s  got  %.*s", want, (int)n, got);
    }
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_format(void)
{
    http_log_entry e = {"127.0.0.1", "POST", "/predict", 200, NULL, 253, 0.5};
    /* Instants: the epoch, leap days, century years, the 2038 rollover,
     * the last second of 9999, then random ones. */
    static const int64_t secs[] = {0,          59,         86399,      86400,      951782400,
                                   951868799,  951868800,  4107542399, 4107542400, 2147483647,
                                   2147483648, 1795856400, 1796000000, 253402300799};
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
        for (long ns = 0; ns < 1000000000; ns += 99999999) {
            struct timespec t = {(time_t)secs[i], ns};
            same(LOG_TEXT, &e, &t);
            same(LOG_JSON, &e, &t);
        }
    for (int i = 0; i < 200000; i++) {
        struct timespec t = {(time_t)(next() % 253402300800u), (long)(next() % 1000000000)};
        same(i & 1 ? LOG_JSON : LOG_TEXT, &e, &t);
    }

    /* Durations: ties and near-ties at three decimals, every multiple of
     * 1/1024 ms below 8 ms (exact binary values, ties among them), the
     * fast path's edge and beyond it, and random ones. */
    struct timespec t = {1795856400, 123456789};
    static const double edge_ms[] = {0,        0.0005,   0.0015,   0.0025,     0.0625,   0.1875,
                                     0.9995,   1.0005,   999.9995, 999999.999, 999999.9995,
                                     1e6,      1e6 + 0.0005,       12345678.9, 1e15,     1e-9,
                                     0.000499, 0.000501, 2.5e-4,   123.4565};
    for (size_t i = 0; i < sizeof edge_ms / sizeof edge_ms[0]; i++) {
        e.ms = edge_ms[i];
        same(LOG_TEXT, &e, &t);
        same(LOG_JSON, &e, &t);
    }
    for (int i = 0; i < 8 * 1024; i++) {
        e.ms = i / 1024.0;
        same(LOG_TEXT, &e, &t);
    }
    for (int i = 0; i < 300000; i++) {
        uint64_t r = next();
        /* exponents spread over [1e-7, 1e7) ms */
        e.ms = ldexp((double)(r >> 11) / 9007199254740992.0 * 1e-7, (int)(r % 47));
        same(i & 1 ? LOG_JSON : LOG_TEXT, &e, &t);
    }
    e.ms = 0.5;

    /* Unanswered requests, a long cut path, a control byte, a long method,
     * an IPv6 client. */
    http_log_entry gone = {"::1", "GET", "/healthz", 0, "client closed", 0, 1.25};
    same(LOG_TEXT, &gone, &t);
    same(LOG_JSON, &gone, &t);
    gone.note = NULL;
    same(LOG_TEXT, &gone, &t);
    same(LOG_JSON, &gone, &t);
    char longpath[700];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    http_log_entry odd = {"2001:db8::1234:5678", "PROPFINDPROPFINDX", longpath, 404, NULL, 99, 3.0};
    same(LOG_TEXT, &odd, &t);
    same(LOG_JSON, &odd, &t);
    odd.path = "/a\tb\x7f" "c";
    same(LOG_TEXT, &odd, &t);
    CHECK(differing == 0, "%ld of %ld lines differ from printf's", differing, compared);
    printf("format: %ld lines compared with printf's\n", compared);

    /* JSON escapes what the client sent. */
    char got[HTTP_LOG_LINE_MAX];
    http_log_entry q = {"127.0.0.1", "GET", "/\"x\"\\", 404, NULL, 10, 0.25};
    size_t n = http_log_format(got, LOG_JSON, &q, &t);
    CHECK(n > 0 && strstr(got, "\"path\":\"/\\\"x\\\"\\\\\"") != NULL, "JSON path escaped: %.*s",
          (int)n, got);
}

#define THREADS 4
#define LINES 20000

typedef struct {
    http_log *log;
    int id;
} appender;

static void *append_lines(void *arg)
{
    appender *a = arg;
    char path[64];
    for (int i = 0; i < LINES; i++) {
        snprintf(path, sizeof path, "/t%d/%d", a->id, i);
        http_log_entry e = {"127.0.0.1", "POST", path, 200, NULL, (size_t)i, 0.125};
        http_log_request(a->log, &e);
    }
    return NULL;
}

static char *slurp(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    char *p = malloc((size_t)end + 1);
    if (!p)
        return NULL;
    size_t got = 0;
    while (got < (size_t)end) {
        ssize_t k = pread(fd, p + got, (size_t)end - got, (off_t)got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    p[got] = '\0';
    *len = got;
    return p;
}

static int temp_fd(void)
{
    char name[] = "/tmp/test_http_log.XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0)
        unlink(name);
    return fd;
}

static void check_writer(void)
{
    int fd = temp_fd();
    CHECK(fd >= 0, "temporary file");
    if (fd < 0)
        return;
    char err[256];
    http_log *log = http_log_open(LOG_TEXT, fd, err, sizeof err);
    CHECK(log != NULL, "open: %s", err);
    if (!log)
        return;
    pthread_t th[THREADS];
    appender a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (appender){log, i};
        pthread_create(&th[i], NULL, append_lines, &a[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    http_log_close(log);

    size_t len = 0;
    char *text = slurp(fd, &len);
    close(fd);
    CHECK(text != NULL, "read back");
    if (!text)
        return;
    int next_i[THREADS] = {0};
    long lines = 0, bad = 0;
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) {
            bad++; /* a last line without its newline */
            break;
        }
        *end = '\0';
        lines++;
        int id, i;
        size_t bytes;
        char tail[32];
        /* "<time> 127.0.0.1 POST /t<id>/<i> 200 <i> 0.125ms" */
        if (sscanf(line, "%*s 127.0.0.1 POST /t%d/%d 200 %zu %31s", &id, &i, &bytes, tail) != 4 ||
            id < 0 || id >= THREADS || i != next_i[id] || bytes != (size_t)i ||
            strcmp(tail, "0.125ms") != 0) {
            if (bad++ < 5)
                fprintf(stderr, "  bad or out-of-order line: %s\n", line);
            continue;
        }
        next_i[id]++;
    }
    CHECK(bad == 0, "%ld lines are cut, mixed or out of order", bad);
    CHECK(lines == (long)THREADS * LINES, "%ld lines of %d", lines, THREADS * LINES);
    for (int i = 0; i < THREADS; i++)
        CHECK(next_i[i] == LINES, "thread %d: %d lines in order", i, next_i[i]);
    printf("writer: %ld lines, %zu bytes, from %d threads\n", lines, len, THREADS);
    free(text);
}

static void check_lone_line_and_off(void)
{
    int fd = temp_fd();
    char err[256];
    http_log *log = fd >= 0 ? http_log_open(LOG_JSON, fd, err, sizeof err) : NULL;
    CHECK(log != NULL, "open a JSON log");
    if (!log)
        return;
    http_log_entry e = {"127.0.0.1", "GET", "/healthz", 200, NULL, 15, 0.01};
    http_log_request(log, &e);
    /* The writer wakes for a lone line: it reaches the file before close.
     * (Within 5 s: this checks that it is written, not how fast.) */
    off_t size = 0;
    for (int waited = 0; waited < 5000 && (size = lseek(fd, 0, SEEK_END)) == 0; waited++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    CHECK(size > 0, "a lone line is written while the log is open");
    http_log_close(log);
    size_t len = 0;
    char *text = slurp(fd, &len);
    CHECK(text && strstr(text, "\"path\":\"/healthz\",\"status\":200,\"bytes\":15,"
                               "\"duration_ms\":0.010}\n") != NULL,
          "the JSON line: %s", text ? text : "(none)");
    free(text);
    close(fd);

    fd = temp_fd();
    log = fd >= 0 ? http_log_open(LOG_OFF, fd, err, sizeof err) : NULL;
    CHECK(log != NULL, "open an off log");
    if (!log)
        return;
    http_log_request(log, &e);
    http_log_close(log);
    CHECK(lseek(fd, 0, SEEK_END) == 0, "LOG_OFF writes nothing");
    close(fd);
}

int main(void)
{
    check_format();
    check_writer();
    check_lone_line_and_off();
    return check_finish();
}
