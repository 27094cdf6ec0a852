/* test_explain.c: the explanations below the server (explain.h).
 * - The explainer's forward pass gives mn_model_forward's outputs, and its
 *   feature maps are the convolutions' real outputs (against the
 *   reference convolution and ReLU).
 * - Its input gradient is the derivative of the class's logit: checked
 *   against finite differences of log(p_k / p_0), which differs from
 *   logit_k - logit_0 by nothing, on the reference model and on one of
 *   the default model's shape.
 * - Faithful (deletion): on 1,000 MNIST test images and the bundled default
 *   model, setting to 0 the tenth of the ink pixels with the highest
 *   saliency lowers the predicted class's served (calibrated) probability
 *   at least twice as much as setting a random tenth of the ink to 0.
 *   Both averages are printed. The saliency lies on the ink.
 * - A model with batch norm left unfolded is refused with a message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mnist/mnist.h"

/* A model of the layer string spec with seeded weights and biases. */
static mn_model *seeded_model(const char *spec)
{
    mn_arch a;
    mn_error err;
    mn_model *m = NULL;
    if (mn_arch_parse(spec, &a, &err) != MN_OK || mn_model_create(&a, &m, &err) != MN_OK)
        return NULL;
    mn_model_init_glorot(m, 7);
    /* non-zero biases, so the gradient's path is not only the weights' */
    float *p = mn_model_params(m);
    mn_rng r;
    mn_rng_seed(&r, 11);
    for (size_t i = 0; i < mn_model_param_count(m); i++)
        p[i] += 0.02f * (mn_rng_uniform(&r) - 0.5f);
    /* as the server runs it: the fast kernels' weights laid out once */
    if (mn_model_prepare_inference(m, &err) != MN_OK) {
        mn_model_free(m);
        return NULL;
    }
    return m;
}

