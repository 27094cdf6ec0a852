/* test_calibration.c: honest answers, below the server. Temperature
 * scaling on probabilities equals softmax(logits / T); the background
 * class becomes the digit score and leaves probabilities that sum to 1;
 * an uncalibrated model's outputs pass through to the bit; the verdict
 * follows its thresholds; fitting recovers a known temperature from
 * samples drawn at it; the weights file carries the calibration, refuses
 * a bad one, and a file without one loads uncalibrated. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answers.h"
#include "calibrate.h"
#include "check.h"
#include "mnist/mnist.h"

static void softmax(const double *z, int K, double T, float *p)
{
    double top = z[0] / T, sum = 0;
    for (int k = 1; k < K; k++)
        top = z[k] / T > top ? z[k] / T : top;
    for (int k = 0; k < K; k++)
        sum += exp(z[k] / T - top);
    for (int k = 0; k < K; k++)
        p[k] = (float)(exp(z[k] / T - top) / sum);
}

static void test_scaling(void)
{
    const double z[11] = {2.0, -1.0, 0.5, 7.0, 3.0, -4.0, 0.0, 1.0, 2.5, -2.0, 4.0};
    float raw[11], want[11], out[11], ds;
    softmax(z, 11, 1.0, raw);

    /* temperature only: softmax(z / T) */
    mn_calibration c = mn_calibration_none();
    c.temperature = 2.5f;
    c.fitted_on = 1;
    softmax(z, 11, 2.5, want);
    mn_calibrate(&c, raw, 11, out, &ds);
    double worst = 0;
    for (int k = 0; k < 11; k++)
        worst = fmax(worst, fabs(out[k] - want[k]));
    CHECK(worst < 1e-6, "T = 2.5 differs from softmax(z / T) by %g", worst);
    CHECK(ds == 1.0f, "no background class: digit score %g, expected 1", (double)ds);

    /* background class 10: the score is 1 - its share; the rest sums to 1 */
    c.background = 10;
    CHECK(mn_calibration_classes(&c, 11) == 10, "served classes %u", mn_calibration_classes(&c, 11));
    mn_calibrate(&c, raw, 11, out, &ds);
    CHECK(fabs(ds - (1.0 - want[10])) < 1e-6, "digit score %g, expected %g", (double)ds, 1.0 - want[10]);
    double sum = 0;
    for (int k = 0; k < 10; k++) {
        sum += out[k];
        CHECK(fabs(out[k] - want[k] / (1.0 - want[10])) < 1e-6, "class %d: %g", k, (double)out[k]);
    }
    CHECK(fabs(sum - 1.0) < 1e-6, "calibrated probabilities sum to %g", sum);

    /* an uncalibrated model passes its outputs through unchanged */
    mn_calibration none = mn_calibration_none();
    mn_calibrate(&none, raw, 11, out, &ds);
    CHECK(!memcmp(out, raw, sizeof raw) && ds == 1.0f, "uncalibrated outputs changed");

    /* a probability that underflowed to 0 stays 0, nothing turns NaN */
    float peaked[3] = {1.0f, 0.0f, 0.0f};
    c = mn_calibration_none();
    c.temperature = 0.5f;
    c.fitted_on = 1;
    mn_calibrate(&c, peaked, 3, out, &ds);
    CHECK(out[0] == 1.0f && out[1] == 0.0f && out[2] == 0.0f, "peaked: %g %g %g", (double)out[0],
          (double)out[1], (double)out[2]);
}

