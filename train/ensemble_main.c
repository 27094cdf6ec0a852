/* ensemble_main.c: mnist-ensemble: builds an ensemble file from weights
 * files, its thresholds fitted for the whole on MNIST training images that
 * every member held out (the last --val of the 60,000), optionally as a
 * cascade. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "calibrate.h"
#include "paths.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mnist-ensemble --out FILE [--val N] [--escalate-below X] [--coverage X]\n"
            "                      [--name NAME] [--data DIR] [--threads N] MODEL MODEL...\n"
            "  MODEL...      two to %d weights files (the same classes and background class)\n"
            "  --out FILE    the ensemble file to write (crash-safe)\n"
            "  --val N       fit on the last N MNIST training images (default 5000); every\n"
            "                member must have held them out (its recipe's val >= N)\n"
            "  --escalate-below X  a cascade: the first member answers alone when its\n"
            "                calibrated confidence is at least X, the others only for the\n"
            "                rest; 0 runs every member on every input (default 0.9)\n"
            "  --coverage X  the unsure threshold: of those that keep at least X of the\n"
            "                held-out digits answered \"digit\", the lowest with the fewest\n"
            "                wrong answers (default 0.995)\n"
            "  --name NAME   the name in its metadata (default mnist-cnn-ensemble)\n"
            "  --data DIR    the MNIST IDX files (default: $MNIST_DATA_DIR or data/mnist); its\n"
            "                test set, when there, gives the metadata's test accuracy\n"
            "  --threads N   threads (default 2)\n",
            MN_ENSEMBLE_MAX);
}

static double number(const char *flag, const char *v, double lo, double hi)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "mnist-ensemble: %s '%s': expected a number from %g to %g\n", flag, v ? v : "",
                lo, hi);
        exit(2);
    }
    return x;
}

/* 0 when member m held out the last n of MNIST's 60,000 training images
 * (its recipe: val >= n and no limit); else -1 with a message. */
static int held_out(const mn_model *m, const char *path, int n)
{
    cJSON *meta = cJSON_Parse(mn_model_meta(m));
    const cJSON *r = meta ? cJSON_GetObjectItemCaseSensitive(meta, "recipe") : NULL;
    const cJSON *val = r ? cJSON_GetObjectItemCaseSensitive(r, "val") : NULL;
    const cJSON *limit = r ? cJSON_GetObjectItemCaseSensitive(r, "limit") : NULL;
    int ok = cJSON_IsNumber(val) && val->valuedouble >= n &&
             (!limit || (cJSON_IsNumber(limit) && limit->valuedouble == 0));
    if (!ok)
        fprintf(stderr,
                "mnist-ensemble: %s: its recipe does not show the last %d training images held out "
                "(val %g): fitting on images it trained on would flatter it\n",
                path, n, cJSON_IsNumber(val) ? val->valuedouble : 0.0);
    cJSON_Delete(meta);
    return ok ? 0 : -1;
}

/* The ensemble's metadata: what it is, how it was put together and, when
 * the test set is there, its test accuracy as the server answers. No
 * creation time: the same members and options give the same bytes. */
