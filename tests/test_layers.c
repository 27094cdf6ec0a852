/* test_layers.c: every layer kernel against its naive twin, and every
 * backward pass against central finite differences of its forward pass
 * (inputs kept away from ReLU and max-pool kinks); batch norm, dropout,
 * label smoothing, folding and inference preparation at the kernel and
 * the model level. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_level.h"
#include "mnist/mnist.h"
#include "model_internal.h"
#include "plan.h"

static mn_rng rng;

static float *rand_buf(size_t n, float scale)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        p[i] = (2 * mn_rng_uniform(&rng) - 1) * scale;
    return p;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

/* L = sum(out * R) of a forward function, for finite differences. */
typedef void (*fwd_fn)(void *ctx, float *out);

static double loss_of(fwd_fn f, void *ctx, float *out, const float *R, size_t n_out)
{
    f(ctx, out);
    double s = 0;
    for (size_t i = 0; i < n_out; i++)
        s += (double)out[i] * R[i];
    return s;
}

/* Compares analytic gradient g[n] of the variables x[n] with central
 * differences; returns the number of mismatches. */
static int grad_check(const char *what, fwd_fn f, void *ctx, float *x, const float *g, size_t n,
                      float *out, const float *R, size_t n_out)
{
    const float eps = 1e-2f;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = loss_of(f, ctx, out, R, n_out);
        x[i] = keep - eps;
        double lm = loss_of(f, ctx, out, R, n_out);
        x[i] = keep;
        double num = (lp - lm) / (2 * eps);
        if (fabs(num - g[i]) > 2e-3 * (1 + fabs(num))) {
            if (bad < 3)
                fprintf(stderr, "%s: d[%zu] analytic %g numeric %g\n", what, i, g[i], num);
            bad++;
        }
    }
    return bad;
}

/* --- conv2d --- */
typedef struct {
    mn_conv2d_dims d;
    float *in, *w, *b;
} conv_ctx;

static void conv_fwd(void *c, float *out)
{
    conv_ctx *x = c;
    mn_conv2d_forward_ref(out, x->in, x->w, x->b, &x->d);
}

static void test_conv(int N, int C, int H, int W, int OC, int K, int S, int P)
{
    conv_ctx x = {{N, C, H, W, OC, K, S, P, 0, 0}, NULL, NULL, NULL};
    CHECK(mn_conv2d_dims_finish(&x.d) == 0, "conv dims");
    size_t n_in = (size_t)N * C * H * W, n_w = (size_t)OC * C * K * K;
    size_t n_out = (size_t)N * OC * x.d.OH * x.d.OW;
    x.in = rand_buf(n_in, 1);
    x.w = rand_buf(n_w, 0.5f);
    x.b = rand_buf(OC, 0.5f);
    float *fast = rand_buf(n_out, 1), *ref = rand_buf(n_out, 1), *R = rand_buf(n_out, 1);
    float *scratch = malloc(sizeof(float) * mn_conv2d_scratch_floats(&x.d));
    mn_conv2d_forward(fast, x.in, x.w, x.b, &x.d, scratch);
    mn_conv2d_forward_ref(ref, x.in, x.w, x.b, &x.d);
    CHECK(max_rel_diff(fast, ref, n_out) < 1e-5, "conv forward fast vs ref N%d C%d H%d OC%d K%d S%d P%d: %g",
          N, C, H, OC, K, S, P, max_rel_diff(fast, ref, n_out));

    float *din_f = rand_buf(n_in, 1), *din_r = rand_buf(n_in, 1);
    float *dw_f = calloc(n_w, 4), *dw_r = calloc(n_w, 4), *db_f = calloc(OC, 4), *db_r = calloc(OC, 4);
    mn_conv2d_backward(din_f, dw_f, db_f, R, x.in, x.w, &x.d, scratch);
    mn_conv2d_backward_ref(din_r, dw_r, db_r, R, x.in, x.w, &x.d);
    CHECK(max_rel_diff(din_f, din_r, n_in) < 1e-4, "conv din fast vs ref: %g", max_rel_diff(din_f, din_r, n_in));
    CHECK(max_rel_diff(dw_f, dw_r, n_w) < 1e-4, "conv dw fast vs ref: %g", max_rel_diff(dw_f, dw_r, n_w));
    CHECK(max_rel_diff(db_f, db_r, OC) < 1e-4, "conv db fast vs ref");
    /* accumulation: a second backward doubles dw */
    mn_conv2d_backward(NULL, dw_f, db_f, R, x.in, x.w, &x.d, scratch);
    for (size_t i = 0; i < n_w; i++)
        dw_r[i] *= 2;
    CHECK(max_rel_diff(dw_f, dw_r, n_w) < 1e-4, "conv dw accumulates");
    for (size_t i = 0; i < n_w; i++)
        dw_r[i] /= 2;

    float *out = malloc(sizeof(float) * n_out);
    CHECK(grad_check("conv din", conv_fwd, &x, x.in, din_r, n_in, out, R, n_out) == 0, "conv din vs finite differences");
    CHECK(grad_check("conv dw", conv_fwd, &x, x.w, dw_r, n_w, out, R, n_out) == 0, "conv dw vs finite differences");
    CHECK(grad_check("conv db", conv_fwd, &x, x.b, db_r, OC, out, R, n_out) == 0, "conv db vs finite differences");
    free(x.in), free(x.w), free(x.b), free(fast), free(ref), free(R), free(scratch), free(din_f);
    free(din_r), free(dw_f), free(dw_r), free(db_f), free(db_r), free(out);
}

