/* test_ensemble.c: ensembles (ensemble.h). A plain ensemble answers the
 * mean of its members' calibrated answers; a cascade answers with its
 * first member alone exactly where that member is sure and with the mean
 * elsewhere, and says how many it escalated; the ensemble file keeps
 * members, thresholds and cascade, and refuses a damaged file; the fit of
 * an ensemble's unsure threshold follows its rule. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answers.h"
#include "calibrate.h"
#include "check.h"
#include "mnist/mnist.h"

#define N 64
#define K 11 /* ten digits and a background class */
#define C 10

static char dir[64];
static const char *p(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

/* A random network with a background class; temperature T. */
static mn_model *member(uint64_t seed, float T)
{
    mn_arch a;
    mn_error e;
    CHECK(mn_arch_parse("1x28x28:conv8k3,relu,pool2,flatten,dense11,softmax", &a, &e) == MN_OK, "arch: %s",
          e.msg);
    mn_model *m = NULL;
    CHECK(mn_model_create(&a, &m, &e) == MN_OK, "create: %s", e.msg);
    mn_model_init_glorot(m, seed);
    /* larger weights: answers that range from unsure to sure */
    float *w = mn_model_params(m);
    for (size_t i = 0; i < mn_model_param_count(m); i++)
        w[i] *= 4;
    mn_calibration c = mn_calibration_none();
    c.temperature = T;
    c.background = 10;
    c.digit_threshold = 0.05f;
    c.unsure_threshold = 0.5f;
    c.fitted_on = 100;
    CHECK(mn_model_set_calibration(m, &c, &e) == MN_OK, "calibration: %s", e.msg);
    return m;
}

/* Member i's calibrated answers, computed on its own. */
static void alone(mn_model *m, const float *in, float *probs, float *ds)
{
    mn_workspace *ws;
    mn_error e;
    float raw[N * K];
    CHECK(mn_workspace_create(m, N, 0, &ws, &e) == MN_OK, "workspace: %s", e.msg);
    mn_model_forward(m, ws, in, N, raw);
    for (int s = 0; s < N; s++)
        mn_calibrate(mn_model_calibration(m), raw + s * K, K, probs + s * C, ds + s);
    mn_workspace_free(ws);
}

static int answer(const mn_ensemble *e, const float *in, float *probs, float *ds)
{
    mn_ensemble_ws *w;
    mn_error err;
    CHECK(mn_ensemble_ws_create(e, N, &w, &err) == MN_OK, "ensemble workspace: %s", err.msg);
    int m = mn_ensemble_forward(e, w, in, N, probs, ds);
    mn_ensemble_ws_free(w);
    return m;
}

static float top(const float *p)
{
    float t = p[0];
    for (int k = 1; k < C; k++)
        t = p[k] > t ? p[k] : t;
    return t;
}

static void test_answers(const float *in)
{
    mn_ensemble e;
    memset(&e, 0, sizeof e);
    mn_error err;
    const float T[3] = {0.3f, 1.0f, 2.0f};
    static float own[3][N * C], ownds[3][N], probs[N * C], ds[N];
    for (int i = 0; i < 3; i++) {
        mn_model *m = member(10 + i, T[i]);
        alone(m, in, own[i], ownds[i]);
        CHECK(mn_ensemble_add(&e, m, &err) == MN_OK, "add member %d: %s", i + 1, err.msg);
    }
    CHECK(fabsf(e.calib.unsure_threshold - 0.5f) < 1e-6 && e.escalate_below == 0, "a list is a plain mean");

    /* plain: the mean everywhere */
    CHECK(answer(&e, in, probs, ds) == N, "a plain ensemble runs every member on every input");
    double worst = 0;
    for (int s = 0; s < N; s++) {
        for (int k = 0; k < C; k++)
            worst = fmax(worst, fabs(probs[s * C + k] - (own[0][s * C + k] + own[1][s * C + k] + own[2][s * C + k]) / 3));
        worst = fmax(worst, fabs(ds[s] - (ownds[0][s] + ownds[1][s] + ownds[2][s]) / 3));
    }
    CHECK(worst < 1e-6, "plain ensemble differs from the members' mean by %g", worst);

    /* a cascade at member 1's median confidence: half alone, half the mean */
    float conf[N];
    for (int s = 0; s < N; s++)
        conf[s] = top(own[0] + s * C);
    float sorted[N];
    memcpy(sorted, conf, sizeof conf);
    for (int i = 1; i < N; i++)
        for (int j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
            float t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    e.escalate_below = sorted[N / 2];
    int expect = 0;
    for (int s = 0; s < N; s++)
        expect += !(conf[s] >= e.escalate_below && ownds[0][s] >= 0.05f);
    int got = answer(&e, in, probs, ds);
    CHECK(got == expect && got > 0 && got < N, "cascade escalated %d of %d, expected %d", got, N, expect);
    int alone_exact = 1;
    worst = 0;
    for (int s = 0; s < N; s++) {
        int sure = conf[s] >= e.escalate_below && ownds[0][s] >= 0.05f;
        for (int k = 0; k < C; k++) {
            float mean = (own[0][s * C + k] + own[1][s * C + k] + own[2][s * C + k]) / 3;
            if (sure)
                alone_exact &= probs[s * C + k] == own[0][s * C + k];
            else
                worst = fmax(worst, fabs(probs[s * C + k] - mean));
        }
        alone_exact &= !sure || ds[s] == ownds[0][s];
    }
    CHECK(alone_exact, "where member 1 is sure, its own answer, to the bit");
    CHECK(worst < 1e-6, "where it is not, the mean (off by %g)", worst);

    /* the file keeps it all */
    e.calib.unsure_threshold = 0.625f;
    e.calib.digit_threshold = 0.125f;
    e.calib.fitted_on = 5000;
    CHECK(mn_ensemble_set_meta(&e, "{\"name\":\"three\",\"test_accuracy\":0.5}", &err) == MN_OK, "meta");
    CHECK(mn_ensemble_save(&e, p("ens.bin"), &err) == MN_OK, "save: %s", err.msg);
    mn_ensemble back;
    CHECK(mn_ensemble_load(p("ens.bin"), &back, &err) == MN_OK, "load: %s", err.msg);
    CHECK(back.n == 3 && back.escalate_below == e.escalate_below && back.calib.unsure_threshold == 0.625f &&
              back.calib.digit_threshold == 0.125f && back.calib.fitted_on == 5000 &&
              back.calib.background == 10 && !strcmp(back.version, e.version) && strlen(e.version) == 8,
          "round trip: n %d, escalate %g, thresholds %g %g, version %s vs %s", back.n,
          (double)back.escalate_below, (double)back.calib.unsure_threshold,
          (double)back.calib.digit_threshold, back.version, e.version);
    CHECK(back.meta && !strcmp(back.meta, e.meta), "metadata kept: %s", back.meta ? back.meta : "(none)");
    for (int i = 0; i < 3; i++)
        CHECK(!strcmp(mn_model_version(back.m[i]), mn_model_version(e.m[i])) &&
                  mn_model_calibration(back.m[i])->temperature == T[i],
              "member %d kept", i + 1);
    static float probs2[N * C], ds2[N];
    CHECK(answer(&back, in, probs2, ds2) == got && !memcmp(probs, probs2, sizeof probs) &&
              !memcmp(ds, ds2, sizeof ds),
          "the loaded ensemble answers as the saved one");
    mn_ensemble_free(&back);

    /* damaged files are refused, naming the file */
    FILE *f = fopen(p("ens.bin"), "rb");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)len);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len, "read back");
    fclose(f);
    mn_status st = mn_ensemble_parse(buf, (size_t)len - 1, "short.bin", &back, &err);
    CHECK(st == MN_ERR_FORMAT && strstr(err.msg, "short.bin") && back.n == 0, "truncated: %s", err.msg);
    buf[len / 2] ^= 1;
    st = mn_ensemble_parse(buf, (size_t)len, "flip.bin", &back, &err);
    CHECK(st == MN_ERR_CHECKSUM && strstr(err.msg, "flip.bin"), "flipped byte: %s", err.msg);
    buf[len / 2] ^= 1;
    buf[8] = 9;
    st = mn_ensemble_parse(buf, (size_t)len, "v9.bin", &back, &err);
    CHECK(st == MN_ERR_FORMAT && strstr(err.msg, "version"), "unknown version: %s", err.msg);
    free(buf);

    /* a weights file is an ensemble of one; a list is a plain ensemble */
    CHECK(mn_model_save(e.m[0], p("a.bin"), NULL, &err) == MN_OK && mn_model_save(e.m[1], p("b.bin"), NULL, &err) == MN_OK,
          "save members: %s", err.msg);
    CHECK(mn_ensemble_load(p("a.bin"), &back, &err) == MN_OK && back.n == 1 &&
              !strcmp(back.version, mn_model_version(e.m[0])),
          "a weights file loads as one member: %s", err.msg);
    mn_ensemble_free(&back);
    char list[600];
    snprintf(list, sizeof list, "%s,%s", p("a.bin"), p("b.bin"));
    CHECK(mn_ensemble_load_list(list, &back, &err) == MN_OK && back.n == 2 && back.escalate_below == 0,
          "a list: %s", err.msg);
    mn_ensemble_free(&back);
    snprintf(list, sizeof list, "%s,", p("a.bin"));
    CHECK(mn_ensemble_load_list(list, &back, &err) == MN_ERR_ARG && back.n == 0, "an empty path: %s", err.msg);

    /* members must agree; one member is no ensemble file */
    mn_arch a;
    mn_model *ten;
    CHECK(mn_arch_parse("1x28x28:conv8k3,relu,pool2,flatten,dense10,softmax", &a, &err) == MN_OK &&
              mn_model_create(&a, &ten, &err) == MN_OK,
          "ten-class model");
    CHECK(mn_ensemble_add(&e, ten, &err) == MN_ERR_ARG && e.n == 3, "other classes refused: %s", err.msg);
    mn_model_free(ten);
    mn_ensemble one = mn_ensemble_single(e.m[0]);
    CHECK(mn_ensemble_save(&one, p("one.bin"), &err) == MN_ERR_ARG && access(p("one.bin"), F_OK) != 0,
          "one member refused, nothing written: %s", err.msg);
    mn_ensemble_free(&e);
}

