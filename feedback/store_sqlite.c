/* store_sqlite.c: the SQLite backend of the feedback store (Debian's
 * libsqlite3). WAL mode with synchronous=FULL, so a COMMIT returns only
 * once the WAL is synced: an acknowledged record survives a crash or a
 * power cut. Floats are stored as little-endian float32 blobs, so a
 * database reads the same on any machine. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le_bytes.h"
#include "store_backend.h"

/* How long a writer waits for another connection's lock before failing. */
#define BUSY_TIMEOUT_MS 10000

typedef struct sqlite_db {
    sqlite3 *conn;
    char *location; /* for messages */
} sqlite_db;

/* migrations[v - 1] brings the schema from version v - 1 to v. A new
 * version appends its step here and raises FB_SCHEMA_VERSION. */
static const char *const migrations[] = {
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version (version) VALUES (0);"
    "CREATE TABLE feedback ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " created_ms INTEGER NOT NULL,"
    " label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 10),"
    " prediction INTEGER,"
    " probabilities BLOB,"
    " model_version TEXT NOT NULL DEFAULT '',"
    " image BLOB NOT NULL,"
    " original BLOB,"
    " original_type TEXT NOT NULL DEFAULT '');",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == FB_SCHEMA_VERSION,
               "one migration step per schema version");

/* The fb_status for a SQLite result code. */
static int status_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL: return FB_ERR_FULL;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_NOTADB:
    case SQLITE_AUTH: return FB_ERR_UNAVAILABLE;
    default: return FB_ERR_IO;
    }
}

/* Reports the connection's last error with what was being done. */
static int fail_db(const sqlite_db *d, int rc, const char *what, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s: %s", d->location, what,
                 d->conn ? sqlite3_errmsg(d->conn) : sqlite3_errstr(rc));
    return status_of(rc);
}

static int exec(sqlite_db *d, const char *sql, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_exec(d->conn, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? FB_OK : fail_db(d, rc, what, err, errlen);
}

/* Ends a failed transaction (a no-op when SQLite already rolled it back). */
static void rollback(sqlite_db *d)
{
    if (!sqlite3_get_autocommit(d->conn))
        sqlite3_exec(d->conn, "ROLLBACK", NULL, NULL, NULL);
}

static void sqlite_close(void *db)
{
    sqlite_db *d = db;
    if (!d)
        return;
    sqlite3_close(d->conn);
    free(d->location);
    free(d);
}

static int sqlite_open(const char *location, void **db, char *err, size_t errlen)
{
    *db = NULL;
    sqlite_db *d = calloc(1, sizeof *d);
    if (!d || !(d->location = strdup(location))) {
        free(d);
        snprintf(err, errlen, "%s: out of memory", location);
        return FB_ERR_IO;
    }
    int rc = sqlite3_open_v2(location, &d->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        fail_db(d, rc, "cannot open", err, errlen);
        sqlite_close(d);
        return FB_ERR_UNAVAILABLE;
    }
    sqlite3_extended_result_codes(d->conn, 1);
    sqlite3_busy_timeout(d->conn, BUSY_TIMEOUT_MS);
    /* The journal mode touches the file: an unwritable location or a file
     * that is not a database fails here. */
    /* Switching a new file to WAL needs it to itself: several programs
     * opening it at once get SQLITE_BUSY here without the busy handler,
     * so the switch is retried for as long as the busy timeout. */
    sqlite3_stmt *st = NULL;
    int wal = 0;
    for (int waited = 0;; waited += 10) {
        rc = sqlite3_prepare_v2(d->conn, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        wal = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_finalize(st);
        st = NULL;
        if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) || waited >= BUSY_TIMEOUT_MS)
            break;
        sqlite3_sleep(10);
    }
    if (rc != SQLITE_ROW) {
        int status = fail_db(d, rc, "cannot open", err, errlen);
        sqlite_close(d);
        return status == FB_ERR_IO ? FB_ERR_UNAVAILABLE : status;
    }
    if (!wal) {
        snprintf(err, errlen, "%s: cannot switch to WAL mode", location);
        sqlite_close(d);
        return FB_ERR_UNAVAILABLE;
    }
    int status = exec(d, "PRAGMA synchronous=FULL", "cannot set synchronous=FULL", err, errlen);
    if (status != FB_OK) {
        sqlite_close(d);
        return status;
    }
    *db = d;
    return FB_OK;
}

