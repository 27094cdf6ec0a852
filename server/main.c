/* main.c: mnist-server's start-up and shutdown: configuration, the
 * model(s), the worker pool, the HTTP daemon, then waiting for signals:
 * SIGHUP (and every --poll-seconds) re-reads the model repository,
 * SIGTERM/SIGINT drain and exit 0. Request handling is http_server.c's and predict.c's. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "healthcheck.h"
#include "http_log.h"
#include "http_server.h"
#include "metrics.h"
#include "model_info.h"
#include "mnist/cpu.h"
#include "model_set.h"
#include "pool.h"
#include "predict.h"
#include "repository.h"

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

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
    /* start-up time, logged when ready: what a scaling deployment waits */
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
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

    /* Signals are taken by sigwait below; every thread inherits the mask.
     * SIGHUP re-reads the model repository. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    static metrics mx;
    metrics_init(&mx);
    predict_env limits = {NULL, cfg.max_pixels, cfg.max_batch, cfg.max_digits};
    char path[4096 + 64];
    repo *models;
    if (cfg.repository[0]) {
        if (cfg.model[0]) {
            fprintf(stderr, "mnist-server: --model and --model-repository: give one\n");
            return 2;
        }
        snprintf(path, sizeof path, "%s", cfg.repository);
        models = repo_open_dir(cfg.repository, cfg.default_model, &limits, &mx, cfg.log, err, sizeof err);
    } else {
        if (cfg.default_model[0] || cfg.poll_seconds) {
            fprintf(stderr, "mnist-server: --default-model and --poll-seconds need --model-repository\n");
            return 2;
        }
        if (cfg.model[0]) {
            snprintf(path, sizeof path, "%s", cfg.model);
        } else if (model_set_find_default(MNIST_MODELS_DIR, path, sizeof path) != 0) {
            fprintf(stderr, "mnist-server: %s\n", path);
            return 1;
        }
        models = repo_open_model(path, &limits, err, sizeof err);
    }
    if (!models) {
        fprintf(stderr, "mnist-server: %s\n", err);
        return 1;
    }

    /* Samples per model call. The core computes each sample exactly the
     * same whatever else is in its batch, so batching changes no answer
     * (tests/http checks concurrent and batched answers against single
     * ones); it saves about 10% of the model's time. */
    int chunk = cfg.model_batch;
    pool *workers = pool_create(&mx, cfg.threads, cfg.queue, cfg.batch, cfg.batch_wait_us, chunk, err,
                                sizeof err);
    if (!workers) {
        fprintf(stderr, "mnist-server: %s\n", err);
        repo_free(models);
        return 1;
    }
    feedback_svc *feedback = NULL;
    rate_limit *feedback_rate = NULL;
    if (cfg.feedback_db[0]) {
        feedback = feedback_open(cfg.feedback_db, cfg.queue, err, sizeof err);
        /* a minute's posts, in bursts of up to 10 */
        if (feedback && cfg.feedback_rate)
            feedback_rate = rate_limit_create(cfg.feedback_rate / 60.0, cfg.feedback_rate < 10 ? cfg.feedback_rate : 10);
        if (!feedback || (cfg.feedback_rate && !feedback_rate)) {
            fprintf(stderr, "mnist-server: --feedback-db: %s\n", feedback ? "out of memory" : err);
            feedback_close(feedback);
            pool_free(workers);
            repo_free(models);
            return 1;
        }
    }
    http_deps deps = {&cfg, models, workers, &mx, feedback, feedback_rate};
    http_server *srv = http_start(&deps, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "mnist-server: %s\n", err);
        pool_free(workers);
        feedback_close(feedback);
        rate_limit_free(feedback_rate);
        repo_free(models);
        return 1;
    }
    http_set_ready(srv, 1);
    char msg[4400];
    int st;
    served_model *dm = repo_acquire(models, NULL, 0, &st, err, sizeof err);
    mn_isa isa = MN_ISA_GENERIC;
    mn_isa_active(&isa, NULL); /* loading the models checked it */
    snprintf(msg, sizeof msg,
             "model %.200s version %s (%.1000s), %d workers, %s kernels, ready in %.1f ms",
             dm->ms.name, dm->ms.version, path, cfg.threads, mn_isa_name(isa), ms_since(&started));
    served_release(dm);
    http_log_event(cfg.log, msg);
    if (feedback) {
        /* a PostgreSQL URL may hold a password: only a file path is shown */
        const char *backend = feedback_backend(feedback);
        snprintf(msg, sizeof msg, "feedback stored in %s%s%.1000s", backend,
                 strcmp(backend, "sqlite") ? "" : " ", strcmp(backend, "sqlite") ? "" : cfg.feedback_db);
        http_log_event(cfg.log, msg);
    }
    printf("listening on http://%s%s%s:%d\n", strchr(cfg.host, ':') ? "[" : "", cfg.host,
           strchr(cfg.host, ':') ? "]" : "", http_port(srv));
    fflush(stdout);

    int sig = 0;
    for (;;) {
        /* --poll-seconds: a reload each time the wait times out */
        struct timespec poll = {cfg.poll_seconds, 0};
        sig = sigtimedwait(&sigs, NULL, cfg.poll_seconds ? &poll : NULL);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP && !repo_is_dir(models))
            http_log_event(cfg.log, "SIGHUP: nothing to reload (no --model-repository)");
        else if (sig == SIGHUP || (sig < 0 && errno == EAGAIN))
            repo_reload(models);
    }
    snprintf(msg, sizeof msg, "%s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_log_event(cfg.log, msg);
    int left = http_drain(srv, (double)cfg.timeout + 5.0);
    pool_stop(workers);
    feedback_close(feedback); /* after the workers: it answers the posts they handed it */
    rate_limit_free(feedback_rate);
    http_stop(srv);
    pool_free(workers);
    repo_free(models);
    snprintf(msg, sizeof msg, "stopped (%d request%s cut off)", left, left == 1 ? "" : "s");
    http_log_event(cfg.log, msg);
    return 0;
}
