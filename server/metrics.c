/* metrics.c: counting (relaxed atomics: each counter is independent) and
 * the Prometheus text rendering. Process figures come from /proc/self. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mnist/model.h"

static const int statuses[METRICS_STATUSES] = {200, 201, 204, 400, 401, 404, 405, 408, 413,
                                               415, 429, 431, 500, 503, 505, 507, 0};
static const double buckets[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                0.005,  0.01,    0.025,  0.05,  0.1,
                                                0.25,   0.5,     1,      2.5,   10};
static const unsigned batch_buckets[METRICS_BATCH_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
static const char *const route_names[ROUTE_COUNT] = {
    "/",        "/predict", "/v1/read",  "/v1/explain", "/v2/models/infer", "/v2",
    "/healthz", "/readyz",  "/metrics",  "/v1/model",   "repository", "/v1/feedback",
    "/v1/feedback/info", "other"};

void metrics_init(metrics *m)
{
    memset(m, 0, sizeof *m);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *metrics_route_name(route_id r) { return route_names[r]; }

void metrics_request(metrics *m, route_id r, int status, double seconds)
{
    int si = METRICS_STATUSES - 1;
    for (int i = 0; i < METRICS_STATUSES - 1; i++)
        if (statuses[i] == status)
            si = i;
    atomic_fetch_add_explicit(&m->requests[r][si], 1, memory_order_relaxed);
    int b = METRICS_BUCKETS;
    for (int i = 0; i < METRICS_BUCKETS; i++)
        if (seconds <= buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add_explicit(&m->latency[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us[r], (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

void metrics_prediction(metrics *m, int cls, mn_verdict v)
{
    if (cls >= 0 && cls < MS_MAX_CLASSES)
        atomic_fetch_add_explicit(&m->predictions[cls], 1, memory_order_relaxed);
    if ((unsigned)v <= MN_VERDICT_SEVERAL_DIGITS)
        atomic_fetch_add_explicit(&m->verdicts[v], 1, memory_order_relaxed);
}

void metrics_batch(metrics *m, int requests, size_t items)
{
    int b = METRICS_BATCH_BUCKETS;
    for (int i = 0; i < METRICS_BATCH_BUCKETS; i++)
        if ((unsigned)requests <= batch_buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add_explicit(&m->batch[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batch_sum, (unsigned long long)requests, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batch_items, items, memory_order_relaxed);
}

static unsigned long long ld(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

void metrics_label_value(sbuf *out, const char *s)
{
    /* Prometheus label values escape backslash, quote and newline. */
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sbuf_putc(out, '\\');
        if (*s == '\n') {
            sbuf_puts(out, "\\n");
            continue;
        }
        sbuf_putc(out, *s);
    }
}

