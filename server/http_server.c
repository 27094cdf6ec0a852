/* http_server.c: libmicrohttpd in its epoll internal-thread mode with
 * suspend/resume: the HTTP thread parses requests and answers the cheap
 * routes itself; /predict, /v1/read, /v1/explain and Open Inference
 * Protocol inference bodies go to the worker pool while the connection is
 * suspended, and the worker resumes it when the answer is ready. Per-connection state (body and answer buffers) lives in the
 * socket context, so keep-alive requests reuse it without allocating. */
#include "http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "http_log.h"
#include "oip.h"
#include "routes.h"
#include "sbuf.h"

#ifdef MNIST_HAVE_WEB_ASSETS
#include "web_assets.h"
#endif

struct http_server {
    http_deps d;
    struct MHD_Daemon *daemon;
    http_log *log;
    atomic_int ready;
    atomic_int draining;
    atomic_int open_requests; /* begun and not yet completed: what draining waits for */
    int port;
};

/* ST_FIRST: in the first call; ST_PENDING: answer decided, to be queued on
 * the next call (libmicrohttpd closes a connection whose answer is queued
 * before the request is complete, so only refusals of a body do that). */
typedef enum { ST_IDLE, ST_FIRST, ST_PENDING, ST_BODY, ST_QUEUED, ST_DONE } conn_stage;

typedef struct {
    const char *allow;        /* Allow header (405, OPTIONS) */
    int retry_after;          /* seconds, 0 for none */
    int auth_challenge;       /* add WWW-Authenticate */
    int no_store;             /* Cache-Control: no-store */
    long inference_header;    /* > 0: a binary Open Inference Protocol answer
                               * whose JSON part is this long */
} reply_opts;

typedef struct {
    int status;
    const char *ctype;
    const void *data;
    size_t len;
    reply_opts o;
    int has_opts;
} pending_reply;

typedef struct conn {
    http_server *srv;
    struct MHD_Connection *mhd;
    char remote[64];
    /* the current request */
    conn_stage stage;
    route_id route;
    char method[16];
    char path[256];
    double t0;
    int status;
    size_t bytes_out;
    int recorded; /* counted in the metrics (and off the in-flight gauge) */
    int has_body; /* Content-Length > 0 or chunked */
    int too_large;
    size_t discarded;
    long oip_header_len; /* an inference's Inference-Header-Content-Length, -1 if none */
    served_model *model; /* the model the request runs on, held until it completes */
    char repo_op[16];    /* POST /v2/repository/...: "index", "load" or "unload" */
    char repo_name[128]; /* the model a path names: the repository API's, KServe's :explain */
    pending_reply pending;
    feedback_post *feedback; /* made by the connection's first POST /v1/feedback */
    sbuf body; /* the request body, up to --max-body */
    sbuf out;  /* the answer; MHD sends it straight from here */
    pool_job job;
} conn;

static const char JSON[] = "application/json";
static const char ALLOW_GET[] = "GET, HEAD, OPTIONS";
static const char ALLOW_POST[] = "POST, OPTIONS";

/* Body buffers above these sizes are freed after their request, so an
 * idle connection does not pin a large upload's memory. */
#define KEEP_BODY (64u << 10)
#define KEEP_OUT (256u << 10)

/* Counts the request in the metrics and takes it off the in-flight gauge,
 * once: when its answer is queued, before any byte of it can reach the
 * client (a client's next request, maybe on another HTTP thread, then
 * always sees this one counted), or at completion if it got none. */
static void record(conn *c, int status)
{
    if (c->recorded)
        return;
    c->recorded = 1;
    metrics *m = c->srv->d.metrics;
    metrics_request(m, c->route, status, pool_now() - c->t0);
    if (status)
        atomic_fetch_add_explicit(&m->bytes_out, c->bytes_out, memory_order_relaxed);
    atomic_fetch_sub(&m->in_flight, 1);
}

/* Queues data[len] (which must outlive the response: static, or the
 * connection's out buffer) with the given status. */
