/* eval_sets.c: labelled folders of user images through the server's
 * answer (eval_sets.h). */
#include "eval_sets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "images.h"

#define SETS_MAX_ITEMS 100000
#define SETS_MAX_KINDS 32

typedef struct {
    size_t count;
    uint8_t *pixels;           /* [count, 784] */
    int *label;                /* [count] -1 when the set has none */
    int *kind;                 /* [count] index into kinds */
    int *usable;               /* [count] decoded with ink */
    char kinds[SETS_MAX_KINDS][64];
    int n_kinds;
} image_set;

static void set_free(image_set *s)
{
    free(s->pixels);
    free(s->label);
    free(s->kind);
    free(s->usable);
}

/* The index of column `name` in a CSV header, or -1. */
static int column(char *header, const char *name)
{
    int i = 0;
    for (char *save = NULL, *t = strtok_r(header, ",\r\n", &save); t; t = strtok_r(NULL, ",\r\n", &save), i++)
        if (!strcmp(t, name))
            return i;
    return -1;
}

/* Field i of a CSV line (no quoting: the sets' names hold no commas). */
static int field(const char *line, int i, char *out, size_t outn)
{
    const char *p = line;
    for (int k = 0; k < i; k++) {
        p = strchr(p, ',');
        if (!p)
            return -1;
        p++;
    }
    size_t n = strcspn(p, ",\r\n");
    if (n >= outn)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int load_set(const char *dir, int need_label, image_set *s)
{
    memset(s, 0, sizeof *s);
    char path[4096], line[4096], header[4096];
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mnist-eval: %s: cannot open\n", path);
        return -1;
    }
    int c_file = -1, c_label = -1, c_kind = -1;
    if (fgets(header, sizeof header, f)) {
        char h[4096];
        snprintf(h, sizeof h, "%s", header);
        c_file = column(h, "file");
        snprintf(h, sizeof h, "%s", header);
        c_label = column(h, "label");
        snprintf(h, sizeof h, "%s", header);
        c_kind = column(h, "kind");
    }
    if (c_file < 0 || (need_label && c_label < 0)) {
        fprintf(stderr, "mnist-eval: %s: the header must name the columns file%s\n", path,
                need_label ? " and label" : "");
        fclose(f);
        return -1;
    }
    size_t cap = 256;
    s->pixels = malloc(cap * MN_PIXELS);
    s->label = malloc(cap * sizeof(int));
    s->kind = malloc(cap * sizeof(int));
    s->usable = malloc(cap * sizeof(int));
    int ok = s->pixels && s->label && s->kind && s->usable;
    for (size_t lineno = 2; ok && fgets(line, sizeof line, f); lineno++) {
        char file[1024], lab[64] = "", kind[64] = "all";
        if (strspn(line, " \r\n") == strlen(line))
            continue;
        if (field(line, c_file, file, sizeof file) != 0 ||
            (c_label >= 0 && field(line, c_label, lab, sizeof lab) != 0) ||
            (c_kind >= 0 && field(line, c_kind, kind, sizeof kind) != 0)) {
            fprintf(stderr, "mnist-eval: %s:%zu: a row without the header's columns\n", path, lineno);
            ok = 0;
            break;
        }
        if (s->count == SETS_MAX_ITEMS) {
            fprintf(stderr, "mnist-eval: %s: more than %d rows\n", path, SETS_MAX_ITEMS);
            ok = 0;
            break;
        }
        if (s->count == cap) {
            cap *= 2;
            uint8_t *np = realloc(s->pixels, cap * MN_PIXELS);
            int *nl = np ? realloc(s->label, cap * sizeof(int)) : NULL;
            int *nk = nl ? realloc(s->kind, cap * sizeof(int)) : NULL;
            int *nu = nk ? realloc(s->usable, cap * sizeof(int)) : NULL;
            if (np) s->pixels = np;
            if (nl) s->label = nl;
            if (nk) s->kind = nk;
            if (nu) s->usable = nu;
            if (!nu) {
                fprintf(stderr, "mnist-eval: out of memory\n");
                ok = 0;
                break;
            }
        }
        int k = 0;
        while (k < s->n_kinds && strcmp(s->kinds[k], kind))
            k++;
        if (k == s->n_kinds) {
            if (k == SETS_MAX_KINDS) {
                fprintf(stderr, "mnist-eval: %s: more than %d kinds\n", path, SETS_MAX_KINDS);
                ok = 0;
                break;
            }
            snprintf(s->kinds[s->n_kinds++], sizeof s->kinds[0], "%s", kind);
        }
        char *end;
        long v = strtol(lab, &end, 10);
        s->label[s->count] = c_label >= 0 ? (end != lab && !*end && v >= 0 && v < 256 ? (int)v : -2) : -1;
        if (s->label[s->count] == -2) {
            fprintf(stderr, "mnist-eval: %s:%zu: label \"%s\" is not a class number\n", path, lineno, lab);
            ok = 0;
            break;
        }
        s->kind[s->count] = k;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        s->usable[s->count] = images_read_file(path, s->pixels + s->count * MN_PIXELS) == 0;
        if (!s->usable[s->count])
            memset(s->pixels + s->count * MN_PIXELS, 0, MN_PIXELS);
        s->count++;
    }
    fclose(f);
    if (ok && !s->count) {
        fprintf(stderr, "mnist-eval: %s/labels.csv lists no image\n", dir);
        ok = 0;
    }
    if (!ok)
        set_free(s);
    return ok ? 0 : -1;
}