/* Requests by route and status, and their durations. */
static void render_http(metrics *m, sbuf *out)
{
    sbuf_puts(out, "# HELP mnist_http_requests_total HTTP requests answered, by route and status.\n"
                   "# TYPE mnist_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int s = 0; s < METRICS_STATUSES; s++) {
            unsigned long long v = ld(&m->requests[r][s]);
            if (!v)
                continue;
            if (statuses[s])
                sbuf_printf(out, "mnist_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                            route_names[r], statuses[s], v);
            else
                sbuf_printf(out, "mnist_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                            route_names[r], v);
        }

    sbuf_puts(out, "# HELP mnist_http_request_duration_seconds Time from the request's headers to "
                   "its answer, by route.\n"
                   "# TYPE mnist_http_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        unsigned long long cum = 0;
        for (int b = 0; b <= METRICS_BUCKETS; b++) {
            cum += ld(&m->latency[r][b]);
            if (b < METRICS_BUCKETS)
                sbuf_printf(out,
                            "mnist_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                            route_names[r], buckets[b], cum);
            else
                sbuf_printf(out,
                            "mnist_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                            route_names[r], cum);
        }
        sbuf_printf(out, "mnist_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                    route_names[r], (double)ld(&m->latency_sum_us[r]) / 1e6);
        sbuf_printf(out, "mnist_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                    route_names[r], cum);
    }
}

/* What the model answered: classes, verdicts, batches. */
static void render_answers(metrics *m, const model_set *ms, sbuf *out)
{
    sbuf_puts(out, "# HELP mnist_predictions_total Predictions made, by predicted class.\n"
                   "# TYPE mnist_predictions_total counter\n");
    for (uint32_t c = 0; ms && c < ms->classes; c++) {
        sbuf_printf(out, "mnist_predictions_total{class=\"%u\",label=\"", c);
        metrics_label_value(out, ms->labels[c]);
        sbuf_printf(out, "\"} %llu\n", ld(&m->predictions[c]));
    }

    sbuf_puts(out, "# HELP mnist_verdicts_total Answered images, by what the answer says of the input.\n"
                   "# TYPE mnist_verdicts_total counter\n");
    for (int v = 0; v <= MN_VERDICT_SEVERAL_DIGITS; v++)
        sbuf_printf(out, "mnist_verdicts_total{verdict=\"%s\"} %llu\n", mn_verdict_name((mn_verdict)v),
                    ld(&m->verdicts[v]));

    sbuf_puts(out, "# HELP mnist_batch_requests Requests run through the model together.\n"
                   "# TYPE mnist_batch_requests histogram\n");
    unsigned long long cum = 0;
    for (int b = 0; b <= METRICS_BATCH_BUCKETS; b++) {
        cum += ld(&m->batch[b]);
        if (b < METRICS_BATCH_BUCKETS)
            sbuf_printf(out, "mnist_batch_requests_bucket{le=\"%u\"} %llu\n", batch_buckets[b], cum);
        else
            sbuf_printf(out, "mnist_batch_requests_bucket{le=\"+Inf\"} %llu\n", cum);
    }
    sbuf_printf(out, "mnist_batch_requests_sum %llu\nmnist_batch_requests_count %llu\n",
                ld(&m->batch_sum), cum);
    sbuf_printf(out, "# HELP mnist_inference_samples_total Images run through the model.\n"
                     "# TYPE mnist_inference_samples_total counter\n"
                     "mnist_inference_samples_total %llu\n",
                ld(&m->batch_items));
}

/* The server's state now, and the model it serves. */
static void render_state(metrics *m, const model_set *ms, int ready, size_t queue_depth, int workers,
                         sbuf *out)
{
    sbuf_printf(out, "# HELP mnist_http_requests_in_flight Requests received and not yet answered.\n"
                     "# TYPE mnist_http_requests_in_flight gauge\n"
                     "mnist_http_requests_in_flight %d\n"
                     "# HELP mnist_queue_depth Requests waiting for a worker.\n"
                     "# TYPE mnist_queue_depth gauge\n"
                     "mnist_queue_depth %zu\n"
                     "# HELP mnist_workers Inference worker threads.\n"
                     "# TYPE mnist_workers gauge\n"
                     "mnist_workers %d\n"
                     "# HELP mnist_ready 1 when the server accepts predictions, 0 while starting or "
                     "draining.\n"
                     "# TYPE mnist_ready gauge\n"
                     "mnist_ready %d\n",
                atomic_load(&m->in_flight), queue_depth, workers, ready ? 1 : 0);

    if (ms && ms->ens.n > 0) {
        size_t params = 0;
        for (int i = 0; i < ms->ens.n; i++)
            params += mn_model_param_count(ms->ens.m[i]);
        sbuf_puts(out, "# HELP mnist_model_info The model being served.\n"
                       "# TYPE mnist_model_info gauge\n"
                       "mnist_model_info{name=\"");
        metrics_label_value(out, ms->name);
        sbuf_printf(out, "\",version=\"%s\",members=\"%d\",classes=\"%u\"} 1\n", ms->version, ms->ens.n,
                    ms->classes);
        sbuf_printf(out, "# HELP mnist_model_parameters Parameters of the served model(s).\n"
                         "# TYPE mnist_model_parameters gauge\n"
                         "mnist_model_parameters %zu\n",
                    params);
    }
}

/* The process (memory, CPU, start), model loads and bytes. */
static void render_process(metrics *m, sbuf *out)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long vm = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &vm, &rss) != 2)
            vm = rss = 0;
        fclose(f);
    }
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    sbuf_printf(out,
                "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                "# TYPE process_resident_memory_bytes gauge\n"
                "process_resident_memory_bytes %llu\n"
                "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                "# TYPE process_virtual_memory_bytes gauge\n"
                "process_virtual_memory_bytes %llu\n"
                "# HELP process_cpu_seconds_total User and system CPU time spent in seconds.\n"
                "# TYPE process_cpu_seconds_total counter\n"
                "process_cpu_seconds_total %.3f\n"
                "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
                "# TYPE process_start_time_seconds gauge\n"
                "process_start_time_seconds %.3f\n",
                rss * (unsigned long long)page, vm * (unsigned long long)page,
                (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9, m->start_time);
    sbuf_printf(out,
                "# HELP mnist_model_loads_total Model versions loaded from the repository, by "
                "whether they passed the check.\n"
                "# TYPE mnist_model_loads_total counter\n"
                "mnist_model_loads_total{result=\"ok\"} %llu\n"
                "mnist_model_loads_total{result=\"failed\"} %llu\n",
                ld(&m->model_loads[0]), ld(&m->model_loads[1]));
    sbuf_printf(out,
                "# HELP mnist_http_received_bytes_total Request body bytes received.\n"
                "# TYPE mnist_http_received_bytes_total counter\n"
                "mnist_http_received_bytes_total %llu\n"
                "# HELP mnist_http_sent_bytes_total Response body bytes sent.\n"
                "# TYPE mnist_http_sent_bytes_total counter\n"
                "mnist_http_sent_bytes_total %llu\n",
                ld(&m->bytes_in), ld(&m->bytes_out));
}

void metrics_render(metrics *m, const model_set *ms, int ready, size_t queue_depth, int workers,
                    sbuf *out)
{
    sbuf_reset(out);
    render_http(m, out);
    render_answers(m, ms, out);
    render_state(m, ms, ready, queue_depth, workers, out);
    render_process(m, out);
}