static enum MHD_Result reply(conn *c, int status, const char *ctype, const void *data, size_t len,
                             const reply_opts *o)
{
    if (c->stage == ST_FIRST && !c->has_body) {
        pending_reply *p = &c->pending;
        p->status = status;
        p->ctype = ctype;
        p->data = data;
        p->len = len;
        p->has_opts = o != NULL;
        if (o)
            p->o = *o;
        c->stage = ST_PENDING;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (o && o->inference_header > 0) {
        char v[24];
        snprintf(v, sizeof v, "%ld", o->inference_header);
        MHD_add_response_header(r, "Inference-Header-Content-Length", v);
        ctype = "application/octet-stream";
    }
    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    if (o && o->allow)
        MHD_add_response_header(r, "Allow", o->allow);
    if (o && o->retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%d", o->retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    if (o && o->auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"mnist-server\"");
    if (!o || o->no_store)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    access_add_cors(c->srv->d.cfg->cors_origin, r, status == 204);
    if (atomic_load(&c->srv->draining))
        MHD_add_response_header(r, "Connection", "close");
    if (c->route == ROUTE_FEEDBACK && c->stage != ST_QUEUED && status >= 400 && !strcmp(c->method, "POST"))
        feedback_count_refusal(c->srv->d.feedback, status); /* the writer counts its own */
    enum MHD_Result ok = MHD_queue_response(c->mhd, (unsigned)status, r);
    MHD_destroy_response(r);
    c->status = status;
    c->bytes_out = len;
    c->stage = ST_DONE;
    if (ok == MHD_YES)
        record(c, status);
    return ok;
}

static enum MHD_Result reply_out(conn *c, int status, const reply_opts *o)
{
    return reply(c, status, JSON, c->out.p, c->out.len, o);
}

static enum MHD_Result reply_error(conn *c, int status, const char *code, const char *msg,
                                   const reply_opts *o)
{
    /* the Open Inference Protocol's paths answer errors in its form */
    if (c->route == ROUTE_OIP || c->route == ROUTE_OIP_INFER)
        oip_error(&c->out, "%s", msg);
    else
        sbuf_error_msg(&c->out, status, code, "%s", msg);
    return reply_out(c, status, o);
}

/* Compares in time independent of where the strings differ. */
static int authorised(const http_server *s, struct MHD_Connection *mc)
{
    return access_bearer_ok(mc, s->d.cfg->api_key);
}

static void job_done(pool_job *j)
{
    conn *c = j->user;
    MHD_resume_connection(c->mhd);
}

/* Ready: started, not draining, and the default model served. */
static int is_ready(http_server *s)
{
    if (!atomic_load(&s->ready) || atomic_load(&s->draining))
        return 0;
    int st;
    char why[200];
    served_model *m = repo_acquire(s->d.repo, NULL, 0, &st, why, sizeof why);
    served_release(m);
    return m != NULL;
}

/* Takes the model a request names (NULL: the default) into c->model;
 * on failure answers 404 or 503 and returns 0. */
static int take_model(http_server *s, conn *c, const char *name, long version, enum MHD_Result *r)
{
    int st = 404;
    char why[300];
    c->model = repo_acquire(s->d.repo, name, version, &st, why, sizeof why);
    if (c->model)
        return 1;
    *r = reply_error(c, st, st == 404 ? "model_not_found" : "not_ready", why, NULL);
    return 0;
}

static enum MHD_Result serve_get(http_server *s, conn *c)
{
    static const char healthy[] = "{\"status\":\"ok\"}\n";
    static const char ready[] = "{\"status\":\"ready\"}\n";
    switch (c->route) {
    case ROUTE_HEALTHZ:
        return reply(c, 200, JSON, healthy, sizeof healthy - 1, NULL);
    case ROUTE_READYZ:
        if (is_ready(s))
            return reply(c, 200, JSON, ready, sizeof ready - 1, NULL);
        return reply_error(c, 503, "not_ready",
                           atomic_load(&s->draining) ? "shutting down" : "the model is not loaded yet",
                           NULL);
    case ROUTE_METRICS: {
        int st;
        char why[200];
        served_model *m = repo_acquire(s->d.repo, NULL, 0, &st, why, sizeof why);
        metrics_render(s->d.metrics, m ? &m->ms : NULL, is_ready(s), pool_depth(s->d.pool),
                       pool_workers(s->d.pool), &c->out);
        served_release(m);
        repo_metrics(s->d.repo, &c->out);
        feedback_metrics(s->d.feedback, &c->out);
        return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", c->out.p, c->out.len, NULL);
    }
    case ROUTE_MODEL: /* c->model is held until the answer is sent */
        return reply(c, 200, JSON, c->model->info.p, c->model->info.len, NULL);
    case ROUTE_REPOSITORY:
        repo_models_json(s->d.repo, &c->out);
        return reply_out(c, 200, NULL);
    default:
        break;
    }
    return reply_error(c, 404, "not_found", "not found", NULL);
}

/* Request headers larger than this get a JSON 431. libmicrohttpd's
 * per-connection memory pool must hold them for the handler to see them
 * at all: past the pool (about 30 KB of header with 32 KiB), libmicrohttpd
 * answers its own 431 (HTML), as nginx answers its own page
 * (docs/SECURITY.md). libmicrohttpd clears the whole pool before each
 * request, so its size costs every request: a server answering a fixed
 * JSON served 47k-52k requests/s with a 128 KiB pool (which we had, to
 * answer a 100 KB header in JSON) against 98k-102k with 32 KiB
 * (libmicrohttpd's default) and 90k-99k with 64 KiB. The pool is the
 * default; bench builds can vary it (-DMHD_POOL_KIB=N). */
#ifndef MHD_POOL_KIB
#define MHD_POOL_KIB 32u
#endif
#define MAX_HEADER_BYTES (16u << 10)
#define MHD_POOL_SIZE (MHD_POOL_KIB << 10)

static enum MHD_Result add_header_bytes(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* POST /v2/repository/index and /v2/repository/models/{name}/load|unload
 * (Triton's repository extension): the operation and name into c. */
static int repository_path(const char *url, conn *c)
{
    if (!strcmp(url, "/v2/repository/index")) {
        snprintf(c->repo_op, sizeof c->repo_op, "index");
        return 1;
    }
    const char *pre = "/v2/repository/models/";
    if (strncmp(url, pre, strlen(pre)))
        return 0;
    const char *name = url + strlen(pre), *slash = strchr(name, '/');
    if (!slash || slash == name || (size_t)(slash - name) >= sizeof c->repo_name ||
        (strcmp(slash, "/load") && strcmp(slash, "/unload")))
        return 0;
    snprintf(c->repo_name, sizeof c->repo_name, "%.*s", (int)(slash - name), name);
    snprintf(c->repo_op, sizeof c->repo_op, "%s", slash + 1);
    return 1;
}

static int admin_authorised(const http_server *s, struct MHD_Connection *mc)
{
    return access_bearer_ok(mc, s->d.cfg->admin_key);
}

/* A POST whose headers passed: refuse a declared body over the limit,
 * else make room for it and read it (stage ST_BODY). */
static enum MHD_Result expect_body(http_server *s, conn *c)
{
    const char *cl = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        size_t max = s->d.cfg->max_body;
        if (end != cl && n > max) {
            char msg[160];
            snprintf(msg, sizeof msg, "body of %llu bytes is over the limit of %zu bytes", n, max);
            return reply_error(c, 413, "payload_too_large", msg, NULL);
        }
        if (end != cl && n > 0)
            sbuf_reserve(&c->body, (size_t)n);
    }
    c->stage = ST_BODY;
    return MHD_YES;
}

/* A request under /v2: the Open Inference Protocol (oip.h). Metadata and
 * health are answered here; an inference reads its body for a worker. */
static enum MHD_Result begin_oip(http_server *s, conn *c, const oip_path *op, const char *method)
{
    static const char live[] = "{\"live\":true}\n";
    const int infer = op->route == OIP_INFER;
    c->route = infer ? ROUTE_OIP_INFER : ROUTE_OIP;
    const char *allow = infer ? ALLOW_POST : ALLOW_GET;
    if (op->route == OIP_UNKNOWN) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "no such path: %.200s (the Open Inference Protocol's are GET /v2, /v2/health/live, "
                 "/v2/health/ready, /v2/models/NAME[/versions/V][/ready] and POST "
                 "/v2/models/NAME[/versions/V]/infer)",
                 c->path);
        return reply_error(c, 404, "not_found", msg, NULL);
    }
    if (!strcmp(method, "OPTIONS")) {
        reply_opts o = {.allow = allow};
        return reply(c, 204, NULL, "", 0, &o);
    }
    int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (infer ? strcmp(method, "POST") != 0 : !is_get) {
        char msg[200];
        snprintf(msg, sizeof msg, "method %.16s is not allowed on %.100s; allowed: %s", method, c->path, allow);
        reply_opts o = {.allow = allow};
        return reply_error(c, 405, "method_not_allowed", msg, &o);
    }
    if ((infer || op->route == OIP_MODEL) && !authorised(s, c->mhd)) {
        reply_opts o = {.auth_challenge = 1};
        return reply_error(c, 401, "unauthorized",
                           "this server needs an API key: send 'Authorization: Bearer <key>'", &o);
    }
    const int ready = is_ready(s);
    switch (op->route) {
    case OIP_SERVER:
        oip_server_metadata(MNIST_VERSION, &c->out);
        return reply_out(c, 200, NULL);
    case OIP_LIVE:
        return reply(c, 200, JSON, live, sizeof live - 1, NULL);
    case OIP_READY:
        oip_ready(NULL, ready, &c->out);
        return reply_out(c, ready ? 200 : 503, NULL);
    default:
        break;
    }
    long version = 0;
    if (op->version[0]) {
        char *end;
        version = strtol(op->version, &end, 10);
        if (*end || version <= 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "version \"%.30s\" of model \"%.100s\" is not served: versions "
                                      "are positive integers", op->version, op->name);
            return reply_error(c, 404, "model_not_found", msg, NULL);
        }
    }
    enum MHD_Result refused;
    if (!take_model(s, c, op->name, version, &refused))
        return refused;
    const model_set *ms = &c->model->ms;
    if (op->route == OIP_MODEL) {
        oip_model_metadata(ms, &c->out);
        return reply_out(c, 200, NULL);
    }
    if (op->route == OIP_MODEL_READY) {
        oip_ready(ms, ready, &c->out);
        return reply_out(c, ready ? 200 : 503, NULL);
    }
    if (!ready)
        return reply_error(c, 503, "not_ready", "the model is not loaded yet", NULL);
    /* binary tensor data follows the JSON when this header is given */
    c->oip_header_len = -1;
    const char *h = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, "Inference-Header-Content-Length");
    if (h) {
        char *end;
        long long v = strtoll(h, &end, 10);
        if (end == h || *end || v < 0 || v > (long long)s->d.cfg->max_body)
            return reply_error(c, 400, "bad_request",
                               "Inference-Header-Content-Length must be the byte length of the JSON part",
                               NULL);
        c->oip_header_len = (long)v;
    }
    return expect_body(s, c);
}