/* --- dense --- */
typedef struct {
    int N, I, O;
    float *in, *w, *b;
} dense_ctx;

static void dense_fwd(void *c, float *out)
{
    dense_ctx *x = c;
    mn_dense_forward_ref(out, x->in, x->w, x->b, x->N, x->I, x->O);
}

static void test_dense(int N, int I, int O)
{
    dense_ctx x = {N, I, O, rand_buf((size_t)N * I, 1), rand_buf((size_t)O * I, 0.5f), rand_buf(O, 0.5f)};
    size_t n_out = (size_t)N * O;
    float *fast = rand_buf(n_out, 1), *ref = rand_buf(n_out, 1), *R = rand_buf(n_out, 1);
    mn_dense_forward(fast, x.in, x.w, x.b, N, I, O);
    mn_dense_forward_ref(ref, x.in, x.w, x.b, N, I, O);
    CHECK(max_rel_diff(fast, ref, n_out) < 1e-5, "dense forward N%d I%d O%d", N, I, O);
    float *din_f = rand_buf((size_t)N * I, 1), *din_r = rand_buf((size_t)N * I, 1);
    float *dw_f = calloc((size_t)O * I, 4), *dw_r = calloc((size_t)O * I, 4);
    float *db_f = calloc(O, 4), *db_r = calloc(O, 4);
    mn_dense_backward(din_f, dw_f, db_f, R, x.in, x.w, N, I, O);
    mn_dense_backward_ref(din_r, dw_r, db_r, R, x.in, x.w, N, I, O);
    CHECK(max_rel_diff(din_f, din_r, (size_t)N * I) < 1e-4, "dense din fast vs ref");
    CHECK(max_rel_diff(dw_f, dw_r, (size_t)O * I) < 1e-4, "dense dw fast vs ref");
    CHECK(max_rel_diff(db_f, db_r, O) < 1e-4, "dense db fast vs ref");
    float *out = malloc(sizeof(float) * n_out);
    CHECK(grad_check("dense din", dense_fwd, &x, x.in, din_r, (size_t)N * I, out, R, n_out) == 0, "dense din vs fd");
    CHECK(grad_check("dense dw", dense_fwd, &x, x.w, dw_r, (size_t)O * I, out, R, n_out) == 0, "dense dw vs fd");
    CHECK(grad_check("dense db", dense_fwd, &x, x.b, db_r, O, out, R, n_out) == 0, "dense db vs fd");
    free(x.in), free(x.w), free(x.b), free(fast), free(ref), free(R), free(din_f), free(din_r);
    free(dw_f), free(dw_r), free(db_f), free(db_r), free(out);
}

/* --- max-pool --- */
typedef struct {
    int N, C, H, W, K, S;
    float *in;
    int32_t *argmax;
} pool_ctx;

static void pool_fwd(void *c, float *out)
{
    pool_ctx *x = c;
    mn_maxpool_forward(out, x->argmax, x->in, x->N, x->C, x->H, x->W, x->K, x->S);
}

static void test_pool(int N, int C, int H, int W, int K, int S)
{
    size_t n_in = (size_t)N * C * H * W;
    int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    size_t n_out = (size_t)N * C * OH * OW;
    pool_ctx x = {N, C, H, W, K, S, malloc(sizeof(float) * n_in), malloc(sizeof(int32_t) * n_out)};
    /* distinct values 0.1 apart, shuffled: no ties within eps of each other */
    for (size_t i = 0; i < n_in; i++)
        x.in[i] = 0.1f * (float)i;
    for (size_t i = n_in - 1; i > 0; i--) {
        size_t j = mn_rng_below(&rng, (uint32_t)i + 1);
        float t = x.in[i];
        x.in[i] = x.in[j];
        x.in[j] = t;
    }
    float *out = malloc(sizeof(float) * n_out), *R = rand_buf(n_out, 1), *din = malloc(sizeof(float) * n_in);
    pool_fwd(&x, out);
    int ok = 1;
    for (int nc = 0; nc < N * C && ok; nc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float m = -1e30f;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++)
                        m = fmaxf(m, x.in[(size_t)nc * H * W + (oh * S + kh) * W + ow * S + kw]);
                ok &= out[(size_t)nc * OH * OW + oh * OW + ow] == m;
            }
    CHECK(ok, "maxpool forward picks each window's maximum");
    mn_maxpool_backward(din, R, x.argmax, N, C, H, W, K, S);
    CHECK(grad_check("pool din", pool_fwd, &x, x.in, din, n_in, out, R, n_out) == 0, "maxpool din vs fd");
    free(x.in), free(x.argmax), free(out), free(R), free(din);
}

