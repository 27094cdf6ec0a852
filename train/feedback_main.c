/* feedback_main.c: mnist-feedback, users' corrections out of a feedback
 * store: `export` writes them as PNG files, a CSV and IDX files (the
 * formats mnist-train --more-digits and other tools read); `stats` counts
 * them. Every file is written atomically (temporary file, fsync, rename). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "feedback_set.h"
#include "feedback_store.h"
#include "file_io.h"

#define PAGE 500

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mnist-feedback export DB DIR\n"
            "       mnist-feedback stats DB\n"
            "Reads users' corrections from a feedback store: DB is a SQLite file made by\n"
            "mnist-server --feedback-db, or a postgresql:// URL.\n\n"
            "  export   writes DIR/<id>.png (8-bit grayscale 28x28: the model's input),\n"
            "           DIR/labels.csv (id,label,prediction,version,created), and\n"
            "           DIR/images-idx3-ubyte + DIR/labels-idx1-ubyte (not_a_digit = 10);\n"
            "           DIR is created if absent, each file is written atomically\n"
            "  stats    counts by label, prediction -> label, model version; date range\n\n"
            "exit status: 0 done, 1 the store cannot be read or a file cannot be\n"
            "written (the message names it), 2 bad usage\n");
}

/* Every record of the store, in id order (a malloc'd array, *n of them). */
static int load_all(const char *loc, fb_record **out, size_t *n)
{
    char pub[1024], e[512];
    feedback_location_public(loc, pub, sizeof pub);
    struct stat st;
    if (strncmp(loc, "postgres", 8) && stat(loc, &st) != 0) {
        fprintf(stderr, "mnist-feedback: %s: no such feedback database\n", pub);
        return -1;
    }
    fb_store *s;
    if (fb_store_open(loc, &s, e, sizeof e) != FB_OK) {
        fprintf(stderr, "mnist-feedback: %s: %s\n", pub, e);
        return -1;
    }
    fb_record *all = NULL;
    size_t count = 0;
    int64_t after = 0;
    for (;;) {
        fb_record *grown = realloc(all, (count + PAGE) * sizeof *all);
        int got = 0;
        if (!grown) {
            fprintf(stderr, "mnist-feedback: out of memory\n");
            goto fail;
        }
        all = grown;
        if (fb_store_list(s, after, PAGE, all + count, &got, e, sizeof e) != FB_OK) {
            fprintf(stderr, "mnist-feedback: %s: %s\n", pub, e);
            goto fail;
        }
        count += (size_t)got;
        if (got < PAGE)
            break;
        after = all[count - 1].id;
    }
    fb_store_close(s);
    *out = all;
    *n = count;
    return 0;
fail:
    free(all);
    fb_store_close(s);
    return -1;
}