/* A query parameter as a whole number in [lo, hi], or def when absent;
 * -1 when malformed. */
static long long query_int(struct MHD_Connection *mc, const char *key, long long def, long long lo,
                           long long hi)
{
    const char *v = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    return end == v || *end || n < lo || n > hi ? -1 : n;
}

/* /v1/feedback and /v1/feedback/info (feedback.h): the info and the
 * listing are answered here; a post is checked (feedback on, rate, type)
 * and its body read for a worker, which reads its image as /predict's. */
static enum MHD_Result begin_feedback(http_server *s, conn *c, int is_post)
{
    feedback_svc *f = s->d.feedback;
    if (c->route == ROUTE_FEEDBACK_INFO) {
        feedback_info_json(f, &c->out);
        return reply_out(c, 200, NULL);
    }
    if (!f)
        return reply_error(c, 404, "feedback_disabled",
                           "feedback is off on this server: start it with --feedback-db PATH (or "
                           "MNIST_FEEDBACK_DB) to store corrections",
                           NULL);
    if (!is_post) {
        long long after = query_int(c->mhd, "after", 0, 0, INT64_MAX);
        long long limit = query_int(c->mhd, "limit", 100, 1, 1000);
        if (after < 0 || limit < 0)
            return reply_error(c, 400, "bad_request",
                               "after must be a record id (0 or more) and limit a count of 1-1000", NULL);
        return reply_out(c, feedback_list_json(f, after, (int)limit, &c->out), NULL);
    }
    int wait = s->d.feedback_rate ? rate_limit_take(s->d.feedback_rate, c->remote, pool_now()) : 0;
    if (wait) {
        reply_opts o = {.retry_after = wait};
        return reply_error(c, 429, "rate_limited",
                           "too many corrections from this address; retry after the time in "
                           "Retry-After",
                           &o);
    }
    if (!atomic_load(&s->ready))
        return reply_error(c, 503, "not_ready", "the model is not loaded yet", NULL);
    const char *ct = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (predict_media_of(ct) != MEDIA_JSON)
        return reply_error(c, 415, "unsupported_media_type",
                           "POST /v1/feedback takes application/json: {\"image\" or \"pixels\", "
                           "\"label\"}",
                           NULL);
    if (!c->feedback && !(c->feedback = calloc(1, sizeof *c->feedback))) {
        reply_opts o = {.retry_after = 1};
        return reply_error(c, 503, "overloaded", "out of memory for the feedback", &o);
    }
    enum MHD_Result refused;
    if (!take_model(s, c, NULL, 0, &refused)) /* its image is read as the default model reads */
        return refused;
    return expect_body(s, c);
}