/* Ties and NaN: each window's output and winner equal a direct loop's (the
 * first maximum by strict >, which NaN never wins), on the 2x2 fast path
 * and the general one. */
static void test_pool_ties(int N, int C, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    const size_t n_in = (size_t)N * C * H * W, n_out = (size_t)N * C * OH * OW;
    float *in = malloc(sizeof(float) * n_in), *out = malloc(sizeof(float) * n_out);
    int32_t *am = malloc(sizeof(int32_t) * n_out);
    mn_rng own; /* its own stream: the other tests' data stays as it was */
    mn_rng_seed(&own, (uint64_t)(H * 100 + K));
    for (size_t i = 0; i < n_in; i++) { /* three values: many ties; some NaN */
        uint32_t r = mn_rng_below(&own, 16);
        in[i] = r == 0 ? NAN : (float)(r % 3) - 1.0f;
    }
    mn_maxpool_forward(out, am, in, N, C, H, W, K, S);
    int ok = 1;
    for (int nc = 0; nc < N * C; nc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float *plane = in + (size_t)nc * H * W;
                int best = oh * S * W + ow * S;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        int i = (oh * S + kh) * W + ow * S + kw;
                        if (plane[i] > plane[best])
                            best = i;
                    }
                size_t o = (size_t)nc * OH * OW + oh * OW + ow;
                ok &= am[o] == best;
                ok &= isnan(plane[best]) ? isnan(out[o]) : out[o] == plane[best];
            }
    CHECK(ok, "maxpool %dx%d/%d on %dx%d: ties and NaN as the direct loop", K, K, S, H, W);
    free(in), free(out), free(am);
}

static void test_relu_softmax(void)
{
    float in[6] = {-2, -0.5f, 0.5f, 3, -1, 2}, out[6], dout[6] = {1, 2, 3, 4, 5, 6}, din[6];
    mn_relu_forward(out, in, 6);
    CHECK(out[0] == 0 && out[2] == 0.5f && out[3] == 3 && out[4] == 0, "relu forward");
    mn_relu_backward(din, dout, out, 6);
    CHECK(din[0] == 0 && din[1] == 0 && din[2] == 3 && din[3] == 4 && din[4] == 0 && din[5] == 6, "relu backward");

    /* softmax is shift-invariant and survives huge logits */
    float z[6] = {1000, 1001, 1002, 1, 2, 3}, p[6], g[6];
    mn_softmax_forward(p, z, 2, 3);
    CHECK(fabsf(p[0] - p[3]) < 1e-6f && fabsf(p[2] - p[5]) < 1e-6f, "softmax shift invariance");
    CHECK(fabsf(p[0] + p[1] + p[2] - 1) < 1e-6f, "softmax sums to 1");
    uint8_t labels[2] = {2, 0};
    float loss = mn_softmax_xent_backward(g, p, labels, 2, 3);
    double want = -log(p[2]) - log(p[3]);
    CHECK(fabs(loss - want) < 1e-5, "cross-entropy %g vs %g", loss, want);
    CHECK(fabsf(g[2] - (p[2] - 1)) < 1e-7f && fabsf(g[0] - p[0]) < 1e-7f, "softmax-xent gradient");
    /* gradient of the combined layer against finite differences of the loss */
    const float eps = 1e-3f;
    int bad = 0;
    for (int i = 0; i < 6; i++) {
        float zp[6], zm[6], pp[6], pm[6], gg[6];
        memcpy(zp, z, sizeof z), memcpy(zm, z, sizeof z);
        zp[i] += eps, zm[i] -= eps;
        mn_softmax_forward(pp, zp, 2, 3);
        mn_softmax_forward(pm, zm, 2, 3);
        double num = (mn_softmax_xent_backward(gg, pp, labels, 2, 3) - mn_softmax_xent_backward(gg, pm, labels, 2, 3)) / (2 * eps);
        bad += fabs(num - g[i]) > 2e-2;
    }
    CHECK(bad == 0, "softmax-xent gradient vs fd (%d bad)", bad);
}

