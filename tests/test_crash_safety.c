/* test_crash_safety.c: kill -9 at random moments of a real mnist-train run
 * (2048 images, 3 epochs, batch 64). Each time, the model file that
 * existed under --out before the run is still there and loads (or the run
 * had already finished and replaced it whole), any checkpoint left loads
 * with its optimiser state, and --resume from it ends with exactly the
 * weights of an uninterrupted run. MNIST_CRASH_SEED replays a sequence. */
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

static char train_bin[512], tmp[64];
static const char *data;

/* Starts a fresh run writing out (checkpoint out.ckpt), or a resumed one. */
static pid_t start(const char *out, const char *resume, const char *log)
{
    char *args[32];
    int n = 0;
    args[n++] = train_bin;
    args[n++] = "--data", args[n++] = (char *)data;
    args[n++] = "--threads", args[n++] = "2";
    args[n++] = "--out", args[n++] = (char *)out;
    args[n++] = "--epochs", args[n++] = "3";
    if (resume) {
        args[n++] = "--resume", args[n++] = (char *)resume;
    } else {
        args[n++] = "--limit", args[n++] = "2048";
        args[n++] = "--batch", args[n++] = "64";
        args[n++] = "--seed", args[n++] = "11";
    }
    args[n] = NULL;
    return spawn_logged(train_bin, args, log, 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SHA-256 of a file's parameters through the library, "unloadable" if the
 * reader refuses it; *has_state tells whether it carries optimiser state. */
static void weights_hash(const char *path, char hex[65], int *has_state)
{
    mn_model *m;
    mn_checkpoint ck;
    mn_error err;
    strcpy(hex, "unloadable");
    if (has_state)
        *has_state = 0;
    if (mn_model_load(path, &m, &ck, &err) != MN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    uint8_t d[32];
    mn_sha256(mn_model_params(m), 4 * mn_model_param_count(m), d);
    mn_hex(d, 32, hex);
    if (has_state)
        *has_state = ck.adam.n == mn_model_param_count(m);
    mn_adam_free(&ck.adam);
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

static int copy_file(const char *from, const char *to)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    return system(cmd);
}

int main(void)
{
    const char *build = getenv("MNIST_BUILD_DIR");
    data = getenv("MNIST_DATA_DIR");
    CHECK(build && data, "MNIST_BUILD_DIR and MNIST_DATA_DIR set (ctest sets them)");
    if (!build || !data)
        return check_finish();
    snprintf(train_bin, sizeof train_bin, "%s/mnist-train", build);
    strcpy(tmp, "/tmp/test_crash_XXXXXX");
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    const char *seed_env = getenv("MNIST_CRASH_SEED");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    printf("kill moments from seed %u (MNIST_CRASH_SEED=%u replays them)\n", seed, seed);
    srand(seed);

    /* The previous model: what --out names before each run. */
    mn_arch arch;
    mn_arch_reference(&arch);
    mn_model *prev;
    mn_error err;
    CHECK(mn_model_create(&arch, &prev, &err) == MN_OK, "create: %s", err.msg);
    mn_model_init_glorot(prev, 99);
    CHECK(mn_model_save(prev, p("previous.bin"), NULL, &err) == MN_OK, "save: %s", err.msg);
    mn_model_free(prev);
    char h_prev[65], h_ref[65];
    weights_hash(p("previous.bin"), h_prev, NULL);
    CHECK(strcmp(h_prev, "unloadable") != 0, "previous model loads");

    /* The uninterrupted run, timed so kill moments cover all of it. */
    double t0 = now();
    CHECK(wait_exit(start(p("ref.bin"), NULL, p("ref.log"))) == 0, "uninterrupted run exits 0");
    double span = now() - t0;
    weights_hash(p("ref.bin"), h_ref, NULL);
    CHECK(strcmp(h_ref, "unloadable") != 0 && strcmp(h_ref, h_prev) != 0, "reference run trains");

    /* Kill at random moments until two kills have hit after a checkpoint
     * (the interesting case) and at least four mid-run; at most ten. */
    int resumed = 0, trials = 0, midrun = 0;
    for (; trials < 10 && (resumed < 2 || midrun < 4); trials++) {
        char out[300], ckpt[320], log[320];
        snprintf(out, sizeof out, "%s", p("out.bin"));
        snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
        snprintf(log, sizeof log, "%s.log%d", out, trials);
        unlink(ckpt);
        CHECK(copy_file(p("previous.bin"), out) == 0, "install the previous model");
        /* Uniform over the whole run, a little past its end too. */
        double at = span * 1.05 * rand() / (double)RAND_MAX;
        pid_t pid = start(out, NULL, log);
        struct timespec ts = {(time_t)at, (long)((at - (time_t)at) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st = wait_exit(pid);
        char h_out[65], h_ck[65];
        int ck_state = 0;
        weights_hash(out, h_out, NULL);
        int finished = st == 0;
        printf("trial %d: kill -9 at %.2f s of %.2f s (%s)\n", trials, at, span,
               finished ? "the run had finished" : "mid-run");
        if (finished)
            CHECK(!strcmp(h_out, h_ref), "a finished run wrote the reference weights: %s", h_out);
        else /* killed after the final rename the new model is whole */
            CHECK(!strcmp(h_out, h_prev) || !strcmp(h_out, h_ref),
                  "trial %d: killed at %.2f s, the previous model is intact: %s", trials, at, h_out);
        struct stat sb;
        const char *from = NULL;
        if (stat(ckpt, &sb) == 0) {
            weights_hash(ckpt, h_ck, &ck_state);
            CHECK(strcmp(h_ck, "unloadable") != 0 && ck_state,
                  "trial %d: the checkpoint left behind loads with its optimiser state", trials);
            from = ckpt;
        }
        if (finished) {
            /* The machine is faster now than during the timed run: aim
             * the next kills within the time this run took. */
            span = at;
            continue;
        }
        midrun++;
        /* Resume from the last checkpoint, or start over when the kill
         * came before the first one. */
        if (from)
            resumed++;
        int rc = wait_exit(start(out, from, log));
        if (rc != 0) {
            char cmd[400];
            snprintf(cmd, sizeof cmd, "tail -n 20 '%s' >&2", log);
            system(cmd);
        }
        CHECK(rc == 0, "trial %d: %s exits 0 (got %d; its log is above)", trials, from ? "resume" : "rerun", rc);
        weights_hash(out, h_out, NULL);
        CHECK(!strcmp(h_out, h_ref), "trial %d: %s ends with the uninterrupted weights: %s vs %s",
              trials, from ? "resumed run" : "rerun", h_out, h_ref);
    }
    CHECK(resumed >= 1, "at least one kill hit after a checkpoint (%d of %d)", resumed, trials);
    CHECK(midrun >= 2, "at least two kills hit a running trainer (%d of %d)", midrun, trials);
    printf("%d kills, %d mid-run, %d resumed from a checkpoint\n", trials, midrun, resumed);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    system(cmd);
    return check_finish();
}
