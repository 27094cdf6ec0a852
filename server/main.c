/* main.c: mnist-server's start-up and shutdown: configuration, the model,
 * the worker pool, the HTTP daemon, then waiting for SIGTERM/SIGINT to
 * drain and exit 0. Request handling is http_server.c's and predict.c's. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "healthcheck.h"
#include "http_log.h"
#include "http_server.h"
#include "metrics.h"
#include "model_info.h"
#include "model_set.h"
#include "pool.h"
#include "predict.h"

#ifndef MNIST_MODELS_DIR
#define MNIST_MODELS_DIR ""
#endif

static int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int main(int argc, char **argv)
{
    srv_config cfg;
    char err[2048];
    int rc = config_load(&cfg, argc, argv, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "mnist-server: %s\n", err);
        return 2;
    }
    if (cfg.healthcheck) {
        if (cfg.port == 0) {
            fprintf(stderr, "mnist-server: --healthcheck needs the server's port (--port or "
                            "MNIST_PORT), not 0\n");
            return 1;
        }
        return healthcheck_run(cfg.port, 3000);
    }
    /* One HTTP thread and one worker per CPU measured best under load
     * (bench/serve_compare.sh). */
    if (cfg.threads == 0)
        cfg.threads = cpu_count();
    if (cfg.io_threads == 0)
        cfg.io_threads = cpu_count();
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Two malloc arenas are plenty for a few workers and keep the
     * resident size small. */
    mallopt(M_ARENA_MAX, 2);

    /* Signals are taken by sigwait below; every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char path[4096 + 64];
    if (cfg.model[0]) {
        snprintf(path, sizeof path, "%s", cfg.model);
    } else if (model_set_find_default(MNIST_MODELS_DIR, path, sizeof path) != 0) {
        fprintf(stderr, "mnist-server: %s\n", path);
        return 1;
    }
    static model_set models;
    if (model_set_load(&models, path, err, sizeof err) != 0) {
        fprintf(stderr, "mnist-server: %s\n", err);
        return 1;
    }

    static metrics mx;
    metrics_init(&mx);
    predict_env env = {&models, cfg.max_pixels, cfg.max_batch, cfg.max_digits};
    sbuf info = {0};
    model_info_json(&models, cfg.max_pixels, cfg.max_batch, &info);

    /* Samples per model call. The core computes each sample exactly the
     * same whatever else is in its batch, so batching changes no answer
     * (tests/http checks concurrent and batched answers against single
     * ones); it saves about 10% of the model's time. */
    int chunk = cfg.model_batch;
    pool *workers = pool_create(&env, &mx, cfg.threads, cfg.queue, cfg.batch, cfg.batch_wait_us,
                                chunk, err, sizeof err);
    if (!workers) {
        fprintf(stderr, "mnist-server: %s\n", err);
        model_set_free(&models);
        return 1;
    }
    http_deps deps = {&cfg, &models, workers, &mx, info.p, info.len};
    http_server *srv = http_start(&deps, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "mnist-server: %s\n", err);
        pool_free(workers);
        model_set_free(&models);
        return 1;
    }
    http_set_ready(srv, 1);
    char msg[4400];
    snprintf(msg, sizeof msg, "model %.200s version %s (%.1000s), %d workers", models.name, models.version,
             path, cfg.threads);
    http_log_event(cfg.log, msg);
    printf("listening on http://%s%s%s:%d\n", strchr(cfg.host, ':') ? "[" : "", cfg.host,
           strchr(cfg.host, ':') ? "]" : "", http_port(srv));
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    snprintf(msg, sizeof msg, "%s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_log_event(cfg.log, msg);
    int left = http_drain(srv, (double)cfg.timeout + 5.0);
    pool_stop(workers);
    http_stop(srv);
    pool_free(workers);
    model_set_free(&models);
    sbuf_free(&info);
    snprintf(msg, sizeof msg, "stopped (%d request%s cut off)", left, left == 1 ? "" : "s");
    http_log_event(cfg.log, msg);
    return 0;
}