/* spec starts with conv32k3 and has n_convs convolutions. */
static void test_forward_and_maps(const char *spec, int n_convs)
{
    mn_model *m = seeded_model(spec);
    mn_explainer *x = NULL;
    mn_workspace *ws = NULL;
    mn_error err;
    CHECK(m && mn_explainer_create(m, &x, &err) == MN_OK && mn_workspace_create(m, 1, 0, &ws, &err) == MN_OK,
          "explainer for %s", spec);
    if (!x || !ws)
        return;
    float in[784], p[16], q[16]; /* room for 11 classes */
    mn_rng r;
    mn_rng_seed(&r, 3);
    for (int i = 0; i < 784; i++)
        in[i] = mn_rng_uniform(&r) < 0.3f ? mn_rng_uniform(&r) : 0.0f;
    mn_explain_forward(x, in, p);
    mn_model_forward(m, ws, in, 1, q);
    double worst = 0;
    for (int k = 0; k < 10; k++)
        worst = fmax(worst, fabs(p[k] - q[k]));
    CHECK(worst < 1e-5, "explain forward differs from mn_model_forward by %g", worst);

    CHECK(mn_explain_conv_count(x) == n_convs, "%d convolutions, expected %d", mn_explain_conv_count(x),
          n_convs);
    mn_shape sh;
    uint32_t layer = 99;
    const float *map = mn_explain_conv_output(x, 0, &sh, &layer);
    CHECK(map && sh.c == 32 && sh.h == 26 && sh.w == 26 && layer == 0, "first map %ux%ux%u at layer %u",
          sh.c, sh.h, sh.w, layer);
    /* the first map is relu(conv(in)) by the reference convolution */
    const mn_tensor_info *w = mn_model_tensor(m, 0), *b = mn_model_tensor(m, 1);
    const float *P = mn_model_params_const(m);
    mn_conv2d_dims d = {1, 1, 28, 28, 32, 3, 1, 0, 0, 0};
    mn_conv2d_dims_finish(&d);
    float *want = malloc(sizeof(float) * 32 * 26 * 26);
    mn_conv2d_forward_ref(want, in, P + w->offset, P + b->offset, &d);
    worst = 0;
    for (int i = 0; i < 32 * 26 * 26; i++)
        worst = fmax(worst, fabs((want[i] > 0 ? want[i] : 0) - map[i]));
    CHECK(worst < 1e-5, "the first feature maps differ from relu(conv) by %g", worst);
    CHECK(mn_explain_conv_output(x, n_convs, &sh, NULL) == NULL, "no convolution %d", n_convs);
    free(want);

    /* the gradient of logit_k - logit_0 = log p_k - log p_0, by central differences */
    float g0[784], gk[784], plus[16], minus[16];
    const int k = 3;
    mn_explain_forward(x, in, p);
    mn_explain_gradient(x, 0, g0);
    mn_explain_gradient(x, k, gk);
    int close = 0, tried = 0;
    for (int i = 100; i < 700; i += 7) {
        const float h = 1e-2f, keep = in[i];
        in[i] = keep + h;
        mn_model_forward(m, ws, in, 1, plus);
        in[i] = keep - h;
        mn_model_forward(m, ws, in, 1, minus);
        in[i] = keep;
        double fd = (log(plus[k] / plus[0]) - log(minus[k] / minus[0])) / (2 * h);
        double an = (double)gk[i] - g0[i];
        tried++;
        close += fabs(fd - an) <= 1e-2 + 2e-2 * fabs(fd);
    }
    /* a ReLU or max-pool switching within +-h may spoil a few */
    CHECK(close >= tried * 9 / 10, "%s: gradient matches finite differences at %d of %d pixels", spec,
          close, tried);

    /* gradient x input: the gradient times each pixel, 0 off the ink */
    float s[784];
    mn_explain_saliency(x, k, s);
    int off_ink = 0, matches = 0;
    for (int i = 0; i < 784; i++) {
        off_ink += in[i] == 0 && s[i] != 0;
        matches += fabs(s[i] - gk[i] * in[i]) <= 1e-6f * (1 + fabs(s[i]));
    }
    CHECK(off_ink == 0 && matches == 784, "saliency = gradient x input (%d off the ink, %d of 784 match)",
          off_ink, matches);
    mn_explainer_free(x);
    mn_workspace_free(ws);
    mn_model_free(m);
}

static void test_unfolded_refused(void)
{
    mn_arch a;
    mn_model *m = NULL;
    mn_explainer *x = NULL;
    mn_error err;
    if (mn_arch_parse("conv8k3,bn,relu,pool2,dropout25,flatten,dense10,softmax", &a, &err) != MN_OK ||
        mn_model_create(&a, &m, &err) != MN_OK) {
        CHECK(0, "a model with batch norm: %s", err.msg);
        return;
    }
    CHECK(mn_explainer_create(m, &x, &err) == MN_ERR_ARG && strstr(err.msg, "fold") && !x,
          "batch norm left unfolded refused: %s", err.msg);
    mn_model *folded = NULL;
    CHECK(mn_model_fold(m, &folded, &err) == MN_OK && mn_explainer_create(folded, &x, &err) == MN_OK,
          "the folded model explains");
    mn_explainer_free(x);
    mn_model_free(folded);
    mn_model_free(m);
}

static int cmp_desc(const void *a, const void *b, void *key)
{
    const float *s = key;
    float x = s[*(const int *)a], y = s[*(const int *)b];
    return (x < y) - (x > y);
}

