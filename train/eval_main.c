/* eval_main.c: mnist-eval: accuracy of a weights file (or of an ensemble,
 * a comma-separated list averaging the members' probabilities) on the
 * 10,000 test images of its dataset, with the confusion matrix and
 * per-class precision, recall and F1. The last line is "accuracy: 0.XXXX"
 * for scripts. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "eval_sets.h"
#include "evaluate.h"
#include "paths.h"
#include "read_numbers.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mnist-eval [MODEL[,MODEL...]] [--data DIR] [--threads N] [--samples DIR]\n"
               "                  [--nondigits DIR] [--numbers DIR [-v]]\n"
               "  MODEL        weights file (default: the bundled model); several, comma-separated,\n"
               "               are evaluated as an ensemble averaging their probabilities\n"
               "  --data DIR   directory of the t10k IDX files (default: $MNIST_DATA_DIR or data/mnist;\n"
               "               for a Fashion-MNIST model $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)\n"
               "  --threads N  worker threads (default: the number of CPUs)\n"
               "  --samples DIR    also answer the digit images listed in DIR/labels.csv (columns\n"
               "               file, label, kind): per kind, the share answered \"digit\" and right\n"
               "  --nondigits DIR  also answer the images listed in DIR/labels.csv (columns file,\n"
               "               kind) that are not digits: per kind, the share not answered \"digit\"\n"
               "  --numbers DIR  instead: read the numbers of several digits listed in DIR/labels.csv\n"
               "               (columns file,text,kind) as POST /v1/read does, and print the exact-text\n"
               "               accuracy per kind and overall (-v: every miss)\n"
               "Answers are the server's: calibrated probabilities and the verdict; the test set's\n"
               "expected calibration error (15 bins) and reliability table are printed.\n");
}


/* The class names in m's metadata ("labels"), else numbers; and whether
 * its dataset is Fashion-MNIST. */
static void meta_labels(const mn_model *m, uint32_t K, char (*names)[32], int *fashion)
{
    cJSON *root = cJSON_Parse(mn_model_meta(m));
    const cJSON *labels = root ? cJSON_GetObjectItemCaseSensitive(root, "labels") : NULL;
    const cJSON *ds = root ? cJSON_GetObjectItemCaseSensitive(root, "dataset") : NULL;
    *fashion = cJSON_IsString(ds) && !strcmp(ds->valuestring, "fashion-mnist");
    for (uint32_t k = 0; k < K; k++) {
        const cJSON *l = cJSON_IsArray(labels) ? cJSON_GetArrayItem(labels, (int)k) : NULL;
        snprintf(names[k], 32, "%s", cJSON_IsString(l) ? l->valuestring : "");
        if (!names[k][0])
            snprintf(names[k], 32, "%u", k);
    }
    cJSON_Delete(root);
}

