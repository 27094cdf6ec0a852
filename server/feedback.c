/* feedback.c: the feedback service (feedback.h): a queue of posts, the
 * writer thread committing them in groups, the listing and the counters. */
#include "feedback.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedback_body.h"
#include "mnist/normalize.h"

#define BATCH_MAX 256  /* posts in one transaction */
#define LIST_MAX 1000  /* records in one GET /v1/feedback */

/* Why a post got no 201, for /metrics. */
enum { R_INVALID, R_UNAUTHORIZED, R_TOO_LARGE, R_MEDIA, R_RATE, R_OVERLOADED, R_UNAVAILABLE,
       R_FULL, R_OTHER, R_COUNT };
static const char *const reason_names[R_COUNT] = {
    "invalid", "unauthorized", "too_large", "unsupported_media_type", "rate_limited",
    "overloaded", "unavailable", "full", "other"};

struct feedback_svc {
    fb_store *store; /* the writer thread's */
    char *location;
    int broken;      /* the writer's connection failed: reopen before the next group */
    pthread_mutex_t mu;
    pthread_cond_t nonempty;
    feedback_post **ring;
    size_t cap, head, count;
    int stop;
    pthread_t writer;
    int writer_started;
    fb_record batch[BATCH_MAX];
    int64_t ids[BATCH_MAX];
    /* GET /v1/feedback: its own connection, one listing at a time */
    pthread_mutex_t read_mu;
    fb_store *reader;
    fb_record *listed; /* [LIST_MAX], made by the first listing */
    atomic_ullong stored[FB_LABEL_NOT_A_DIGIT + 1];
    atomic_ullong refused[R_COUNT];
    atomic_ullong commits;
};

static void count(atomic_ullong *c) { atomic_fetch_add_explicit(c, 1, memory_order_relaxed); }

static void answer_error(feedback_svc *f, feedback_post *fp, int reason, int status,
                         const char *code, const char *msg)
{
    count(&f->refused[reason]);
    fp->status = status;
    sbuf_error_msg(fp->out, status, code, "%s", msg);
    fp->done(fp);
}

/* Stores one group in a transaction and answers each of its posts. */
static void commit_group(feedback_svc *f, feedback_post **posts, size_t n)
{
    char err[512];
    int st = FB_OK;
    if (f->broken) {
        /* a lost connection (a PostgreSQL restart, say) is made again */
        fb_store *s;
        st = fb_store_open(f->location, &s, err, sizeof err);
        if (st == FB_OK) {
            fb_store_close(f->store);
            f->store = s;
            f->broken = 0;
        }
    }
    for (size_t i = 0; i < n; i++)
        f->batch[i] = posts[i]->rec;
    if (st == FB_OK)
        st = fb_store_insert(f->store, f->batch, n, f->ids, err, sizeof err);
    if (st == FB_OK)
        count(&f->commits);
    else if (st == FB_ERR_UNAVAILABLE || st == FB_ERR_IO)
        f->broken = 1;
    for (size_t i = 0; i < n; i++) {
        feedback_post *fp = posts[i];
        if (st == FB_OK) {
            count(&f->stored[fp->rec.label]);
            fp->status = 201;
            sbuf_reset(fp->out);
            sbuf_printf(fp->out, "{\"id\":%lld}\n", (long long)f->ids[i]);
            fp->done(fp);
        } else if (st == FB_ERR_FULL) {
            answer_error(f, fp, R_FULL, 507, "insufficient_storage",
                         "the feedback store is out of space; nothing was stored (predictions go on "
                         "working)");
        } else if (st == FB_ERR_INVALID) {
            answer_error(f, fp, R_INVALID, 400, "bad_request", err);
        } else {
            answer_error(f, fp, R_UNAVAILABLE, 503, "feedback_unavailable",
                         "the feedback store cannot be written now; nothing was stored: retry later");
        }
    }
}

static void *writer_main(void *arg)
{
    feedback_svc *f = arg;
    feedback_post *posts[BATCH_MAX];
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->count == 0 && !f->stop)
            pthread_cond_wait(&f->nonempty, &f->mu);
        if (f->count == 0) {
            pthread_mutex_unlock(&f->mu);
            return NULL;
        }
        /* everything that came while the last group was committed */
        size_t n = 0;
        while (f->count && n < BATCH_MAX) {
            posts[n++] = f->ring[f->head];
            f->head = (f->head + 1) % f->cap;
            f->count--;
        }
        pthread_mutex_unlock(&f->mu);
        commit_group(f, posts, n);
    }
}

