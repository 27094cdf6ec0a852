/* recipe.c: training recipes as data: the presets, the lr schedule
 * parser, class names, the metadata block a run writes (docs/FORMAT.md)
 * and the recipe read back from a checkpoint. No training happens here. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recipe.h"

#define TRAINER_VERSION "mnist-train 1.1.0"

/* The presets. "large" is the bundled default model's recipe: two
 * conv-conv-pool blocks with batch norm, dropout, random affine
 * augmentation and an exponentially decaying learning rate (after the
 * recipes that reach 99.6%+ on MNIST with small CNNs). "small" is the
 * reference network with the same regularisation, a cheap ensemble member. */
static const char ARCH_LARGE[] =
    "1x28x28:conv32k3,bn,relu,conv32k3,bn,relu,pool2,conv64k3,bn,relu,conv64k3,bn,relu,pool2,"
    "dropout25,flatten,dense256,bn,relu,dropout40,dense10,softmax";
static const char ARCH_SMALL[] =
    "1x28x28:conv32k3,bn,relu,pool2,conv64k3,bn,relu,pool2,dropout25,flatten,dense128,bn,relu,"
    "dropout40,dense10,softmax";

int recipe_preset(train_options *o, const char *name)
{
    if (!strcmp(name, "reference")) {
        o->arch = NULL;
        o->epochs = 10;
        o->batch = 128;
        o->lr = 0.001f;
        o->schedule = LR_CONSTANT;
        o->augment = 0;
        o->weight_decay = 0;
        o->label_smoothing = 0;
    } else if (!strcmp(name, "large") || !strcmp(name, "small")) {
        o->arch = name[0] == 'l' ? ARCH_LARGE : ARCH_SMALL;
        o->epochs = name[0] == 'l' ? 16 : 15;
        o->batch = 128;
        o->lr = 0.001f;
        o->schedule = LR_EXP;
        o->lr_decay = 0.85f;
        o->augment = 1;
        o->aug = (mn_augment_config){10.0f, 0.1f, 2.5f, 5.0f};
        o->weight_decay = 0;
        o->label_smoothing = 0;
    } else {
        return -1;
    }
    o->preset = name;
    return 0;
}

const char *recipe_preset_names(void) { return "reference, large, small"; }

int recipe_parse_schedule(train_options *o, const char *s)
{
    if (!strcmp(s, "const")) {
        o->schedule = LR_CONSTANT;
        return 0;
    }
    if (!strcmp(s, "cosine")) {
        o->schedule = LR_COSINE;
        return 0;
    }
    if (!strncmp(s, "exp:", 4)) {
        char *end;
        double f = strtod(s + 4, &end);
        if (end == s + 4 || *end || !(f > 0 && f <= 1))
            return -1;
        o->schedule = LR_EXP;
        o->lr_decay = (float)f;
        return 0;
    }
    return -1;
}

float train_lr_at(const train_options *o, uint32_t epoch)
{
    switch (o->schedule) {
    case LR_EXP: return (float)(o->lr * pow(o->lr_decay, epoch));
    case LR_COSINE:
        return (float)(o->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * epoch / (o->epochs > 0 ? o->epochs : 1))));
    case LR_CONSTANT: break;
    }
    return o->lr;
}

static void schedule_string(const train_options *o, char *buf, size_t len)
{
    if (o->schedule == LR_EXP)
        snprintf(buf, len, "exp:%g", (double)o->lr_decay);
    else
        snprintf(buf, len, "%s", o->schedule == LR_COSINE ? "cosine" : "const");
}

const char *recipe_label(const char *dataset, uint32_t k, char *buf, size_t len)
{
    static const char *const fashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    if (dataset && !strcmp(dataset, "fashion-mnist") && k < 10)
        snprintf(buf, len, "%s", fashion[k]);
    else
        snprintf(buf, len, "%u", k);
    return buf;
}

/* A number as JSON: whole numbers exactly, others with %.7g, the
 * precision of the float they came from, so 0.001f stays 0.001. */
static void add_num(cJSON *o, const char *key, double v)
{
    char s[64];
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(s, sizeof s, "%.0f", v);
    else
        snprintf(s, sizeof s, "%.7g", v);
    cJSON_AddItemToObject(o, key, cJSON_CreateRaw(s));
}

