/* http_server.h: the libmicrohttpd glue: listening, routing, per-connection
 * state, limits checked before the body is read, handing /predict bodies
 * to the worker pool (the connection is suspended meanwhile) and writing
 * the answers, headers (CORS, Allow, Retry-After) and the access log.
 * Everything about what a body means lives in predict.c. */
#ifndef SRV_HTTP_SERVER_H
#define SRV_HTTP_SERVER_H

#include <stddef.h>
#include "config.h"
#include "metrics.h"
#include "pool.h"
#include "predict.h"
#include "rate_limit.h"
#include "repository.h"

typedef struct {
    const srv_config *cfg;
    repo *repo; /* the served models */
    pool *pool;
    metrics *metrics;
    feedback_svc *feedback;     /* NULL: feedback off */
    rate_limit *feedback_rate;  /* NULL: no limit */
} http_deps;

typedef struct http_server http_server;

/* Binds cfg->host:cfg->port and starts serving (not yet ready: /readyz
 * says 503 until http_set_ready). Returns NULL with a message in err. */
http_server *http_start(const http_deps *deps, char *err, size_t errlen);
/* The port actually bound (useful with --port 0). */
int http_port(const http_server *s);
void http_set_ready(http_server *s, int ready);
/* Shutdown, part one: /readyz turns 503, the listening socket stops
 * accepting, answers carry "Connection: close"; waits until no request is
 * in flight or max_seconds passed. Returns the requests still in flight. */
int http_drain(http_server *s, double max_seconds);
/* Shutdown, part two: closes every connection and frees s. */
void http_stop(http_server *s);

#endif