static void pixels_of(const fb_record *r, uint8_t *px)
{
    for (int i = 0; i < FB_IMAGE_PIXELS; i++) {
        float v = r->image[i] < 0 ? 0 : r->image[i] > 1 ? 1 : r->image[i];
        px[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
}

static void iso_time(int64_t ms, char *b, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(b, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(b + k, len - k, ".%03dZ", (int)(ms % 1000));
}

static int write_file(const char *path, const void *buf, size_t len)
{
    mn_error err;
    if (mn_file_write_atomic(path, buf, len, &err) != MN_OK) {
        fprintf(stderr, "mnist-feedback: %s\n", err.msg);
        return -1;
    }
    return 0;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} membuf;

static void append(void *ctx, void *data, int size)
{
    membuf *m = ctx;
    if (m->failed || size <= 0)
        return;
    if (m->len + (size_t)size > m->cap) {
        size_t cap = (m->len + (size_t)size) * 2;
        uint8_t *b = realloc(m->buf, cap);
        if (!b) {
            m->failed = 1;
            return;
        }
        m->buf = b, m->cap = cap;
    }
    memcpy(m->buf + m->len, data, (size_t)size);
    m->len += (size_t)size;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static int export_all(const fb_record *r, size_t n, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mnist-feedback: %s: cannot create the directory: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t plen = strlen(dir) + 64;
    char *path = malloc(plen);
    uint8_t *idx3 = malloc(16 + n * FB_IMAGE_PIXELS), *idx1 = malloc(8 + n);
    membuf csv = {0};
    int rc = -1;
    if (!path || !idx3 || !idx1)
        goto done;
    put_be32(idx3, 0x00000803), put_be32(idx3 + 4, (uint32_t)n), put_be32(idx3 + 8, 28), put_be32(idx3 + 12, 28);
    put_be32(idx1, 0x00000801), put_be32(idx1 + 4, (uint32_t)n);
    const char *head = "id,label,prediction,version,created\n";
    append(&csv, (void *)head, (int)strlen(head));
    for (size_t i = 0; i < n; i++) {
        uint8_t *px = idx3 + 16 + i * FB_IMAGE_PIXELS;
        pixels_of(&r[i], px);
        idx1[8 + i] = (uint8_t)r[i].label;
        membuf png = {0};
        stbi_write_png_to_func(append, &png, 28, 28, 1, px, 28);
        snprintf(path, plen, "%s/%lld.png", dir, (long long)r[i].id);
        int ok = !png.failed && png.len && write_file(path, png.buf, png.len) == 0;
        free(png.buf);
        if (!ok) {
            if (png.failed || !png.len)
                fprintf(stderr, "mnist-feedback: %s: cannot encode the PNG\n", path);
            goto done;
        }
        char line[256], when[40], label[16], pred[16];
        iso_time(r[i].created_ms, when, sizeof when);
        snprintf(label, sizeof label, r[i].label == FB_LABEL_NOT_A_DIGIT ? "not_a_digit" : "%d", r[i].label);
        if (r[i].prediction < 0)
            pred[0] = 0;
        else
            snprintf(pred, sizeof pred, r[i].prediction == FB_LABEL_NOT_A_DIGIT ? "not_a_digit" : "%d",
                     r[i].prediction);
        /* versions are server-made hex strings; a comma would still break the CSV */
        char ver[FB_VERSION_MAX];
        snprintf(ver, sizeof ver, "%s", r[i].model_version);
        for (char *c = ver; *c; c++)
            if (*c == ',' || *c == '"' || *c == '\n' || *c == '\r')
                *c = '_';
        int k = snprintf(line, sizeof line, "%lld,%s,%s,%s,%s\n", (long long)r[i].id, label, pred, ver, when);
        append(&csv, line, k);
    }
    if (csv.failed)
        goto done;
    snprintf(path, plen, "%s/labels.csv", dir);
    if (write_file(path, csv.buf, csv.len) != 0)
        goto done;
    snprintf(path, plen, "%s/images-idx3-ubyte", dir);
    if (write_file(path, idx3, 16 + n * FB_IMAGE_PIXELS) != 0)
        goto done;
    snprintf(path, plen, "%s/labels-idx1-ubyte", dir);
    if (write_file(path, idx1, 8 + n) != 0)
        goto done;
    printf("exported %zu records to %s\n", n, dir);
    rc = 0;
done:
    if (rc && (!path || !idx3 || !idx1 || csv.failed))
        fprintf(stderr, "mnist-feedback: out of memory\n");
    free(path);
    free(idx3);
    free(idx1);
    free(csv.buf);
    return rc;
}

static const char *name_of(int v, char *b)
{
    if (v < 0)
        return "none";
    if (v == FB_LABEL_NOT_A_DIGIT)
        return "not_a_digit";
    snprintf(b, 8, "%d", v);
    return b;
}

static void stats(const fb_record *r, size_t n)
{
    size_t by_label[11] = {0}, conf[12][11] = {{0}};
    printf("records: %zu\n", n);
    if (!n)
        return;
    int64_t lo = r[0].created_ms, hi = r[0].created_ms;
    for (size_t i = 0; i < n; i++) {
        by_label[r[i].label]++;
        conf[r[i].prediction < 0 ? 11 : r[i].prediction][r[i].label]++;
        if (r[i].created_ms < lo)
            lo = r[i].created_ms;
        if (r[i].created_ms > hi)
            hi = r[i].created_ms;
    }
    char a[40], b[40], x[8], y[8];
    iso_time(lo, a, sizeof a);
    iso_time(hi, b, sizeof b);
    printf("ids: %lld-%lld\ncreated: %s to %s\nby label:\n", (long long)r[0].id, (long long)r[n - 1].id, a, b);
    for (int l = 0; l <= 10; l++)
        if (by_label[l])
            printf("  %s: %zu\n", name_of(l, x), by_label[l]);
    printf("by prediction -> label:\n");
    for (int p = 0; p < 12; p++)
        for (int l = 0; l <= 10; l++)
            if (conf[p][l])
                printf("  %s -> %s: %zu\n", name_of(p == 11 ? -1 : p, x), name_of(l, y), conf[p][l]);
    printf("by model version:\n");
    /* few distinct versions: a quadratic count is fine */
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(r[j].model_version, r[i].model_version);
        if (seen)
            continue;
        size_t c = 0;
        for (size_t j = i; j < n; j++)
            c += !strcmp(r[j].model_version, r[i].model_version);
        printf("  %s: %zu\n", r[i].model_version[0] ? r[i].model_version : "(none)", c);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    int is_export = argc == 4 && !strcmp(argv[1], "export"), is_stats = argc == 3 && !strcmp(argv[1], "stats");
    if (!is_export && !is_stats) {
        usage(stderr);
        return 2;
    }
    fb_record *r;
    size_t n;
    if (load_all(argv[2], &r, &n) != 0)
        return 1;
    int rc = 0;
    if (is_export)
        rc = export_all(r, n, argv[3]) == 0 ? 0 : 1;
    else
        stats(r, n);
    free(r);
    return rc;
}
