/* http_log.h: the access log, one line a request on stdout, as text or
 * JSON (--log-format): time, client, method, path, status, body bytes and
 * duration. The HTTP threads format a line and append it to a buffer; a
 * writer thread writes what has gathered with one write(2). At low load a
 * line goes out at once; under load the writer gathers lines for about a
 * millisecond between writes, so the log costs a few system calls a
 * millisecond instead of one a request. (With a line written by stdio a
 * request, small predictions served about 7% fewer requests/s than with
 * --log-format off.) Whole lines only: lines from different threads never
 * interleave, and none is dropped (a full buffer makes the HTTP thread
 * wait for the writer). */
#ifndef SRV_HTTP_LOG_H
#define SRV_HTTP_LOG_H

#include <stddef.h>
#include <time.h>
#include "config.h"

typedef struct {
    const char *remote, *method, *path;
    int status;          /* 0 when no answer was sent (client gone, timeout) */
    const char *note;    /* why there was no answer, or NULL */
    size_t bytes;        /* response body bytes */
    double ms;
} http_log_entry;

typedef struct http_log http_log;

/* Longest line http_log_format writes, newline included. */
#define HTTP_LOG_LINE_MAX 2048

/* Starts the access log in format fmt on descriptor fd (which stays the
 * caller's). LOG_OFF gives a log that drops every line and has no thread.
 * Returns NULL with a message in err. */
http_log *http_log_open(log_format fmt, int fd, char *err, size_t errlen);
/* Appends e's line (timed now); safe from any thread. */
void http_log_request(http_log *l, const http_log_entry *e);
/* Writes every line appended so far, stops the writer and frees l. */
void http_log_close(http_log *l);

/* e's line in format fmt (not LOG_OFF) at wall-clock time now, into out
 * (HTTP_LOG_LINE_MAX bytes), newline-terminated; returns its length. The
 * time is UTC with milliseconds, "2026-11-29T09:30:00.123Z", and the
 * duration has three decimals, as printf's "%.3f" writes it. */
size_t http_log_format(char *out, log_format fmt, const http_log_entry *e,
                       const struct timespec *now);

/* A server event (start, drain, stop) in the log's format, to stderr. */
void http_log_event(log_format fmt, const char *msg);

#endif