/* POST /v2/repository/...: the admin key's, with a body. */
static enum MHD_Result begin_repository(http_server *s, conn *c, const char *url,
                                        const char *method)
{
    c->route = ROUTE_REPOSITORY;
    if (!strcmp(method, "OPTIONS")) {
        reply_opts o = {.allow = ALLOW_POST};
        return reply(c, 204, NULL, "", 0, &o);
    }
    if (strcmp(method, "POST") != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "method %.16s is not allowed on %.100s; allowed: %s", method, url,
                 ALLOW_POST);
        reply_opts o = {.allow = ALLOW_POST};
        return reply_error(c, 405, "method_not_allowed", msg, &o);
    }
    if (!admin_authorised(s, c->mhd)) {
        reply_opts o = {.auth_challenge = 1};
        return reply_error(c, 401, "unauthorized",
                           "the repository API needs the admin key: send 'Authorization: Bearer "
                           "<admin key>'",
                           &o);
    }
    return expect_body(s, c);
}

/* POST /predict, /v1/read or /v1/explain: everything checkable from the
 * headers, now; then the body. */
static enum MHD_Result begin_inference(http_server *s, conn *c)
{
    if (!atomic_load(&s->ready))
        return reply_error(c, 503, "not_ready", "the model is not loaded yet", NULL);
    const char *ct = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    predict_media media = predict_media_of(ct);
    if (media == MEDIA_NONE || media == MEDIA_UNSUPPORTED) {
        char msg[400];
        if (media == MEDIA_NONE)
            snprintf(msg, sizeof msg, "missing Content-Type; accepted: %s", predict_accepted_types);
        else
            snprintf(msg, sizeof msg, "unsupported Content-Type \"%.60s\"; accepted: %s", ct,
                     predict_accepted_types);
        return reply_error(c, 415, "unsupported_media_type", msg, NULL);
    }
    return expect_body(s, c);
}