/* The set of dir, answered as the server answers; 0, or -1 with a
 * message on stderr (nothing to free then). */
static int load_and_answer(const mn_ensemble *e, const char *dir, int need_label,
                           int threads, image_set *s, answers *a)
{
    if (load_set(dir, need_label, s) != 0)
        return -1;
    mn_error err;
    if (answers_compute(e, s->pixels, s->count, threads, a, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        set_free(s);
        return -1;
    }
    return 0;
}

int eval_sets_digits(const mn_ensemble *e, const char *dir, int threads)
{
    image_set s;
    answers a;
    if (load_and_answer(e, dir, 1, threads, &s, &a) != 0)
        return 1;
    float *conf = malloc(sizeof(float) * s.count);
    uint8_t *right = malloc(s.count);
    if (!conf || !right) {
        fprintf(stderr, "mnist-eval: out of memory\n");
        free(conf);
        free(right);
        answers_free(&a);
        set_free(&s);
        return 1;
    }
    printf("\ndigits in %s (%zu images)\n", dir, s.count);
    printf("  kind                  images  digit+right    right  unsure  not_digit  no_ink\n");
    for (int k = -1; k < s.n_kinds; k++) {
        size_t total = 0, dr = 0, rt = 0, uns = 0, nd = 0, noink = 0;
        for (size_t i = 0; i < s.count; i++) {
            if (k >= 0 && s.kind[i] != k)
                continue;
            total++;
            if (!s.usable[i]) {
                noink++;
                continue;
            }
            int ok = a.pred[i] == s.label[i];
            rt += ok;
            dr += ok && a.verdict[i] == MN_VERDICT_DIGIT;
            uns += a.verdict[i] == MN_VERDICT_UNSURE;
            nd += a.verdict[i] == MN_VERDICT_NOT_A_DIGIT;
        }
        printf("  %-20s %7zu  %11.4f  %7.4f  %6.4f  %9.4f  %6zu\n", k < 0 ? "all" : s.kinds[k], total,
               (double)dr / total, (double)rt / total, (double)uns / total, (double)nd / total, noink);
    }
    size_t m = 0;
    for (size_t i = 0; i < s.count; i++)
        if (s.usable[i]) {
            conf[m] = a.confidence[i];
            right[m++] = a.pred[i] == s.label[i];
        }
    answers_print_reliability(dir, conf, right, m, 15);
    if (e->n > 1)
        printf("%s: every member answered %zu of the %zu images\n", dir, a.escalated, s.count);
    free(conf);
    free(right);
    answers_free(&a);
    set_free(&s);
    return 0;
}

int eval_sets_nondigits(const mn_ensemble *e, const char *dir, int threads)
{
    image_set s;
    answers a;
    if (load_and_answer(e, dir, 0, threads, &s, &a) != 0)
        return 1;
    printf("\nnon-digits in %s (%zu images)\n", dir, s.count);
    printf("  kind                  images  not \"digit\"  not_a_digit  unsure  no_ink\n");
    for (int k = -1; k < s.n_kinds; k++) {
        size_t total = 0, rej = 0, nd = 0, uns = 0, noink = 0;
        for (size_t i = 0; i < s.count; i++) {
            if (k >= 0 && s.kind[i] != k)
                continue;
            total++;
            if (!s.usable[i]) {
                noink++;
                continue;
            }
            rej += a.verdict[i] != MN_VERDICT_DIGIT;
            nd += a.verdict[i] == MN_VERDICT_NOT_A_DIGIT;
            uns += a.verdict[i] == MN_VERDICT_UNSURE;
        }
        printf("  %-20s %7zu  %11.4f  %11.4f  %6.4f  %6zu\n", k < 0 ? "all" : s.kinds[k], total,
               (double)rej / total, (double)nd / total, (double)uns / total, noink);
    }
    if (e->n > 1)
        printf("%s: every member answered %zu of the %zu images\n", dir, a.escalated, s.count);
    answers_free(&a);
    set_free(&s);
    return 0;
}
