/* http_log.h: the access log, one line a request on stdout, as text or
 * JSON (--log-format): time, client, method, path, status, body bytes and
 * duration. Each line is written with one stdio call, so lines from
 * different threads never interleave. */
#ifndef SRV_HTTP_LOG_H
#define SRV_HTTP_LOG_H

#include <stddef.h>
#include "config.h"

typedef struct {
    const char *remote, *method, *path;
    int status;          /* 0 when no answer was sent (client gone, timeout) */
    const char *note;    /* why there was no answer, or NULL */
    size_t bytes;        /* response body bytes */
    double ms;
} http_log_entry;

void http_log_write(log_format fmt, const http_log_entry *e);
/* A server event (start, drain, stop) in the log's format, to stderr. */
void http_log_event(log_format fmt, const char *msg);

#endif
