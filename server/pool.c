/* pool.c: worker threads, the ring-buffer queue (mutex + condition
 * variable: the jobs are milliseconds long, so a lock-free queue would buy
 * nothing) and the dynamic batching loop. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX_WORKERS 256

struct pool {
    const predict_env *env;
    metrics *m;
    pthread_mutex_t mu;
    pthread_cond_t nonempty;
    pool_job **ring;
    size_t cap, head, count;
    int stop;
    int batch, batch_wait_us;
    int n_workers;
    pthread_t threads[POOL_MAX_WORKERS];
    predict_scratch *scratch[POOL_MAX_WORKERS];
    oip_scratch *oip[POOL_MAX_WORKERS];
};

typedef struct {
    pool *p;
    int index;
} worker_arg;

double pool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pool_job *pop_locked(pool *p)
{
    pool_job *j = p->ring[p->head];
    p->head = (p->head + 1) % p->cap;
    p->count--;
    return j;
}

/* Waits (at most until deadline, a CLOCK_MONOTONIC time) for a job. */
static pool_job *pop_wait_until(pool *p, const struct timespec *deadline)
{
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->stop && deadline) {
        if (pthread_cond_timedwait(&p->nonempty, &p->mu, deadline) == ETIMEDOUT)
            break;
    }
    pool_job *j = p->count ? pop_locked(p) : NULL;
    pthread_mutex_unlock(&p->mu);
    return j;
}

/* An Open Inference Protocol request: parsed, run and answered at once
 * (its tensors are the batch), between the rounds of /predict items. */
static void run_oip(pool *p, predict_scratch *s, oip_scratch *o, pool_job *j)
{
    const predict_request *r = &j->req;
    j->status = oip_infer(p->env, s, o, r->body, r->len, r->oip_header_len, j->out, &j->json_len);
    j->done(j);
}

static void *worker_main(void *arg)
{
    pool *p = ((worker_arg *)arg)->p;
    predict_scratch *s = p->scratch[((worker_arg *)arg)->index];
    oip_scratch *o = p->oip[((worker_arg *)arg)->index];
    free(arg);
    const predict_env *env = p->env;
    pool_job *jobs[256];
    predict_parsed parsed[256];
    int batch = p->batch > 256 ? 256 : p->batch;

    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->count == 0 && !p->stop)
            pthread_cond_wait(&p->nonempty, &p->mu);
        if (p->count == 0 && p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        jobs[0] = pop_locked(p);
        pthread_mutex_unlock(&p->mu);
        if (jobs[0]->req.oip) {
            run_oip(p, s, o, jobs[0]);
            continue;
        }

        predict_begin(s);
        predict_parse(env, s, &jobs[0]->req, &parsed[0]);
        int k = 1;
        struct timespec deadline;
        if (p->batch_wait_us > 0) {
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            long long ns = deadline.tv_nsec + (long long)p->batch_wait_us * 1000;
            deadline.tv_sec += (time_t)(ns / 1000000000);
            deadline.tv_nsec = (long)(ns % 1000000000);
        }
        /* Gather what is already waiting, room permitting. */
        while (k < batch && predict_room(s) >= predict_items_max(env)) {
            pool_job *j = pop_wait_until(p, p->batch_wait_us > 0 ? &deadline : NULL);
            if (!j)
                break;
            if (j->req.oip) { /* its own batch; this round's items wait for it */
                run_oip(p, s, o, j);
                continue;
            }
            jobs[k] = j;
            predict_parse(env, s, &j->req, &parsed[k]);
            k++;
        }

        predict_forward(env, s);
        size_t items = 0;
        for (int i = 0; i < k; i++)
            items += parsed[i].count;
        if (items)
            metrics_batch(p->m, k, items);

        for (int i = 0; i < k; i++) {
            pool_job *j = jobs[i];
            for (size_t t = 0; t < parsed[i].count; t++)
                metrics_prediction(p->m, predict_item_class(env, s, parsed[i].first + t),
                                   predict_item_verdict(env, s, parsed[i].first + t));
            predict_explain(env, s, &parsed[i]); /* an explanation is rendered at once */
            double ms = (pool_now() - j->t_start) * 1e3;
            j->status = predict_render(env, s, &parsed[i], ms, j->out);
            j->done(j); /* j may be reused from here on */
        }
    }
    return NULL;
}

pool *pool_create(const predict_env *env, metrics *m, int workers, int queue_cap, int batch,
                  int batch_wait_us, int chunk, char *err, size_t errlen)
{
    if (workers < 1 || workers > POOL_MAX_WORKERS) {
        snprintf(err, errlen, "--threads: %d workers is out of range (1-%d)", workers,
                 POOL_MAX_WORKERS);
        return NULL;
    }
    pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->env = env;
    p->m = m;
    p->cap = (size_t)queue_cap;
    p->batch = batch < 1 ? 1 : batch;
    p->batch_wait_us = batch_wait_us;
    p->ring = calloc(p->cap, sizeof *p->ring);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->nonempty, &ca);
    pthread_condattr_destroy(&ca);
    if (!p->ring) {
        snprintf(err, errlen, "out of memory for a queue of %d", queue_cap);
        pool_free(p);
        return NULL;
    }
    for (int i = 0; i < workers; i++) {
        p->scratch[i] = predict_scratch_create(env, p->batch, chunk, err, errlen);
        p->oip[i] = oip_scratch_create();
        if (!p->scratch[i] || !p->oip[i]) {
            if (p->scratch[i])
                snprintf(err, errlen, "out of memory for a worker's scratch");
            pool_free(p);
            return NULL;
        }
    }
    for (int i = 0; i < workers; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) {
            snprintf(err, errlen, "out of memory");
            pool_free(p);
            return NULL;
        }
        a->p = p;
        a->index = i;
        int rc = pthread_create(&p->threads[i], NULL, worker_main, a);
        if (rc != 0) {
            free(a);
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
            pool_free(p);
            return NULL;
        }
        p->n_workers++;
    }
    return p;
}

int pool_submit(pool *p, pool_job *job)
{
    pthread_mutex_lock(&p->mu);
    if (p->count == p->cap || p->stop) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    p->ring[(p->head + p->count) % p->cap] = job;
    p->count++;
    pthread_cond_signal(&p->nonempty);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

size_t pool_depth(pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int pool_workers(const pool *p) { return p->n_workers; }

void pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->nonempty);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++)
        pthread_join(p->threads[i], NULL);
    p->n_workers = 0;
}

void pool_free(pool *p)
{
    if (!p)
        return;
    pool_stop(p);
    for (int i = 0; i < POOL_MAX_WORKERS; i++) {
        predict_scratch_free(p->scratch[i]);
        oip_scratch_free(p->oip[i]);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->nonempty);
    free(p->ring);
    free(p);
}
