/* trainer.c: the training loop of mnist-train. A batch is split into one
 * fixed chunk per thread; each thread runs forward and backward into its
 * own gradient buffer and the buffers are summed in thread order, so the
 * same seed and thread count give bit-identical weights. Every random
 * choice (shuffle, augmentation, dropout) derives from (seed, epoch,
 * sample), so a checkpoint needs only its position to resume exactly.
 * The recipe and metadata live in recipe.c, image directories in images.c. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "evaluate.h"
#include "nondigits.h"
#include "images.h"
#include "mnist/mnist.h"
#include "paths.h"
#include "progress.h"
#include "recipe.h"
#include "trainer.h"
#include "feedback_set.h"

/* Stream tags: each kind of random choice gets its own family of streams. */
#define TAG_SHUFFLE 0x5348554646ull /* "SHUFF" */
#define TAG_AUGMENT 0x4155474dull   /* "AUGM" */
#define TAG_DROPOUT 0x44524f50ull   /* "DROP" */

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
    uint64_t *batch_keys; /* [batch] epoch << 32 | sample index: dropout streams */
    float *plain;      /* [batch, input_size] the unaugmented images */
    uint32_t *order;   /* permutation of the training indices */
    char arch[1024];   /* the layer string being trained (before folding) */
    mn_dataset train, test;
    mn_dataset neg;    /* --nondigits: the held-out tail of the non-digits */
    size_t neg_begin;  /* where that tail starts */
    size_t n_train;    /* images used for training (after --limit and --val) */
    size_t val_begin, n_val;
    double seconds_before; /* training time of the run before a resume */
    double cpu_before;     /* its CPU time */
    double cpu_start;      /* process CPU time when this run's loop began */
    uint32_t first_dense;  /* index of the first dense layer (--freeze-conv) */
    feedback_set fb;       /* --feedback: the corrections, split by id */
    size_t fb_reps;        /* times each training correction appears per epoch */
    char final_version[9]; /* version of the folded final file */
    int final_version_set;
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
    free(s->batch_keys);
    free(s->plain);
    free(s->order);
    mn_adam_free(&s->adam);
    mn_model_free(s->model);
    mn_dataset_free(&s->train);
    mn_dataset_free(&s->test);
    mn_dataset_free(&s->neg);
    feedback_set_free(&s->fb);
}

/* CPU seconds of the whole process (every thread) so far: on a shared
 * machine the wall time says little about what a run costs. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fits m's calibration on the run's held-out images: the validation tail,
 * and the held-out non-digits to measure the rejection. */
static mn_status calibrate_held_out(const run_state *s, const train_options *o, mn_model *m,
                                    mn_error *err)
{
    return calibrate_model(m, s->train.images + s->val_begin * MN_PIXELS, s->train.labels + s->val_begin,
                           s->n_val, s->neg.count ? s->neg.images + s->neg_begin * MN_PIXELS : NULL,
                           s->neg.count - s->neg_begin, o->threads, err);
}

/* Writes the model: a checkpoint (ck non-NULL) as trained, with batch norm
 * and dropout; a final model (ck NULL) folded for serving, so it holds only
 * the layer kinds of format version 1. */
