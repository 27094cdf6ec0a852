/* feedback.h: the server's feedback service behind POST/GET /v1/feedback:
 * the store (feedback/feedback_store.h), one writer thread that commits the
 * posts waiting in its queue together, in one transaction (so durability,
 * an fsync per commit, does not cost a post each), and answers each post
 * only once its record is durable; the listing for review; the info the
 * page reads; the counters /metrics shows. */
#ifndef SRV_FEEDBACK_H
#define SRV_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "feedback_store.h"
#include "sbuf.h"

typedef struct feedback_svc feedback_svc;

/* One POST /v1/feedback on its way to the store: a connection owns it and
 * reuses it for its next post. */
typedef struct feedback_post {
    fb_record rec;
    sbuf original; /* rec.original's bytes */
    sbuf *out;     /* the answer's JSON is written here before done() */
    int status;    /* the answer's HTTP status, set before done() */
    void (*done)(struct feedback_post *fp); /* called on a worker or the writer thread */
    void *user;
} feedback_post;

/* Opens the store at location (a SQLite path or a postgresql:// URL) and
 * starts the writer: at most queue posts wait for it. NULL with a message
 * in err when the store cannot be opened. */
feedback_svc *feedback_open(const char *location, int queue, char *err, size_t errlen);

/* Commits and answers every post already queued, stops the writer, closes
 * the store and frees f. NULL is a no-op. */
void feedback_close(feedback_svc *f);

/* "sqlite" or "postgresql". */
const char *feedback_backend(const feedback_svc *f);

/* Completes post fp, whose label and context feedback_body_parse has read
 * into fp->rec, with its image as the model sees it (pixels[784], 0-255)
 * and the time, and queues it for the writer, which answers 201 {"id": N}
 * once it is durable, 507 insufficient_storage when the store is full, 503
 * when it is unreachable. A full queue is answered at once (503
 * overloaded). Either way fp->done is called exactly once. */
void feedback_submit(feedback_svc *f, feedback_post *fp, const uint8_t *pixels);

/* Counts a post refused before it reached feedback_submit (by its status:
 * 400, 413, 415, 429, ...) for /metrics. f may be NULL. */
void feedback_count_refusal(feedback_svc *f, int status);

/* GET /v1/feedback: up to limit (1-1000) records with id > after, without
 * their images, as {"records": [...], "next_after": N} into out. Runs on
 * the caller's thread with a reading connection of its own. Returns 200,
 * or an error status with out holding the JSON error. */
int feedback_list_json(feedback_svc *f, int64_t after, int limit, sbuf *out);

/* GET /v1/feedback/info: {"enabled": ..., "backend": ..., "stores": ...}.
 * f may be NULL (feedback off). */
void feedback_info_json(const feedback_svc *f, sbuf *out);

/* Appends the feedback counters in Prometheus text form. f may be NULL. */
void feedback_metrics(feedback_svc *f, sbuf *out);

#endif
