/* pool.h: the inference workers and their bounded queue. Each job names
 * the served model it runs on (holding a reference); each worker keeps a
 * predict_scratch for each model it has run (made on first use, dropped
 * once that model is retired) and one oip_scratch; models are shared
 * read-only. A worker takes the oldest waiting request and, with it,
 * others already waiting for the same model (up to --batch; with
 * --batch-wait-us it may wait that long for more, otherwise a lone
 * request never waits), runs the model once over all their items, then
 * answers each. An Open Inference Protocol request, a batch of its own,
 * runs alone when its turn comes. A full queue refuses new work instead
 * of growing. */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include <stddef.h>
#include "feedback.h"
#include "metrics.h"
#include "oip.h"
#include "predict.h"
#include "repository.h"
#include "sbuf.h"

typedef struct pool_job {
    predict_request req;   /* valid until done() */
    served_model *model;   /* what it runs on; the submitter's reference */
    sbuf *out;             /* the answer's JSON is written here */
    int status;            /* the answer's HTTP status, set before done() */
    long json_len;         /* an Open Inference Protocol answer with binary
                            * outputs: the length of its JSON part; else -1 */
    double t_start;        /* monotonic seconds when the body was complete */
    /* POST /v1/feedback: the post (its image is decoded and normalised
     * here, as /predict's, then it goes to the feedback writer); NULL for
     * the others */
    feedback_post *feedback;
    feedback_svc *feedback_svc;
    void (*done)(struct pool_job *job); /* called on the worker thread (the
                                         * feedback writer's for a post) */
    void *user;
} pool_job;

typedef struct pool pool;

/* Starts `workers` threads. queue_cap bounds waiting jobs; batch bounds
 * the jobs run together; chunk is the samples per model call. Returns
 * NULL with a message in err on failure. */
pool *pool_create(metrics *m, int workers, int queue_cap, int batch, int batch_wait_us, int chunk,
                  char *err, size_t errlen);
/* Queues job; returns 0, or -1 when the queue is full (job untouched).
 * Thread-safe. */
int pool_submit(pool *p, pool_job *job);
/* Jobs waiting now. */
size_t pool_depth(pool *p);
int pool_workers(const pool *p);
/* Answers every queued job, then stops and joins the workers; later
 * submissions are refused. */
void pool_stop(pool *p);
/* pool_stop, then frees p; NULL is a no-op. */
void pool_free(pool *p);

/* Monotonic clock in seconds. */
double pool_now(void);

#endif
