/* feedback_store.c: the store's front door. Picks the backend from the
 * location, brings the schema to the newest known version, and refuses
 * invalid records before any backend sees them, so a refused insert
 * stores nothing. */
#include "feedback_store.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

struct fb_store {
    const struct fb_backend *backend;
    void *db;
    int schema_version;
};

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int is_postgres_url(const char *location)
{
    return strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0;
}

int fb_store_open(const char *location, fb_store **out, char *err, size_t errlen)
{
    if (!out)
        return fail(err, errlen, FB_ERR_INVALID, "no place for the store handle");
    *out = NULL;
    if (!location || !location[0])
        return fail(err, errlen, FB_ERR_INVALID, "empty feedback store location");
    const struct fb_backend *be = is_postgres_url(location) ? &fb_backend_pg : &fb_backend_sqlite;

    fb_store *s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, errlen, FB_ERR_IO, "out of memory opening the feedback store");
    s->backend = be;
    /* Messages name a PostgreSQL URL without its password. */
    char *shown = be == &fb_backend_pg ? fb_pg_redact(location) : NULL;
    int version = 0;
    int rc = be->open(location, &s->db, err, errlen);
    if (rc == FB_OK)
        rc = be->schema_version(s->db, &version, err, errlen);
    if (rc == FB_OK && version > FB_SCHEMA_VERSION)
        rc = fail(err, errlen, FB_ERR_SCHEMA,
                  "%s: schema version %d is newer than this program knows (%d)",
                  shown ? shown : be == &fb_backend_pg ? "PostgreSQL feedback store" : location,
                  version, FB_SCHEMA_VERSION);
    if (rc == FB_OK && version < FB_SCHEMA_VERSION)
        rc = be->migrate(s->db, version, FB_SCHEMA_VERSION, err, errlen);
    free(shown);
    if (rc != FB_OK) {
        fb_store_close(s);
        return rc;
    }
    s->schema_version = FB_SCHEMA_VERSION;
    *out = s;
    return FB_OK;
}

void fb_store_close(fb_store *s)
{
    if (!s)
        return;
    if (s->db)
        s->backend->close(s->db);
    free(s);
}

/* FB_OK when record i can be stored as it is, else why not. */
static int check_record(const fb_record *r, size_t i, char *err, size_t errlen)
{
    if (r->label < 0 || r->label > FB_LABEL_NOT_A_DIGIT)
        return fail(err, errlen, FB_ERR_INVALID, "record %zu: label %d is not 0-9 or not_a_digit (10)", i, r->label);
    if (r->prediction < -1 || r->prediction > FB_LABEL_NOT_A_DIGIT)
        return fail(err, errlen, FB_ERR_INVALID, "record %zu: prediction %d is not -1..10", i, r->prediction);
    if (r->has_probabilities)
        for (int k = 0; k < 10; k++)
            if (!isfinite(r->probabilities[k]))
                return fail(err, errlen, FB_ERR_INVALID, "record %zu: probability %d is not finite", i, k);
    if (r->original_len > FB_ORIGINAL_MAX)
        return fail(err, errlen, FB_ERR_INVALID, "record %zu: original of %zu bytes exceeds %d",
                    i, r->original_len, FB_ORIGINAL_MAX);
    if (r->original_len > 0 && !r->original)
        return fail(err, errlen, FB_ERR_INVALID, "record %zu: original_len %zu without bytes", i, r->original_len);
    if (!memchr(r->model_version, '\0', sizeof r->model_version))
        return fail(err, errlen, FB_ERR_INVALID, "record %zu: model_version is not terminated", i);
    if (!memchr(r->original_type, '\0', sizeof r->original_type))
        return fail(err, errlen, FB_ERR_INVALID, "record %zu: original_type is not terminated", i);
    return FB_OK;
}

int fb_store_insert(fb_store *s, const fb_record *recs, size_t n, int64_t *ids,
                    char *err, size_t errlen)
{
    if (!s || (n > 0 && (!recs || !ids)))
        return fail(err, errlen, FB_ERR_INVALID, "no store, records or ids");
    for (size_t i = 0; i < n; i++) {
        int rc = check_record(&recs[i], i, err, errlen);
        if (rc != FB_OK)
            return rc;
    }
    if (n == 0)
        return FB_OK;
    return s->backend->insert(s->db, recs, n, ids, err, errlen);
}

int fb_store_list(fb_store *s, int64_t after_id, int limit, fb_record *out,
                  int *count, char *err, size_t errlen)
{
    if (!s || !count || limit < 0 || (limit > 0 && !out))
        return fail(err, errlen, FB_ERR_INVALID, "no store, output or a negative limit");
    *count = 0;
    if (limit == 0)
        return FB_OK;
    return s->backend->list(s->db, after_id, limit, out, count, err, errlen);
}

int fb_store_schema_version(const fb_store *s)
{
    return s->schema_version;
}

const char *fb_store_backend(const fb_store *s)
{
    return s->backend->name;
}