/* The whole model's backward against finite differences of its loss. */
static void test_model_gradient(void)
{
    mn_arch a;
    mn_error err;
    CHECK(mn_arch_parse("1x9x9:conv3k3p1,relu,pool2,conv4k2,relu,flatten,dense6,relu,dense4,softmax", &a, &err) == MN_OK,
          "parse: %s", err.msg);
    mn_model *m;
    CHECK(mn_model_create(&a, &m, &err) == MN_OK, "create: %s", err.msg);
    mn_model_init_glorot(m, 7);
    float *P = mn_model_params(m);
    size_t n = mn_model_param_count(m);
    for (size_t i = 0; i < n; i++) /* non-zero biases too */
        P[i] += 0.05f * (2 * mn_rng_uniform(&rng) - 1);
    const int N = 3;
    float *in = rand_buf((size_t)N * 81, 1);
    uint8_t labels[3] = {0, 3, 1};
    mn_workspace *ws;
    CHECK(mn_workspace_create(m, N, 1, &ws, &err) == MN_OK, "workspace");
    float *g = calloc(n, sizeof(float));
    float loss = mn_model_backward(m, ws, in, labels, N, g, NULL);
    CHECK(loss > 0 && isfinite(loss), "loss %g", loss);
    float probs[12];
    const float eps = 5e-3f;
    int bad = 0, kinks = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = P[i];
        double l[3];
        float steps[3] = {eps, 0, -eps};
        for (int s = 0; s < 3; s++) {
            P[i] = keep + steps[s];
            mn_model_forward(m, ws, in, N, probs);
            l[s] = 0;
            for (int k = 0; k < N; k++)
                l[s] -= log(probs[k * 4 + labels[k]]);
        }
        P[i] = keep;
        double fwd = (l[0] - l[1]) / eps, bwd = (l[1] - l[2]) / eps, num = (l[0] - l[2]) / (2 * eps);
        if (fabs(fwd - bwd) > 0.05 * (1 + fabs(num))) { /* a ReLU or max-pool kink */
            kinks++;
            continue;
        }
        if (fabs(num - g[i]) > 1e-2 * (1 + fabs(num))) {
            if (bad < 3)
                fprintf(stderr, "model d[%zu] analytic %g numeric %g\n", i, g[i], num);
            bad++;
        }
    }
    CHECK(bad == 0, "model gradient vs finite differences: %d of %zu differ", bad, n);
    CHECK(kinks < (int)n / 10, "too many kinks skipped (%d of %zu)", kinks, n);
    /* forward on a batch equals forward one sample at a time */
    float pb[12], p1[4];
    mn_model_forward(m, ws, in, N, pb);
    int same = 1;
    for (int k = 0; k < N; k++) {
        mn_model_forward(m, ws, in + k * 81, 1, p1);
        for (int c = 0; c < 4; c++)
            same &= fabsf(p1[c] - pb[k * 4 + c]) < 1e-6f;
    }
    CHECK(same, "batched forward equals single forwards");
    free(in), free(g);
    mn_workspace_free(ws);
    mn_model_free(m);
}

/* --- batch norm --- */
typedef struct {
    int N, C, HW;
    float *in, *gamma, *beta, mean[8], var[8], invstd[8];
} bn_ctx;

static void bn_fwd(void *c, float *out)
{
    bn_ctx *x = c;
    mn_batchnorm_forward_train(out, x->mean, x->var, x->invstd, x->in, x->gamma, x->beta, x->N, x->C,
                               x->HW, MN_BATCHNORM_EPS);
}

static void test_batchnorm(int N, int C, int HW)
{
    bn_ctx x = {N, C, HW, rand_buf((size_t)N * C * HW, 2), rand_buf(C, 1), rand_buf(C, 1), {0}, {0}, {0}};
    for (int c = 0; c < C; c++)
        x.gamma[c] += 1.5f; /* away from zero */
    size_t n = (size_t)N * C * HW;
    float *out = rand_buf(n, 1), *R = rand_buf(n, 1), *din = rand_buf(n, 1);
    float dgamma[8] = {0}, dbeta[8] = {0};
    bn_fwd(&x, out);
    /* the output of each channel has mean beta and variance gamma^2 v/(v+eps) */
    int stats_ok = 1;
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int k = 0; k < N; k++)
            for (int i = 0; i < HW; i++)
                s += out[((size_t)k * C + c) * HW + i];
        double mu = s / (N * HW);
        for (int k = 0; k < N; k++)
            for (int i = 0; i < HW; i++) {
                double d = out[((size_t)k * C + c) * HW + i] - mu;
                ss += d * d;
            }
        double want = (double)x.gamma[c] * x.gamma[c] * x.var[c] / (x.var[c] + MN_BATCHNORM_EPS);
        stats_ok &= fabs(mu - x.beta[c]) < 1e-4 && fabs(ss / (N * HW) - want) < 1e-3 * (1 + want);
    }
    CHECK(stats_ok, "batch norm output has mean beta, variance gamma^2 (N=%d C=%d HW=%d)", N, C, HW);
    mn_batchnorm_backward(din, dgamma, dbeta, R, x.in, x.gamma, x.mean, x.invstd, N, C, HW);
    /* the statistics are recomputed by each perturbed forward: the
     * gradient includes the paths through mean and variance */
    CHECK(grad_check("bn din", bn_fwd, &x, x.in, din, n, out, R, n) == 0, "batch norm din vs fd");
    CHECK(grad_check("bn dgamma", bn_fwd, &x, x.gamma, dgamma, C, out, R, n) == 0, "batch norm dgamma vs fd");
    CHECK(grad_check("bn dbeta", bn_fwd, &x, x.beta, dbeta, C, out, R, n) == 0, "batch norm dbeta vs fd");
    /* inference with the batch's own statistics equals the training forward */
    float *inf = rand_buf(n, 1);
    bn_fwd(&x, out);
    mn_batchnorm_forward_infer(inf, x.in, x.gamma, x.beta, x.mean, x.var, N, C, HW, MN_BATCHNORM_EPS);
    CHECK(max_rel_diff(inf, out, n) < 1e-5, "inference with batch statistics == training forward");
    free(x.in), free(x.gamma), free(x.beta), free(out), free(R), free(din), free(inf);
}

