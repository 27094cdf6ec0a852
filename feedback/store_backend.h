/* store_backend.h: what a storage backend provides to feedback_store.c,
 * which validates arguments, picks the backend by location and runs the
 * schema migrations. Private to the feedback library. */
#ifndef MNIST_FEEDBACK_STORE_BACKEND_H
#define MNIST_FEEDBACK_STORE_BACKEND_H

#include "feedback_store.h"

/* The newest schema version this program knows. */
#define FB_SCHEMA_VERSION 1

struct fb_backend {
    const char *name;
    /* Opens (creating if absent) the database; *db is the backend's handle. */
    int (*open)(const char *location, void **db, char *err, size_t errlen);
    /* The stored schema version, 0 for an empty database. */
    int (*schema_version)(void *db, int *version, char *err, size_t errlen);
    /* Brings the schema from version `from` to `to` in one transaction. */
    int (*migrate)(void *db, int from, int to, char *err, size_t errlen);
    /* Inserts validated records in one durable transaction. */
    int (*insert)(void *db, const fb_record *recs, size_t n, int64_t *ids, char *err, size_t errlen);
    /* Lists records as fb_store_list. */
    int (*list)(void *db, int64_t after_id, int limit, fb_record *out, int *count, char *err, size_t errlen);
    void (*close)(void *db);
};
extern const struct fb_backend fb_backend_sqlite;
extern const struct fb_backend fb_backend_pg;

/* A malloc'd copy of a PostgreSQL URL with its password (user:PASSWORD@
 * or password=...) replaced by "***", for messages; NULL when out of
 * memory. */
char *fb_pg_redact(const char *url);

#endif
