/* config.c: flags, environment variables and defaults of mnist-server, and
 * its --help. One table drives parsing, the environment and the help text,
 * so they cannot disagree. Values are validated here with messages that
 * name the flag or variable; nothing else is done here. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef MNIST_VERSION
#define MNIST_VERSION "1.0.0"
#endif

typedef enum { T_STR, T_INT, T_SIZE, T_U64, T_LOG, T_FLAG } opt_type;

typedef struct {
    const char *flag, *env, *arg, *help, *def;
    opt_type type;
    size_t off, size;
    long long min, max;
} opt;

#define F(field) offsetof(srv_config, field), sizeof(((srv_config *)0)->field)

static const opt opts[] = {
    {"--host", "MNIST_HOST", "ADDR", "address to listen on (IPv4 or IPv6)", "0.0.0.0", T_STR, F(host), 0, 0},
    {"--port", "MNIST_PORT", "N", "TCP port; 0 picks a free port and prints it", "8080", T_INT, F(port), 0, 65535},
    {"--model", "MNIST_MODEL", "PATH", "weights file, or a comma-separated list averaged as an ensemble", "the bundled model", T_STR, F(model), 0, 0},
    {"--model-repository", "MNIST_MODEL_REPOSITORY", "DIR", "serve every DIR/<name>/<version>/model.bin (the highest version of each), reloaded on SIGHUP, --poll-seconds and the repository API", "none", T_STR, F(repository), 0, 0},
    {"--default-model", "MNIST_DEFAULT_MODEL", "NAME", "the repository's model that /predict, /v1/read, /v1/explain and the page answer with", "the only one, or mnist", T_STR, F(default_model), 0, 0},
    {"--poll-seconds", "MNIST_POLL_SECONDS", "N", "re-read the model repository every N seconds (0: only on SIGHUP and the API)", "0", T_INT, F(poll_seconds), 0, 86400},
    {"--admin-key", "MNIST_ADMIN_KEY", "KEY", "require 'Authorization: Bearer KEY' on the repository API (POST /v2/repository/...)", "none", T_STR, F(admin_key), 0, 0},
    {"--threads", "MNIST_THREADS", "N", "inference worker threads", "the number of CPUs", T_INT, F(threads), 1, 256},
    {"--max-body", "MNIST_MAX_BODY", "BYTES", "largest request body (suffixes k, m: KiB, MiB)", "8m", T_SIZE, F(max_body), 1, 1LL << 30},
    {"--max-pixels", "MNIST_MAX_PIXELS", "N", "largest width x height of one image", "16777216", T_U64, F(max_pixels), 1, 1LL << 32},
    {"--max-batch", "MNIST_MAX_BATCH", "N", "most instances in one request", "256", T_INT, F(max_batch), 1, 65536},
    {"--max-digits", "MNIST_MAX_DIGITS", "N", "most digits POST /v1/read reads in one image (more: 413)", "32", T_INT, F(max_digits), 1, 1024},
    {"--timeout", "MNIST_TIMEOUT", "SECONDS", "idle connection timeout", "30", T_INT, F(timeout), 1, 86400},
    {"--cors-origin", "MNIST_CORS_ORIGIN", "ORIGIN", "send CORS headers allowing ORIGIN (or *)", "none", T_STR, F(cors_origin), 0, 0},
    {"--api-key", "MNIST_API_KEY", "KEY", "require 'Authorization: Bearer KEY' on /predict, /v1/read, /v1/explain, /v1/model and /v2 inference and model metadata", "none", T_STR, F(api_key), 0, 0},
    {"--log-format", "MNIST_LOG_FORMAT", "text|json|off", "access log, one line a request on stdout", "text", T_LOG, F(log), 0, 0},
    {"--queue", "MNIST_QUEUE", "N", "requests waiting for a worker before 503 overloaded", "1024", T_INT, F(queue), 1, 1 << 20},
    {"--batch", "MNIST_BATCH", "N", "most waiting requests a worker runs through the model at once", "16", T_INT, F(batch), 1, 256},
    {"--batch-wait-us", "MNIST_BATCH_WAIT_US", "N", "microseconds a worker waits to fill a batch (0: a lone request never waits)", "0", T_INT, F(batch_wait_us), 0, 1000000},
    {"--model-batch", "MNIST_MODEL_BATCH", "N", "most samples per model call (requests gathered by a worker run together)", "16", T_INT, F(model_batch), 1, 256},
    {"--io-threads", "MNIST_IO_THREADS", "N", "HTTP connection threads", "the number of CPUs", T_INT, F(io_threads), 1, 64},
    {"--feedback-db", "MNIST_FEEDBACK_DB", "PATH|URL", "store users' corrections (POST /v1/feedback) in this SQLite file, or the PostgreSQL database of a postgresql:// URL", "none: feedback off", T_STR, F(feedback_db), 0, 0},
    {"--feedback-rate", "MNIST_FEEDBACK_RATE", "N", "feedback posts a client address may send a minute, in bursts of up to 10 (more: 429 rate_limited; 0: no limit)", "60", T_INT, F(feedback_rate), 0, 1000000000},
    {"--healthcheck", NULL, NULL, "probe GET /healthz on 127.0.0.1:PORT; exit 0 if healthy, 1 if not", NULL, T_FLAG, F(healthcheck), 0, 0},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

void config_usage(void *file)
{
    FILE *f = file;
    fprintf(f, "usage: mnist-server [options]\n"
               "Serves handwritten-digit predictions over HTTP (POST /predict, /v1/read,\n"
               "/v1/explain, GET /, /healthz, /readyz, /metrics, /v1/model, and the Open Inference\n"
               "Protocol under /v2). Every option is also an environment variable; flags win\n"
               "over variables.\n\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt *o = &opts[i];
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-26s %s", left, o->help);
        if (o->def)
            fprintf(f, " (default: %s)", o->def);
        if (o->env)
            fprintf(f, " [%s]", o->env);
        fputc('\n', f);
    }
    fprintf(f, "  %-26s %s\n  %-26s %s\n", "--help", "print this help", "--version",
            "print the version");
}

static int parse_ll(const char *s, long long *out, int size_suffix)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno)
        return -1;
    if (size_suffix && *end) {
        long long mul = 1;
        if (*end == 'k' || *end == 'K')
            mul = 1024;
        else if (*end == 'm' || *end == 'M')
            mul = 1024 * 1024;
        else if (*end == 'g' || *end == 'G')
            mul = 1024 * 1024 * 1024;
        else
            return -1;
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (v > (1LL << 62) / mul)
            return -1;
        v *= mul;
    }
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int set_value(srv_config *c, const opt *o, const char *v, const char *who, char *err,
                     size_t errlen)
{
    char *field = (char *)c + o->off;
    long long n = 0;
    switch (o->type) {
    case T_STR:
        if (strlen(v) >= o->size) {
            snprintf(err, errlen, "%s: value too long (at most %zu bytes)", who, o->size - 1);
            return -1;
        }
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case T_LOG:
        if (!strcasecmp(v, "text"))
            *(log_format *)field = LOG_TEXT;
        else if (!strcasecmp(v, "json"))
            *(log_format *)field = LOG_JSON;
        else if (!strcasecmp(v, "off") || !strcasecmp(v, "none"))
            *(log_format *)field = LOG_OFF;
        else {
            snprintf(err, errlen, "%s: expected text, json or off, got \"%s\"", who, v);
            return -1;
        }
        return 0;
    case T_FLAG:
        *(int *)field = 1;
        return 0;
    default:
        break;
    }
    if (parse_ll(v, &n, o->type == T_SIZE) != 0) {
        snprintf(err, errlen, "%s: expected %s, got \"%s\"", who,
                 o->type == T_SIZE ? "a byte count (e.g. 8388608 or 8m)" : "an integer", v);
        return -1;
    }
    if (n < o->min || n > o->max) {
        snprintf(err, errlen, "%s: %lld is out of range (%lld-%lld)", who, n, o->min, o->max);
        return -1;
    }
    if (o->type == T_INT)
        *(int *)field = (int)n;
    else if (o->type == T_SIZE)
        *(size_t *)field = (size_t)n;
    else
        *(uint64_t *)field = (uint64_t)n;
    return 0;
}

int config_load(srv_config *c, int argc, char **argv, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "0.0.0.0");
    c->port = 8080;
    c->threads = 0; /* resolved by the caller to the CPUs available */
    c->max_body = 8u << 20;
    c->max_pixels = 16777216u;
    c->max_batch = 256;
    c->max_digits = 32;
    c->timeout = 30;
    c->log = LOG_TEXT;
    c->queue = 1024;
    c->batch = 16;
    c->batch_wait_us = 0;
    c->model_batch = 16;
    c->io_threads = 0; /* resolved by the caller to the CPUs available */
    c->feedback_rate = 60;

    for (size_t i = 0; i < N_OPTS; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (v && *v && set_value(c, &opts[i], v, opts[i].env, err, errlen) != 0)
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            config_usage(stdout);
            return 1;
        }
        if (!strcmp(arg, "--version")) {
            printf("mnist-server %s\n", MNIST_VERSION);
            return 1;
        }
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        const opt *o = NULL;
        for (size_t i = 0; i < N_OPTS; i++)
            if (strlen(opts[i].flag) == nl && !strncmp(opts[i].flag, arg, nl))
                o = &opts[i];
        if (!o) {
            snprintf(err, errlen, "unknown option \"%s\" (see --help)", arg);
            return -1;
        }
        if (o->type == T_FLAG) {
            if (eq) {
                snprintf(err, errlen, "%s takes no value", o->flag);
                return -1;
            }
            set_value(c, o, "", o->flag, err, errlen);
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (a + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value (%s)", o->flag, o->arg);
                return -1;
            }
            v = argv[++a];
        }
        if (set_value(c, o, v, o->flag, err, errlen) != 0)
            return -1;
    }
    return 0;
}
