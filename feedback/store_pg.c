/* store_pg.c: the PostgreSQL backend of the feedback store, for several
 * replicas writing to one database. libpq is loaded with dlopen at the
 * first PostgreSQL open, not linked, so the small image carries neither
 * libpq nor its OpenSSL, Kerberos and LDAP dependencies. Every COMMIT runs
 * with synchronous_commit on, so an acknowledged record is on the
 * server's disk. Ids come from an identity column (a sequence), safe for
 * concurrent writers; migrations hold an advisory lock, so replicas
 * starting together migrate once. Floats are the same little-endian
 * float32 blobs as in the SQLite backend. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le_bytes.h"
#include "store_backend.h"

/* pg_advisory_xact_lock key of the schema migration ("mnfb"). */
#define MIGRATION_LOCK_KEY 0x6d6e6662

/* The libpq functions used, typed from libpq-fe.h's own prototypes. */
static struct {
    __typeof__(PQconnectdb) *connectdb;
    __typeof__(PQstatus) *status;
    __typeof__(PQerrorMessage) *errorMessage;
    __typeof__(PQfinish) *finish;
    __typeof__(PQreset) *reset;
    __typeof__(PQexec) *exec;
    __typeof__(PQexecParams) *execParams;
    __typeof__(PQresultStatus) *resultStatus;
    __typeof__(PQresultErrorField) *resultErrorField;
    __typeof__(PQclear) *clear;
    __typeof__(PQntuples) *ntuples;
    __typeof__(PQgetvalue) *getvalue;
    __typeof__(PQgetlength) *getlength;
    __typeof__(PQgetisnull) *getisnull;
} pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_load_error[256]; /* empty once libpq is loaded */

static void load_libpq(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    const char *why = h ? NULL : dlerror();
#define RESOLVE(field, symbol)                                   \
    if (h && !why && !(*(void **)&pq.field = dlsym(h, symbol))) \
        why = dlerror();
    RESOLVE(connectdb, "PQconnectdb")
    RESOLVE(status, "PQstatus")
    RESOLVE(errorMessage, "PQerrorMessage")
    RESOLVE(finish, "PQfinish")
    RESOLVE(reset, "PQreset")
    RESOLVE(exec, "PQexec")
    RESOLVE(execParams, "PQexecParams")
    RESOLVE(resultStatus, "PQresultStatus")
    RESOLVE(resultErrorField, "PQresultErrorField")
    RESOLVE(clear, "PQclear")
    RESOLVE(ntuples, "PQntuples")
    RESOLVE(getvalue, "PQgetvalue")
    RESOLVE(getlength, "PQgetlength")
    RESOLVE(getisnull, "PQgetisnull")
#undef RESOLVE
    if (why)
        snprintf(pq_load_error, sizeof pq_load_error,
                 "PostgreSQL feedback store: cannot load libpq.so.5 (%s): install libpq5, "
                 "or use the image built with PostgreSQL support", why);
}

typedef struct pg_db {
    PGconn *conn;
    char *location; /* the URL without its password, for messages */
} pg_db;

/* migrations[v - 1] brings the schema from version v - 1 to v, as in
 * store_sqlite.c. */
static const char *const migrations[] = {
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version (version) VALUES (0);"
    "CREATE TABLE feedback ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " created_ms BIGINT NOT NULL,"
    " label SMALLINT NOT NULL CHECK (label BETWEEN 0 AND 10),"
    " prediction SMALLINT,"
    " probabilities BYTEA,"
    " model_version TEXT NOT NULL DEFAULT '',"
    " image BYTEA NOT NULL,"
    " original BYTEA,"
    " original_type TEXT NOT NULL DEFAULT '');",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == FB_SCHEMA_VERSION,
               "one migration step per schema version");

char *fb_pg_redact(const char *url)
{
    size_t len = strlen(url);
    /* each replacement adds at most 3 bytes to at least 10 it consumes */
    char *out = malloc(2 * len + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = url, *scheme = strstr(url, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        size_t auth_len = strcspn(auth, "/?");
        const char *at = memchr(auth, '@', auth_len);
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            memcpy(out, url, (size_t)(colon + 1 - url));
            o = (size_t)(colon + 1 - url);
            memcpy(out + o, "***", 3);
            o += 3;
            p = at;
        }
    }
    while (*p) {
        out[o++] = *p;
        if ((*p == '?' || *p == '&') && strncmp(p + 1, "password=", 9) == 0) {
            memcpy(out + o, "password=***", 12);
            o += 12;
            p += 10;
            p += strcspn(p, "&");
            continue;
        }
        p++;
    }
    out[o] = '\0';
    return out;
}