static mn_status set_meta(mn_ensemble *e, const char *name, const char *dir, int val, double coverage,
                          int threads, mn_error *err)
{
    cJSON *root = cJSON_CreateObject(), *recipe = cJSON_CreateObject(), *members = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "name", name);
    cJSON_AddStringToObject(root, "description",
                            e->escalate_below > 0
                                ? "Handwritten digit classifier: a cascade of networks trained from "
                                  "scratch on MNIST (the first alone when it is sure)"
                                : "Handwritten digit classifier: an ensemble of networks trained "
                                  "from scratch on MNIST");
    cJSON_AddStringToObject(root, "dataset", "mnist");
    for (int i = 0; i < e->n; i++)
        cJSON_AddItemToArray(members, cJSON_CreateString(mn_model_version(e->m[i])));
    cJSON_AddItemToObject(recipe, "members", members);
    cJSON_AddNumberToObject(recipe, "escalate_below", round(e->escalate_below * 1e4) / 1e4);
    cJSON_AddNumberToObject(recipe, "val", val);
    cJSON_AddNumberToObject(recipe, "coverage", coverage);
    cJSON_AddNumberToObject(recipe, "unsure_threshold", round(e->calib.unsure_threshold * 1e4) / 1e4);
    cJSON_AddItemToObject(root, "recipe", recipe);
    mn_dataset test;
    answers a;
    if (mn_dataset_load(dir, "t10k", &test, err) == MN_OK) {
        if (answers_compute(e, test.images, test.count, threads, &a, err) == MN_OK) {
            size_t right = 0;
            for (size_t i = 0; i < test.count; i++)
                right += a.pred[i] == test.labels[i];
            double acc = (double)right / (double)test.count;
            cJSON_AddNumberToObject(root, "test_accuracy", round(acc * 1e4) / 1e4);
            printf("test accuracy: %.4f (%zu of %zu; every member answered %zu)\n", acc, right, test.count,
                   a.escalated);
            answers_free(&a);
        }
        mn_dataset_free(&test);
    }
    cJSON_AddStringToObject(root, "trainer", "mnist-ensemble 1.1.0");
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    mn_status st = json ? mn_ensemble_set_meta(e, json, err)
                        : mn_error_set(err, MN_ERR_NOMEM, "ensemble metadata: out of memory");
    cJSON_free(json);
    return st;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *data = NULL, *name = "mnist-cnn-ensemble";
    int val = 5000, threads = 2;
    double escalate = 0.9, coverage = 0.995;
    const char *paths[MN_ENSEMBLE_MAX];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--out") && v) {
            out = v, i++;
        } else if (!strcmp(a, "--name") && v) {
            name = v, i++;
        } else if (!strcmp(a, "--data") && v) {
            data = v, i++;
        } else if (!strcmp(a, "--val")) {
            val = (int)number(a, v, 100, 59000), i++;
        } else if (!strcmp(a, "--threads")) {
            threads = (int)number(a, v, 1, 256), i++;
        } else if (!strcmp(a, "--escalate-below")) {
            escalate = number(a, v, 0, 0.999), i++;
        } else if (!strcmp(a, "--coverage")) {
            coverage = number(a, v, 0.5, 1), i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "mnist-ensemble: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (n == MN_ENSEMBLE_MAX) {
            fprintf(stderr, "mnist-ensemble: at most %d members\n", MN_ENSEMBLE_MAX);
            return 2;
        } else {
            paths[n++] = a;
        }
    }
    if (!out || n < 2) {
        usage(stderr);
        return 2;
    }
    mn_error err;
    mn_ensemble e;
    memset(&e, 0, sizeof e);
    mn_dataset train;
    memset(&train, 0, sizeof train);
    int status = 1;
    for (int i = 0; i < n; i++) {
        mn_model *m;
        if (mn_model_load(paths[i], &m, NULL, &err) != MN_OK) {
            fprintf(stderr, "mnist-ensemble: %s\n", err.msg);
            goto done;
        }
        if (mn_ensemble_add(&e, m, &err) != MN_OK) {
            mn_model_free(m);
            fprintf(stderr, "mnist-ensemble: %s: %s\n", paths[i], err.msg);
            goto done;
        }
        if (held_out(m, paths[i], val) != 0)
            goto done;
    }
    char dir[4096];
    if (data)
        snprintf(dir, sizeof dir, "%s", data);
    else if (paths_default_data(dir, sizeof dir) != 0) {
        fprintf(stderr, "mnist-ensemble: MNIST data not found (tried %s): pass --data DIR\n", dir);
        goto done;
    }
    if (mn_dataset_load(dir, "train", &train, &err) != MN_OK) {
        fprintf(stderr, "mnist-ensemble: %s\n", err.msg);
        goto done;
    }
    if (train.count != 60000 || (size_t)train.rows * train.cols != mn_model_input_size(e.m[0])) {
        fprintf(stderr, "mnist-ensemble: %s: expected MNIST's 60,000 training images of the members' size\n",
                dir);
        goto done;
    }
    e.escalate_below = (float)escalate;
    const size_t from = train.count - (size_t)val;
    if (calibrate_ensemble(&e, train.images + from * MN_PIXELS, train.labels + from, (size_t)val, coverage,
                           threads, &err) != MN_OK ||
        set_meta(&e, name, dir, val, coverage, threads, &err) != MN_OK ||
        mn_ensemble_save(&e, out, &err) != MN_OK) {
        fprintf(stderr, "mnist-ensemble: %s\n", err.msg);
        goto done;
    }
    printf("wrote %s (version %s, %d members%s)\n", out, e.version, e.n,
           e.escalate_below > 0 ? ", a cascade" : "");
    status = 0;
done:
    mn_dataset_free(&train);
    mn_ensemble_free(&e);
    return status;
}
