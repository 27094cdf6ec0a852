/* trainer.c: the training loop of mnist-train. A batch is split into one
 * fixed chunk per thread; each thread runs forward and backward into its
 * own gradient buffer and the buffers are summed in thread order, so the
 * same seed and thread count give bit-identical weights. Every random
 * choice derives from (seed, epoch), so a checkpoint needs only its
 * position to resume exactly. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evaluate.h"
#include "json_out.h"
#include "mnist/mnist.h"
#include "progress.h"
#include "trainer.h"

#define TRAINER_VERSION "mnist-train 1.0.0"

static volatile sig_atomic_t stop_requested;

void train_request_stop(void) { stop_requested = 1; }

/* Everything one run holds, allocated once before the first batch. */
typedef struct {
    mn_model *model;
    mn_adam adam;
    mn_workspace *ws[256];
    float *grads[256]; /* per thread, [n_params] */
    float *grad_sum;   /* [n_params] */
    float *batch_in;   /* [batch, input_size] */
    uint8_t *batch_labels;
    uint32_t *order;   /* permutation of the training indices */
    mn_dataset train, test;
    size_t n_train;    /* images used for training (after --limit and --val) */
    size_t val_begin, n_val;
    double seconds_before; /* training time of the run before a resume */
} run_state;

static void run_free(run_state *s, int threads)
{
    for (int t = 0; t < threads; t++) {
        mn_workspace_free(s->ws[t]);
        free(s->grads[t]);
    }
    free(s->grad_sum);
    free(s->batch_in);
    free(s->batch_labels);
    free(s->order);
    mn_adam_free(&s->adam);
    mn_model_free(s->model);
    mn_dataset_free(&s->train);
    mn_dataset_free(&s->test);
}

/* The metadata JSON of the model being trained. test_acc/val_acc < 0 are
 * written as null. */
static char *make_meta(const train_options *o, const mn_model *m, double test_acc, double val_acc,
                       double seconds)
{
    char name[256], arch[1024], init[1200], created[32];
    mn_arch_format(mn_model_arch(m), arch, sizeof arch);
    json_quote(o->name, name, sizeof name);
    if (o->init_path)
        json_quote(o->init_path, init, sizeof init);
    else
        snprintf(init, sizeof init, "null");
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char labels[256] = "";
    size_t n = 0;
    for (uint32_t k = 0; k < mn_model_classes(m) && n + 8 < sizeof labels; k++)
        n += (size_t)snprintf(labels + n, sizeof labels - n, "%s\"%u\"", k ? "," : "", k);
    char test_s[32] = "null", val_s[32] = "null";
    if (test_acc >= 0)
        snprintf(test_s, sizeof test_s, "%.4f", test_acc);
    if (val_acc >= 0)
        snprintf(val_s, sizeof val_s, "%.4f", val_acc);
    size_t cap = 4096 + sizeof arch + sizeof init;
    char *json = malloc(cap);
    if (!json)
        return NULL;
    snprintf(json, cap,
             "{\"name\":%s,\"description\":\"Handwritten digit classifier trained from scratch on MNIST\","
             "\"dataset\":\"mnist\",\"labels\":[%s],"
             "\"recipe\":{\"epochs\":%d,\"batch\":%d,\"lr\":%g,\"optimizer\":\"adam\",\"beta1\":0.9,"
             "\"beta2\":0.999,\"eps\":1e-7,\"seed\":%llu,\"threads\":%d,\"val\":%d,\"limit\":%d,"
             "\"init\":%s,\"arch\":\"%s\"},"
             "\"test_accuracy\":%s,\"val_accuracy\":%s,\"train_seconds\":%.1f,\"created\":\"%s\","
             "\"trainer\":\"%s\"}",
             name, labels, o->epochs, o->batch, (double)o->lr, (unsigned long long)o->seed,
             o->threads, o->val, o->limit, init, arch, test_s, val_s, seconds, created,
             TRAINER_VERSION);
    return json;
}

/* Restores the recipe a checkpoint was made with, so the resumed run is
 * the same run. An explicit --epochs may extend it. */