static int save(run_state *s, const train_options *o, const char *path, const mn_checkpoint *ck,
                double test_acc, double val_acc, double seconds)
{
    mn_error err;
    char *meta = recipe_meta(o, s->model, s->arch, test_acc, val_acc, seconds,
                             s->cpu_before + cpu_now() - s->cpu_start);
    if (!meta || mn_model_set_meta(s->model, meta, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: cannot build metadata\n");
        free(meta);
        return -1;
    }
    free(meta);
    mn_model *out = s->model, *folded = NULL;
    if (!ck && mn_arch_has_training_layers(mn_model_arch(s->model))) {
        if (mn_model_fold(s->model, &folded, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            return -1;
        }
        out = folded;
    }
    mn_status st = MN_OK;
    if (!ck && s->n_val)
        st = calibrate_held_out(s, o, out, &err);
    if (st == MN_OK)
        st = mn_model_save(out, path, ck, &err);
    if (st == MN_OK && folded)
        s->final_version_set = 1, snprintf(s->final_version, sizeof s->final_version, "%s",
                                           mn_model_version(folded));
    mn_model_free(folded);
    if (st != MN_OK) {
        fprintf(stderr, "mnist-train: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Fills the batch buffers with samples order[first .. first+n) of epoch
 * `epoch`: pixels / 255, then (with augmentation) the sample's own random
 * distortion, drawn from (seed, epoch, index) so that neither the batch
 * split nor the thread count changes it. */
static void fill_batch(run_state *s, const train_options *o, uint32_t epoch, size_t first, int n,
                       size_t in_size, int threads)
{
    const mn_shape in = mn_model_arch(s->model)->input;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < n; i++) {
        uint32_t idx = s->order[first + (size_t)i];
        const uint8_t *px = s->train.images + (size_t)idx * in_size;
        float *dst = s->batch_in + (size_t)i * in_size;
        float *src = o->augment ? s->plain + (size_t)i * in_size : dst;
        for (size_t k = 0; k < in_size; k++)
            src[k] = px[k] * (1.0f / 255.0f);
        if (o->augment) {
            mn_rng r;
            mn_rng_derive(&r, o->seed, (uint64_t)epoch << 32 | TAG_AUGMENT, idx);
            mn_affine t = mn_augment_draw(&o->aug, &r);
            for (uint32_t c = 0; c < in.c; c++)
                mn_affine_warp(dst + (size_t)c * in.h * in.w, src + (size_t)c * in.h * in.w,
                               (int)in.h, (int)in.w, &t);
        }
        s->batch_labels[i] = s->train.labels[idx];
        s->batch_keys[i] = (uint64_t)epoch << 32 | idx;
    }
}

/* The permutation of epoch e: Fisher-Yates from a stream derived from
 * (seed, e), so it can be rebuilt when resuming mid-epoch. */
static void shuffle(run_state *s, uint64_t seed, uint32_t epoch)
{
    mn_rng r;
    mn_rng_derive(&r, seed, epoch, TAG_SHUFFLE);
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
static double step(run_state *s, const train_options *o, int threads, int n, size_t in_size,
                   size_t n_params, int *correct)
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
            mn_train_opts to = {o->seed ^ TAG_DROPOUT, s->batch_keys + lo, o->label_smoothing};
            loss += mn_model_backward_train(s->model, s->ws[t], s->batch_in + (size_t)lo * in_size,
                                            s->batch_labels + lo, hi - lo, &to, s->grads[t], &c);
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
    /* Running statistics start from the identity (mean 0, variance 1): a
     * momentum of (1 + t) / (10 + t) early on, as TensorFlow's moving
     * averages with num_updates, lets them track the batches from the first
     * steps, so even a short run evaluates sensibly. */
    const double t = (double)s->adam.t;
    float mom = (float)((1.0 + t) / (10.0 + t));
    mn_model_update_batch_stats(s->model, s->grad_sum, mom < o->bn_momentum ? mom : o->bn_momentum);
    const float *w = mn_model_params(s->model);
    const mn_arch *arch = mn_model_arch(s->model);
    for (uint32_t t = 0; t < mn_model_tensor_count(s->model); t++) {
        const mn_tensor_info *ti = mn_model_tensor(s->model, t);
        float *g = s->grad_sum + ti->offset;
        if (o->freeze_conv && ti->layer < s->first_dense) {
            memset(g, 0, sizeof(float) * ti->count);
        } else if (o->weight_decay > 0 && ti->ndim > 1 &&
                   arch->layers[ti->layer].kind != MN_LAYER_BATCHNORM) {
            /* L2 on the weights, as Keras' kernel_regularizer: g += wd * w */
            for (size_t i = 0; i < ti->count; i++)
                g[i] += o->weight_decay * w[ti->offset + i];
        }
    }
    mn_adam_step(&s->adam, mn_model_params(s->model), s->grad_sum);
    *correct = hits;
    return loss;
}

/* --nondigits, before anything is sized from the model: grows the
 * background class unless the model has one (or is only recalibrated). */
static int grow_background(run_state *s, const train_options *o)
{
    mn_error err;
    if (mn_model_calibration(s->model)->background >= 0 || o->calibrate_only)
        return 0;
    if (o->resume_path) {
        fprintf(stderr, "mnist-train: %s has no background class to resume with --nondigits\n",
                o->resume_path);
        return -1;
    }
    mn_model *grown;
    if (nondigits_grow(s->model, o->seed, &grown, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: %s\n", err.msg);
        return -1;
    }
    mn_model_free(s->model);
    s->model = grown;
    mn_adam_free(&s->adam);
    if (mn_adam_init(&s->adam, mn_model_param_count(s->model), o->lr, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Appends rows [lo, hi) of src to dst's images and labels at *at. */
static void put_rows(uint8_t *images, uint8_t *labels, size_t *at, const mn_dataset *src, size_t lo,
                     size_t hi)
{
    memcpy(images + *at * MN_PIXELS, src->images + lo * MN_PIXELS, (hi - lo) * MN_PIXELS);
    memcpy(labels + *at, src->labels + lo, hi - lo);
    *at += hi - lo;
}

/* --nondigits and --more-digits: the extra images join the training
 * images, each set's last tenth held out. The held-out non-digits only
 * measure the rejection (s->neg from neg_begin); the held-out extra
 * digits join the validation tail, so that the calibration is fitted on
 * the kinds of digit users send as well as on MNIST's. Layout after:
 * [MNIST train | non-digits | more digits | MNIST val | more digits held out]. */
static int add_extra_sets(run_state *s, const train_options *o, size_t in_size)
{
    mn_error err;
    mn_dataset more = {0};
    if (in_size != MN_PIXELS) {
        fprintf(stderr, "mnist-train: --nondigits and --more-digits need a 1x28x28 model\n");
        return -1;
    }
    int32_t bgc = mn_model_calibration(s->model)->background;
    uint8_t bg = (uint8_t)(bgc < 0 ? 0 : bgc); /* --calibrate of a model without one: measured only */
    if (o->nondigits && nondigits_load(o->nondigits, NULL, bg, &s->neg, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: --nondigits: %s\n", err.msg);
        return -1;
    }
    if (o->more_digits) {
        char img[4200], lab[4200];
        snprintf(img, sizeof img, "%s-images-idx3-ubyte", o->more_digits);
        snprintf(lab, sizeof lab, "%s-labels-idx1-ubyte", o->more_digits);
        if (nondigits_load(img, lab, 0, &more, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: --more-digits: %s\n", err.msg);
            return -1;
        }
        if (more.classes > mn_model_classes(s->model) || (bgc >= 0 && more.classes > (uint32_t)bgc)) {
            fprintf(stderr, "mnist-train: --more-digits: labels go up to %u, past the digit classes\n",
                    more.classes - 1);
            mn_dataset_free(&more);
            return -1;
        }
    }
    size_t n_neg = s->neg.count - s->neg.count / 10, n_more = more.count - more.count / 10;
    s->neg_begin = n_neg;
    size_t total = s->n_train + n_neg + more.count + s->n_val;
    uint8_t *images = malloc(total * MN_PIXELS), *labels = malloc(total);
    if (!images || !labels) {
        free(images);
        free(labels);
        mn_dataset_free(&more);
        fprintf(stderr, "mnist-train: out of memory for %zu images\n", total);
        return -1;
    }
    size_t at = 0;
    put_rows(images, labels, &at, &s->train, 0, s->n_train);
    if (s->neg.count)
        put_rows(images, labels, &at, &s->neg, 0, n_neg);
    if (more.count)
        put_rows(images, labels, &at, &more, 0, n_more);
    size_t n_train = at;
    put_rows(images, labels, &at, &s->train, s->val_begin, s->val_begin + s->n_val);
    if (more.count)
        put_rows(images, labels, &at, &more, n_more, more.count);
    free(s->train.images);
    free(s->train.labels);
    s->train.images = images;
    s->train.labels = labels;
    s->train.count = total;
    if (bgc >= 0 && s->train.classes < (uint32_t)bg + 1)
        s->train.classes = (uint32_t)bg + 1;
    s->n_train = n_train;
    s->val_begin = n_train;
    s->n_val = total - n_train;
    if (o->nondigits)
        printf("non-digits: %zu from %s%s (%zu more held out)\n", n_neg, o->nondigits,
               bgc >= 0 ? " as the background class" : ", measured only", s->neg.count - n_neg);
    if (o->more_digits)
        printf("more digits: %zu from %s (%zu more held out, validated with MNIST's)\n", n_more,
               o->more_digits, more.count - n_more);
    mn_dataset_free(&more);
    return 0;
}

/* --feedback: the training corrections join the MNIST training images,
 * each repeated so that about one image in ten of an epoch is a
 * correction: enough to learn them, while the MNIST replay keeps the
 * model's accuracy on MNIST. Layout after: [MNIST train | corrections x
 * reps | validation]. */
static int add_feedback(run_state *s)
{
    size_t n_fb = s->fb.n_train;
    size_t reps = s->n_train / (9 * n_fb);
    s->fb_reps = reps < 1 ? 1 : reps > 1000 ? 1000 : reps;
    size_t total = s->n_train + s->fb_reps * n_fb + s->n_val;
    uint8_t *images = malloc(total * MN_PIXELS), *labels = malloc(total);
    if (!images || !labels) {
        free(images);
        free(labels);
        fprintf(stderr, "mnist-train: out of memory for %zu images\n", total);
        return -1;
    }
    size_t at = 0;
    put_rows(images, labels, &at, &s->train, 0, s->n_train);
    for (size_t r = 0; r < s->fb_reps; r++) {
        memcpy(images + at * MN_PIXELS, s->fb.train_images, n_fb * MN_PIXELS);
        memcpy(labels + at, s->fb.train_labels, n_fb);
        at += n_fb;
    }
    size_t n_train = at;
    put_rows(images, labels, &at, &s->train, s->val_begin, s->val_begin + s->n_val);
    free(s->train.images);
    free(s->train.labels);
    s->train.images = images;
    s->train.labels = labels;
    s->train.count = total;
    s->n_train = n_train;
    s->val_begin = n_train;
    return 0;
}

/* Accuracy of m on count images, or -1 when there are none. */
static double accuracy_on(const mn_model *m, const uint8_t *images, const uint8_t *labels, size_t count,
                          int threads)
{
    eval_result r;
    mn_error err;
    if (!count || evaluate(m, images, labels, count, threads, &r, &err) != MN_OK)
        return -1;
    double a = eval_accuracy(&r);
    eval_result_free(&r);
    return a;
}

/* Adds a 4-decimal accuracy, or null when it was not measured. */
static void add_acc(cJSON *o, const char *key, double a)
{
    if (a >= 0)
        cJSON_AddNumberToObject(o, key, round(a * 10000) / 10000);
    else
        cJSON_AddNullToObject(o, key);
}

/* The "feedback" object of the metadata: what the model was tuned on.
 * before/after: {held-out corrections, MNIST test} accuracies. */
static char *feedback_json(const run_state *s, const train_options *o, const char *base_version,
                           const double before[2], const double after[2])
{
    cJSON *j = cJSON_CreateObject();
    char rule[32];
    snprintf(rule, sizeof rule, "id %% %d == 0", FEEDBACK_HOLD_EVERY);
    cJSON_AddStringToObject(j, "base_version", base_version);
    cJSON_AddStringToObject(j, "db", s->fb.location);
    cJSON_AddNumberToObject(j, "records", (double)s->fb.n_records);
    cJSON_AddNumberToObject(j, "first_id", (double)s->fb.first_id);
    cJSON_AddNumberToObject(j, "last_id", (double)s->fb.last_id);
    cJSON_AddNumberToObject(j, "train_records", (double)s->fb.n_train);
    cJSON_AddNumberToObject(j, "held_out_records", (double)s->fb.n_held);
    cJSON_AddNumberToObject(j, "skipped_not_a_digit", (double)s->fb.n_skipped);
    cJSON_AddStringToObject(j, "held_out_rule", rule);
    cJSON_AddNumberToObject(j, "repeats_per_epoch", (double)s->fb_reps);
    cJSON_AddNumberToObject(j, "mnist_replay_images", (double)(s->n_train - s->fb_reps * s->fb.n_train));
    cJSON_AddNumberToObject(j, "epochs", o->epochs);
    add_acc(j, "held_out_accuracy_before", before[0]);
    add_acc(j, "held_out_accuracy_after", after[0]);
    add_acc(j, "mnist_test_accuracy_before", before[1]);
    add_acc(j, "mnist_test_accuracy_after", after[1]);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* --calibrate: refits the calibration of the --init model on the --val
 * images and writes it with its metadata unchanged. */
static int calibrate_only(run_state *s, const train_options *o)
{
    mn_error err;
    if (!s->n_val) {
        fprintf(stderr, "mnist-train: --calibrate needs --val N: the held-out images it fits on\n");
        return 1;
    }
    if (calibrate_held_out(s, o, s->model, &err) != MN_OK ||
        mn_model_save(s->model, o->out_path, NULL, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s (version %s)\n", o->out_path, mn_model_version(s->model));
    return 0;
}

/* The model: resumed from a checkpoint (its optimiser state and recipe
 * too), initialised from a file, or fresh. 0, or -1 with a message. */
static int open_model(run_state *s, train_options *o, mn_checkpoint *ck)
{
    mn_error err;
    if (o->resume_path) {
        if (mn_model_load(o->resume_path, &s->model, ck, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            return -1;
        }
        if (ck->adam.n == 0) {
            fprintf(stderr, "mnist-train: %s: a model file, not a checkpoint (no optimiser state); use --init to fine-tune it\n",
                    o->resume_path);
            return -1;
        }
        if (recipe_from_checkpoint(o, s->model, o->resume_path, &s->seconds_before, &s->cpu_before) != 0)
            return -1;
        o->seed = ck->seed;
        s->adam = ck->adam;
        memset(&ck->adam, 0, sizeof ck->adam);
    } else {
        if (o->init_path) {
            if (mn_model_load(o->init_path, &s->model, NULL, &err) != MN_OK) {
                fprintf(stderr, "mnist-train: %s%s\n", err.msg,
                        o->feedback ? " (--feedback fine-tunes one model file such as models/mnist-cnn.bin;"
                                      " an ensemble or cascade file is not supported)" : "");
                return -1;
            }
        } else {
            mn_arch arch;
            if (o->arch) {
                if (mn_arch_parse(o->arch, &arch, &err) != MN_OK) {
                    fprintf(stderr, "mnist-train: --arch: %s\n", err.msg);
                    return -1;
                }
            } else {
                mn_arch_reference(&arch);
            }
            if (mn_model_create(&arch, &s->model, &err) != MN_OK) {
                fprintf(stderr, "mnist-train: %s\n", err.msg);
                return -1;
            }
            mn_model_init_glorot(s->model, o->seed);
        }
        if (mn_adam_init(&s->adam, mn_model_param_count(s->model), o->lr, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

/* --feedback: the store's records, split into those trained on and those
 * held out, and the base model's version. Before any data or file: a bad
 * store or model writes nothing. 0, or -1 with a message. */
static int open_feedback(run_state *s, const train_options *o, size_t in_size, char base_version[9])
{
    if (in_size != MN_PIXELS) {
        fprintf(stderr, "mnist-train: %s: the model takes %zu input values, not 1x28x28: "
                        "--feedback holds 28x28 images\n", o->init_path, in_size);
        return -1;
    }
    char e[1400];
    if (feedback_set_load(o->feedback, mn_model_calibration(s->model)->background, &s->fb, e, sizeof e) != 0) {
        fprintf(stderr, "mnist-train: --feedback %s\n", e);
        return -1;
    }
    snprintf(base_version, 9, "%s", mn_model_version(s->model));
    printf("feedback: %zu records (ids %lld-%lld) from %s: %zu to train on, %zu held out (id %% %d == 0)",
           s->fb.n_records, (long long)s->fb.first_id, (long long)s->fb.last_id, s->fb.location, s->fb.n_train,
           s->fb.n_held, FEEDBACK_HOLD_EVERY);
    if (s->fb.n_skipped)
        printf(", %zu not_a_digit skipped (the model has no such class)", s->fb.n_skipped);
    printf("\n");
    return 0;
}

/* The training images (an image directory, or the IDX files of MNIST or
 * Fashion-MNIST) with their validation tail and any extra sets, and the
 * test set when there is one (*have_test). 0, or -1 with a message. */
static int load_data(run_state *s, train_options *o, size_t in_size, int *have_test)
{
    mn_error err;
    char data_dir[4096];
    if (o->data_dir) {
        snprintf(data_dir, sizeof data_dir, "%s", o->data_dir);
    } else if (o->dataset && !strcmp(o->dataset, "fashion-mnist")) {
        paths_default_fashion(data_dir, sizeof data_dir);
    } else if (paths_default_data(data_dir, sizeof data_dir) != 0 && !o->images_dir) {
        fprintf(stderr, "mnist-train: MNIST data not found (tried %s): run scripts/fetch-mnist.sh or pass --data DIR\n",
                data_dir);
        return -1;
    }
    const char *train_src = o->images_dir ? o->images_dir : data_dir;
    if (o->images_dir) {
        if (images_load(o->images_dir, mn_model_arch(s->model)->input, o->seed, &s->train, &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            return -1;
        }
    } else if (mn_dataset_load(data_dir, "train", &s->train, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: %s%s\n", err.msg,
                o->dataset && !strcmp(o->dataset, "fashion-mnist")
                    ? " (install Debian's dataset-fashion-mnist or run scripts/fetch-fashion-mnist.sh)"
                    : "");
        return -1;
    }
    if ((size_t)s->train.rows * s->train.cols != in_size) {
        fprintf(stderr, "mnist-train: %s: images are %ux%u, the model takes %zu values\n", train_src,
                s->train.rows, s->train.cols, in_size);
        return -1;
    }
    if (s->train.classes > mn_model_classes(s->model)) {
        fprintf(stderr, "mnist-train: %s: labels go up to %u, the model has %u classes\n", train_src,
                s->train.classes - 1, mn_model_classes(s->model));
        return -1;
    }
    size_t usable = o->limit > 0 && (size_t)o->limit < s->train.count ? (size_t)o->limit : s->train.count;
    if (o->val < 0 || (size_t)o->val >= usable) {
        fprintf(stderr, "mnist-train: --val %d: must leave training images (have %zu)\n", o->val, usable);
        return -1;
    }
    s->n_val = (size_t)o->val;
    s->n_train = usable - s->n_val;
    s->val_begin = s->n_train; /* Keras' validation_split: the last images */
    if ((o->nondigits || o->more_digits) && add_extra_sets(s, o, in_size) != 0)
        return -1;
    *have_test = mn_dataset_load(data_dir, "t10k", &s->test, &err) == MN_OK &&
                    (size_t)s->test.rows * s->test.cols == in_size;
    if (!*have_test)
        fprintf(stderr, "mnist-train: note: no test set (%s); reporting training figures only\n", err.msg);
    return 0;
}

/* Everything the training loop touches, allocated once. 0, or -1 with a
 * message. */
static int alloc_loop(run_state *s, const train_options *o, size_t in_size, size_t n_params, int threads)
{
    mn_error err;
    int chunk = (o->batch + threads - 1) / threads;
    for (int t = 0; t < threads; t++) {
        s->grads[t] = malloc(sizeof(float) * n_params);
        if (!s->grads[t]) {
            fprintf(stderr, "mnist-train: out of memory for thread %d's gradients\n", t);
            return -1;
        }
        if (mn_workspace_create(s->model, chunk, 1, &s->ws[t], &err) != MN_OK) {
            fprintf(stderr, "mnist-train: %s\n", err.msg);
            return -1;
        }
    }
    s->grad_sum = malloc(sizeof(float) * n_params);
    s->batch_in = malloc(sizeof(float) * o->batch * in_size);
    s->batch_labels = malloc((size_t)o->batch);
    s->batch_keys = malloc(sizeof(uint64_t) * o->batch);
    s->plain = malloc(sizeof(float) * o->batch * in_size);
    s->order = malloc(sizeof(uint32_t) * s->n_train);
    if (!s->grad_sum || !s->batch_in || !s->batch_labels || !s->batch_keys || !s->plain || !s->order) {
        fprintf(stderr, "mnist-train: out of memory\n");
        return -1;
    }
    return 0;
}

/* One epoch from batch first_batch on: the steps, then the validation
 * (or test) accuracy and a checkpoint. 0; 130 when interrupted (a
 * checkpoint written); -1 with a message. */
static int run_epoch(run_state *s, const train_options *o, uint32_t epoch, size_t first_batch,
                     size_t batches, progress *prog, double run_start, int have_test,
                     double *test_acc, double *val_acc)
{
    const int threads = o->threads;
    const size_t in_size = mn_model_input_size(s->model), n_params = mn_model_param_count(s->model);
    mn_error err;
    double t0 = omp_get_wtime(), loss_sum = 0;
    size_t seen = 0, hits = 0;
    shuffle(s, o->seed, epoch);
    s->adam.lr = train_lr_at(o, epoch);
    progress_epoch_start(prog, (int)epoch + 1, o->epochs, batches, t0);
    for (size_t b = first_batch; b < batches; b++) {
        if (stop_requested) {
            progress_epoch_end(prog);
            mn_checkpoint c = {o->seed, epoch, (uint32_t)b, s->adam};
            double secs = s->seconds_before + omp_get_wtime() - run_start;
            if (save(s, o, o->ckpt_path, &c, -1, -1, secs) != 0)
                return -1;
            printf("interrupted at epoch %u, batch %zu: checkpoint written to %s\n"
                   "resume with: mnist-train --resume %s --out %s\n",
                   epoch + 1, b, o->ckpt_path, o->ckpt_path, o->out_path);
            return 130;
        }
        size_t first = b * (size_t)o->batch;
        int n = (int)(s->n_train - first < (size_t)o->batch ? s->n_train - first : (size_t)o->batch);
        fill_batch(s, o, epoch, first, n, in_size, threads);
        int correct;
        loss_sum += step(s, o, threads, n, in_size, n_params, &correct);
        hits += (size_t)correct;
        seen += (size_t)n;
        progress_batch(prog, b + 1, loss_sum / seen, seen, omp_get_wtime());
    }
    double train_secs = omp_get_wtime() - t0;
    progress_epoch_end(prog);
    char extra[128] = "";
    eval_result r;
    if (s->n_val) {
        if (evaluate(s->model, s->train.images + s->val_begin * in_size, s->train.labels + s->val_begin,
                     s->n_val, threads, &r, &err) == MN_OK) {
            *val_acc = eval_accuracy(&r);
            snprintf(extra, sizeof extra, ", val acc %.4f", *val_acc);
            eval_result_free(&r);
        }
    } else if (have_test &&
               evaluate(s->model, s->test.images, s->test.labels, s->test.count, threads, &r, &err) == MN_OK) {
        *test_acc = eval_accuracy(&r);
        snprintf(extra, sizeof extra, ", test acc %.4f", *test_acc);
        eval_result_free(&r);
    }
    printf("epoch %u/%d: train loss %.4f, train acc %.4f%s, %.1f s (%.0f images/s)\n", epoch + 1,
           o->epochs, seen ? loss_sum / seen : 0.0, seen ? (double)hits / seen : 0.0, extra,
           train_secs, seen / train_secs);
    fflush(stdout);
    mn_checkpoint c = {o->seed, epoch + 1, 0, s->adam};
    if (save(s, o, o->ckpt_path, &c, *test_acc, *val_acc,
             s->seconds_before + omp_get_wtime() - run_start) != 0)
        return -1;
    return 0;
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

    if (open_model(&s, o, &ck) != 0)
        goto done;
    if (o->nondigits && grow_background(&s, o) != 0)
        goto done;
    const size_t in_size = mn_model_input_size(s.model), n_params = mn_model_param_count(s.model);
    mn_arch_format(mn_model_arch(s.model), s.arch, sizeof s.arch);
    char base_version[9] = "";
    if (o->feedback && open_feedback(&s, o, in_size, base_version) != 0)
        goto done;
    if (o->augment && mn_augment_config_check(&o->aug, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: --augment: %s\n", err.msg);
        goto done;
    }
    const mn_arch *arch = mn_model_arch(s.model);
    s.first_dense = arch->n_layers;
    for (uint32_t i = 0; i < arch->n_layers; i++)
        if (arch->layers[i].kind == MN_LAYER_DENSE) {
            s.first_dense = i;
            break;
        }
    if (o->bn_momentum <= 0 || o->bn_momentum >= 1)
        o->bn_momentum = 0.99f;

    int have_test = 0;
    if (load_data(&s, o, in_size, &have_test) != 0)
        goto done;
    double fb_before[2] = {-1, -1}, fb_after[2] = {-1, -1};
    if (o->feedback) {
        if (add_feedback(&s) != 0)
            goto done;
        fb_before[0] = accuracy_on(s.model, s.fb.held_images, s.fb.held_labels, s.fb.n_held, threads);
        if (have_test)
            fb_before[1] = accuracy_on(s.model, s.test.images, s.test.labels, s.test.count, threads);
        printf("before: held-out feedback accuracy %.4f (%zu), MNIST test accuracy %.4f\n", fb_before[0],
               s.fb.n_held, fb_before[1]);
        printf("mix: %zu MNIST images + %zu corrections x %zu per epoch\n",
               s.n_train - s.fb_reps * s.fb.n_train, s.fb.n_train, s.fb_reps);
    }

    if (o->calibrate_only) {
        status = calibrate_only(&s, o);
        goto done;
    }

    if (alloc_loop(&s, o, in_size, n_params, threads) != 0)
        goto done;

    const size_t batches = (s.n_train + o->batch - 1) / o->batch;
    uint32_t first_epoch = ck.epoch, first_batch = ck.batch;
    progress prog = {.tty = isatty(2)};
    printf("training %s: %zu parameters, %zu training images, %zu validation, batch %d, lr %g, seed %llu, %d threads\n",
           o->name, n_params, s.n_train, s.n_val, o->batch, (double)o->lr, (unsigned long long)o->seed, threads);
    if (o->resume_path)
        printf("resuming %s at epoch %u, batch %u\n", o->resume_path, first_epoch + 1, first_batch);
    fflush(stdout);
    double run_start = omp_get_wtime();
    s.cpu_start = cpu_now();
    double test_acc = -1, val_acc = -1;
    for (uint32_t epoch = first_epoch; epoch < (uint32_t)o->epochs; epoch++) {
        int st = run_epoch(&s, o, epoch, epoch == first_epoch ? first_batch : 0, batches, &prog, run_start,
                           have_test, &test_acc, &val_acc);
        if (st != 0) {
            if (st == 130)
                status = 130;
            goto done;
        }
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
    char *fbj = NULL;
    if (o->feedback) {
        fb_after[0] = accuracy_on(s.model, s.fb.held_images, s.fb.held_labels, s.fb.n_held, threads);
        fb_after[1] = test_acc;
        printf("after: held-out feedback accuracy %.4f, MNIST test accuracy %.4f\n", fb_after[0], fb_after[1]);
        fbj = feedback_json(&s, o, base_version, fb_before, fb_after);
        o->feedback_json = fbj;
    }
    int saved = save(&s, o, o->out_path, NULL, test_acc, val_acc, seconds);
    o->feedback_json = NULL;
    free(fbj);
    if (saved != 0)
        goto done;
    printf("wrote %s (version %s): ", o->out_path,
           s.final_version_set ? s.final_version : mn_model_version(s.model));
    if (test_acc >= 0)
        printf("test accuracy %.4f, ", test_acc);
    printf("%.1f s of training (%.1f s of CPU)\n", seconds, s.cpu_before + cpu_now() - s.cpu_start);
    status = 0;
done:
    mn_adam_free(&ck.adam);
    run_free(&s, threads);
    return status;
}
