/* feedback_store.h: durable storage of users' corrections (a drawing, the
 * right label, what the model answered). One API over two backends: a
 * SQLite file (one server) or PostgreSQL (several replicas). Every call
 * returns an fb_status and, on failure, a message in err (errlen bytes).
 * An fb_store is used by one thread at a time. */
#ifndef MNIST_FEEDBACK_STORE_H
#define MNIST_FEEDBACK_STORE_H

#include <stddef.h>
#include <stdint.h>

#define FB_IMAGE_PIXELS 784          /* the 28x28 image the model saw */
#define FB_LABEL_NOT_A_DIGIT 10      /* label/prediction value for "not_a_digit" */
#define FB_ORIGINAL_MAX (256 * 1024) /* bytes of the original upload kept */
#define FB_VERSION_MAX 64

enum fb_status {
    FB_OK = 0,
    FB_ERR_INVALID,     /* bad argument (label out of range, ...) */
    FB_ERR_FULL,        /* the storage is out of space: SQLITE_FULL, PG 53100 */
    FB_ERR_UNAVAILABLE, /* cannot reach/open the database */
    FB_ERR_IO,          /* any other storage error */
    FB_ERR_SCHEMA       /* the database's schema is newer than this program knows */
};

typedef struct fb_record {
    int64_t id;              /* assigned by the store (1, 2, ...), increasing */
    int64_t created_ms;      /* Unix time, milliseconds; set by the caller */
    int label;               /* 0-9 or FB_LABEL_NOT_A_DIGIT */
    int prediction;          /* digit/not_a_digit the user saw, or -1 if not sent */
    int has_probabilities;   /* 1 when probabilities[] holds what was shown */
    float probabilities[10];
    char model_version[FB_VERSION_MAX]; /* "" when not sent */
    float image[FB_IMAGE_PIXELS]; /* the model's input, [0,1], row-major */
    const uint8_t *original; /* insert: the uploaded bytes (may be NULL); list: NULL */
    size_t original_len;     /* <= FB_ORIGINAL_MAX; list: the stored length */
    char original_type[32];  /* "image/png", "application/json" (pixels), ... */
} fb_record;

typedef struct fb_store fb_store;

/* Opens the store at `location`: a "postgresql://" or "postgres://" URL
 * (libpq conninfo URI) selects PostgreSQL, anything else is a SQLite file
 * path (created if absent; WAL mode, synchronous=FULL). Creates or migrates
 * the schema to the newest version this program knows. PostgreSQL loads
 * libpq.so.5 at its first open (FB_ERR_UNAVAILABLE when it is missing);
 * its messages show the URL without its password. Returns FB_OK and
 * *out, or a status with a message in err (errlen bytes). */
int fb_store_open(const char *location, fb_store **out, char *err, size_t errlen);

/* Closes the store and frees it; NULL is allowed. */
void fb_store_close(fb_store *s);

/* Stores n records in ONE transaction and returns only once it is durable
 * (committed and synced). ids[i] receives record i's id. All or nothing:
 * an invalid record (FB_ERR_INVALID) stores none of them. */
int fb_store_insert(fb_store *s, const fb_record *recs, size_t n, int64_t *ids,
                    char *err, size_t errlen);

/* Lists up to `limit` records with id > after_id in id order into out[]
 * (image included, original bytes not: original=NULL, original_len set);
 * *count receives how many. */
int fb_store_list(fb_store *s, int64_t after_id, int limit, fb_record *out,
                  int *count, char *err, size_t errlen);

/* The schema version of the open store (1 for the first). */
int fb_store_schema_version(const fb_store *s);

/* "sqlite" or "postgresql". */
const char *fb_store_backend(const fb_store *s);

#endif
