/* eval_user_images.c: accuracy of a model on a directory of user-style
 * images (DIR/<kind>/<label>_<anything>.<ext>, as make_user_images writes
 * them), per kind, through the same path the server takes: decode
 * (the server's decoder, image_decode.h), mn_normalize_image,
 * mn_model_forward. A measuring tool, not
 * a pass/fail test; it also reports the normalisation time per kind.
 *
 * Usage: eval_user_images MODEL DIR [-v] [--min-all PCT] [--min-kind PCT]
 *   -v lists every miss. With --min-all / --min-kind it is also a check
 *   (ctest): the overall and each kind's accuracy must reach those
 *   percentages; it ends with "N passed, N failed" and exits non-zero on
 *   any shortfall. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "images.h"

#include "mnist/mnist.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dir, without dot files. */
static int list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 64;
    char **names = malloc((size_t)cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap)
            names = realloc(names, (size_t)(cap *= 2) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    *out = names;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL DIR [-v] [--min-all PCT] [--min-kind PCT]\n", argv[0]);
        return 2;
    }
    int verbose = 0;
    double min_all = -1, min_kind = -1;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--min-all") == 0 && i + 1 < argc) {
            min_all = atof(argv[++i]);
        } else if (strcmp(argv[i], "--min-kind") == 0 && i + 1 < argc) {
            min_kind = atof(argv[++i]);
        } else {
            fprintf(stderr, "eval_user_images: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    int passed = 0, failed = 0;
    mn_error err;
    mn_model *model = NULL;
    mn_workspace *ws = NULL;
    if (mn_model_load(argv[1], &model, NULL, &err) != MN_OK ||
        mn_workspace_create(model, 1, 0, &ws, &err) != MN_OK) {
        fprintf(stderr, "eval_user_images: %s\n", err.msg);
        return 1;
    }
    char **kinds;
    int n_kinds = list_dir(argv[2], &kinds);
    if (n_kinds < 0) {
        fprintf(stderr, "eval_user_images: cannot read %s\n", argv[2]);
        return 1;
    }
    printf("%-8s %7s %9s %12s\n", "kind", "images", "accuracy", "normalise");
    int all = 0, all_ok = 0;
    for (int k = 0; k < n_kinds; k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", argv[2], kinds[k]);
        char **files;
        int n = list_dir(dir, &files);
        if (n <= 0)
            continue;
        int total = 0, ok = 0;
        double us = 0;
        for (int i = 0; i < n; i++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            int label = files[i][0] - '0';
            img_decoded img;
            char why[512];
            if (images_decode_file(path, &img, why, sizeof why) != 0) {
                fprintf(stderr, "eval_user_images: %s: %s\n", path, why);
                continue;
            }
            if (label < 0 || label > 9) {
                fprintf(stderr, "eval_user_images: %s: no label\n", path);
                img_free(&img);
                continue;
            }
            uint8_t px[MN_PIXELS];
            float in[MN_PIXELS], probs[16];
            double t0 = now_us();
            mn_status st = mn_normalize_image(img.pix, img.w, img.h, img.channels, px, &err);
            us += now_us() - t0;
            img_free(&img);
            total++;
            int pred = -1;
            if (st == MN_OK) {
                mn_pixels_to_input(px, in);
                mn_model_forward(model, ws, in, 1, probs);
                pred = 0;
                for (int c = 1; c < 10; c++)
                    if (probs[c] > probs[pred])
                        pred = c;
            }
            ok += pred == label;
            if (verbose && pred != label)
                printf("  miss %s: predicted %d%s%s\n", path, pred, st ? " " : "",
                       st ? err.msg : "");
            free(files[i]);
        }
        free(files);
        double acc = total ? 100.0 * ok / total : 0.0;
        printf("%-8s %7d %8.1f%% %9.0f us\n", kinds[k], total, acc, total ? us / total : 0.0);
        if (min_kind >= 0) {
            if (acc >= min_kind) {
                passed++;
            } else {
                failed++;
                printf("FAIL %s: %.1f%% < %.1f%%\n", kinds[k], acc, min_kind);
            }
        }
        all += total, all_ok += ok;
        free(kinds[k]);
    }
    free(kinds);
    double acc = all ? 100.0 * all_ok / all : 0.0;
    printf("%-8s %7d %8.1f%%\n", "all", all, acc);
    mn_workspace_free(ws);
    mn_model_free(model);
    if (min_all < 0 && min_kind < 0)
        return 0;
    if (min_all >= 0) {
        if (all > 0 && acc >= min_all) {
            passed++;
        } else {
            failed++;
            printf("FAIL all: %.1f%% < %.1f%%\n", acc, min_all);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
