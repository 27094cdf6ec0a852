/* train_bench.c: training throughput of the library on the reference
 * recipe (batch 128, Adam), stepped exactly as mnist-train steps: each
 * batch split into one chunk per OpenMP thread, per-thread gradients
 * summed in thread order, one Adam step. Prints seconds per 60,000-image
 * epoch, images/s, achieved GFLOP/s and its fraction of the FMA peak
 * measured in the same run, as "key value" lines for train_bench.sh.
 *
 * usage: train_bench [--data DIR] [--threads N] [--images N] [--batch N]
 */
#include "fma_peak.h"
#include "gemm.h"
#include "kernels.h"
#include "mnist/mnist.h"

#include <omp.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Forward plus backward flops of the reference model per image. */
#define FLOPS_FWD_BWD 15.4e6
#define EPOCH_IMAGES 60000

/* User + system CPU seconds of the process: on a shared machine, a
 * steadier measure of work than wall time. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    const char *data = getenv("MNIST_DATA_DIR") ? getenv("MNIST_DATA_DIR") : "data/mnist";
    int threads = omp_get_num_procs(), images = EPOCH_IMAGES, batch = 128;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--images"))
            images = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "train_bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || batch < threads || images < batch) {
        fprintf(stderr, "train_bench: bad --threads/--batch/--images\n");
        return 2;
    }
    omp_set_dynamic(0);

    mn_error err;
    mn_dataset ds;
    if (mn_dataset_load(data, "train", &ds, &err) != MN_OK) {
        fprintf(stderr, "train_bench: %s\n", err.msg);
        return 1;
    }
    if ((size_t)images > ds.count)
        images = (int)ds.count;
    mn_arch arch;
    mn_arch_reference(&arch);
    mn_model *m;
    if (mn_model_create(&arch, &m, &err) != MN_OK) {
        fprintf(stderr, "train_bench: %s\n", err.msg);
        return 1;
    }
    mn_model_init_glorot(m, 1);
    const size_t in_size = mn_model_input_size(m), n_params = mn_model_param_count(m);

    /* Everything allocated and touched once before the clock starts. */
    mn_workspace *ws[64];
    float *grads[64];
    int chunk = (batch + threads - 1) / threads;
    for (int t = 0; t < threads; t++) {
        if (mn_workspace_create(m, chunk, 1, &ws[t], &err) != MN_OK) {
            fprintf(stderr, "train_bench: %s\n", err.msg);
            return 1;
        }
        grads[t] = calloc(n_params, sizeof(float));
    }
    float *grad_sum = calloc(n_params, sizeof(float));
    float *in = malloc((size_t)ds.count * in_size * sizeof(float));
    mn_adam adam;
    if (!grad_sum || !in || mn_adam_init(&adam, n_params, 1e-3f, &err) != MN_OK) {
        fprintf(stderr, "train_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)ds.count * in_size; i++)
        in[i] = (float)ds.images[i] / 255.0f;

    const char *isa;
    double peak = bench_fma_peak(threads, 0.3, &isa);

    double loss_sum = 0;
    double c0 = cpu_seconds();
    double t0 = bench_now();
    int done = 0;
    while (done + batch <= images) {
        const float *bin = in + (size_t)done * in_size;
        const uint8_t *blab = ds.labels + done;
        double loss = 0;
#pragma omp parallel num_threads(threads) reduction(+ : loss)
        {
            int t = omp_get_thread_num();
            int lo = (int)((long)batch * t / threads), hi = (int)((long)batch * (t + 1) / threads);
            memset(grads[t], 0, sizeof(float) * n_params);
            if (hi > lo)
                loss += mn_model_backward(m, ws[t], bin + (size_t)lo * in_size, blab + lo,
                                          hi - lo, grads[t], NULL);
        }
        const float scale = 1.0f / (float)batch;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < n_params; i++) {
            float g = 0;
            for (int t = 0; t < threads; t++)
                g += grads[t][i];
            grad_sum[i] = g * scale;
        }
        mn_adam_step(&adam, mn_model_params(m), grad_sum);
        loss_sum += loss;
        done += batch;
    }
    double secs = bench_now() - t0;
    double cpu = cpu_seconds() - c0;
    double ips = done / secs;
    double gflops = ips * FLOPS_FWD_BWD * 1e-9;
    printf("threads %d\n", threads);
    printf("batch %d\n", batch);
    printf("images %d\n", done);
    printf("mean_loss %.4f\n", loss_sum / done);
    printf("kernel_level %s\n", mn_isa_name(mn_kernels_active()->isa));
    printf("images_per_s %.1f\n", ips);
    printf("s_per_epoch %.3f\n", EPOCH_IMAGES / ips);
    printf("gflops %.1f\n", gflops);
    printf("cpu_us_per_image %.1f\n", 1e6 * cpu / done);
    printf("fma_peak_isa %s\n", isa);
    printf("fma_peak_gflops %.1f\n", peak);
    printf("fraction_of_peak %.3f\n", gflops / peak);

    for (int t = 0; t < threads; t++) {
        mn_workspace_free(ws[t]);
        free(grads[t]);
    }
    free(grad_sum);
    free(in);
    mn_adam_free(&adam);
    mn_model_free(m);
    mn_dataset_free(&ds);
    return 0;
}