/* Drops the newline libpq ends its messages with. */
static void chop_newline(char *err)
{
    size_t n = strlen(err);
    if (n && err[n - 1] == '\n')
        err[n - 1] = '\0';
}

/* The fb_status for a failed result (NULL: no result at all). */
static int status_of(const pg_db *d, const PGresult *res)
{
    const char *state = res ? pq.resultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "53100") == 0)
        return FB_ERR_FULL;
    if (pq.status(d->conn) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0)
        return FB_ERR_UNAVAILABLE;
    return FB_ERR_IO;
}

/* Reports a failed command with what was being done; frees res. */
static int fail_res(const pg_db *d, PGresult *res, const char *what, char *err, size_t errlen)
{
    int status = status_of(d, res);
    const char *msg = pq.errorMessage(d->conn);
    const char *primary = res ? pq.resultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(err, errlen, "%s: %s: %s", d->location, what, primary ? primary : msg);
    chop_newline(err);
    pq.clear(res);
    return status;
}

/* Runs a command without parameters or rows. */
static int run(pg_db *d, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *res = pq.exec(d->conn, sql);
    int st = res ? pq.resultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail_res(d, res, what, err, errlen);
    pq.clear(res);
    return FB_OK;
}

/* Ends a failed transaction; harmless outside one. */
static void rollback(pg_db *d)
{
    pq.clear(pq.exec(d->conn, "ROLLBACK"));
}

static void pg_close(void *db)
{
    pg_db *d = db;
    if (!d)
        return;
    if (d->conn)
        pq.finish(d->conn);
    free(d->location);
    free(d);
}

static int pg_open(const char *location, void **db, char *err, size_t errlen)
{
    *db = NULL;
    pthread_once(&pq_once, load_libpq);
    if (pq_load_error[0]) {
        snprintf(err, errlen, "%s", pq_load_error);
        return FB_ERR_UNAVAILABLE;
    }
    pg_db *d = calloc(1, sizeof *d);
    if (!d || !(d->location = fb_pg_redact(location))) {
        free(d);
        snprintf(err, errlen, "PostgreSQL feedback store: out of memory");
        return FB_ERR_IO;
    }
    d->conn = pq.connectdb(location);
    if (!d->conn || pq.status(d->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "%s: cannot connect: %s", d->location,
                 d->conn ? pq.errorMessage(d->conn) : "out of memory");
        chop_newline(err);
        pg_close(d);
        return FB_ERR_UNAVAILABLE;
    }
    /* A server configured with synchronous_commit off would acknowledge
     * records it can still lose. */
    int status = run(d, "SET synchronous_commit = on", "cannot set synchronous_commit", err, errlen);
    if (status != FB_OK) {
        pg_close(d);
        return status;
    }
    *db = d;
    return FB_OK;
}

static int pg_schema_version(void *db, int *version, char *err, size_t errlen)
{
    pg_db *d = db;
    *version = 0;
    /* A query of pg_tables, not to_regclass(): the latter answers from the
     * session's catalog cache, which can miss a table another replica
     * created while this one waited for the migration lock. */
    PGresult *res = pq.exec(d->conn,
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
        " WHERE schemaname = current_schema() AND tablename = 'schema_version')");
    if (!res || pq.resultStatus(res) != PGRES_TUPLES_OK || pq.ntuples(res) != 1)
        return fail_res(d, res, "cannot read the schema", err, errlen);
    int exists = pq.getvalue(res, 0, 0)[0] == 't';
    pq.clear(res);
    if (!exists)
        return FB_OK; /* a new, empty database */
    res = pq.exec(d->conn, "SELECT version FROM schema_version");
    if (!res || pq.resultStatus(res) != PGRES_TUPLES_OK)
        return fail_res(d, res, "cannot read the schema version", err, errlen);
    if (pq.ntuples(res) != 1) {
        snprintf(err, errlen, "%s: the schema_version table has %d rows, not 1", d->location,
                 pq.ntuples(res));
        pq.clear(res);
        return FB_ERR_IO;
    }
    *version = atoi(pq.getvalue(res, 0, 0));
    pq.clear(res);
    return FB_OK;
}