static void test_verdict(void)
{
    mn_calibration c = mn_calibration_none();
    c.background = 10;
    c.digit_threshold = 0.3f;
    c.unsure_threshold = 0.6f;
    CHECK(mn_verdict_of(&c, 0.99f, 0.99f) == MN_VERDICT_DIGIT, "confident digit");
    CHECK(mn_verdict_of(&c, 0.55f, 0.99f) == MN_VERDICT_UNSURE, "two classes close");
    CHECK(mn_verdict_of(&c, 0.99f, 0.10f) == MN_VERDICT_NOT_A_DIGIT, "confident class, not a digit");
    CHECK(mn_verdict_of(&c, 0.40f, 0.10f) == MN_VERDICT_NOT_A_DIGIT, "not a digit wins over unsure");
    CHECK(mn_verdict_of(&c, 0.60f, 0.30f) == MN_VERDICT_DIGIT, "thresholds are inclusive");
    CHECK(!strcmp(mn_verdict_name(MN_VERDICT_NOT_A_DIGIT), "not_a_digit") &&
              !strcmp(mn_verdict_name(MN_VERDICT_SEVERAL_DIGITS), "several_digits") &&
              !strcmp(mn_verdict_name(MN_VERDICT_UNSURE), "unsure") &&
              !strcmp(mn_verdict_name(MN_VERDICT_DIGIT), "digit"),
          "verdict names");
    mn_calibration none = mn_calibration_none();
    CHECK(mn_verdict_of(&none, 0.11f, 1.0f) == MN_VERDICT_DIGIT, "an uncalibrated model always says digit");
}

/* Labels drawn from softmax(z / T0) while the model reports softmax(z):
 * the fitted temperature must come back near T0. */
static void test_fit(double T0)
{
    enum { N = 20000, K = 10 };
    float *raw = malloc(sizeof(float) * N * K), p[K];
    uint8_t *labels = malloc(N);
    mn_rng rng;
    mn_rng_seed(&rng, 42);
    for (int i = 0; i < N; i++) {
        double z[K];
        for (int k = 0; k < K; k++)
            z[k] = 3.0 * mn_rng_normal(&rng);
        softmax(z, K, 1.0, raw + (size_t)i * K);
        softmax(z, K, T0, p);
        double u = mn_rng_uniform(&rng), acc = 0;
        int y = K - 1;
        for (int k = 0; k < K; k++)
            if ((acc += p[k]) > u) {
                y = k;
                break;
            }
        labels[i] = (uint8_t)y;
    }
    double T = calibrate_temperature(raw, labels, N, K);
    CHECK(fabs(T / T0 - 1) < 0.05, "recovered temperature %.4f for a true %.4f", T, T0);
    CHECK(calibrate_nll(raw, labels, N, K, T) <= calibrate_nll(raw, labels, N, K, 1.0) + 1e-9,
          "the fitted temperature does not lower the NLL");
    free(raw);
    free(labels);
}

