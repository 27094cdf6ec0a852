/* train_main.c: mnist-train's command line: flags into a train_options,
 * Ctrl-C into a checkpoint, then the run. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"
#include "trainer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mnist-train [options]\n"
            "Trains a CNN on MNIST and writes a weights file (docs/FORMAT.md).\n"
            "The defaults are the reference recipe.\n\n"
            "  --data DIR      IDX directory (default: $MNIST_DATA_DIR or data/mnist; for\n"
            "                  --dataset fashion: $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)\n"
            "  --dataset NAME  mnist (default) or fashion (Fashion-MNIST, class names stored)\n"
            "  --images DIR    train on DIR/<label>/<image> files (PNG, JPEG, ...; any size and\n"
            "                  colours), normalised as the server does; the test set of --data\n"
            "                  is still reported when present\n"
            "  --preset NAME   a whole recipe: reference (default), large (the bundled default\n"
            "                  model), small; flags after it override it\n"
            "  --epochs N      epochs (default 10)\n"
            "  --batch N       batch size (default 128)\n"
            "  --lr X          Adam learning rate (default 0.001)\n"
            "  --seed N        seed of every random choice (default 1)\n"
            "  --threads N     threads (default: the number of CPUs); the same seed and\n"
            "                  thread count give bit-identical weights\n"
            "  --out PATH      weights file to write (default mnist-cnn.bin)\n"
            "  --checkpoint P  checkpoint written each epoch and on Ctrl-C (default OUT.ckpt)\n"
            "  --resume PATH   continue a checkpoint exactly where it stopped\n"
            "  --init PATH     start from an existing model's weights (fine-tuning)\n"
            "  --val N         hold out the last N training images for validation\n"
            "  --limit N       train on the first N training images only\n"
            "  --arch SPEC     architecture as a layer string (default: the reference model)\n"
            "                  e.g. 1x28x28:conv32k3,relu,pool2,conv64k3,relu,pool2,flatten,dense128,relu,dense10,softmax\n"
            "                  layers: convNkK[sS][pP], poolK[sS], denseN, relu, flatten, bn,\n"
            "                  dropoutN (percent), softmax\n"
            "  --lr-schedule S const (default), exp:F (lr * F^epoch) or cosine\n"
            "  --augment R,S,T,H  random rotation (degrees), zoom (fraction), shift (pixels)\n"
            "                  and shear (degrees) per sample and epoch; 'none' to disable\n"
            "  --weight-decay X  L2 on the weights, added to the gradients (default 0)\n"
            "  --label-smoothing X  smoothed targets (default 0)\n"
            "  --freeze-conv   train only the dense layers (with --init: adapt a model)\n"
            "  --name NAME     model name stored in the file (default mnist-cnn)\n"
            "  --nondigits F   an IDX3 file of non-digit images (scripts/make-nondigits.py):\n"
            "                  the model learns them as one more class, \"not a digit\" (a\n"
            "                  model without one grows it); the last tenth is held out\n"
            "  --more-digits P more labelled digits: P-images-idx3-ubyte and P-labels-idx1-ubyte\n"
            "                  of any side (scripts/make-digits.py), normalised like the\n"
            "                  server; the last tenth joins the validation images\n"
            "  --feedback DB   with --init MODEL: fine-tune MODEL on users' corrections (a SQLite\n"
            "                  feedback file or a postgresql:// URL) mixed with MNIST training\n"
            "                  images (about 1 feedback image in 10); ids divisible by 5 are held\n"
            "                  out; defaults become --epochs 1 --lr 0.0001\n"
            "  --calibrate     no training: refit the calibration of --init MODEL on the --val\n"
            "                  images (the temperature and the verdict's thresholds) and write\n"
            "                  it to --out; with --val, training runs end with the same fit\n");
}

/* Parses a float in [lo, hi] or exits with a message naming flag. */
static float parse_float(const char *flag, const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "mnist-train: %s '%s': expected a number from %g to %g\n", flag, s, lo, hi);
        exit(2);
    }
    return (float)v;
}

