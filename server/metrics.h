/* metrics.h: the server's counters and their Prometheus text exposition
 * (format 0.0.4): requests by route and status, latency histograms,
 * predictions by class, in-flight requests, queue and batch figures, model
 * info and process memory. Counters are lock-free atomics updated from any
 * thread; rendering reads them without stopping anyone. */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "model_set.h"
#include "sbuf.h"

typedef enum {
    ROUTE_ROOT,     /* GET / and the page's assets */
    ROUTE_PREDICT,
    ROUTE_READ,     /* POST /v1/read */
    ROUTE_EXPLAIN,  /* POST /v1/explain, /v1/models/{name}:explain */
    ROUTE_OIP_INFER, /* POST /v2/models/{name}[/versions/{v}]/infer */
    ROUTE_OIP,      /* the other /v2 paths: metadata and health */
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_METRICS,
    ROUTE_MODEL,
    ROUTE_REPOSITORY, /* GET /v1/models, POST /v2/repository/... */
    ROUTE_FEEDBACK, /* POST and GET /v1/feedback */
    ROUTE_FEEDBACK_INFO, /* GET /v1/feedback/info */
    ROUTE_OTHER,    /* unknown paths */
    ROUTE_COUNT
} route_id;

#define METRICS_STATUSES 17
#define METRICS_BUCKETS 15
#define METRICS_BATCH_BUCKETS 10

typedef struct {
    atomic_ullong requests[ROUTE_COUNT][METRICS_STATUSES];
    atomic_ullong latency[ROUTE_COUNT][METRICS_BUCKETS + 1]; /* last: +Inf */
    atomic_ullong latency_sum_us[ROUTE_COUNT];
    atomic_ullong predictions[MS_MAX_CLASSES];
    atomic_ullong verdicts[MN_VERDICT_SEVERAL_DIGITS + 1];
    atomic_ullong batch[METRICS_BATCH_BUCKETS + 1];
    atomic_ullong batch_sum, batch_items;
    atomic_ullong bytes_in, bytes_out;
    atomic_ullong model_loads[2]; /* repository loads: [0] passed the check, [1] failed it */
    atomic_int in_flight;
    double start_time; /* Unix seconds */
} metrics;

void metrics_init(metrics *m);
const char *metrics_route_name(route_id r);
/* One finished request: its route, HTTP status and duration. */
void metrics_request(metrics *m, route_id r, int status, double seconds);
/* One answered item: its predicted class and its verdict. */
void metrics_prediction(metrics *m, int cls, mn_verdict v);
/* One model run over `items` samples gathered from `requests` requests. */
void metrics_batch(metrics *m, int requests, size_t items);
/* Appends s as a Prometheus label value (backslash, quote and newline
 * escaped). */
void metrics_label_value(sbuf *out, const char *s);
/* Writes the exposition into out (replacing it). queue_depth is the
 * number of requests waiting for a worker now. */
void metrics_render(metrics *m, const model_set *ms, int ready, size_t queue_depth,
                    int workers, sbuf *out);

#endif