static void test_file(void)
{
    mn_arch arch;
    mn_error e;
    CHECK(mn_arch_parse("1x28x28:conv4k3,relu,pool2,flatten,dense11,softmax", &arch, &e) == MN_OK, "%s", e.msg);
    mn_model *m;
    CHECK(mn_model_create(&arch, &m, &e) == MN_OK, "%s", e.msg);
    mn_model_init_glorot(m, 7);
    char path[] = "/tmp/test_calibration_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);

    /* no calibration: written without the section, loads as none */
    CHECK(mn_model_save(m, path, NULL, &e) == MN_OK, "%s", e.msg);
    mn_model *l = NULL;
    CHECK(mn_model_load(path, &l, NULL, &e) == MN_OK, "%s", e.msg);
    if (l) {
        const mn_calibration *c = mn_model_calibration(l);
        CHECK(c->fitted_on == 0 && c->temperature == 1.0f && c->background == -1, "uncalibrated file");
        mn_model_free(l);
    }
    FILE *f = fopen(path, "rb");
    uint8_t head[16] = {0};
    CHECK(f && fread(head, 1, 16, f) == 16, "read header");
    if (f)
        fclose(f);
    CHECK(head[12] == 0, "an uncalibrated file sets no flag (0x%x): older readers load it", head[12]);

    /* calibrated: every field comes back */
    mn_calibration c = {1.75f, 10, 0.25f, 0.6f, 5000};
    CHECK(mn_model_set_calibration(m, &c, &e) == MN_OK, "%s", e.msg);
    CHECK(mn_model_save(m, path, NULL, &e) == MN_OK, "%s", e.msg);
    l = NULL;
    CHECK(mn_model_load(path, &l, NULL, &e) == MN_OK, "%s", e.msg);
    if (l) {
        const mn_calibration *r = mn_model_calibration(l);
        CHECK(r->temperature == 1.75f && r->background == 10 && r->digit_threshold == 0.25f &&
                  r->unsure_threshold == 0.6f && r->fitted_on == 5000,
              "round trip: %g %d %g %g %u", (double)r->temperature, (int)r->background,
              (double)r->digit_threshold, (double)r->unsure_threshold, r->fitted_on);
        mn_model_free(l);
    }

    /* bad values are refused, by the setter and by the reader */
    mn_calibration bad[] = {{0.0f, -1, 0, 0, 1}, {NAN, -1, 0, 0, 1}, {1, 11, 0, 0, 1},
                            {1, -1, 1.5f, 0, 1}, {1, -2, 0, 0, 1}, {1, -1, 0, -0.1f, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(mn_model_set_calibration(m, &bad[i], &e) == MN_ERR_ARG, "bad calibration %zu accepted", i);
    uint8_t *buf;
    size_t len;
    CHECK(mn_model_serialize(m, NULL, &buf, &len, &e) == MN_OK, "%s", e.msg);
    /* the section follows the metadata; find it by the temperature's bytes */
    size_t at = 0;
    float t = 1.75f;
    for (size_t i = 64; i + 4 <= len; i++)
        if (!memcmp(buf + i, &t, 4)) {
            at = i;
            break;
        }
    CHECK(at, "calibration section found");
    if (at) {
        uint8_t *copy = malloc(len);
        const float zero = 0.0f;
        memcpy(copy, buf, len);
        memcpy(copy + at, &zero, 4); /* temperature 0 */
        uint8_t digest[32];
        mn_sha256(copy, len - 32, digest);
        memcpy(copy + len - 32, digest, 32);
        mn_model *x = NULL;
        CHECK(mn_model_parse(copy, len, "bad.bin", &x, NULL, &e) == MN_ERR_FORMAT &&
                  strstr(e.msg, "bad.bin") && strstr(e.msg, "temperature"),
              "temperature 0 refused: %s", e.msg);
        mn_model_free(x);
        memcpy(copy, buf, len);
        copy[at + 24] = 1; /* a reserved byte */
        mn_sha256(copy, len - 32, digest);
        memcpy(copy + len - 32, digest, 32);
        CHECK(mn_model_parse(copy, len, "bad.bin", &x, NULL, &e) == MN_ERR_FORMAT && strstr(e.msg, "reserved"),
              "reserved byte refused: %s", e.msg);
        mn_model_free(x);
        free(copy);
    }
    free(buf);
    mn_model_free(m);
    unlink(path);
}

/* ECE by hand: two bins, each off by 0.45 in total over 4 answers. */
static void test_ece(void)
{
    const float conf[4] = {0.95f, 0.95f, 0.55f, 0.55f};
    const uint8_t right[4] = {1, 0, 1, 1};
    double e = answers_ece(conf, right, 4, 15);
    CHECK(fabs(e - 0.45) < 1e-6, "ECE %g, expected 0.45", e);
    const float sure[3] = {1.0f, 1.0f, 0.0f};
    const uint8_t all[3] = {1, 1, 0};
    CHECK(answers_ece(sure, all, 3, 15) < 1e-9, "a perfectly calibrated set has ECE 0 (ends of [0, 1] binned)");
}

int main(void)
{
    test_ece();
    test_scaling();
    test_verdict();
    test_fit(0.7);
    test_fit(1.8);
    test_file();
    return check_finish();
}