/* The unsure threshold's rule: of the grid's thresholds keeping the
 * coverage, the lowest with the fewest wrong answers. */
static void test_fit(const uint8_t *images, const uint8_t *labels, size_t n)
{
    mn_ensemble e;
    memset(&e, 0, sizeof e);
    mn_error err;
    for (int i = 0; i < 2; i++)
        CHECK(mn_ensemble_add(&e, member(20 + i, 0.5f), &err) == MN_OK, "add: %s", err.msg);
    e.escalate_below = 0.9f;
    const double coverage = 0.5;
    CHECK(calibrate_ensemble(&e, images, labels, n, coverage, 1, &err) == MN_OK, "fit: %s", err.msg);
    answers a;
    CHECK(answers_compute(&e, images, n, 1, &a, &err) == MN_OK, "answers: %s", err.msg);
    mn_calibration c = e.calib;
    const float chosen = c.unsure_threshold;
    size_t chosen_wrong = 0, chosen_digit = 0;
    int ok = 1;
    for (int step = 0; CALIB_UNSURE_MIN + step * CALIB_UNSURE_STEP <= CALIB_UNSURE_MAX + 1e-9; step++) {
        c.unsure_threshold = (float)(CALIB_UNSURE_MIN + step * CALIB_UNSURE_STEP);
        size_t d = 0, wrong = 0;
        for (size_t i = 0; i < n; i++)
            if (mn_verdict_of(&c, a.confidence[i], a.digit_score[i]) == MN_VERDICT_DIGIT) {
                d++;
                wrong += a.pred[i] != labels[i];
            }
        if (c.unsure_threshold == chosen)
            chosen_wrong = wrong, chosen_digit = d;
        else if ((double)d >= coverage * n)
            /* no other admissible threshold does better, nor as well below */
            ok &= c.unsure_threshold < chosen ? wrong > chosen_wrong || !chosen_digit : wrong >= chosen_wrong;
    }
    CHECK((double)chosen_digit >= coverage * n, "the fit keeps %zu of %zu answered", chosen_digit, n);
    CHECK(ok && chosen > CALIB_UNSURE_MIN, "threshold %g: the lowest with the fewest wrong answers",
          (double)chosen);
    CHECK(e.calib.fitted_on == n && e.calib.digit_threshold == 0.05f, "fitted_on %u, digit threshold kept",
          e.calib.fitted_on);
    answers_free(&a);
    mn_ensemble_free(&e);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_ensemble.%d", (int)getpid());
    CHECK(mkdir(dir, 0700) == 0, "temporary directory %s", dir);
    static float in[N * MN_PIXELS];
    static uint8_t images[2000 * MN_PIXELS], labels[2000];
    uint64_t s = 7;
    for (size_t i = 0; i < sizeof images; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        images[i] = (uint8_t)(s >> 56);
    }
    for (size_t i = 0; i < N * MN_PIXELS; i++)
        in[i] = images[i] / 255.0f;
    for (size_t i = 0; i < 2000; i++)
        labels[i] = (uint8_t)(i % 10);
    test_answers(in);
    test_fit(images, labels, 2000);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "clean up");
    return check_finish();
}