/* --- dropout --- */
static void test_dropout(void)
{
    const int N = 4, D = 1000;
    float *in = rand_buf((size_t)N * D, 1), *out = rand_buf((size_t)N * D, 1), *out2 = rand_buf((size_t)N * D, 1);
    uint8_t *mask = malloc((size_t)N * D), *mask2 = malloc((size_t)N * D);
    uint64_t keys[4] = {10, 11, 12, 13};
    mn_dropout_forward(out, mask, in, N, D, 0.25f, 99, keys, 3);
    size_t kept = 0;
    int scaled = 1;
    for (int i = 0; i < N * D; i++) {
        kept += mask[i];
        scaled &= mask[i] ? fabsf(out[i] - in[i] / 0.75f) < 1e-6f : out[i] == 0.0f;
    }
    CHECK(kept > 0.70 * N * D && kept < 0.80 * N * D, "dropout 25%% keeps about 75%%: %zu of %d", kept, N * D);
    CHECK(scaled, "kept values scaled by 1/(1-rate), dropped ones zero");
    /* sample 2 alone, with its key, gets the same mask: no dependence on batching */
    mn_dropout_forward(out2, mask2, in + 2 * D, 1, D, 0.25f, 99, keys + 2, 3);
    CHECK(!memcmp(mask2, mask + 2 * D, D), "a sample's mask depends on its key only");
    mn_dropout_forward(out2, mask2, in, N, D, 0.25f, 99, keys, 4);
    CHECK(memcmp(mask2, mask, (size_t)N * D) != 0, "another layer salt, another mask");
    float *R = rand_buf((size_t)N * D, 1), *din = rand_buf((size_t)N * D, 1);
    mn_dropout_backward(din, R, mask, N, D, 0.25f);
    int ok = 1;
    for (int i = 0; i < N * D; i++)
        ok &= fabsf(din[i] - (mask[i] ? R[i] / 0.75f : 0.0f)) < 1e-6f;
    CHECK(ok, "dropout backward routes through the kept values only");
    free(in), free(out), free(out2), free(mask), free(mask2), free(R), free(din);
}

/* Sum of the training-mode loss of the model (fresh gradient scratch). */
static double train_loss(const mn_model *m, mn_workspace *ws, const float *in, const uint8_t *labels,
                         int N, const mn_train_opts *o, float *scratch)
{
    memset(scratch, 0, sizeof(float) * mn_model_param_count(m));
    return mn_model_backward_train(m, ws, in, labels, N, o, scratch, NULL);
}

/* A model with batch norm, dropout and label smoothing: its training
 * backward against finite differences of its training loss; the running
 * statistics' slots; folding for serving. */
