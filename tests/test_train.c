/* test_train.c: the real mnist-train binary on a subset of MNIST: the loss
 * falls and accuracy passes a bound; the same seed and thread count give
 * bit-identical weights; a resumed run, from an epoch checkpoint or after
 * Ctrl-C mid-epoch, ends with the same weights as an uninterrupted one,
 * also with augmentation, dropout and batch norm; the final file of such a
 * run is folded to format version 1; fine-tuning on a directory of PNG
 * files with frozen convolutions; Fashion-MNIST with its class names; bad
 * input is refused with a message naming the file. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "spawn.h"
#include "mnist/mnist.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_image_write.h>

static char train_bin[512], eval_bin[512], tmp[64];
static const char *data;

/* Runs a short training run: 2 epochs of 2048 images, batch 64. */
static int train(const char *out, const char *seed, const char *epochs, const char *resume, const char *log)
{
    char *args[32];
    int n = 0;
    args[n++] = train_bin;
    args[n++] = "--data", args[n++] = (char *)data;
    args[n++] = "--threads", args[n++] = "2";
    args[n++] = "--out", args[n++] = (char *)out;
    args[n++] = "--epochs", args[n++] = (char *)epochs;
    if (resume) {
        args[n++] = "--resume", args[n++] = (char *)resume;
    } else {
        args[n++] = "--limit", args[n++] = "2048";
        args[n++] = "--batch", args[n++] = "64";
        args[n++] = "--seed", args[n++] = (char *)seed;
    }
    args[n] = NULL;
    return wait_exit(spawn_logged(train_bin, args, log, 0));
}

/* Runs mnist-train with the NULL-terminated extra args after the common
 * --data/--threads ones; returns its exit status. */
static int train_args(const char *log, char **extra)
{
    char *args[64];
    int n = 0;
    args[n++] = train_bin;
    args[n++] = "--data", args[n++] = (char *)data;
    args[n++] = "--threads", args[n++] = "2";
    for (int i = 0; extra[i] && n < 63; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return wait_exit(spawn_logged(train_bin, args, log, 0));
}

/* The regularised recipe on a subset: batch norm, dropout, augmentation,
 * a decaying lr, label smoothing and weight decay. */
#define REG_ARGS "--arch", "conv8k3,bn,relu,pool2,dropout20,flatten,dense32,bn,relu,dense10,softmax", \
                 "--augment", "10,0.1,2,5", "--lr-schedule", "exp:0.9", "--label-smoothing", "0.05", \
                 "--weight-decay", "0.0001", "--limit", "2048", "--batch", "64", "--seed", "3"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *s = calloc(1, 1 << 20);
    fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    return s;
}

/* SHA-256 of a model's parameters (not its metadata, which holds times). */
static void weights_hash(const char *path, char hex[65])
{
    mn_model *m;
    mn_error err;
    strcpy(hex, "unloadable");
    if (mn_model_load(path, &m, NULL, &err) != MN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    uint8_t d[32];
    mn_sha256(mn_model_params(m), 4 * mn_model_param_count(m), d);
    mn_hex(d, 32, hex);
    mn_model_free(m);
}

static char *p(const char *name)
{
    static char bufs[8][300];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 300, "%s/%s", tmp, name);
    return b;
}