/* The first call for a request: route it and refuse what can be refused
 * before reading a body. Returns after queueing an answer, or with
 * c->stage == ST_BODY to receive a body for the workers. */
static enum MHD_Result begin_request(http_server *s, conn *c, const char *url, const char *method)
{
    struct MHD_Connection *mc = c->mhd;
    int is_post = !strcmp(method, "POST");
    int is_options = !strcmp(method, "OPTIONS");
    size_t header_bytes = 0;
    MHD_get_connection_values(mc, MHD_HEADER_KIND, add_header_bytes, &header_bytes);
    if (header_bytes > MAX_HEADER_BYTES) {
        char msg[160];
        snprintf(msg, sizeof msg, "request headers of %zu bytes are over the limit of %u bytes",
                 header_bytes, MAX_HEADER_BYTES);
        return reply_error(c, 431, "headers_too_large", msg, NULL);
    }

    if (repository_path(url, c))
        return begin_repository(s, c, url, method);
    oip_path op;
    oip_parse_path(url, &op);
    if (op.route != OIP_NONE)
        return begin_oip(s, c, &op, method);
    route_match rm;
    routes_match(url, &rm);
    c->route = rm.route;
    snprintf(c->repo_name, sizeof c->repo_name, "%s", rm.model);
    if (!rm.allow) {
        char msg[400];
        snprintf(msg, sizeof msg, "no such path: %.200s (the API is %s)", url, routes_list);
        return reply_error(c, 404, "not_found", msg, NULL);
    }
    if (is_options) {
        reply_opts o = {.allow = rm.allow};
        return reply(c, 204, NULL, "", 0, &o);
    }
    if (!routes_allows(&rm, method)) {
        char msg[200];
        snprintf(msg, sizeof msg, "method %.16s is not allowed on %s; allowed: %s", method,
                 rm.page ? "this page" : url, rm.allow);
        reply_opts o = {.allow = rm.allow};
        return reply_error(c, 405, "method_not_allowed", msg, &o);
    }
    int posted = c->route == ROUTE_PREDICT || c->route == ROUTE_READ || c->route == ROUTE_EXPLAIN;
    if (rm.needs_key && !authorised(s, mc)) {
        reply_opts o = {.auth_challenge = 1};
        return reply_error(c, 401, "unauthorized",
                           "this server needs an API key: send 'Authorization: Bearer <key>'", &o);
    }