feedback_svc *feedback_open(const char *location, int queue, char *err, size_t errlen)
{
    feedback_svc *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "feedback store: out of memory");
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_mutex_init(&f->read_mu, NULL);
    pthread_cond_init(&f->nonempty, NULL);
    f->cap = (size_t)(queue > 0 ? queue : 1);
    if (!(f->location = strdup(location)) || !(f->ring = calloc(f->cap, sizeof *f->ring))) {
        snprintf(err, errlen, "feedback store: out of memory");
        feedback_close(f);
        return NULL;
    }
    /* the writer's connection and the listing's: SQLite in WAL mode and
     * PostgreSQL both let the listing read while the writer commits */
    if (fb_store_open(location, &f->store, err, errlen) != FB_OK ||
        fb_store_open(location, &f->reader, err, errlen) != FB_OK) {
        feedback_close(f);
        return NULL;
    }
    int rc = pthread_create(&f->writer, NULL, writer_main, f);
    if (rc != 0) {
        snprintf(err, errlen, "feedback store: cannot start its writer thread: %s", strerror(rc));
        feedback_close(f);
        return NULL;
    }
    f->writer_started = 1;
    return f;
}

void feedback_close(feedback_svc *f)
{
    if (!f)
        return;
    if (f->writer_started) {
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_signal(&f->nonempty);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->writer, NULL);
    }
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->read_mu);
    pthread_cond_destroy(&f->nonempty);
    fb_store_close(f->store);
    fb_store_close(f->reader);
    free(f->listed);
    free(f->ring);
    free(f->location);
    free(f);
}

const char *feedback_backend(const feedback_svc *f) { return fb_store_backend(f->reader); }

void feedback_submit(feedback_svc *f, feedback_post *fp, const uint8_t *pixels)
{
    mn_pixels_to_input(pixels, fp->rec.image); /* what the model is fed */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fp->rec.created_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    pthread_mutex_lock(&f->mu);
    if (f->count == f->cap || f->stop) {
        pthread_mutex_unlock(&f->mu);
        answer_error(f, fp, R_OVERLOADED, 503, "overloaded",
                     "too many feedback posts are waiting for the store; retry shortly");
        return;
    }
    f->ring[(f->head + f->count) % f->cap] = fp;
    f->count++;
    pthread_cond_signal(&f->nonempty);
    pthread_mutex_unlock(&f->mu);
}

void feedback_count_refusal(feedback_svc *f, int status)
{
    if (!f)
        return;
    int r = status == 400   ? R_INVALID
            : status == 401 ? R_UNAUTHORIZED
            : status == 413 ? R_TOO_LARGE
            : status == 415 ? R_MEDIA
            : status == 429 ? R_RATE
            : status == 503 ? R_OVERLOADED
                            : R_OTHER;
    count(&f->refused[r]);
}

/* A time in ms since the epoch as RFC 3339 UTC with milliseconds. */
static void put_time(sbuf *out, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[40];
    gmtime_r(&t, &tm);
    size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(s + n, sizeof s - n, ".%03dZ", (int)(ms % 1000));
    sbuf_json_str(out, s, strlen(s));
}

static void put_record(sbuf *out, const fb_record *r)
{
    sbuf_printf(out, "{\"id\":%lld,\"created\":", (long long)r->id);
    put_time(out, r->created_ms);
    sbuf_puts(out, ",\"label\":");
    feedback_label_json(out, r->label);
    sbuf_puts(out, ",\"prediction\":");
    feedback_label_json(out, r->prediction);
    sbuf_puts(out, ",\"version\":");
    if (r->model_version[0])
        sbuf_json_str(out, r->model_version, strlen(r->model_version));
    else
        sbuf_puts(out, "null");
    sbuf_puts(out, ",\"probabilities\":");
    if (r->has_probabilities) {
        for (int k = 0; k < 10; k++) {
            sbuf_putc(out, k ? ',' : '[');
            sbuf_json_num(out, r->probabilities[k]);
        }
        sbuf_putc(out, ']');
    } else {
        sbuf_puts(out, "null");
    }
    sbuf_puts(out, ",\"original_type\":");
    sbuf_json_str(out, r->original_type, strlen(r->original_type));
    sbuf_printf(out, ",\"original_bytes\":%zu}", r->original_len);
}

