/* test_train.c: the real mnist-train binary on a subset of MNIST: the loss
 * falls and accuracy passes a bound; the same seed and thread count give
 * bit-identical weights; a resumed run, from an epoch checkpoint or after
 * Ctrl-C mid-epoch, ends with the same weights as an uninterrupted one;
 * bad input is refused with a message naming the file. */
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
#include "mnist/mnist.h"

static char train_bin[512], eval_bin[512], tmp[64];
static const char *data;

/* Starts mnist-train (or prog) with args, output into log; returns pid. */
static pid_t spawn(const char *prog, const char *log, char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(prog, args);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

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
    return wait_exit(spawn(train_bin, log, args));
}

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
    pid_t pid = spawn(train_bin, p("e.log"), args);
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

    /* 5. bad input: missing data, corrupt file, a model given to --resume */
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