static int recipe_from_checkpoint(train_options *o, const mn_model *m, const char *path,
                                  double *seconds)
{
    cJSON *root = cJSON_Parse(mn_model_meta(m));
    cJSON *r = root ? cJSON_GetObjectItemCaseSensitive(root, "recipe") : NULL;
    if (!cJSON_IsObject(r)) {
        fprintf(stderr, "mnist-train: %s: checkpoint metadata has no training recipe\n", path);
        cJSON_Delete(root);
        return -1;
    }
    cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "epochs"),
          *b = cJSON_GetObjectItemCaseSensitive(r, "batch"),
          *lr = cJSON_GetObjectItemCaseSensitive(r, "lr"),
          *val = cJSON_GetObjectItemCaseSensitive(r, "val"),
          *lim = cJSON_GetObjectItemCaseSensitive(r, "limit"),
          *th = cJSON_GetObjectItemCaseSensitive(r, "threads"),
          *secs = cJSON_GetObjectItemCaseSensitive(root, "train_seconds");
    if (!cJSON_IsNumber(e) || !cJSON_IsNumber(b) || !cJSON_IsNumber(lr) || !cJSON_IsNumber(val) ||
        !cJSON_IsNumber(lim)) {
        fprintf(stderr, "mnist-train: %s: checkpoint recipe lacks epochs, batch, lr, val or limit\n", path);
        cJSON_Delete(root);
        return -1;
    }
    if (!o->epochs_given)
        o->epochs = e->valueint;
    o->batch = b->valueint;
    o->lr = (float)lr->valuedouble;
    o->val = val->valueint;
    o->limit = lim->valueint;
    if (cJSON_IsNumber(th) && th->valueint != o->threads)
        fprintf(stderr, "mnist-train: note: the checkpoint was trained with %d threads, resuming with %d: "
                        "the result will differ in the last bits from an uninterrupted run\n",
                th->valueint, o->threads);
    *seconds = cJSON_IsNumber(secs) ? secs->valuedouble : 0;
    cJSON_Delete(root);
    return 0;
}

