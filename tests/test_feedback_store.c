/* test_feedback_store.c: the feedback store keeps every field of a record
 * to the bit, numbers records from 1, pages through them, refuses invalid
 * records without storing anything, refuses locations it cannot write and
 * schemas newer than it knows, and keeps its records across a reopen;
 * a PostgreSQL server it cannot reach is refused, naming the URL without
 * its password.
 * Usage: test_feedback_store LOCATION: a SQLite file (removed first) or a
 * postgresql:// URL of a database whose feedback tables are dropped first.
 * The checks of what is stored read the database directly (sqlite3 or
 * libpq), not through the store. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "feedback_store.h"

#define NREC 5
#define WRITERS 4 /* processes writing at once, as replicas do */
#define WRITES 10

static char err[512];

static int is_pg(const char *location)
{
    return strncmp(location, "postgres", 8) == 0;
}

/* Runs sql on a PostgreSQL database; returns the first value of the first
 * row (malloc'd, "" for a command) or NULL on failure. */
static char *pg_query(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    char *v = NULL;
    PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK && PQntuples(res) > 0)
        v = strdup(PQgetvalue(res, 0, 0));
    else if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        v = strdup("");
    else
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    return v;
}

/* Runs a command on the database; 1 on success. */
static int db_exec(const char *location, const char *sql)
{
    if (is_pg(location)) {
        char *v = pg_query(location, sql);
        free(v);
        return v != NULL;
    }
    sqlite3 *db = NULL;
    int ok = sqlite3_open(location, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

/* The stored schema version, read directly (-1 on failure). */
static int db_version(const char *location)
{
    int v = -1;
    if (is_pg(location)) {
        char *s = pg_query(location, "SELECT version FROM schema_version");
        if (s && s[0])
            v = atoi(s);
        free(s);
        return v;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(location, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Removes a SQLite database with its WAL and shared-memory files, or a
 * PostgreSQL database's feedback tables. */
static void remove_db(const char *path)
{
    if (is_pg(path)) {
        CHECK(db_exec(path, "SET client_min_messages = warning; DROP TABLE IF EXISTS feedback, schema_version"),
              "drop the tables");
        return;
    }
    char p[4096];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* Deterministic floats in [0,1] with full mantissas, so a lossy
 * conversion anywhere would show. */
static float next_float(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f;
}

/* Record i of the test set: each one exercises other optional fields. */
static void make_record(fb_record *r, int i, const uint8_t *original)
{
    uint32_t st = 12345u + (uint32_t)i;
    memset(r, 0, sizeof *r);
    r->created_ms = 1767225600000LL + i * 1001;
    r->label = i == 2 ? FB_LABEL_NOT_A_DIGIT : (7 + i) % 10;
    r->prediction = i == 0 ? -1 : i == 3 ? FB_LABEL_NOT_A_DIGIT : i;
    r->has_probabilities = i != 0;
    for (int k = 0; r->has_probabilities && k < 10; k++)
        r->probabilities[k] = next_float(&st);
    if (i == 4)
        r->probabilities[3] = 1e-40f; /* subnormal */
    for (int p = 0; p < FB_IMAGE_PIXELS; p++)
        r->image[p] = next_float(&st);
    r->image[0] = 0.0f;
    r->image[1] = 1.0f;
    if (i > 0)
        snprintf(r->model_version, sizeof r->model_version, "cnn-%d.%d", i, 2 * i);
    if (i == 1) {
        r->original = original;
        r->original_len = 1000;
        strcpy(r->original_type, "image/png");
    } else if (i == 2) {
        r->original = original;
        r->original_len = FB_ORIGINAL_MAX;
        strcpy(r->original_type, "application/json");
    }
}

/* Whether stored record got equals inserted record want (original bytes
 * aside: the list does not return them). */
static int same_record(const fb_record *got, const fb_record *want)
{
    return got->created_ms == want->created_ms && got->label == want->label &&
           got->prediction == want->prediction && got->has_probabilities == want->has_probabilities &&
           memcmp(got->probabilities, want->probabilities, sizeof want->probabilities) == 0 &&
           strcmp(got->model_version, want->model_version) == 0 &&
           memcmp(got->image, want->image, sizeof want->image) == 0 && got->original == NULL &&
           got->original_len == want->original_len && strcmp(got->original_type, want->original_type) == 0;
}

/* The stored original bytes of record id, read directly, equal want
 * (want == NULL: stored as NULL). */
static int original_stored(const char *path, int64_t id, const uint8_t *want, size_t len)
{
    if (is_pg(path)) {
        PGconn *c = PQconnectdb(path);
        char idtext[24];
        snprintf(idtext, sizeof idtext, "%lld", (long long)id);
        const char *values[1] = {idtext};
        PGresult *res = PQstatus(c) == CONNECTION_OK
            ? PQexecParams(c, "SELECT original FROM feedback WHERE id = $1", 1, NULL, values, NULL, NULL, 1)
            : NULL;
        int ok = 0;
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            ok = want ? !PQgetisnull(res, 0, 0) && (size_t)PQgetlength(res, 0, 0) == len &&
                            memcmp(PQgetvalue(res, 0, 0), want, len) == 0
                      : PQgetisnull(res, 0, 0);
        PQclear(res);
        PQfinish(c);
        return ok;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT original FROM feedback WHERE id = ?", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 0);
        ok = want ? b && (size_t)sqlite3_column_bytes(st, 0) == len && memcmp(b, want, len) == 0
                  : sqlite3_column_type(st, 0) == SQLITE_NULL;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

/* Lists everything in the store; returns the count (-1 on error). */
static int list_all(fb_store *s, fb_record *out, int cap)
{
    int n = -1;
    int rc = fb_store_list(s, 0, cap, out, &n, err, sizeof err);
    CHECK(rc == FB_OK, "list: %d %s", rc, err);
    return rc == FB_OK ? n : -1;
}

/* Child process of the concurrency check: opens the store at the same
 * moment as its siblings (the first open of an empty database migrates)
 * and inserts WRITES records one at a time. Exit status 0 on success. */
static int concurrent_writer(const char *path, const fb_record *rec)
{
    fb_store *s = NULL;
    char e[512];
    if (fb_store_open(path, &s, e, sizeof e) != FB_OK) {
        fprintf(stderr, "concurrent open: %s\n", e);
        return 1;
    }
    int64_t id = 0, last = 0;
    for (int i = 0; i < WRITES; i++) {
        if (fb_store_insert(s, rec, 1, &id, e, sizeof e) != FB_OK || id <= last) {
            fprintf(stderr, "concurrent insert %d: id %lld after %lld: %s\n", i, (long long)id,
                    (long long)last, e);
            fb_store_close(s);
            return 1;
        }
        last = id;
    }
    fb_store_close(s);
    return 0;
}

static void check_refused(fb_store *s, const fb_record *good, fb_record bad, const char *what,
                          fb_record *scratch, int expect_count)
{
    fb_record two[2] = {*good, bad};
    int64_t ids[2] = {0, 0};
    err[0] = '\0';
    int rc = fb_store_insert(s, two, 2, ids, err, sizeof err);
    CHECK(rc == FB_ERR_INVALID, "%s: status %d", what, rc);
    CHECK(err[0] != '\0', "%s: no message", what);
    CHECK(list_all(s, scratch, NREC + 8) == expect_count, "%s: something was stored", what);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_feedback_store SQLITE_PATH|POSTGRESQL_URL\n");
        return 2;
    }
    const char *path = argv[1];
    remove_db(path);
    uint8_t *original = malloc(FB_ORIGINAL_MAX + 1);
    fb_record *want = calloc(NREC, sizeof *want);
    fb_record *got = calloc(NREC + 8, sizeof *got);
    if (!original || !want || !got)
        return 2;
    for (size_t i = 0; i <= FB_ORIGINAL_MAX; i++)
        original[i] = (uint8_t)(i * 131 + 7);
    for (int i = 0; i < NREC; i++)
        make_record(&want[i], i, original);

    fb_store *s = NULL;
    int rc = fb_store_open(path, &s, err, sizeof err);
    CHECK(rc == FB_OK && s, "open %s: %d %s", path, rc, err);
    if (!s)
        return check_finish();
    CHECK(fb_store_schema_version(s) == 1, "schema version %d", fb_store_schema_version(s));
    const char *backend = is_pg(path) ? "postgresql" : "sqlite";
    CHECK(strcmp(fb_store_backend(s), backend) == 0, "backend %s", fb_store_backend(s));
    CHECK(list_all(s, got, NREC + 8) == 0, "a new store is empty");

    /* Three records in one call, then two one at a time. */
    int64_t ids[NREC] = {0};
    rc = fb_store_insert(s, want, 3, ids, err, sizeof err);
    CHECK(rc == FB_OK, "insert 3: %d %s", rc, err);
    for (int i = 3; i < NREC; i++) {
        rc = fb_store_insert(s, &want[i], 1, &ids[i], err, sizeof err);
        CHECK(rc == FB_OK, "insert %d: %d %s", i, rc, err);
    }
    for (int i = 0; i < NREC; i++)
        CHECK(ids[i] == i + 1, "record %d got id %lld", i, (long long)ids[i]);

    int n = list_all(s, got, NREC + 8);
    CHECK(n == NREC, "listed %d records", n);
    for (int i = 0; i < n && i < NREC; i++) {
        CHECK(got[i].id == i + 1, "listed id %lld at %d", (long long)got[i].id, i);
        CHECK(same_record(&got[i], &want[i]), "record %d differs after the round trip", i);
    }
    CHECK(original_stored(path, 1, NULL, 0), "record 1 has no original");
    CHECK(original_stored(path, 2, original, 1000), "record 2's original bytes");
    CHECK(original_stored(path, 3, original, FB_ORIGINAL_MAX), "record 3's original bytes (the maximum)");

    /* Paging: after_id and limit. */
    rc = fb_store_list(s, 2, 2, got, &n, err, sizeof err);
    CHECK(rc == FB_OK && n == 2 && got[0].id == 3 && got[1].id == 4, "page after 2: %d %d", rc, n);
    CHECK(n == 2 && same_record(&got[0], &want[2]) && same_record(&got[1], &want[3]), "page after 2's content");
    rc = fb_store_list(s, 4, 2, got, &n, err, sizeof err);
    CHECK(rc == FB_OK && n == 1 && got[0].id == 5, "page after 4: %d %d", rc, n);
    rc = fb_store_list(s, 5, 2, got, &n, err, sizeof err);
    CHECK(rc == FB_OK && n == 0, "page after 5: %d %d", rc, n);

    /* Invalid records: refused with a message, and the valid one sent in
     * the same call is not stored either. */
    fb_record bad = want[1];
    bad.label = 11;
    check_refused(s, &want[0], bad, "label 11", got, NREC);
    bad = want[1];
    bad.label = -1;
    check_refused(s, &want[0], bad, "label -1", got, NREC);
    bad = want[1];
    bad.prediction = -2;
    check_refused(s, &want[0], bad, "prediction -2", got, NREC);
    bad = want[1];
    bad.prediction = 11;
    check_refused(s, &want[0], bad, "prediction 11", got, NREC);
    bad = want[1];
    bad.probabilities[4] = NAN;
    check_refused(s, &want[0], bad, "NaN probability", got, NREC);
    bad = want[1];
    bad.probabilities[9] = INFINITY;
    check_refused(s, &want[0], bad, "infinite probability", got, NREC);
    bad = want[1];
    bad.original_len = FB_ORIGINAL_MAX + 1;
    check_refused(s, &want[0], bad, "oversize original", got, NREC);
    fb_store_close(s);

    /* Reopened, the store has the same records and goes on numbering. */
    s = NULL;
    rc = fb_store_open(path, &s, err, sizeof err);
    CHECK(rc == FB_OK && s, "reopen: %d %s", rc, err);
    if (s) {
        CHECK(fb_store_schema_version(s) == 1, "reopened schema version %d", fb_store_schema_version(s));
        n = list_all(s, got, NREC + 8);
        CHECK(n == NREC, "reopened store lists %d records", n);
        for (int i = 0; i < n && i < NREC; i++)
            CHECK(got[i].id == i + 1 && same_record(&got[i], &want[i]), "reopened record %d differs", i);
        int64_t id = 0;
        rc = fb_store_insert(s, &want[0], 1, &id, err, sizeof err);
        CHECK(rc == FB_OK && id == NREC + 1, "insert after reopen: %d id %lld %s", rc, (long long)id, err);
        if (is_pg(path)) {
            /* The server drops the connection (a restart, a failover): the
             * next call fails as unavailable, the one after reconnects. */
            CHECK(db_exec(path, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE pid <> pg_backend_pid() AND datname = current_database()"),
                  "terminate the store's connection");
            rc = fb_store_insert(s, &want[1], 1, &id, err, sizeof err);
            CHECK(rc == FB_ERR_UNAVAILABLE && strstr(err, path), "insert on a dropped connection: %d %s", rc, err);
            rc = fb_store_insert(s, &want[1], 1, &id, err, sizeof err);
            CHECK(rc == FB_OK && id == NREC + 2, "insert after reconnecting: %d id %lld %s", rc, (long long)id, err);
            n = list_all(s, got, NREC + 8);
            CHECK(n == NREC + 2 && same_record(&got[NREC + 1], &want[1]), "after reconnecting: %d records", n);
        }
        fb_store_close(s);
    }

    /* A location that cannot be created: refused, naming it. */
    const char *nowhere = "/nonexistent-feedback-dir/sub/feedback.db";
    s = NULL;
    err[0] = '\0';
    rc = fb_store_open(nowhere, &s, err, sizeof err);
    CHECK(rc == FB_ERR_UNAVAILABLE && s == NULL, "unwritable location: %d", rc);
    CHECK(strstr(err, nowhere) != NULL, "message does not name the location: %s", err);

    /* A schema newer than this program knows: refused, and left as it is. */
    CHECK(db_exec(path, "UPDATE schema_version SET version = 99"), "set schema_version 99");
    s = NULL;
    err[0] = '\0';
    rc = fb_store_open(path, &s, err, sizeof err);
    CHECK(rc == FB_ERR_SCHEMA && s == NULL, "schema 99: %d", rc);
    CHECK(strstr(err, "99") != NULL && strstr(err, path) != NULL, "schema 99 message: %s", err);
    CHECK(db_version(path) == 99, "schema 99 left as it was");
    fb_store_close(s);
    remove_db(path);

    /* Several processes opening an empty database at once (one migrates,
     * the others wait for it) and inserting together: every record stored
     * once, with distinct increasing ids. */
    pid_t pids[WRITERS];
    fflush(NULL);
    for (int w = 0; w < WRITERS; w++)
        if ((pids[w] = fork()) == 0)
            _exit(concurrent_writer(path, &want[w % NREC]));
    for (int w = 0; w < WRITERS; w++) {
        int wst = -1;
        CHECK(pids[w] > 0 && waitpid(pids[w], &wst, 0) == pids[w] && WIFEXITED(wst) &&
                  WEXITSTATUS(wst) == 0, "concurrent writer %d: status %d", w, wst);
    }
    s = NULL;
    rc = fb_store_open(path, &s, err, sizeof err);
    CHECK(rc == FB_OK && db_version(path) == 1, "open after the concurrent writers: %d %s", rc, err);
    fb_record *all = calloc(WRITERS * WRITES + 1, sizeof *all);
    n = s && all ? list_all(s, all, WRITERS * WRITES + 1) : -1;
    CHECK(n == WRITERS * WRITES, "the concurrent writers stored %d records, not %d", n, WRITERS * WRITES);
    for (int i = 1; i < n; i++)
        CHECK(all[i].id > all[i - 1].id, "ids %lld then %lld", (long long)all[i - 1].id, (long long)all[i].id);
    free(all);
    fb_store_close(s);
    remove_db(path);

    /* A PostgreSQL server that is not there (a socket directory without a
     * server): unavailable, naming the URL but not its password. */
    char dir[] = "/tmp/fb-no-server-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char url[256];
    const char *secret = "pw-Xq7-secret";
    const char *forms[] = {"postgresql://fbuser:%s@/feedback?host=%s",
                           "postgres:///feedback?host=%s&password=%s&user=fbuser"};
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            snprintf(url, sizeof url, forms[i], secret, dir);
        else
            snprintf(url, sizeof url, forms[i], dir, secret);
        s = NULL;
        err[0] = '\0';
        rc = fb_store_open(url, &s, err, sizeof err);
        CHECK(rc == FB_ERR_UNAVAILABLE && s == NULL, "%s: %d %s", url, rc, err);
        CHECK(strstr(err, dir) != NULL, "message does not name the server: %s", err);
        CHECK(strstr(err, secret) == NULL, "message shows the password: %s", err);
        CHECK(strstr(err, "***") != NULL, "message does not mark the password hidden: %s", err);
    }
    rmdir(dir);

    free(original);
    free(want);
    free(got);
    return check_finish();
}