    if (c->route == ROUTE_ROOT) {
#ifdef MNIST_HAVE_WEB_ASSETS
        const web_asset *asset = web_asset_find(url);
        if (!asset)
            asset = web_asset_find("/");
        if (asset) {
            reply_opts o = {.no_store = 0};
            return reply(c, 200, asset->content_type, asset->data, asset->len, &o);
        }
#endif
        return reply_error(c, 404, "not_found",
                           "this build of mnist-server has no web page; the API is POST /predict",
                           NULL);
    }
    if (c->route == ROUTE_FEEDBACK || c->route == ROUTE_FEEDBACK_INFO)
        return begin_feedback(s, c, is_post);
    if (posted || c->route == ROUTE_MODEL) {
        /* the model it runs on, from now until it completes: a reload
         * meanwhile does not touch it */
        const char *name = c->repo_name[0] ? c->repo_name
                                           : MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "model");
        if (!name && c->route == ROUTE_MODEL) /* GET /v1/model?name= too */
            name = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "name");
        enum MHD_Result refused;
        if (!take_model(s, c, name, 0, &refused))
            return refused;
    }
    return posted ? begin_inference(s, c) : serve_get(s, c);
}

/* Whether an index request's JSON body asks {"ready": true}. */
static int wants_ready_only(const char *body)
{
    const char *k = body ? strstr(body, "\"ready\"") : NULL;
    if (!k)
        return 0;
    k += 7;
    while (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r' || *k == ':')
        k++;
    return !strncmp(k, "true", 4);
}

/* POST /v2/repository/...: run here, on the HTTP thread (a load takes
 * milliseconds; requests on the other threads go on). Triton's answers:
 * the index as an array, load and unload as {} or {"error"}. */
static enum MHD_Result repository_op(http_server *s, conn *c)
{
    if (!strcmp(c->repo_op, "index")) {
        sbuf_putc(&c->body, '\0');
        int ready_only = wants_ready_only(c->body.p);
        repo_index_json(s->d.repo, ready_only, &c->out);
        return reply_out(c, 200, NULL);
    }
    char why[600];
    int rc = !strcmp(c->repo_op, "load") ? repo_load(s->d.repo, c->repo_name, why, sizeof why)
                                          : repo_unload(s->d.repo, c->repo_name, why, sizeof why);
    if (rc) {
        oip_error(&c->out, "%s", why);
        return reply_out(c, 400, NULL);
    }
    static const char ok[] = "{}\n";
    return reply(c, 200, JSON, ok, sizeof ok - 1, NULL);
}

/* The whole body is in: hand it to a worker and suspend the connection. */
static enum MHD_Result submit(http_server *s, conn *c)
{
    size_t max = s->d.cfg->max_body;
    if (c->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "body is over the limit of %zu bytes", max);
        return reply_error(c, 413, "payload_too_large", msg, NULL);
    }
    if (c->body.failed) {
        reply_opts o = {.retry_after = 1};
        return reply_error(c, 503, "overloaded", "out of memory for the request body", &o);
    }
    struct MHD_Connection *mc = c->mhd;
    if (c->route == ROUTE_REPOSITORY)
        return repository_op(s, c);
    pool_job *j = &c->job;
    memset(j, 0, sizeof *j);
    j->model = c->model;
    j->req.content_type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    j->req.q_input = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "input");
    j->req.q_preprocess = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "preprocess");
    j->req.body = (const uint8_t *)c->body.p;
    j->req.len = c->body.len;
    j->req.read = c->route == ROUTE_READ;
    j->req.explain = c->route == ROUTE_EXPLAIN;
    j->req.oip = c->route == ROUTE_OIP_INFER;
    j->req.oip_header_len = c->oip_header_len;
    j->json_len = -1;
    if (c->route == ROUTE_FEEDBACK) {
        j->feedback = c->feedback;
        j->feedback_svc = s->d.feedback;
    }
    if (j->req.explain) {
        j->req.q_class = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "class");
        j->req.q_layers = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "layers");
    }
    j->out = &c->out;
    j->t_start = pool_now();
    j->done = job_done;
    j->user = c;
    atomic_fetch_add_explicit(&s->d.metrics->bytes_in, c->body.len, memory_order_relaxed);
    /* Suspend first: the worker may finish and resume before we return. */
    c->stage = ST_QUEUED;
    MHD_suspend_connection(mc);
    if (pool_submit(s->d.pool, j) != 0) {
        j->status = 503;
        if (atomic_load(&s->draining))
            sbuf_error_msg(&c->out, 503, "not_ready", "the server is shutting down");
        else
            sbuf_error_msg(&c->out, 503, "overloaded",
                           "the server is busy: %d requests are waiting; retry shortly",
                           s->d.cfg->queue);
        MHD_resume_connection(mc);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    (void)version;
    http_server *s = cls;
    conn *c = *req_cls;
    if (!c) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        c = ci ? ci->socket_context : NULL;
        if (!c)
            return MHD_NO;
        *req_cls = c;
        c->mhd = mc;
        c->t0 = pool_now();
        c->status = 0;
        c->bytes_out = 0;
        c->recorded = 0;
        c->too_large = 0;
        c->discarded = 0;
        c->stage = ST_IDLE;
        sbuf_reset(&c->body);
        snprintf(c->method, sizeof c->method, "%s", method);
        snprintf(c->path, sizeof c->path, "%s", url);
        atomic_fetch_add(&s->d.metrics->in_flight, 1);
        atomic_fetch_add(&s->open_requests, 1);
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te =
            MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        c->has_body = (cl && strtoull(cl, NULL, 10) > 0) || te;
        c->stage = ST_FIRST;
        return begin_request(s, c, url, method);
    }
    if (c->stage == ST_PENDING) {
        if (*upload_data_size) { /* not expected without a declared body */
            *upload_data_size = 0;
            return MHD_YES;
        }
        c->stage = ST_DONE;
        pending_reply *p = &c->pending;
        return reply(c, p->status, p->ctype, p->data, p->len, p->has_opts ? &p->o : NULL);
    }
    if (c->stage == ST_QUEUED) { /* resumed by a worker */
        int st = c->job.status;
        reply_opts o = {.retry_after = st == 503 ? 1 : 0, .inference_header = c->job.json_len};
        return reply_out(c, st, &o);
    }
    if (c->stage != ST_BODY)
        return MHD_YES;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        size_t max = s->d.cfg->max_body;
        if (c->too_large) {
            /* A chunked upload past the limit: the answer can only be sent
             * once the body ends, so drop what comes, but no more than
             * another limit's worth before hanging up. */
            c->discarded += n;
            return c->discarded > max ? MHD_NO : MHD_YES;
        }
        if (n > max - c->body.len) {
            c->too_large = 1;
            c->discarded = n;
            sbuf_shrink(&c->body, KEEP_BODY);
            return MHD_YES;
        }
        sbuf_put(&c->body, upload_data, n);
        return MHD_YES;
    }
    return submit(s, c);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)mc;
    http_server *s = cls;
    conn *c = *req_cls;
    if (!c)
        return;
    *req_cls = NULL;
    double secs = pool_now() - c->t0;
    const char *note = NULL;
    int status = c->stage == ST_DONE ? c->status : 0;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        note = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED       ? "timeout"
               : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT        ? "client closed"
               : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN     ? "shutdown"
               : toe == MHD_REQUEST_TERMINATED_READ_ERROR          ? "read error"
                                                                    : "error";
        status = 0;
    }
    record(c, 0); /* counts it as unanswered unless an answer was queued */
    served_release(c->model);
    c->model = NULL;
    c->repo_name[0] = c->repo_op[0] = '\0';
    http_log_entry e = {c->remote, c->method, c->path, status, note, status ? c->bytes_out : 0,
                        secs * 1e3};
    http_log_request(s->log, &e);
    atomic_fetch_sub(&s->open_requests, 1);
    c->stage = ST_IDLE;
    sbuf_shrink(&c->body, KEEP_BODY);
    sbuf_shrink(&c->out, KEEP_OUT);
    if (c->feedback)
        sbuf_shrink(&c->feedback->original, KEEP_BODY);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn *c = calloc(1, sizeof *c);
        if (!c)
            return; /* on_request refuses the connection */
        c->srv = s;
        c->mhd = mc;
        snprintf(c->remote, sizeof c->remote, "-");
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->remote,
                          sizeof c->remote);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->remote,
                          sizeof c->remote);
        }
        *socket_context = c;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn *c = *socket_context;
        if (c) {
            sbuf_free(&c->body);
            sbuf_free(&c->out);
            if (c->feedback)
                sbuf_free(&c->feedback->original);
            free(c->feedback);
            free(c);
        }
        *socket_context = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    char line[600];
    snprintf(line, sizeof line, "libmicrohttpd: %s", msg);
    http_log_event(s->d.cfg->log == LOG_JSON ? LOG_JSON : LOG_TEXT, line);
}