static void test_model_bn_dropout(void)
{
    mn_arch a;
    mn_error err;
    CHECK(mn_arch_parse("1x9x9:conv3k3p1,bn,relu,pool2,dropout30,conv4k2,bn,relu,flatten,dense6,bn,relu,dense4,softmax",
                        &a, &err) == MN_OK, "parse: %s", err.msg);
    mn_model *m;
    CHECK(mn_model_create(&a, &m, &err) == MN_OK, "create: %s", err.msg);
    mn_model_init_glorot(m, 9);
    float *P = mn_model_params(m);
    size_t n = mn_model_param_count(m);
    for (size_t i = 0; i < n; i++)
        P[i] += 0.05f * (2 * mn_rng_uniform(&rng) - 1);
    const int N = 4;
    float *in = rand_buf((size_t)N * 81, 1);
    uint8_t labels[4] = {0, 3, 1, 2};
    uint64_t keys[4] = {5, 6, 7, 8};
    mn_train_opts o = {1234, keys, 0.1f};
    mn_workspace *ws;
    CHECK(mn_workspace_create(m, N, 1, &ws, &err) == MN_OK, "workspace");
    float *g = calloc(n, sizeof(float)), *scratch = calloc(n, sizeof(float));
    float loss = mn_model_backward_train(m, ws, in, labels, N, &o, g, NULL);
    CHECK(loss > 0 && isfinite(loss), "loss %g", loss);
    const float eps = 5e-3f;
    int bad = 0, kinks = 0, checked = 0;
    for (uint32_t t = 0; t < mn_model_tensor_count(m); t++) {
        const mn_tensor_info *ti = mn_model_tensor(m, t);
        if (mn_model_tensor_is_statistic(m, t))
            continue;
        for (size_t i = ti->offset; i < ti->offset + ti->count; i++) {
            float keep = P[i];
            P[i] = keep + eps;
            double lp = train_loss(m, ws, in, labels, N, &o, scratch);
            P[i] = keep;
            double l0 = train_loss(m, ws, in, labels, N, &o, scratch);
            P[i] = keep - eps;
            double lm = train_loss(m, ws, in, labels, N, &o, scratch);
            P[i] = keep;
            double fwd = (lp - l0) / eps, bwd = (l0 - lm) / eps, num = (lp - lm) / (2 * eps);
            if (fabs(fwd - bwd) > 0.05 * (1 + fabs(num))) {
                kinks++;
                continue;
            }
            checked++;
            if (fabs(num - g[i]) > 1e-2 * (1 + fabs(num))) {
                if (bad < 3)
                    fprintf(stderr, "bn model %s d[%zu] analytic %g numeric %g\n", ti->name,
                            i - ti->offset, g[i], num);
                bad++;
            }
        }
    }
    CHECK(bad == 0, "batch-norm/dropout model gradient vs finite differences: %d of %d differ", bad, checked);
    CHECK(kinks < checked / 10, "too many kinks skipped (%d of %d)", kinks, checked);
    /* bn1's mean slot carries N * the batch mean of conv1's output */
    const mn_tensor_info *mean = mn_model_tensor(m, 4);
    CHECK(!strcmp(mean->name, "bn1.mean") && mn_model_tensor_is_statistic(m, 4), "bn1.mean is a statistic");
    float before = P[mean->offset], slot = g[mean->offset];
    CHECK(slot != 0, "the statistic slot is filled");
    mn_model_update_batch_stats(m, g, 0.75f);
    CHECK(fabsf(P[mean->offset] - (0.75f * before + 0.25f * slot)) < 1e-6f && g[mean->offset] == 0,
          "running mean moved by the momentum rule and its slot cleared");
    /* the same keys give the same loss; other keys another dropout draw */
    uint64_t keys2[4] = {50, 60, 70, 80};
    mn_train_opts o2 = {1234, keys2, 0.1f};
    CHECK(train_loss(m, ws, in, labels, N, &o, scratch) == train_loss(m, ws, in, labels, N, &o, scratch),
          "training loss repeatable");
    CHECK(train_loss(m, ws, in, labels, N, &o, scratch) != train_loss(m, ws, in, labels, N, &o2, scratch),
          "dropout follows the keys");
    /* folding: the served model computes the inference forward */
    for (uint32_t t = 0; t < mn_model_tensor_count(m); t++)
        if (mn_model_tensor_is_statistic(m, t)) { /* realistic statistics */
            const mn_tensor_info *ti = mn_model_tensor(m, t);
            for (size_t i = 0; i < ti->count; i++)
                P[ti->offset + i] = strstr(ti->name, "var") ? 0.5f + mn_rng_uniform(&rng)
                                                            : 0.3f * (2 * mn_rng_uniform(&rng) - 1);
        }
    mn_model *f;
    CHECK(mn_model_fold(m, &f, &err) == MN_OK, "fold: %s", err.msg);
    char spec[256];
    mn_arch_format(mn_model_arch(f), spec, sizeof spec);
    CHECK(!strcmp(spec, "1x9x9:conv3k3p1,relu,pool2,conv4k2,relu,flatten,dense6,relu,dense4,softmax"),
          "folded table %s", spec);
    mn_workspace *wf;
    CHECK(mn_workspace_create(f, N, 0, &wf, &err) == MN_OK, "folded workspace");
    float pm[16], pf[16];
    mn_model_forward(m, ws, in, N, pm);
    mn_model_forward(f, wf, in, N, pf);
    CHECK(max_rel_diff(pf, pm, 16) < 1e-5, "folded model == inference forward (%g)", max_rel_diff(pf, pm, 16));
    free(in), free(g), free(scratch);
    mn_workspace_free(ws);
    mn_workspace_free(wf);
    mn_model_free(f);
    mn_model_free(m);
}

/* The prepared dense forward against the naive loop, and each sample's
 * outputs the same bits alone as in its batch (where this CPU runs it). */
static void test_dense_prepared(const mn_kernels *k, int N, int I, int O)
{
    const int runs = k->dense_applies && k->dense_applies(I, O);
    CHECK(runs == (k->isa == MN_ISA_AVX512 && O % 16 == 0) || k->isa != MN_ISA_AVX512,
          "avx512 prepared dense I%d O%d: runs %d", I, O, runs);
    CHECK(runs == (O % 8 == 0) || k->isa != MN_ISA_AVX2, "avx2 prepared dense I%d O%d: runs %d", I,
          O, runs);
    CHECK(runs == (O % 4 == 0) || k->isa != MN_ISA_NEON, "neon prepared dense I%d O%d: runs %d", I,
          O, runs);
    if (!runs)
        return;
    size_t n = k->dense_prepared_floats(I, O);
    float *in = rand_buf((size_t)N * I, 1), *w = rand_buf((size_t)O * I, 0.5f), *b = rand_buf(O, 0.5f);
    float *p = malloc(n * sizeof(float)), *out = malloc(sizeof(float) * N * O);
    float *ref = malloc(sizeof(float) * N * O), *one = malloc(sizeof(float) * O);
    k->dense_prepare(p, w, I, O);
    k->dense_forward(out, in, p, b, N, I, O);
    mn_dense_forward_ref(ref, in, w, b, N, I, O);
    CHECK(max_rel_diff(out, ref, (size_t)N * O) < 1e-5, "prepared dense N%d I%d O%d: %g", N, I, O,
          max_rel_diff(out, ref, (size_t)N * O));
    int same = 1;
    for (int i = 0; i < N; i++) {
        k->dense_forward(one, in + (size_t)i * I, p, b, 1, I, O);
        same &= memcmp(one, out + (size_t)i * O, sizeof(float) * O) == 0;
    }
    CHECK(same, "prepared dense: a sample's bits do not depend on its batch");
    free(in), free(w), free(b), free(p), free(out), free(ref), free(one);
}