/* qsort_r's order is glibc's; a plain insertion sort keeps this portable. */
static void sort_by(int *idx, int n, const float *key)
{
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i;
        while (j > 0 && cmp_desc(&idx[j - 1], &v, (void *)key) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

/* The served probability of class c for in (calibrated, background left out). */
static float served(const mn_model *m, mn_workspace *ws, const float *in, int c)
{
    float raw[16], cal[16], ds;
    mn_model_forward(m, ws, in, 1, raw);
    mn_calibrate(mn_model_calibration(m), raw, mn_model_classes(m), cal, &ds);
    return cal[c];
}

static void test_deletion(void)
{
    const char *src = getenv("MNIST_SOURCE_DIR"), *data = getenv("MNIST_DATA_DIR");
    char path[1024], images[1024];
    snprintf(path, sizeof path, "%s/models/mnist-cnn-large.bin", src ? src : ".");
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte", data ? data : "data/mnist");
    mn_model *m = NULL;
    mn_idx im;
    mn_error err;
    mn_explainer *x = NULL;
    mn_workspace *ws = NULL;
    if (mn_model_load(path, &m, NULL, &err) != MN_OK || mn_idx_load(images, &im, &err) != MN_OK ||
        mn_explainer_create(m, &x, &err) != MN_OK || mn_workspace_create(m, 1, 0, &ws, &err) != MN_OK) {
        CHECK(0, "deletion test setup: %s", err.msg);
        return;
    }
    const int N = 1000, bg = mn_model_calibration(m)->background;
    float in[784], cut[784], s[784], raw[16];
    int idx[784];
    double salient = 0, random = 0, on_ink = 0, total = 0;
    mn_rng r;
    mn_rng_seed(&r, 5);
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < 784; i++)
            in[i] = im.data[(size_t)n * 784 + i] / 255.0f;
        mn_explain_forward(x, in, raw);
        int c = 0; /* the predicted served class */
        for (int k = 1; k < 10; k++)
            c = raw[k] > raw[c] ? k : c;
        mn_explain_saliency(x, bg >= 0 && c >= bg ? c + 1 : c, s);
        const float p = served(m, ws, in, c);
        int ink = 0;
        for (int i = 0; i < 784; i++) {
            if (in[i] > 0)
                idx[ink++] = i;
            total += fabs(s[i]);
            on_ink += in[i] > 0 ? fabs(s[i]) : 0;
        }
        const int tenth = (ink + 5) / 10;
        sort_by(idx, ink, s);
        memcpy(cut, in, sizeof cut);
        for (int j = 0; j < tenth; j++)
            cut[idx[j]] = 0;
        salient += p - served(m, ws, cut, c);
        for (int j = ink - 1; j > 0; j--) { /* a random tenth: shuffle */
            int t = (int)(mn_rng_uniform(&r) * (float)(j + 1));
            t = t > j ? j : t;
            int v = idx[j];
            idx[j] = idx[t];
            idx[t] = v;
        }
        memcpy(cut, in, sizeof cut);
        for (int j = 0; j < tenth; j++)
            cut[idx[j]] = 0;
        random += p - served(m, ws, cut, c);
    }
    salient /= N;
    random /= N;
    printf("deletion on %d MNIST test images: removing the most salient 10%% of the ink lowers the "
           "predicted class's probability by %.4f on average, a random 10%% by %.4f (%.1fx)\n",
           N, salient, random, salient / random);
    CHECK(salient >= 2 * random && salient > 0.05, "salient %.4f, random %.4f", salient, random);
    CHECK(on_ink >= 0.999 * total, "saliency on the ink: %.4f of its mass", on_ink / total);
    mn_explainer_free(x);
    mn_workspace_free(ws);
    mn_idx_free(&im);
    mn_model_free(m);
}

int main(void)
{
    /* the reference model, and the default model's shape (folded): four
     * convolutions, three of whose input gradients run by Winograd */
    test_forward_and_maps("conv32k3,relu,pool2,conv64k3,relu,pool2,flatten,dense128,relu,dense10,softmax", 2);
    test_forward_and_maps("conv32k3,relu,conv32k3,relu,pool2,conv64k3,relu,conv64k3,relu,pool2,flatten,"
                          "dense64,relu,dense11,softmax", 4);
    test_unfolded_refused();
    test_deletion();
    return check_finish();
}