/* Draining refuses new connections here, at accept, rather than with
 * MHD_quiesce_daemon: in libmicrohttpd 0.9.75's epoll mode, quiesce and the
 * worker threads both remove the listening socket from their epoll sets, and
 * the loser of that race aborts the process ("Failed to remove listen FD from
 * epoll set"). A connection accepted while draining is closed at once. */
static enum MHD_Result accept_unless_draining(void *cls, const struct sockaddr *addr,
                                              socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    const http_server *s = cls;
    return atomic_load(&s->draining) ? MHD_NO : MHD_YES;
}

http_server *http_start(const http_deps *deps, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->d = *deps;
    const srv_config *cfg = deps->cfg;

    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *addr;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, cfg->host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        addr = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        addr = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "--host: \"%s\" is not an IPv4 or IPv6 address", cfg->host);
        free(s);
        return NULL;
    }
    s->log = http_log_open(cfg->log, STDOUT_FILENO, err, errlen);
    if (!s->log) {
        free(s);
        return NULL;
    }

    struct MHD_OptionItem opts[16];
    int k = 0;
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, addr};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->timeout, NULL};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 4096, NULL};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, MHD_POOL_SIZE, NULL};
    if (cfg->io_threads > 1)
        opts[k++] =
            (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->io_threads, NULL};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, accept_unless_draining, s, on_request, s,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s port %d (in use, or not an address of this host?)",
                 cfg->host, cfg->port);
        http_log_close(s->log);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    return s;
}

int http_port(const http_server *s) { return s->port; }

void http_set_ready(http_server *s, int ready) { atomic_store(&s->ready, ready); }

int http_drain(http_server *s, double max_seconds)
{
    atomic_store(&s->draining, 1); /* accept_unless_draining refuses from now on */
    double until = pool_now() + max_seconds;
    int left;
    while ((left = atomic_load(&s->open_requests)) > 0 && pool_now() < until) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return left;
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    http_log_close(s->log); /* after the daemon: its last requests are logged */
    free(s);
}
