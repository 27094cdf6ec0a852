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

#include "feedback_body.h"

#define POOL_MAX_WORKERS 256
#define POOL_MODELS 8 /* models a worker keeps a scratch for */

/* A worker's scratch for one model, with a reference that keeps the
 * model alive until the worker sees it retired. */
typedef struct {
    served_model *model;
    predict_scratch *s;
    unsigned long long used; /* the worker's round it last ran */
} model_scratch;

struct pool {
    metrics *m;
    int chunk;
    pthread_mutex_t mu;
    pthread_cond_t nonempty;
    pool_job **ring;
    size_t cap, head, count;
    int stop;
    int batch, batch_wait_us;
    int n_workers;
    pthread_t threads[POOL_MAX_WORKERS];
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

static void drop(model_scratch *c)
{
    predict_scratch_free(c->s);
    served_release(c->model);
    memset(c, 0, sizeof *c);
}

/* The worker's scratch for model m: kept, or made now (in place of a
 * retired model's, else of the least recently used). NULL when out of
 * memory. */
static predict_scratch *scratch_for(pool *p, model_scratch *cache, unsigned long long round,
                                    served_model *m)
{
    model_scratch *slot = NULL;
    for (int i = 0; i < POOL_MODELS; i++) {
        if (cache[i].model == m) {
            cache[i].used = round;
            return cache[i].s;
        }
        if (cache[i].model && atomic_load(&cache[i].model->retired))
            drop(&cache[i]);
        if (!slot || !cache[i].model || (slot->model && cache[i].used < slot->used))
            slot = &cache[i];
    }
    if (slot->model)
        drop(slot);
    char err[256];
    slot->s = predict_scratch_create(&m->env, p->batch, p->chunk, err, sizeof err);
    if (!slot->s)
        return NULL;
    atomic_fetch_add(&m->refs, 1);
    slot->model = m;
    slot->used = round;
    return slot->s;
}

/* Answers a job that could not get a scratch. */
static void fail_job(pool_job *j)
{
    j->status = 503;
    sbuf_error_msg(j->out, 503, "overloaded", "out of memory for this model's scratch; retry shortly");
    j->done(j);
}

/* An Open Inference Protocol request: parsed, run and answered at once
 * (its tensors are the batch), between the rounds of /predict items. */
static void run_oip(predict_scratch *s, oip_scratch *o, pool_job *j)
{
    const predict_request *r = &j->req;
    j->status = oip_infer(&j->model->env, s, o, r->body, r->len, r->oip_header_len, j->out, &j->json_len);
    j->done(j);
}

static void feedback_answered(feedback_post *fp)
{
    pool_job *j = fp->user;
    j->status = fp->status;
    j->done(j);
}

/* A feedback post: its image read as /predict reads it, then handed to
 * the feedback writer, which answers it once stored. */
static void run_feedback(predict_scratch *s, pool_job *j)
{
    feedback_post *fp = j->feedback;
    fp->out = j->out;
    fp->done = feedback_answered;
    fp->user = j;
    const predict_env *env = &j->model->env;
    predict_parsed parsed;
    reply_err e;
    int st = feedback_body_parse(j->req.body, j->req.len, &fp->rec, &fp->original, &e);
    if (st) {
        sbuf_error(j->out, &e);
    } else {
        predict_begin(s);
        if ((st = predict_parse(env, s, &j->req, &parsed)) != 0)
            predict_render(env, s, &parsed, 0, j->out);
    }
    if (st) {
        feedback_count_refusal(j->feedback_svc, st);
        j->status = st;
        j->done(j);
        return;
    }
    feedback_submit(j->feedback_svc, fp, predict_item_pixels(s, parsed.first));
}

static void *worker_main(void *arg)
{
    pool *p = ((worker_arg *)arg)->p;
    oip_scratch *o = p->oip[((worker_arg *)arg)->index];
    free(arg);
    model_scratch cache[POOL_MODELS];
    memset(cache, 0, sizeof cache);
    unsigned long long round = 0;
    pool_job *jobs[256], *next = NULL;
    predict_parsed parsed[256];
    int batch = p->batch > 256 ? 256 : p->batch;

    for (;;) {
        /* the job that ended the last round's gathering starts this one */
        if (next) {
            jobs[0] = next;
            next = NULL;
        } else {
            pthread_mutex_lock(&p->mu);
            while (p->count == 0 && !p->stop)
                pthread_cond_wait(&p->nonempty, &p->mu);
            if (p->count == 0 && p->stop) {
                pthread_mutex_unlock(&p->mu);
                break;
            }
            jobs[0] = pop_locked(p);
            pthread_mutex_unlock(&p->mu);
        }
        round++;
        served_model *model = jobs[0]->model;
        predict_scratch *s = scratch_for(p, cache, round, model);
        if (!s) {
            fail_job(jobs[0]);
            continue;
        }
        if (jobs[0]->req.oip) {
            run_oip(s, o, jobs[0]);
            continue;
        }
        if (jobs[0]->feedback) {
            run_feedback(s, jobs[0]);
            continue;
        }
        const predict_env *env = &model->env;

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
        /* Gather what is already waiting for the same model, room permitting. */
        while (k < batch && predict_room(s) >= predict_items_max(env)) {
            pool_job *j = pop_wait_until(p, p->batch_wait_us > 0 ? &deadline : NULL);
            if (!j)
                break;
            if (j->model != model || j->feedback) { /* the next round's */
                next = j;
                break;
            }
            if (j->req.oip) { /* its own batch; this round's items wait for it */
                run_oip(s, o, j);
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
            for (size_t t = 0; t < parsed[i].count; t++) {
                int cls = predict_item_class(env, s, parsed[i].first + t);
                mn_verdict v = predict_item_verdict(env, s, parsed[i].first + t);
                metrics_prediction(p->m, cls, v);
                served_count(model, cls, v);
            }
            predict_explain(env, s, &parsed[i]); /* an explanation is rendered at once */
            double ms = (pool_now() - j->t_start) * 1e3;
            j->status = predict_render(env, s, &parsed[i], ms, j->out);
            j->done(j); /* j may be reused from here on */
        }
    }
    for (int i = 0; i < POOL_MODELS; i++)
        if (cache[i].model)
            drop(&cache[i]);
    return NULL;
}

pool *pool_create(metrics *m, int workers, int queue_cap, int batch, int batch_wait_us, int chunk,
                  char *err, size_t errlen)
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
    p->m = m;
    p->chunk = chunk;
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
        p->oip[i] = oip_scratch_create();
        if (!p->oip[i]) {
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
    for (int i = 0; i < POOL_MAX_WORKERS; i++)
        oip_scratch_free(p->oip[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->nonempty);
    free(p->ring);
    free(p);
}