static int save(run_state *s, const train_options *o, const char *path, const mn_checkpoint *ck,
                double test_acc, double val_acc, double seconds)
{
    mn_error err;
    char *meta = make_meta(o, s->model, test_acc, val_acc, seconds);
    if (!meta || mn_model_set_meta(s->model, meta, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: cannot build metadata\n");
        free(meta);
        return -1;
    }
    free(meta);
    if (mn_model_save(s->model, path, ck, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Fills the batch buffers with samples order[first .. first+n). */
static void fill_batch(run_state *s, size_t first, int n, size_t in_size)
{
    for (int i = 0; i < n; i++) {
        uint32_t idx = s->order[first + (size_t)i];
        const uint8_t *px = s->train.images + (size_t)idx * in_size;
        float *dst = s->batch_in + (size_t)i * in_size;
        for (size_t k = 0; k < in_size; k++)
            dst[k] = px[k] * (1.0f / 255.0f);
        s->batch_labels[i] = s->train.labels[idx];
    }
}

/* The permutation of epoch e: Fisher-Yates from a stream derived from
 * (seed, e), so it can be rebuilt when resuming mid-epoch. */
static void shuffle(run_state *s, uint64_t seed, uint32_t epoch)
{
    mn_rng r;
    mn_rng_derive(&r, seed, epoch, 0x5348554646ull);
    for (size_t i = 0; i < s->n_train; i++)
        s->order[i] = (uint32_t)i;
    for (size_t i = s->n_train - 1; i > 0; i--) {
        size_t j = mn_rng_below(&r, (uint32_t)(i + 1));
        uint32_t t = s->order[i];
        s->order[i] = s->order[j];
        s->order[j] = t;
    }
}

/* One optimiser step on batch_in/batch_labels[0..n); returns summed loss. */
static double step(run_state *s, int threads, int n, size_t in_size, size_t n_params, int *correct)
{
    double loss = 0;
    int hits = 0;
#pragma omp parallel num_threads(threads) reduction(+ : loss, hits)
    {
        int t = omp_get_thread_num();
        int lo = (int)((long)n * t / threads), hi = (int)((long)n * (t + 1) / threads);
        memset(s->grads[t], 0, sizeof(float) * n_params);
        if (hi > lo) {
            int c = 0;
            loss += mn_model_backward(s->model, s->ws[t], s->batch_in + (size_t)lo * in_size,
                                      s->batch_labels + lo, hi - lo, s->grads[t], &c);
            hits += c;
        }
    }
    /* Sum in thread order, then average: deterministic for a thread count. */
    const float scale = 1.0f / (float)n;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n_params; i++) {
        float g = 0;
        for (int t = 0; t < threads; t++)
            g += s->grads[t][i];
        s->grad_sum[i] = g * scale;
    }
    mn_adam_step(&s->adam, mn_model_params(s->model), s->grad_sum);
    *correct = hits;
    return loss;
}

int train_run(train_options *o)
{
    run_state s;
    memset(&s, 0, sizeof s);
    mn_error err;
    mn_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    int status = 1;
    const int threads = o->threads;
    omp_set_dynamic(0);

    /* The model: resumed, initialised from a file, or fresh. */
    if (o->resume_path) {
        if (mn_model_load(o->resume_path, &s.model, &ck, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            goto done;
        }
        if (ck.adam.n == 0) {
            fprintf(stderr, "mnist-train: %s: a model file, not a checkpoint (no optimiser state); use --init to fine-tune it\n",
                    o->resume_path);
            goto done;
        }
        if (recipe_from_checkpoint(o, s.model, o->resume_path, &s.seconds_before) != 0)
            goto done;
        o->seed = ck.seed;
        s.adam = ck.adam;
        memset(&ck.adam, 0, sizeof ck.adam);
    } else {
        if (o->init_path) {
            if (mn_model_load(o->init_path, &s.model, NULL, &err) != MN_OK) {
                fprintf(stderr, "mnist-train: %s\n", err.msg);
                goto done;
            }
        } else {
            mn_arch arch;
            if (o->arch) {
                if (mn_arch_parse(o->arch, &arch, &err) != MN_OK) {
                    fprintf(stderr, "mnist-train: --arch: %s\n", err.msg);
                    goto done;
                }
            } else {
                mn_arch_reference(&arch);
            }
            if (mn_model_create(&arch, &s.model, &err) != MN_OK) {
                fprintf(stderr, "mnist-train: %s\n", err.msg);
                goto done;
            }
            mn_model_init_glorot(s.model, o->seed);
        }
        if (mn_adam_init(&s.adam, mn_model_param_count(s.model), o->lr, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            goto done;
        }
    }
    const size_t in_size = mn_model_input_size(s.model), n_params = mn_model_param_count(s.model);

    /* The data. */
    if (mn_dataset_load(o->data_dir, "train", &s.train, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: %s\n", err.msg);
        goto done;
    }
    if ((size_t)s.train.rows * s.train.cols != in_size) {
        fprintf(stderr, "mnist-train: %s: images are %ux%u, the model takes %zu values\n", o->data_dir,
                s.train.rows, s.train.cols, in_size);
        goto done;
    }
    if (s.train.classes > mn_model_classes(s.model)) {
        fprintf(stderr, "mnist-train: %s: labels go up to %u, the model has %u classes\n", o->data_dir,
                s.train.classes - 1, mn_model_classes(s.model));
        goto done;
    }
    size_t usable = o->limit > 0 && (size_t)o->limit < s.train.count ? (size_t)o->limit : s.train.count;
    if (o->val < 0 || (size_t)o->val >= usable) {
        fprintf(stderr, "mnist-train: --val %d: must leave training images (have %zu)\n", o->val, usable);
        goto done;
    }
    s.n_val = (size_t)o->val;
    s.n_train = usable - s.n_val;
    s.val_begin = s.n_train; /* Keras' validation_split: the last images */
    int have_test = mn_dataset_load(o->data_dir, "t10k", &s.test, &err) == MN_OK;
    if (!have_test)
        fprintf(stderr, "mnist-train: note: no test set (%s); reporting training figures only\n", err.msg);

    /* Everything the loop touches, allocated once. */
    int chunk = (o->batch + threads - 1) / threads;
    for (int t = 0; t < threads; t++) {
        s.grads[t] = malloc(sizeof(float) * n_params);
        if (!s.grads[t] || mn_workspace_create(s.model, chunk, 1, &s.ws[t], &err) != MN_OK) {
            fprintf(stderr, "mnist-train: out of memory for thread %d's workspace\n", t);
            goto done;
        }
    }
    s.grad_sum = malloc(sizeof(float) * n_params);
    s.batch_in = malloc(sizeof(float) * o->batch * in_size);
    s.batch_labels = malloc((size_t)o->batch);
    s.order = malloc(sizeof(uint32_t) * s.n_train);
    if (!s.grad_sum || !s.batch_in || !s.batch_labels || !s.order) {
        fprintf(stderr, "mnist-train: out of memory\n");
        goto done;
    }

    const size_t batches = (s.n_train + o->batch - 1) / o->batch;
    uint32_t first_epoch = ck.epoch, first_batch = ck.batch;
    progress prog = {.tty = isatty(2)};
    printf("training %s: %zu parameters, %zu training images, %zu validation, batch %d, lr %g, seed %llu, %d threads\n",
           o->name, n_params, s.n_train, s.n_val, o->batch, (double)o->lr, (unsigned long long)o->seed, threads);
    if (o->resume_path)
        printf("resuming %s at epoch %u, batch %u\n", o->resume_path, first_epoch + 1, first_batch);
    fflush(stdout);
    double run_start = omp_get_wtime();
    double test_acc = -1, val_acc = -1;
    for (uint32_t epoch = first_epoch; epoch < (uint32_t)o->epochs; epoch++) {
        double t0 = omp_get_wtime(), loss_sum = 0;
        size_t seen = 0, hits = 0;
        shuffle(&s, o->seed, epoch);
        progress_epoch_start(&prog, (int)epoch + 1, o->epochs, batches, t0);
        for (size_t b = (epoch == first_epoch ? first_batch : 0); b < batches; b++) {
            if (stop_requested) {
                progress_epoch_end(&prog);
                mn_checkpoint c = {o->seed, epoch, (uint32_t)b, s.adam};
                double secs = s.seconds_before + omp_get_wtime() - run_start;
                if (save(&s, o, o->ckpt_path, &c, -1, -1, secs) != 0)
                    goto done;
                printf("interrupted at epoch %u, batch %zu: checkpoint written to %s\n"
                       "resume with: mnist-train --resume %s --out %s\n",
                       epoch + 1, b, o->ckpt_path, o->ckpt_path, o->out_path);
                status = 130;
                goto done;
            }
            size_t first = b * (size_t)o->batch;
            int n = (int)(s.n_train - first < (size_t)o->batch ? s.n_train - first : (size_t)o->batch);
            fill_batch(&s, first, n, in_size);
            int correct;
            loss_sum += step(&s, threads, n, in_size, n_params, &correct);
            hits += (size_t)correct;
            seen += (size_t)n;
            progress_batch(&prog, b + 1, loss_sum / seen, seen, omp_get_wtime());
        }
        double train_secs = omp_get_wtime() - t0;
        progress_epoch_end(&prog);
        char extra[128] = "";
        eval_result r;
        if (s.n_val) {
            if (evaluate(s.model, s.train.images + s.val_begin * in_size, s.train.labels + s.val_begin,
                         s.n_val, threads, &r, &err) == MN_OK) {
                val_acc = eval_accuracy(&r);
                snprintf(extra, sizeof extra, ", val acc %.4f", val_acc);
                eval_result_free(&r);
            }
        } else if (have_test &&
                   evaluate(s.model, s.test.images, s.test.labels, s.test.count, threads, &r, &err) == MN_OK) {
            test_acc = eval_accuracy(&r);
            snprintf(extra, sizeof extra, ", test acc %.4f", test_acc);
            eval_result_free(&r);
        }
        printf("epoch %u/%d: train loss %.4f, train acc %.4f%s, %.1f s (%.0f images/s)\n", epoch + 1,
               o->epochs, seen ? loss_sum / seen : 0.0, seen ? (double)hits / seen : 0.0, extra,
               train_secs, seen / train_secs);
        fflush(stdout);
        mn_checkpoint c = {o->seed, epoch + 1, 0, s.adam};
        if (save(&s, o, o->ckpt_path, &c, test_acc, val_acc,
                 s.seconds_before + omp_get_wtime() - run_start) != 0)
            goto done;
    }
    double seconds = s.seconds_before + omp_get_wtime() - run_start;
    /* The final report on the test set, whatever was used for selection. */
    if (have_test) {
        eval_result r;
        if (evaluate(s.model, s.test.images, s.test.labels, s.test.count, threads, &r, &err) == MN_OK) {
            test_acc = eval_accuracy(&r);
            eval_result_free(&r);
        }
    }
    if (save(&s, o, o->out_path, NULL, test_acc, val_acc, seconds) != 0)
        goto done;
    printf("wrote %s (version %s): ", o->out_path, mn_model_version(s.model));
    if (test_acc >= 0)
        printf("test accuracy %.4f, ", test_acc);
    printf("%.1f s of training\n", seconds);
    status = 0;
done:
    mn_adam_free(&ck.adam);
    run_free(&s, threads);
    return status;
}