int main(int argc, char **argv)
{
    char model_path[4096] = "", data_dir[4096] = "";
    const char *samples_dir = NULL, *nondigits_dir = NULL, *numbers_dir = NULL;
    int threads = omp_get_num_procs(), data_dir_given = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            snprintf(data_dir, sizeof data_dir, "%s", argv[++i]);
            data_dir_given = 1;
        } else if (!strcmp(argv[i], "--samples") && i + 1 < argc) {
            samples_dir = argv[++i];
        } else if (!strcmp(argv[i], "--nondigits") && i + 1 < argc) {
            nondigits_dir = argv[++i];
        } else if (!strcmp(argv[i], "--numbers") && i + 1 < argc) {
            numbers_dir = argv[++i];
        } else if (!strcmp(argv[i], "-v")) {
            verbose = 1;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 256) {
                fprintf(stderr, "mnist-eval: --threads '%s': expected 1 to 256\n", argv[i]);
                return 2;
            }
            threads = (int)v;
        } else if (argv[i][0] == '-' || model_path[0]) {
            fprintf(stderr, "mnist-eval: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            snprintf(model_path, sizeof model_path, "%s", argv[i]);
        }
    }
    if (!model_path[0] && paths_default_model(model_path, sizeof model_path) != 0) {
        fprintf(stderr, "mnist-eval: no model given and the bundled model was not found (last tried %s)\n",
                model_path);
        return 1;
    }
    mn_error err;
    mn_ensemble ens;
    if (mn_ensemble_load_list(model_path, &ens, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        return 1;
    }
    for (int j = 0; j < ens.n; j++)
        if (mn_model_prepare_inference(ens.m[j], &err) != MN_OK) {
            fprintf(stderr, "mnist-eval: %s: %s\n", model_path, err.msg);
            return 1;
        }
    mn_model *m = ens.m[0];
    if (numbers_dir) {
        printf("model: %s (version %s)\n", model_path, ens.version);
        int rc = read_numbers_eval(&ens, numbers_dir, verbose);
        mn_ensemble_free(&ens);
        return rc;
    }
    static char names[256][32];
    int fashion;
    meta_labels(m, mn_model_classes(m), names, &fashion);
    if (!data_dir_given && fashion)
        paths_default_fashion(data_dir, sizeof data_dir);
    else if (!data_dir_given && paths_default_data(data_dir, sizeof data_dir) != 0) {
        fprintf(stderr, "mnist-eval: MNIST data not found (tried %s); run scripts/fetch-mnist.sh or pass --data DIR\n",
                data_dir);
        return 1;
    }
    mn_dataset test;
    if (mn_dataset_load(data_dir, "t10k", &test, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        return 1;
    }
    if ((size_t)test.rows * test.cols != mn_model_input_size(m)) {
        fprintf(stderr, "mnist-eval: %s: images are %ux%u, the model takes %zu values\n", data_dir,
                test.rows, test.cols, mn_model_input_size(m));
        return 1;
    }
    answers a;
    double t0 = omp_get_wtime();
    if (answers_compute(&ens, test.images, test.count, threads, &a, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        return 1;
    }
    double secs = omp_get_wtime() - t0;
    eval_result r = {a.classes, test.count, 0, calloc((size_t)a.classes * a.classes, sizeof(size_t))};
    uint8_t *right = malloc(test.count ? test.count : 1);
    if (!r.confusion || !right) {
        fprintf(stderr, "mnist-eval: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < test.count; i++) {
        if (test.labels[i] >= a.classes) {
            fprintf(stderr, "mnist-eval: %s: label %u of test image %zu, the model answers %u classes\n",
                    data_dir, test.labels[i], i, a.classes);
            return 1;
        }
        r.confusion[(size_t)test.labels[i] * a.classes + a.pred[i]]++;
        right[i] = a.pred[i] == test.labels[i];
        r.correct += right[i];
    }
    const uint32_t K = r.classes;
    if (ens.n == 1)
        printf("model: %s (version %s, %zu parameters)\n", model_path, ens.version,
               mn_model_param_count(m));
    else
        printf("ensemble: %s (version %s, %d members%s)\n", model_path, ens.version, ens.n,
               ens.escalate_below > 0 ? ", a cascade" : "");
    for (int j = 0; ens.n > 1 && j < ens.n; j++)
        printf("ensemble member: %d (version %s, %zu parameters)\n", j + 1, mn_model_version(ens.m[j]),
               mn_model_param_count(ens.m[j]));
    printf("data: %s, %zu test images, %.2f s (%.0f images/s, %d threads)\n\n", data_dir, r.count,
           secs, r.count / secs, threads);
    printf("confusion matrix (rows: true class, columns: predicted)\n      ");
    for (uint32_t k = 0; k < K; k++)
        printf("%6u", k);
    printf("\n");
    for (uint32_t t = 0; t < K; t++) {
        printf("%6u", t);
        for (uint32_t p = 0; p < K; p++)
            printf("%6zu", r.confusion[(size_t)t * K + p]);
        printf("\n");
    }
    printf("\nclass  precision  recall      f1  support  name\n");
    for (uint32_t k = 0; k < K; k++) {
        size_t tp = r.confusion[(size_t)k * K + k], pred = 0, support = 0;
        for (uint32_t j = 0; j < K; j++) {
            pred += r.confusion[(size_t)j * K + k];
            support += r.confusion[(size_t)k * K + j];
        }
        double p = pred ? (double)tp / pred : 0, rc = support ? (double)tp / support : 0;
        double f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
        printf("%5u  %9.4f  %6.4f  %6.4f  %7zu  %s\n", k, p, rc, f1, support, names[k]);
    }
    double acc = eval_accuracy(&r);
    printf("\ncorrect: %zu of %zu\n", r.correct, r.count);
    /* the binomial standard error of an accuracy measured on r.count images */
    printf("standard error: %.4f\n", r.count ? sqrt(acc * (1 - acc) / (double)r.count) : 0.0);
    const mn_calibration *cal = &ens.calib;
    if (ens.escalate_below > 0)
        printf("\ncalibration: a cascade fitted on %u held-out training images: member 1 alone when "
               "its confidence is at least %.4f, else every member (%.2f%% of the test images); "
               "verdict thresholds: digit score %.4f, unsure below %.4f\n",
               cal->fitted_on, (double)ens.escalate_below, 100.0 * (double)a.escalated / (double)test.count,
               (double)cal->digit_threshold, (double)cal->unsure_threshold);
    else if (cal->fitted_on)
        printf("\ncalibration: temperature %.4f, fitted on %u held-out training images; verdict "
               "thresholds: digit score %.4f, unsure below %.4f\n",
               (double)cal->temperature, cal->fitted_on, (double)cal->digit_threshold,
               (double)cal->unsure_threshold);
    else
        printf("\ncalibration: none (the model's raw softmax)\n");
    answers_print_reliability("test set", a.confidence, right, test.count, 15);
    size_t digit = 0, digit_right = 0;
    for (size_t i = 0; i < test.count; i++)
        if (a.verdict[i] == MN_VERDICT_DIGIT) {
            digit++;
            digit_right += right[i];
        }
    printf("test set: answered \"digit\" %.4f (%zu), right among those %.4f\n",
           (double)digit / test.count, digit, digit ? (double)digit_right / digit : 0.0);
    int status = 0;
    if (samples_dir)
        status |= eval_sets_digits(&ens, samples_dir, threads);
    if (nondigits_dir)
        status |= eval_sets_nondigits(&ens, nondigits_dir, threads);
    /* the last line, for scripts */
    printf("accuracy: %.4f\n", acc);
    free(right);
    answers_free(&a);
    free(r.confusion);
    mn_dataset_free(&test);
    mn_ensemble_free(&ens);
    return status;
}