int feedback_list_json(feedback_svc *f, int64_t after, int limit, sbuf *out)
{
    char err[512];
    int n = 0, st;
    sbuf_reset(out);
    pthread_mutex_lock(&f->read_mu);
    if (!f->listed && !(f->listed = malloc(LIST_MAX * sizeof *f->listed))) {
        pthread_mutex_unlock(&f->read_mu);
        sbuf_error_msg(out, 503, "overloaded", "out of memory for the listing");
        return 503;
    }
    st = fb_store_list(f->reader, after, limit < LIST_MAX ? limit : LIST_MAX, f->listed, &n, err,
                       sizeof err);
    if (st == FB_ERR_UNAVAILABLE || st == FB_ERR_IO) {
        /* the reading connection is made again once */
        fb_store *s;
        if (fb_store_open(f->location, &s, err, sizeof err) == FB_OK) {
            fb_store_close(f->reader);
            f->reader = s;
            st = fb_store_list(f->reader, after, limit < LIST_MAX ? limit : LIST_MAX, f->listed, &n,
                               err, sizeof err);
        }
    }
    if (st != FB_OK) {
        pthread_mutex_unlock(&f->read_mu);
        sbuf_error_msg(out, 503, "feedback_unavailable", "the feedback store cannot be read now: %s",
                       err);
        return 503;
    }
    sbuf_puts(out, "{\"records\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            sbuf_putc(out, ',');
        put_record(out, &f->listed[i]);
    }
    sbuf_printf(out, "],\"next_after\":%lld}\n", (long long)(n ? f->listed[n - 1].id : after));
    pthread_mutex_unlock(&f->read_mu);
    return 200;
}

void feedback_info_json(const feedback_svc *f, sbuf *out)
{
    sbuf_reset(out);
    if (!f) {
        sbuf_puts(out, "{\"enabled\":false,\"backend\":null,\"stores\":null}\n");
        return;
    }
    sbuf_printf(out,
                "{\"enabled\":true,\"backend\":\"%s\",\"schema_version\":%d,\"stores\":\"Corrections "
                "are stored with the 28x28 image the model saw, the uploaded image, the answer shown "
                "and the time; no address or other data about you.\",\"labels\":[0,1,2,3,4,5,6,7,8,9,"
                "\"not_a_digit\"]}\n",
                fb_store_backend(f->reader), fb_store_schema_version(f->reader));
}

void feedback_metrics(feedback_svc *f, sbuf *out)
{
    if (!f)
        return;
    sbuf_puts(out, "# HELP mnist_feedback_stored_total Feedback records stored, by label.\n"
                   "# TYPE mnist_feedback_stored_total counter\n");
    for (int l = 0; l <= FB_LABEL_NOT_A_DIGIT; l++) {
        char name[16];
        snprintf(name, sizeof name, l == FB_LABEL_NOT_A_DIGIT ? "not_a_digit" : "%d", l);
        sbuf_printf(out, "mnist_feedback_stored_total{label=\"%s\"} %llu\n", name,
                    atomic_load_explicit(&f->stored[l], memory_order_relaxed));
    }
    sbuf_puts(out, "# HELP mnist_feedback_refused_total Feedback posts not stored, by reason.\n"
                   "# TYPE mnist_feedback_refused_total counter\n");
    for (int r = 0; r < R_COUNT; r++)
        sbuf_printf(out, "mnist_feedback_refused_total{reason=\"%s\"} %llu\n", reason_names[r],
                    atomic_load_explicit(&f->refused[r], memory_order_relaxed));
    sbuf_printf(out,
                "# HELP mnist_feedback_commits_total Transactions the feedback writer committed "
                "(each holds the posts that waited for it).\n"
                "# TYPE mnist_feedback_commits_total counter\n"
                "mnist_feedback_commits_total %llu\n",
                atomic_load_explicit(&f->commits, memory_order_relaxed));
}