int main(void)
{
    const char *build = getenv("MNIST_BUILD_DIR");
    data = getenv("MNIST_DATA_DIR");
    CHECK(build && data, "MNIST_BUILD_DIR and MNIST_DATA_DIR set (ctest sets them)");
    if (!build || !data)
        return check_finish();
    snprintf(train_bin, sizeof train_bin, "%s/mnist-train", build);
    snprintf(eval_bin, sizeof eval_bin, "%s/mnist-eval", build);
    strcpy(tmp, "/tmp/test_train_XXXXXX");
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");

    /* 1. loss falls, accuracy passes a bound */
    CHECK(train(p("a.bin"), "5", "2", NULL, p("a.log")) == 0, "training run exits 0");
    char *log = slurp(p("a.log"));
    double l1 = -1, l2 = -1;
    char *e1 = strstr(log, "epoch 1/2: train loss "), *e2 = strstr(log, "epoch 2/2: train loss ");
    if (e1 && e2) {
        l1 = atof(e1 + strlen("epoch 1/2: train loss "));
        l2 = atof(e2 + strlen("epoch 2/2: train loss "));
    }
    CHECK(l1 > 0 && l2 > 0 && l2 < l1 * 0.8, "loss falls: %g -> %g\n%s", l1, l2, log);
    free(log);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s --data %s > %s 2>&1", eval_bin, p("a.bin"), data, p("eval.log"));
    CHECK(system(cmd) == 0, "mnist-eval runs");
    log = slurp(p("eval.log"));
    char *acc = strstr(log, "\naccuracy: ");
    double a = acc ? atof(acc + 11) : 0;
    CHECK(a >= 0.85, "2 epochs on 2048 images reach 85%% test accuracy: %g", a);
    CHECK(strstr(log, "precision") && strstr(log, "confusion matrix"), "eval prints the report");
    free(log);

    /* 2. determinism */
    char ha[65], hb[65], hc[65], hd[65], he[65];
    CHECK(train(p("b.bin"), "5", "2", NULL, p("b.log")) == 0, "second run");
    weights_hash(p("a.bin"), ha);
    weights_hash(p("b.bin"), hb);
    CHECK(!strcmp(ha, hb), "same seed, same weights: %s vs %s", ha, hb);
    CHECK(train(p("c.bin"), "6", "2", NULL, p("c.log")) == 0, "other seed");
    weights_hash(p("c.bin"), hc);
    CHECK(strcmp(ha, hc) != 0, "another seed, other weights");

    /* an ensemble: mnist-eval averages the members' probabilities */
    snprintf(cmd, sizeof cmd, "%s %s,%s --data %s > %s 2>&1", eval_bin, p("a.bin"), p("c.bin"), data, p("ens.log"));
    CHECK(system(cmd) == 0, "mnist-eval on an ensemble");
    log = slurp(p("ens.log"));
    acc = strstr(log, "\naccuracy: ");
    a = acc ? atof(acc + 11) : 0;
    CHECK(strstr(log, "ensemble member: ") && strstr(strstr(log, "ensemble member: ") + 1, "ensemble member: ") &&
              a >= 0.85 && strstr(log, "standard error: "),
          "two members listed, accuracy %g:\n%s", a, log);
    free(log);

    /* 3. resume from an epoch checkpoint */
    CHECK(train(p("d.bin"), "5", "1", NULL, p("d.log")) == 0, "one epoch");
    struct stat sb;
    CHECK(stat(p("d.bin.ckpt"), &sb) == 0, "epoch checkpoint written");
    CHECK(train(p("d2.bin"), "5", "2", p("d.bin.ckpt"), p("d2.log")) == 0, "resume exits 0");
    weights_hash(p("d2.bin"), hd);
    CHECK(!strcmp(ha, hd), "resumed from epoch 1 == uninterrupted: %s vs %s", hd, ha);

    /* 4. Ctrl-C in the middle of epoch 2, then resume */
    char *args[] = {train_bin, "--data", (char *)data, "--threads", "2", "--out", p("e.bin"), "--epochs", "2",
                    "--limit", "2048", "--batch", "64", "--seed", "5", NULL};
    pid_t pid = spawn_logged(train_bin, args, p("e.log"), 0);
    for (int i = 0; i < 60000 && stat(p("e.bin.ckpt"), &sb) != 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGINT);
    int st = wait_exit(pid);
    log = slurp(p("e.log"));
    CHECK(st == 130 && strstr(log, "interrupted at epoch 2"), "Ctrl-C mid-epoch writes a checkpoint (exit %d)\n%s", st, log);
    free(log);
    CHECK(train(p("e2.bin"), "5", "2", p("e.bin.ckpt"), p("e2.log")) == 0, "resume after Ctrl-C");
    weights_hash(p("e2.bin"), he);
    CHECK(!strcmp(ha, he), "resumed after Ctrl-C == uninterrupted: %s vs %s", he, ha);

    /* 5. the regularised recipe: learns, is deterministic, resumes exactly
     * after Ctrl-C, and its final file is folded to version 1 */
    char *reg1[] = {"--out", p("r1.bin"), "--epochs", "2", REG_ARGS, NULL};
    CHECK(train_args(p("r1.log"), reg1) == 0, "regularised run exits 0");
    char *reg2[] = {"--out", p("r2.bin"), "--epochs", "2", REG_ARGS, NULL};
    CHECK(train_args(p("r2.log"), reg2) == 0, "regularised run again");
    char hr1[65], hr2[65], hr3[65];
    weights_hash(p("r1.bin"), hr1);
    weights_hash(p("r2.bin"), hr2);
    CHECK(!strcmp(hr1, hr2) && strcmp(hr1, "unloadable"), "augmentation and dropout are deterministic: %s vs %s", hr1, hr2);
    mn_model *rm;
    mn_error lerr;
    if (mn_model_load(p("r1.bin"), &rm, NULL, &lerr) == MN_OK) {
        CHECK(!mn_arch_has_training_layers(mn_model_arch(rm)), "final model folded: no batch norm or dropout");
        const char *meta = mn_model_meta(rm);
        CHECK(strstr(meta, "\"augment\":{\"rotate_deg\":10") && strstr(meta, "\"lr_schedule\":\"exp:0.9\"") &&
                  strstr(meta, "bn,relu"), "recipe stored in the metadata: %s", meta);
        mn_model_free(rm);
    } else {
        CHECK(0, "load r1.bin: %s", lerr.msg);
    }
    FILE *rf = fopen(p("r1.bin"), "rb");
    unsigned char hdr[12] = {0};
    if (rf) {
        CHECK(fread(hdr, 1, 12, rf) == 12, "read header");
        fclose(rf);
    }
    CHECK(hdr[8] == 1, "final file is format version 1 (%u)", hdr[8]);
    rf = fopen(p("r1.bin.ckpt"), "rb");
    if (rf) {
        CHECK(fread(hdr, 1, 12, rf) == 12, "read checkpoint header");
        fclose(rf);
    }
    CHECK(hdr[8] == 2, "checkpoint keeps batch norm: format version 2 (%u)", hdr[8]);
    snprintf(cmd, sizeof cmd, "%s %s --data %s > %s 2>&1", eval_bin, p("r1.bin"), data, p("reval.log"));
    CHECK(system(cmd) == 0, "mnist-eval on the folded model");
    log = slurp(p("reval.log"));
    acc = strstr(log, "\naccuracy: ");
    a = acc ? atof(acc + 11) : 0;
    CHECK(a >= 0.80, "regularised 2 epochs on 2048 images reach 80%% test accuracy: %g", a);
    free(log);
    char *reg3[] = {"--out", p("r3.bin"), "--epochs", "2", REG_ARGS, NULL};
    char *full[64];
    int fn = 0;
    full[fn++] = train_bin, full[fn++] = "--data", full[fn++] = (char *)data, full[fn++] = "--threads", full[fn++] = "2";
    for (int i = 0; reg3[i]; i++)
        full[fn++] = reg3[i];
    full[fn] = NULL;
    pid = spawn_logged(train_bin, full, p("r3.log"), 0);
    for (int i = 0; i < 60000 && stat(p("r3.bin.ckpt"), &sb) != 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGINT);
    st = wait_exit(pid);
    CHECK(st == 130, "Ctrl-C of the regularised run (exit %d)", st);
    char *res3[] = {"--out", p("r3b.bin"), "--resume", p("r3.bin.ckpt"), NULL};
    CHECK(train_args(p("r3b.log"), res3) == 0, "resume the regularised run");
    weights_hash(p("r3b.bin"), hr3);
    CHECK(!strcmp(hr1, hr3), "regularised run resumed after Ctrl-C == uninterrupted: %s vs %s", hr3, hr1);

    /* 6. fine-tuning on a directory of images: any size, colours, inverted */
    char imgdir[300], sub[340], png[400];
    snprintf(imgdir, sizeof imgdir, "%s/imgs", tmp);
    mkdir(imgdir, 0755);
    mn_dataset test;
    mn_error derr;
    int made = 0;
    if (mn_dataset_load(data, "t10k", &test, &derr) == MN_OK) {
        for (int k = 0; k < 10; k++) {
            snprintf(sub, sizeof sub, "%s/%d", imgdir, k);
            mkdir(sub, 0755);
        }
        /* 60 images, dark ink on a light background, 3x larger, RGB */
        static uint8_t rgb[84 * 84 * 3];
        for (size_t i = 0; i < 60; i++) {
            const uint8_t *im = test.images + i * 784;
            for (int y = 0; y < 84; y++)
                for (int x = 0; x < 84; x++)
                    for (int c = 0; c < 3; c++)
                        rgb[(y * 84 + x) * 3 + c] = (uint8_t)(255 - im[(y / 3) * 28 + x / 3]);
            snprintf(png, sizeof png, "%s/%u/img%zu.png", imgdir, test.labels[i], i);
            made += stbi_write_png(png, 84, 84, 3, rgb, 84 * 3) != 0;
        }
        mn_dataset_free(&test);
    }
    CHECK(made == 60, "wrote 60 PNG files (%d)", made);
    snprintf(png, sizeof png, "%s/3/notes.txt", imgdir);
    FILE *junk = fopen(png, "w");
    if (junk) {
        fputs("not an image\n", junk);
        fclose(junk);
    }
    char *ft[] = {"--images", imgdir, "--init", p("a.bin"), "--freeze-conv", "--epochs", "2", "--batch", "16",
                  "--out", p("ft.bin"), NULL};
    CHECK(train_args(p("ft.log"), ft) == 0, "fine-tuning on an image directory exits 0");
    log = slurp(p("ft.log"));
    CHECK(strstr(log, "60 training images") && strstr(log, "notes.txt"), "60 images read, the text file noted:\n%s", log);
    free(log);
    mn_model *m0 = NULL, *m1 = NULL;
    if (mn_model_load(p("a.bin"), &m0, NULL, &lerr) == MN_OK && mn_model_load(p("ft.bin"), &m1, NULL, &lerr) == MN_OK) {
        const mn_tensor_info *c1 = mn_model_tensor(m0, 0), *d1 = mn_model_tensor(m0, 4);
        CHECK(!strcmp(c1->name, "conv1.w") && !strcmp(d1->name, "dense1.w"), "tensor order");
        CHECK(!memcmp(mn_model_params(m0), mn_model_params(m1), 4 * (d1->offset)),
              "--freeze-conv leaves every convolution unchanged");
        CHECK(memcmp(mn_model_params(m0) + d1->offset, mn_model_params(m1) + d1->offset, 4 * d1->count) != 0,
              "the dense layers were trained");
    } else {
        CHECK(0, "load fine-tuned model: %s", lerr.msg);
    }
    mn_model_free(m0);
    mn_model_free(m1);
    snprintf(sub, sizeof sub, "%s/seven", imgdir);
    mkdir(sub, 0755);
    char *ftbad[] = {"--images", imgdir, "--init", p("a.bin"), "--out", p("ftbad.bin"), NULL};
    CHECK(train_args(p("ftbad.log"), ftbad) != 0, "a class directory that is not a number is refused");
    log = slurp(p("ftbad.log"));
    CHECK(strstr(log, "seven") && strstr(log, "not a class number"), "says which: %s", log);
    free(log);
    char *frz[] = {"--freeze-conv", "--out", p("frz.bin"), NULL};
    CHECK(train_args(p("frz.log"), frz) == 2, "--freeze-conv without --init refused");

    /* 7. Fashion-MNIST: class names stored (Debian's dataset-fashion-mnist) */
    const char *fdir = getenv("FASHION_MNIST_DIR");
    if (!fdir || !*fdir)
        fdir = "/usr/share/datasets/fashion-mnist";
    CHECK(stat(fdir, &sb) == 0, "Fashion-MNIST data at %s (install dataset-fashion-mnist)", fdir);
    char *fa[] = {train_bin, "--dataset", "fashion", "--data", (char *)fdir, "--threads", "2", "--limit", "2048",
                  "--epochs", "1", "--batch", "64", "--out", p("f.bin"), NULL};
    CHECK(wait_exit(spawn_logged(train_bin, fa, p("f.log"), 0)) == 0, "Fashion-MNIST run exits 0");
    if (mn_model_load(p("f.bin"), &m0, NULL, &lerr) == MN_OK) {
        const char *meta = mn_model_meta(m0);
        CHECK(strstr(meta, "\"T-shirt/top\"") && strstr(meta, "\"Ankle boot\"") &&
                  strstr(meta, "\"dataset\":\"fashion-mnist\"") && strstr(meta, "\"name\":\"fashion-mnist-cnn\""),
              "Fashion labels, dataset and name in the metadata: %s", meta);
        mn_model_free(m0);
    } else {
        CHECK(0, "load f.bin: %s", lerr.msg);
    }

    /* 8. bad input: missing data, corrupt file, a model given to --resume */
    CHECK(train(p("x.bin"), "5", "1", p("a.bin"), p("x.log")) != 0, "resume of a plain model refused");
    log = slurp(p("x.log"));
    CHECK(strstr(log, "not a checkpoint") != NULL, "says why: %s", log);
    free(log);
    char baddir[300];
    snprintf(baddir, sizeof baddir, "%s/bad", tmp);
    mkdir(baddir, 0755);
    snprintf(cmd, sizeof cmd, "head -c 1000 %s/train-images-idx3-ubyte > %s/train-images-idx3-ubyte && "
                              "cp %s/train-labels-idx1-ubyte %s/", data, baddir, data, baddir);
    CHECK(system(cmd) == 0, "make a truncated data set");
    snprintf(cmd, sizeof cmd, "%s --data %s --out %s > %s 2>&1", train_bin, baddir, p("y.bin"), p("y.log"));
    CHECK(system(cmd) != 0, "truncated images refused");
    log = slurp(p("y.log"));
    CHECK(strstr(log, "train-images-idx3-ubyte") && strstr(log, "truncated"), "message names file and problem: %s", log);
    free(log);
    CHECK(stat(p("y.bin"), &sb) != 0, "no output written for bad data");
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    system(cmd);
    return check_finish();
}
