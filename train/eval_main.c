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

#include "evaluate.h"
#include "paths.h"
#include "read_numbers.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mnist-eval [MODEL[,MODEL...]] [--data DIR] [--threads N] [--numbers DIR [-v]]\n"
               "  MODEL        weights file (default: the bundled model); several, comma-separated,\n"
               "               are evaluated as an ensemble averaging their probabilities\n"
               "  --data DIR   directory of the t10k IDX files (default: $MNIST_DATA_DIR or data/mnist;\n"
               "               for a Fashion-MNIST model $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)\n"
               "  --threads N  worker threads (default: the number of CPUs)\n"
               "  --numbers DIR  instead: read the numbers of several digits listed in DIR/labels.csv\n"
               "               (columns file,text,kind) as POST /v1/read does, and print the exact-text\n"
               "               accuracy per kind and overall (-v: every miss)\n");
}

#define MAX_MODELS 16

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
    const char *numbers_dir = NULL;
    int threads = omp_get_num_procs(), data_dir_given = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            snprintf(data_dir, sizeof data_dir, "%s", argv[++i]);
            data_dir_given = 1;
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
    mn_model *models[MAX_MODELS];
    int n_models = 0;
    const char *member[MAX_MODELS];
    char list[4096];
    snprintf(list, sizeof list, "%s", model_path);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n_models == MAX_MODELS) {
            fprintf(stderr, "mnist-eval: more than %d models\n", MAX_MODELS);
            return 2;
        }
        member[n_models] = tok;
        if (mn_model_load(tok, &models[n_models], NULL, &err) != MN_OK ||
            mn_model_prepare_inference(models[n_models], &err) != MN_OK) {
            fprintf(stderr, "mnist-eval: %s\n", err.msg);
            return 1;
        }
        n_models++;
    }
    if (n_models == 0) {
        fprintf(stderr, "mnist-eval: no model in '%s'\n", model_path);
        return 2;
    }
    mn_model *m = models[0];
    if (numbers_dir && n_models > 1) {
        fprintf(stderr, "mnist-eval: --numbers reads with one model, not an ensemble\n");
        return 2;
    }
    if (numbers_dir) {
        printf("model: %s (version %s)\n", member[0], mn_model_version(m));
        int rc = read_numbers_eval(m, numbers_dir, verbose);
        for (int j = 0; j < n_models; j++)
            mn_model_free(models[j]);
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
    eval_result r;
    double t0 = omp_get_wtime();
    if (evaluate_ensemble((const mn_model *const *)models, n_models, test.images, test.labels, test.count,
                          threads, &r, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        return 1;
    }
    double secs = omp_get_wtime() - t0;
    const uint32_t K = r.classes;
    for (int j = 0; j < n_models; j++)
        printf("%s %s (version %s, %zu parameters)\n", n_models > 1 ? "ensemble member:" : "model:",
               member[j], mn_model_version(models[j]),
               mn_model_param_count(models[j]));
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
    printf("accuracy: %.4f\n", acc);
    eval_result_free(&r);
    mn_dataset_free(&test);
    for (int j = 0; j < n_models; j++)
        mn_model_free(models[j]);
    return 0;
}