static int sqlite_schema_version(void *db, int *version, char *err, size_t errlen)
{
    sqlite_db *d = db;
    sqlite3_stmt *st = NULL;
    *version = 0;
    int rc = sqlite3_prepare_v2(d->conn,
        "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return FB_OK; /* a new, empty database */
    if (rc != SQLITE_ROW)
        return fail_db(d, rc, "cannot read the schema", err, errlen);
    rc = sqlite3_prepare_v2(d->conn, "SELECT version FROM schema_version", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        snprintf(err, errlen, "%s: the schema_version table is empty", d->location);
        return FB_ERR_IO;
    }
    return rc == SQLITE_ROW ? FB_OK : fail_db(d, rc, "cannot read the schema version", err, errlen);
}

static int sqlite_migrate(void *db, int from, int to, char *err, size_t errlen)
{
    sqlite_db *d = db;
    /* IMMEDIATE: two programs opening a new file at once serialise here, and
     * the second sees the first one's schema. */
    int status = exec(d, "BEGIN IMMEDIATE", "cannot start the schema migration", err, errlen);
    if (status != FB_OK)
        return status;
    int now = from;
    status = sqlite_schema_version(d, &now, err, errlen);
    for (int v = now + 1; status == FB_OK && v <= to; v++)
        status = exec(d, migrations[v - 1], "cannot migrate the schema", err, errlen);
    if (status == FB_OK && now < to) {
        char sql[64];
        snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", to);
        status = exec(d, sql, "cannot record the schema version", err, errlen);
    }
    if (status == FB_OK)
        status = exec(d, "COMMIT", "cannot commit the schema migration", err, errlen);
    if (status != FB_OK)
        rollback(d);
    return status;
}

static void floats_to_le(const float *f, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        putf(out + 4 * i, f[i]);
}

static void floats_from_le(const uint8_t *in, size_t n, float *f)
{
    for (size_t i = 0; i < n; i++)
        f[i] = getf(in + 4 * i);
}

/* Binds record r to the insert statement (parameters 1-8, in column order). */
static int bind_record(sqlite3_stmt *st, const fb_record *r)
{
    uint8_t probs[10 * 4], image[FB_IMAGE_PIXELS * 4];
    floats_to_le(r->image, FB_IMAGE_PIXELS, image);
    int rc = sqlite3_bind_int64(st, 1, r->created_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 2, r->label);
    if (rc == SQLITE_OK)
        rc = r->prediction < 0 ? sqlite3_bind_null(st, 3) : sqlite3_bind_int(st, 3, r->prediction);
    if (rc == SQLITE_OK && r->has_probabilities) {
        floats_to_le(r->probabilities, 10, probs);
        rc = sqlite3_bind_blob(st, 4, probs, sizeof probs, SQLITE_TRANSIENT);
    } else if (rc == SQLITE_OK) {
        rc = sqlite3_bind_null(st, 4);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 5, r->model_version, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, image, sizeof image, SQLITE_TRANSIENT);
    /* A zero-length original is stored as an empty blob, not NULL, so its
     * presence survives; no original at all is NULL. */
    if (rc == SQLITE_OK)
        rc = r->original ? sqlite3_bind_blob(st, 7, r->original, (int)r->original_len, SQLITE_STATIC)
                         : sqlite3_bind_null(st, 7);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 8, r->original_type, -1, SQLITE_STATIC);
    return rc;
}

static int sqlite_insert(void *db, const fb_record *recs, size_t n, int64_t *ids, char *err, size_t errlen)
{
    sqlite_db *d = db;
    int status = exec(d, "BEGIN IMMEDIATE", "cannot start the insert", err, errlen);
    if (status != FB_OK)
        return status;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->conn,
        "INSERT INTO feedback (created_ms, label, prediction, probabilities, model_version,"
        " image, original, original_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        rc = bind_record(st, &recs[i]);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE) {
            ids[i] = sqlite3_last_insert_rowid(d->conn);
            rc = sqlite3_reset(st);
        }
    }
    if (rc != SQLITE_OK)
        status = fail_db(d, rc, "cannot insert feedback", err, errlen);
    sqlite3_finalize(st);
    if (status == FB_OK)
        status = exec(d, "COMMIT", "cannot commit feedback", err, errlen);
    if (status != FB_OK)
        rollback(d);
    return status;
}

/* Copies a text column into dst (size bytes), cut to fit. */
static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static int sqlite_list(void *db, int64_t after_id, int limit, fb_record *out, int *count,
                       char *err, size_t errlen)
{
    sqlite_db *d = db;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->conn,
        "SELECT id, created_ms, label, prediction, probabilities, model_version, image,"
        " length(original), original_type FROM feedback WHERE id > ? ORDER BY id LIMIT ?",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, after_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 2, limit);
    int n = 0, status = FB_OK;
    while (rc == SQLITE_OK && n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        fb_record *r = &out[n];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        r->created_ms = sqlite3_column_int64(st, 1);
        r->label = sqlite3_column_int(st, 2);
        r->prediction = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
        const uint8_t *probs = sqlite3_column_blob(st, 4);
        int probs_len = sqlite3_column_bytes(st, 4);
        const uint8_t *image = sqlite3_column_blob(st, 6);
        int image_len = sqlite3_column_bytes(st, 6);
        if ((probs && probs_len != 10 * 4) || image_len != FB_IMAGE_PIXELS * 4) {
            snprintf(err, errlen, "%s: record %lld has an image of %d bytes or probabilities of %d bytes",
                     d->location, (long long)r->id, image_len, probs_len);
            status = FB_ERR_IO;
            break;
        }
        if (probs) {
            r->has_probabilities = 1;
            floats_from_le(probs, 10, r->probabilities);
        }
        floats_from_le(image, FB_IMAGE_PIXELS, r->image);
        copy_text(st, 5, r->model_version, sizeof r->model_version);
        r->original = NULL;
        r->original_len = (size_t)sqlite3_column_int64(st, 7);
        copy_text(st, 8, r->original_type, sizeof r->original_type);
        n++;
        rc = SQLITE_OK;
    }
    if (status == FB_OK && rc != SQLITE_OK && rc != SQLITE_DONE)
        status = fail_db(d, rc, "cannot list feedback", err, errlen);
    sqlite3_finalize(st);
    *count = status == FB_OK ? n : 0;
    return status;
}

const struct fb_backend fb_backend_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .schema_version = sqlite_schema_version,
    .migrate = sqlite_migrate,
    .insert = sqlite_insert,
    .list = sqlite_list,
    .close = sqlite_close,
};
