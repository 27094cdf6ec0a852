/* eval_main.c: mnist-eval: accuracy of a weights file on the 10,000 MNIST
 * test images, with the confusion matrix and per-class precision, recall
 * and F1. The last line is "accuracy: 0.XXXX" for scripts. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "paths.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mnist-eval [MODEL] [--data DIR] [--threads N]\n"
               "  MODEL        weights file (default: the bundled models/mnist-cnn.bin)\n"
               "  --data DIR   directory of the t10k IDX files (default: $MNIST_DATA_DIR or data/mnist)\n"
               "  --threads N  worker threads (default: the number of CPUs)\n");
}

int main(int argc, char **argv)
{
    char model_path[4096] = "", data_dir[4096] = "";
    int threads = omp_get_num_procs();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            snprintf(data_dir, sizeof data_dir, "%s", argv[++i]);
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
    if (!data_dir[0] && paths_default_data(data_dir, sizeof data_dir) != 0) {
        fprintf(stderr, "mnist-eval: MNIST data not found (tried %s); run scripts/fetch-mnist.sh or pass --data DIR\n",
                data_dir);
        return 1;
    }
    mn_error err;
    mn_model *m;
    if (mn_model_load(model_path, &m, NULL, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        return 1;
    }
    mn_dataset test;
    if (mn_dataset_load(data_dir, "t10k", &test, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        mn_model_free(m);
        return 1;
    }
    if ((size_t)test.rows * test.cols != mn_model_input_size(m)) {
        fprintf(stderr, "mnist-eval: %s: images are %ux%u, the model takes %zu values\n", data_dir,
                test.rows, test.cols, mn_model_input_size(m));
        return 1;
    }
    eval_result r;
    double t0 = omp_get_wtime();
    if (evaluate(m, test.images, test.labels, test.count, threads, &r, &err) != MN_OK) {
        fprintf(stderr, "mnist-eval: %s\n", err.msg);
        return 1;
    }
    double secs = omp_get_wtime() - t0;
    const uint32_t K = r.classes;
    printf("model: %s (version %s, %zu parameters)\n", model_path, mn_model_version(m),
           mn_model_param_count(m));
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
    printf("\nclass  precision  recall      f1  support\n");
    for (uint32_t k = 0; k < K; k++) {
        size_t tp = r.confusion[(size_t)k * K + k], pred = 0, support = 0;
        for (uint32_t j = 0; j < K; j++) {
            pred += r.confusion[(size_t)j * K + k];
            support += r.confusion[(size_t)k * K + j];
        }
        double p = pred ? (double)tp / pred : 0, rc = support ? (double)tp / support : 0;
        double f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
        printf("%5u  %9.4f  %6.4f  %6.4f  %7zu\n", k, p, rc, f1, support);
    }
    printf("\ncorrect: %zu of %zu\n", r.correct, r.count);
    printf("accuracy: %.4f\n", eval_accuracy(&r));
    eval_result_free(&r);
    mn_dataset_free(&test);
    mn_model_free(m);
    return 0;
}