/* "R,S,T,H" or "none" into o. */
static void parse_augment(train_options *o, const char *s)
{
    if (!strcmp(s, "none")) {
        o->augment = 0;
        return;
    }
    float v[4];
    int used = 0;
    if (sscanf(s, "%f,%f,%f,%f%n", &v[0], &v[1], &v[2], &v[3], &used) != 4 || s[used]) {
        fprintf(stderr, "mnist-train: --augment '%s': expected ROTATE,SCALE,SHIFT,SHEAR (e.g. 10,0.1,2.5,5) or none\n", s);
        exit(2);
    }
    o->augment = 1;
    o->aug = (mn_augment_config){v[0], v[1], v[2], v[3]};
    mn_error err;
    if (mn_augment_config_check(&o->aug, &err) != MN_OK) {
        fprintf(stderr, "mnist-train: --augment '%s': %s\n", s, err.msg);
        exit(2);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    train_request_stop();
}

/* Parses a whole decimal in [lo, hi] or exits with a message naming flag. */
static long parse_long(const char *flag, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "mnist-train: %s '%s': expected a whole number from %ld to %ld\n", flag, s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static char data_dir[4096], ckpt[4200];
    train_options o = {.epochs = 10, .batch = 128, .lr = 0.001f, .seed = 1, .threads = omp_get_num_procs(),
                       .out_path = "mnist-cnn.bin", .name = "mnist-cnn", .dataset = "mnist",
                       .bn_momentum = 0.99f, .lr_decay = 1.0f};
    int name_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--freeze-conv")) {
            o.freeze_conv = 1;
            continue;
        }
        if (!strcmp(a, "--calibrate")) {
            o.calibrate_only = 1;
            continue;
        }
        if (a[0] != '-' || !v) {
            fprintf(stderr, "mnist-train: %s '%s'\n", v ? "unexpected argument" : "missing value for", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--data")) snprintf(data_dir, sizeof data_dir, "%s", v);
        else if (!strcmp(a, "--epochs")) o.epochs = (int)parse_long(a, v, 1, 100000), o.epochs_given = 1;
        else if (!strcmp(a, "--batch")) o.batch = (int)parse_long(a, v, 1, 65536);
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)parse_long(a, v, 0, 0x7fffffffL);
        else if (!strcmp(a, "--threads")) o.threads = (int)parse_long(a, v, 1, 256);
        else if (!strcmp(a, "--val")) o.val = (int)parse_long(a, v, 0, 10000000);
        else if (!strcmp(a, "--limit")) o.limit = (int)parse_long(a, v, 1, 10000000);
        else if (!strcmp(a, "--out")) o.out_path = v;
        else if (!strcmp(a, "--checkpoint")) o.ckpt_path = v;
        else if (!strcmp(a, "--resume")) o.resume_path = v;
        else if (!strcmp(a, "--init")) o.init_path = v;
        else if (!strcmp(a, "--arch")) o.arch = v;
        else if (!strcmp(a, "--name")) o.name = v, name_given = 1;
        else if (!strcmp(a, "--images")) o.images_dir = v;
        else if (!strcmp(a, "--nondigits")) o.nondigits = v;
        else if (!strcmp(a, "--more-digits")) o.more_digits = v;
        else if (!strcmp(a, "--feedback")) o.feedback = v;
        else if (!strcmp(a, "--weight-decay")) o.weight_decay = parse_float(a, v, 0, 1);
        else if (!strcmp(a, "--label-smoothing")) o.label_smoothing = parse_float(a, v, 0, 0.5);
        else if (!strcmp(a, "--augment")) parse_augment(&o, v);
        else if (!strcmp(a, "--dataset")) {
            if (!strcmp(v, "mnist"))
                o.dataset = "mnist";
            else if (!strcmp(v, "fashion") || !strcmp(v, "fashion-mnist"))
                o.dataset = "fashion-mnist";
            else {
                fprintf(stderr, "mnist-train: --dataset '%s': expected mnist or fashion\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--preset")) {
            if (recipe_preset(&o, v) != 0) {
                fprintf(stderr, "mnist-train: --preset '%s': expected one of %s\n", v, recipe_preset_names());
                return 2;
            }
        } else if (!strcmp(a, "--lr-schedule")) {
            if (recipe_parse_schedule(&o, v) != 0) {
                fprintf(stderr, "mnist-train: --lr-schedule '%s': expected const, exp:F (0 < F <= 1) or cosine\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--lr")) {
            char *end;
            double lr = strtod(v, &end);
            if (*end || end == v || !(lr > 0 && lr < 10)) {
                fprintf(stderr, "mnist-train: --lr '%s': expected a number between 0 and 10\n", v);
                return 2;
            }
            o.lr = (float)lr;
            o.lr_given = 1;
        } else {
            fprintf(stderr, "mnist-train: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (o.resume_path && (o.init_path || o.arch || o.preset)) {
        fprintf(stderr, "mnist-train: --resume continues a run; it cannot be combined with --init, --arch or --preset\n");
        return 2;
    }
    if (o.init_path && o.arch) {
        fprintf(stderr, "mnist-train: --init takes the architecture of its model; drop --arch%s\n",
                o.preset ? " (set by --preset)" : "");
        return 2;
    }
    if (o.calibrate_only && !o.init_path) {
        fprintf(stderr, "mnist-train: --calibrate refits a model's calibration: give --init MODEL\n");
        return 2;
    }
    if (o.freeze_conv && !o.init_path && !o.resume_path) {
        fprintf(stderr, "mnist-train: --freeze-conv keeps trained convolutions: give --init MODEL\n");
        return 2;
    }
    if (o.feedback && (!o.init_path || o.resume_path || o.calibrate_only || o.images_dir)) {
        fprintf(stderr, "mnist-train: --feedback fine-tunes a model on MNIST plus corrections: give --init MODEL "
                        "(not --resume, --calibrate or --images)\n");
        return 2;
    }
    if (o.feedback) {
        if (!o.epochs_given)
            o.epochs = 1;
        if (!o.lr_given)
            o.lr = 0.0001f;
    }
    if (!name_given && !strcmp(o.dataset, "fashion-mnist"))
        o.name = "fashion-mnist-cnn";
    /* without --data, train_run picks the dataset's default directory */
    if (data_dir[0])
        o.data_dir = data_dir;
    if (!o.ckpt_path) {
        snprintf(ckpt, sizeof ckpt, "%s.ckpt", o.out_path);
        o.ckpt_path = ckpt;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return train_run(&o);
}
