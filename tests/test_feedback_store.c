/* test_feedback_store.c: the feedback store keeps every field of a record
 * to the bit, numbers records from 1, pages through them, refuses invalid
 * records without storing anything, refuses locations it cannot write and
 * schemas newer than it knows, and keeps its records across a reopen.
 * Usage: test_feedback_store PATH (a SQLite file, removed first). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "feedback_store.h"

#define NREC 5

static char err[512];

/* Removes a SQLite database with its WAL and shared-memory files. */
static void remove_db(const char *path)
{
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

/* The stored original bytes of record id, read with SQLite directly, equal
 * want (want == NULL: stored as NULL). */
static int original_stored(const char *path, int64_t id, const uint8_t *want, size_t len)
{
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
        fprintf(stderr, "usage: test_feedback_store PATH\n");
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
    CHECK(strcmp(fb_store_backend(s), "sqlite") == 0, "backend %s", fb_store_backend(s));
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
    char newer[4096];
    snprintf(newer, sizeof newer, "%s.v99", path);
    remove_db(newer);
    rc = fb_store_open(newer, &s, err, sizeof err);
    CHECK(rc == FB_OK, "open %s: %d %s", newer, rc, err);
    fb_store_close(s);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(newer, &db) == SQLITE_OK &&
          sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL) == SQLITE_OK,
          "set schema_version 99");
    sqlite3_close(db);
    s = NULL;
    err[0] = '\0';
    rc = fb_store_open(newer, &s, err, sizeof err);
    CHECK(rc == FB_ERR_SCHEMA && s == NULL, "schema 99: %d", rc);
    CHECK(strstr(err, "99") != NULL && strstr(err, newer) != NULL, "schema 99 message: %s", err);
    db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open(newer, &db) == SQLITE_OK &&
          sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &st, NULL) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 99, "schema 99 left as it was");
    sqlite3_finalize(st);
    sqlite3_close(db);
    remove_db(newer);

    /* No PostgreSQL backend in this build: a clear refusal. */
    const char *urls[] = {"postgresql://localhost/feedback", "postgres://u@h/db"};
    for (int i = 0; i < 2; i++) {
        s = NULL;
        rc = fb_store_open(urls[i], &s, err, sizeof err);
        CHECK(rc == FB_ERR_UNAVAILABLE && s == NULL, "%s: %d", urls[i], rc);
        CHECK(strcmp(err, "this build has no PostgreSQL backend") == 0, "%s: %s", urls[i], err);
    }

    free(original);
    free(want);
    free(got);
    return check_finish();
}