static int pg_migrate(void *db, int from, int to, char *err, size_t errlen)
{
    pg_db *d = db;
    char sql[96];
    int status = run(d, "BEGIN", "cannot start the schema migration", err, errlen);
    if (status != FB_OK)
        return status;
    /* Two replicas starting at once: the second waits here, then sees the
     * first one's schema and has nothing left to do. */
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)", MIGRATION_LOCK_KEY);
    status = run(d, sql, "cannot lock the schema migration", err, errlen);
    int now = from;
    if (status == FB_OK)
        status = pg_schema_version(d, &now, err, errlen);
    if (status == FB_OK && now > to) {
        snprintf(err, errlen, "%s: schema version %d is newer than this program knows (%d)",
                 d->location, now, to);
        status = FB_ERR_SCHEMA;
    }
    for (int v = now + 1; status == FB_OK && v <= to; v++)
        status = run(d, migrations[v - 1], "cannot migrate the schema", err, errlen);
    if (status == FB_OK && now < to) {
        snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", to);
        status = run(d, sql, "cannot record the schema version", err, errlen);
    }
    if (status == FB_OK)
        status = run(d, "COMMIT", "cannot commit the schema migration", err, errlen);
    if (status != FB_OK)
        rollback(d);
    return status;
}

/* One record's insert parameters: text numbers, binary blobs. */
struct params {
    char created[24], label[8], prediction[8];
    uint8_t probs[10 * 4], image[FB_IMAGE_PIXELS * 4];
    const char *values[8];
    int lengths[8], formats[8];
};

static void set_params(struct params *p, const fb_record *r)
{
    snprintf(p->created, sizeof p->created, "%lld", (long long)r->created_ms);
    snprintf(p->label, sizeof p->label, "%d", r->label);
    snprintf(p->prediction, sizeof p->prediction, "%d", r->prediction);
    for (int i = 0; i < 10; i++)
        putf(p->probs + 4 * i, r->probabilities[i]);
    for (int i = 0; i < FB_IMAGE_PIXELS; i++)
        putf(p->image + 4 * i, r->image[i]);
    memset(p->lengths, 0, sizeof p->lengths);
    memset(p->formats, 0, sizeof p->formats);
    p->values[0] = p->created;
    p->values[1] = p->label;
    p->values[2] = r->prediction < 0 ? NULL : p->prediction;
    p->values[3] = r->has_probabilities ? (const char *)p->probs : NULL;
    p->lengths[3] = sizeof p->probs;
    p->formats[3] = 1;
    p->values[4] = r->model_version;
    p->values[5] = (const char *)p->image;
    p->lengths[5] = sizeof p->image;
    p->formats[5] = 1;
    /* A zero-length original is an empty bytea, not NULL, as in SQLite. */
    p->values[6] = r->original ? (const char *)r->original : NULL;
    p->lengths[6] = (int)r->original_len;
    p->formats[6] = 1;
    p->values[7] = r->original_type;
}

/* Reconnects a connection the server dropped (a restart, a failover), so
 * a long-running replica recovers on its next call. */
static int reconnect(pg_db *d, char *err, size_t errlen)
{
    if (pq.status(d->conn) == CONNECTION_OK)
        return FB_OK;
    pq.reset(d->conn);
    if (pq.status(d->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "%s: cannot reconnect: %s", d->location, pq.errorMessage(d->conn));
        chop_newline(err);
        return FB_ERR_UNAVAILABLE;
    }
    return run(d, "SET synchronous_commit = on", "cannot set synchronous_commit", err, errlen);
}