static void add_str_or_null(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

char *recipe_meta(const train_options *o, const mn_model *m, const char *arch_trained,
                  double test_acc, double val_acc, double seconds, double cpu_seconds)
{
    int fashion = o->dataset && !strcmp(o->dataset, "fashion-mnist");
    cJSON *root = cJSON_CreateObject(), *labels = cJSON_CreateArray(), *r = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "name", o->name);
    cJSON_AddStringToObject(root, "description",
                            o->feedback     ? "Handwritten digit classifier fine-tuned on users' corrections with MNIST replay"
                            : o->images_dir ? "Image classifier fine-tuned on a directory of labelled images"
                            : fashion     ? "Fashion-MNIST clothing classifier trained from scratch"
                                          : "Handwritten digit classifier trained from scratch on MNIST");
    cJSON_AddStringToObject(root, "dataset", fashion ? "fashion-mnist" : "mnist");
    for (uint32_t k = 0; k < mn_model_classes(m); k++) {
        char b[32];
        cJSON_AddItemToArray(labels, cJSON_CreateString((int32_t)k == mn_model_calibration(m)->background
                                                            ? "not_a_digit"
                                                            : recipe_label(o->dataset, k, b, sizeof b)));
    }
    cJSON_AddItemToObject(root, "labels", labels);
    add_num(r, "epochs", o->epochs);
    add_num(r, "batch", o->batch);
    add_num(r, "lr", o->lr);
    char sched[32];
    schedule_string(o, sched, sizeof sched);
    cJSON_AddStringToObject(r, "lr_schedule", sched);
    cJSON_AddStringToObject(r, "optimizer", "adam");
    add_num(r, "beta1", 0.9);
    add_num(r, "beta2", 0.999);
    add_num(r, "eps", 1e-7);
    add_num(r, "weight_decay", o->weight_decay);
    add_num(r, "label_smoothing", o->label_smoothing);
    add_num(r, "bn_momentum", o->bn_momentum);
    if (o->augment) {
        cJSON *a = cJSON_CreateObject();
        add_num(a, "rotate_deg", o->aug.rotate_deg);
        add_num(a, "scale", o->aug.scale);
        add_num(a, "shift", o->aug.shift);
        add_num(a, "shear_deg", o->aug.shear_deg);
        cJSON_AddItemToObject(r, "augment", a);
    } else {
        cJSON_AddNullToObject(r, "augment");
    }
    add_num(r, "seed", (double)o->seed);
    add_num(r, "threads", o->threads);
    add_num(r, "val", o->val);
    add_num(r, "limit", o->limit);
    add_str_or_null(r, "preset", o->preset);
    add_str_or_null(r, "init", o->init_path);
    add_str_or_null(r, "images", o->images_dir);
    add_str_or_null(r, "nondigits", o->nondigits);
    add_str_or_null(r, "more_digits", o->more_digits);
    cJSON_AddBoolToObject(r, "freeze_conv", o->freeze_conv != 0);
    cJSON_AddStringToObject(r, "arch", arch_trained);
    cJSON_AddItemToObject(root, "recipe", r);
    if (o->feedback_json) {
        cJSON *fb = cJSON_Parse(o->feedback_json);
        if (fb)
            cJSON_AddItemToObject(root, "feedback", fb);
    }
    if (test_acc >= 0)
        add_num(root, "test_accuracy", round(test_acc * 10000) / 10000);
    else
        cJSON_AddNullToObject(root, "test_accuracy");
    if (val_acc >= 0)
        add_num(root, "val_accuracy", round(val_acc * 10000) / 10000);
    else
        cJSON_AddNullToObject(root, "val_accuracy");
    add_num(root, "train_seconds", round(seconds * 10) / 10);
    add_num(root, "train_cpu_seconds", round(cpu_seconds * 10) / 10);
    char created[32];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(root, "created", created);
    cJSON_AddStringToObject(root, "trainer", TRAINER_VERSION);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

/* A string member copied into the options' own storage slot (options
 * point into it), or NULL when absent, null or too long. */
static const char *keep_string(train_options *opts, int slot, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof opts->restored[slot])
        return NULL;
    memcpy(opts->restored[slot], v->valuestring, strlen(v->valuestring) + 1);
    return opts->restored[slot];
}

static double num_or(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int recipe_from_checkpoint(train_options *o, const mn_model *m, const char *path, double *seconds,
                           double *cpu_seconds)
{
    cJSON *root = cJSON_Parse(mn_model_meta(m));
    cJSON *r = root ? cJSON_GetObjectItemCaseSensitive(root, "recipe") : NULL;
    if (!cJSON_IsObject(r)) {
        fprintf(stderr, "mnist-train: %s: checkpoint metadata has no training recipe\n", path);
        cJSON_Delete(root);
        return -1;
    }
    static const char *const need[] = {"epochs", "batch", "lr", "val", "limit"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, need[i]))) {
            fprintf(stderr, "mnist-train: %s: checkpoint recipe lacks \"%s\"\n", path, need[i]);
            cJSON_Delete(root);
            return -1;
        }
    if (!o->epochs_given)
        o->epochs = (int)num_or(r, "epochs", 0);
    o->batch = (int)num_or(r, "batch", 0);
    o->lr = (float)num_or(r, "lr", 0);
    o->val = (int)num_or(r, "val", 0);
    o->limit = (int)num_or(r, "limit", 0);
    o->weight_decay = (float)num_or(r, "weight_decay", 0);
    o->label_smoothing = (float)num_or(r, "label_smoothing", 0);
    o->bn_momentum = (float)num_or(r, "bn_momentum", 0.99);
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(r, "lr_schedule");
    o->schedule = LR_CONSTANT;
    if (cJSON_IsString(sched) && recipe_parse_schedule(o, sched->valuestring) != 0) {
        fprintf(stderr, "mnist-train: %s: checkpoint lr_schedule \"%s\" unknown\n", path, sched->valuestring);
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *aug = cJSON_GetObjectItemCaseSensitive(r, "augment");
    o->augment = cJSON_IsObject(aug);
    if (o->augment)
        o->aug = (mn_augment_config){(float)num_or(aug, "rotate_deg", 0), (float)num_or(aug, "scale", 0),
                                     (float)num_or(aug, "shift", 0), (float)num_or(aug, "shear_deg", 0)};
    o->preset = keep_string(o, 0, r, "preset");
    o->images_dir = keep_string(o, 1, r, "images");
    o->freeze_conv = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "freeze_conv"));
    const char *ds = keep_string(o, 2, root, "dataset");
    if (ds)
        o->dataset = ds;
    const char *name = keep_string(o, 3, root, "name");
    if (name)
        o->name = name;
    double th = num_or(r, "threads", o->threads);
    if ((int)th != o->threads)
        fprintf(stderr, "mnist-train: note: the checkpoint was trained with %d threads, resuming with %d: "
                        "the result will differ in the last bits from an uninterrupted run\n",
                (int)th, o->threads);
    *seconds = num_or(root, "train_seconds", 0);
    *cpu_seconds = num_or(root, "train_cpu_seconds", 0);
    cJSON_Delete(root);
    return 0;
}