/* A model prepared for inference (Winograd convolutions, transposed
 * dense weights, where the level has them) computes what it did before within
 * rounding, and a sample's probabilities do not depend on its batch. */
static void test_prepared_model(const mn_kernels *k)
{
    mn_arch a;
    mn_error err;
    CHECK(mn_arch_parse("1x28x28:conv32k3,relu,conv32k3,relu,pool2,conv64k3,relu,pool2,flatten,"
                        "dense128,relu,dense10,softmax", &a, &err) == MN_OK, "arch: %s", err.msg);
    mn_model *m;
    CHECK(mn_model_create(&a, &m, &err) == MN_OK, "model");
    mn_model_init_glorot(m, 3);
    enum { N = 7 };
    float *in = rand_buf((size_t)N * 784, 1), before[N * 10], after[N * 10], one[10];
    for (size_t i = 0; i < (size_t)N * 784; i++)
        in[i] = fabsf(in[i]); /* pixels in [0, 1] */
    mn_workspace *ws;
    CHECK(mn_workspace_create(m, N, 0, &ws, &err) == MN_OK, "workspace");
    mn_model_forward(m, ws, in, N, before);
    CHECK(mn_model_prepare_inference(m, &err) == MN_OK, "prepare: %s", err.msg);
    CHECK(mn_model_prepare_inference(m, &err) == MN_OK, "prepare again");
    if (k->isa == MN_ISA_AVX512 || k->isa == MN_ISA_AVX2 || k->isa == MN_ISA_NEON)
        /* conv 2 and 3 (Winograd), dense128 */
        CHECK(!m->prepared[0] && m->prepared[2] && m->prepared[5] && m->prepared[9] &&
                  !m->prepared[11],
              "prepared layers");
    mn_model_forward(m, ws, in, N, after);
    CHECK(max_rel_diff(after, before, N * 10) < 1e-5, "prepared model == unprepared (%g)",
          max_rel_diff(after, before, N * 10));
    int same = 1;
    for (int i = 0; i < N; i++) {
        mn_model_forward(m, ws, in + (size_t)i * 784, 1, one);
        same &= memcmp(one, after + i * 10, sizeof one) == 0;
    }
    CHECK(same, "prepared model: a sample's probabilities do not depend on its batch");
    free(in);
    mn_workspace_free(ws);
    mn_model_free(m);
}

/* An inference plan runs the steps before the first dense layer one
 * image at a time; a training plan runs every step on the whole batch
 * (batch norm's statistics are the batch's). */
static void test_plan_per_image(void)
{
    mn_arch a;
    mn_error err;
    CHECK(mn_arch_parse("1x28x28:conv32k3,bn,relu,pool2,conv64k3,relu,pool2,dropout25,flatten,"
                        "dense128,relu,dense10,softmax", &a, &err) == MN_OK, "arch: %s", err.msg);
    mn_model *m;
    CHECK(mn_model_create(&a, &m, &err) == MN_OK, "model");
    mn_plan p;
    CHECK(mn_plan_make(&p, m, 0, &err) == MN_OK, "inference plan: %s", err.msg);
    CHECK(p.per_image > 0 && p.per_image < p.n_steps, "inference plan: %u of %u steps per image",
          p.per_image, p.n_steps);
    const mn_step_kind first = p.steps[p.per_image].kind;
    CHECK(first == MN_STEP_DENSE_PREPARED || first == MN_STEP_DENSE_GEMM,
          "inference plan: the batch part starts at the dense layer (step kind %d)", (int)first);
    CHECK(m->arch.layers[p.steps[p.per_image].layer].kind == MN_LAYER_DENSE, "dense layer");
    for (uint32_t j = 0; j < p.per_image; j++)
        CHECK(m->arch.layers[p.steps[j].layer].kind != MN_LAYER_DENSE, "step %u before the dense", j);
    CHECK(mn_plan_make(&p, m, 1, &err) == MN_OK, "training plan: %s", err.msg);
    CHECK(p.per_image == 0, "training plan: %u steps per image", p.per_image);
    mn_model_free(m);
}

/* Inference hands a convolution's output to a following Winograd one
 * channels-last (run.c). It must give the bits of the same model whose
 * convolutions are kept apart by an inference no-op (dropout), which
 * makes every convolution store its output as planes. The shapes: the
 * default model's (every kind of hand-over, even sizes, read in place),
 * the reference model's (a direct conv block hands over; odd sizes) and
 * odd sizes (a padded copy, and a read in place of a wider image). */