static int pg_insert(void *db, const fb_record *recs, size_t n, int64_t *ids, char *err, size_t errlen)
{
    pg_db *d = db;
    int status = reconnect(d, err, errlen);
    if (status != FB_OK)
        return status;
    struct params *p = malloc(sizeof *p);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", d->location);
        return FB_ERR_IO;
    }
    status = run(d, "BEGIN", "cannot start the insert", err, errlen);
    for (size_t i = 0; status == FB_OK && i < n; i++) {
        set_params(p, &recs[i]);
        PGresult *res = pq.execParams(d->conn,
            "INSERT INTO feedback (created_ms, label, prediction, probabilities, model_version,"
            " image, original, original_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            8, NULL, p->values, p->lengths, p->formats, 0);
        if (!res || pq.resultStatus(res) != PGRES_TUPLES_OK || pq.ntuples(res) != 1) {
            status = fail_res(d, res, "cannot insert feedback", err, errlen);
            break;
        }
        ids[i] = strtoll(pq.getvalue(res, 0, 0), NULL, 10);
        pq.clear(res);
    }
    free(p);
    /* COMMIT returns once the WAL is flushed (synchronous_commit on). */
    if (status == FB_OK)
        status = run(d, "COMMIT", "cannot commit feedback", err, errlen);
    if (status != FB_OK)
        rollback(d);
    return status;
}

static int64_t be_int(const char *v, int len)
{
    uint64_t x = 0;
    for (int i = 0; i < len; i++)
        x = x << 8 | (uint8_t)v[i];
    return len == 4 ? (int32_t)(uint32_t)x : (int64_t)x;
}

static int pg_list(void *db, int64_t after_id, int limit, fb_record *out, int *count,
                   char *err, size_t errlen)
{
    pg_db *d = db;
    *count = 0;
    int status = reconnect(d, err, errlen);
    if (status != FB_OK)
        return status;
    char after[24], lim[16];
    snprintf(after, sizeof after, "%lld", (long long)after_id);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *values[2] = {after, lim};
    /* Binary results: the blobs as they are, the numbers big-endian. */
    PGresult *res = pq.execParams(d->conn,
        "SELECT id, created_ms, label::int4, prediction::int4, probabilities, model_version, image,"
        " coalesce(octet_length(original), 0)::int8, original_type"
        " FROM feedback WHERE id > $1 ORDER BY id LIMIT $2",
        2, NULL, values, NULL, NULL, 1);
    if (!res || pq.resultStatus(res) != PGRES_TUPLES_OK)
        return fail_res(d, res, "cannot list feedback", err, errlen);
    int n = pq.ntuples(res);
    for (int i = 0; i < n && i < limit; i++) {
        fb_record *r = &out[i];
        memset(r, 0, sizeof *r);
        r->id = be_int(pq.getvalue(res, i, 0), 8);
        r->created_ms = be_int(pq.getvalue(res, i, 1), 8);
        r->label = (int)be_int(pq.getvalue(res, i, 2), 4);
        r->prediction = pq.getisnull(res, i, 3) ? -1 : (int)be_int(pq.getvalue(res, i, 3), 4);
        int has_probs = !pq.getisnull(res, i, 4);
        int probs_len = pq.getlength(res, i, 4), image_len = pq.getlength(res, i, 6);
        if ((has_probs && probs_len != 10 * 4) || image_len != FB_IMAGE_PIXELS * 4) {
            snprintf(err, errlen, "%s: record %lld has an image of %d bytes or probabilities of %d bytes",
                     d->location, (long long)r->id, image_len, probs_len);
            pq.clear(res);
            return FB_ERR_IO;
        }
        r->has_probabilities = has_probs;
        const uint8_t *probs = (const uint8_t *)pq.getvalue(res, i, 4);
        const uint8_t *image = (const uint8_t *)pq.getvalue(res, i, 6);
        for (int k = 0; has_probs && k < 10; k++)
            r->probabilities[k] = getf(probs + 4 * k);
        for (int k = 0; k < FB_IMAGE_PIXELS; k++)
            r->image[k] = getf(image + 4 * k);
        snprintf(r->model_version, sizeof r->model_version, "%s", pq.getvalue(res, i, 5));
        r->original = NULL;
        r->original_len = (size_t)be_int(pq.getvalue(res, i, 7), 8);
        snprintf(r->original_type, sizeof r->original_type, "%s", pq.getvalue(res, i, 8));
    }
    *count = n < limit ? n : limit;
    pq.clear(res);
    return FB_OK;
}

const struct fb_backend fb_backend_pg = {
    .name = "postgresql",
    .open = pg_open,
    .schema_version = pg_schema_version,
    .migrate = pg_migrate,
    .insert = pg_insert,
    .list = pg_list,
    .close = pg_close,
};