static void test_channels_last_chain(const char *chained, const char *apart, int px)
{
    mn_arch a, b;
    mn_error err;
    CHECK(mn_arch_parse(chained, &a, &err) == MN_OK, "arch: %s", err.msg);
    CHECK(mn_arch_parse(apart, &b, &err) == MN_OK, "arch: %s", err.msg);
    mn_model *ma, *mb;
    CHECK(mn_model_create(&a, &ma, &err) == MN_OK && mn_model_create(&b, &mb, &err) == MN_OK,
          "models");
    mn_model_init_glorot(ma, 5);
    CHECK(ma->n_params == mb->n_params, "the same parameters");
    memcpy(mb->params, ma->params, sizeof(float) * ma->n_params);
    CHECK(mn_model_prepare_inference(ma, &err) == MN_OK &&
              mn_model_prepare_inference(mb, &err) == MN_OK,
          "prepare");
    enum { N = 3 };
    float *in = rand_buf((size_t)N * px, 1), pa[N * 10], pb[N * 10];
    for (size_t i = 0; i < (size_t)N * px; i++)
        in[i] = fabsf(in[i]);
    mn_workspace *wa, *wb;
    CHECK(mn_workspace_create(ma, N, 0, &wa, &err) == MN_OK &&
              mn_workspace_create(mb, N, 0, &wb, &err) == MN_OK,
          "workspaces");
    mn_model_forward(ma, wa, in, N, pa);
    mn_model_forward(mb, wb, in, N, pb);
    CHECK(memcmp(pa, pb, sizeof pa) == 0, "convolutions chained channels-last == apart (%s)",
          chained);
    free(in);
    mn_workspace_free(wa), mn_workspace_free(wb);
    mn_model_free(ma), mn_model_free(mb);
}

int main(void)
{
    const mn_kernels *k = check_level();
    mn_rng_seed(&rng, 42);
    test_conv(2, 1, 8, 8, 3, 3, 1, 0);
    test_conv(1, 2, 7, 9, 4, 3, 2, 1);
    test_conv(2, 3, 6, 6, 2, 2, 1, 1);
    test_conv(1, 32, 13, 13, 8, 3, 1, 0);
    test_dense(3, 17, 5);
    test_dense(1, 64, 10);
    test_dense(5, 7, 33);
    test_pool(2, 3, 8, 8, 2, 2);
    test_pool(1, 2, 11, 11, 2, 2);
    test_pool(1, 1, 7, 7, 3, 2);
    test_pool_ties(2, 3, 8, 8, 2, 2);
    test_pool_ties(1, 4, 13, 13, 2, 2);
    test_pool_ties(1, 2, 9, 9, 3, 2);
    test_relu_softmax();
    test_model_gradient();
    test_batchnorm(3, 2, 5);
    test_batchnorm(16, 3, 1);
    test_dropout();
    test_model_bn_dropout();
    test_dense_prepared(k, 13, 1600, 128); /* the reference dense1, a batch */
    test_dense_prepared(k, 1, 37, 16);
    test_dense_prepared(k, 8, 20, 48);
    test_dense_prepared(k, 3, 20, 10); /* not the AVX-512 kernel's case */
    test_dense_prepared(k, 1, 50, 24); /* the AVX2 kernel's, not the AVX-512 one's */
    test_dense_prepared(k, 1, 300, 192); /* one sample, three passes of 64 units */
    test_dense_prepared(k, 5, 1024, 256); /* the large model's dense256: one sample in one pass */
    test_dense_prepared(k, 3, 40, 512);
    test_dense_prepared(k, 7, 33, 8);
    test_dense_prepared(k, 6, 29, 20); /* the NEON kernel's, not the AVX2 one's */
    test_prepared_model(k);
    test_plan_per_image();
    test_channels_last_chain(
        "1x28x28:conv32k3,relu,conv32k3,relu,pool2,conv64k3,relu,conv64k3,relu,pool2,flatten,"
        "dense256,relu,dense10,softmax",
        "1x28x28:conv32k3,relu,dropout10,conv32k3,relu,pool2,dropout10,conv64k3,relu,dropout10,"
        "conv64k3,relu,pool2,flatten,dense256,relu,dense10,softmax",
        784);
    test_channels_last_chain(
        "1x28x28:conv32k3,relu,pool2,conv64k3,relu,pool2,flatten,dense128,relu,dense10,softmax",
        "1x28x28:conv32k3,relu,pool2,dropout10,conv64k3,relu,pool2,flatten,dense128,relu,dense10,"
        "softmax",
        784);
    test_channels_last_chain(
        "1x27x27:conv16k3,relu,conv16k3,conv32k3,relu,pool2,flatten,dense10,softmax",
        "1x27x27:conv16k3,relu,dropout10,conv16k3,dropout10,conv32k3,relu,pool2,flatten,dense10,"
        "softmax",
        729);
    return check_finish();
}
