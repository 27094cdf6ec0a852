/* test_layer_twins.c: the max-pool, ReLU, softmax and dropout kernels
 * against their plain twins (reference_layers.c) on random shapes and data:
 * odd and even sizes, batch 1 and several, ties, NaN and infinities.
 * Pool, ReLU and dropout only compare, select and multiply by the same
 * float, so they must match bit for bit (memcmp). Softmax uses expf and a
 * float sum where the twin uses double, so probabilities match within
 * 1e-6 absolute plus 1e-5 relative (a few float ulps of the largest terms).
 * The 2x2 pool row is tested twice: the level in force's kernel (ctest
 * runs this test once per level) and the generic loop. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_level.h"
#include "mnist/layers.h"
#include "mnist/rng.h"
#include "pool_internal.h"
#include "reference_layers.h"

static const mn_kernels *level; /* the level in force (MNIST_ISA) */

/* Values on a coarse grid so windows often hold equal maxima (the tie
 * rule), with an occasional NaN when nan is set. */
static void fill_grid(float *x, size_t n, mn_rng *r, int nan)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)((int)mn_rng_below(r, 9) - 4) * 0.5f;
        if (nan && mn_rng_below(r, 23) == 0)
            x[i] = NAN;
    }
}

static void fill_normal(float *x, size_t n, mn_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = mn_rng_normal(r) * scale;
}

static void test_pool(mn_rng *r)
{
    static const int ks[][2] = {{2, 2}, {2, 1}, {3, 1}, {3, 2}, {3, 3}};
    for (int t = 0; t < 60; t++) {
        int N = t % 3 == 0 ? 1 : 1 + (int)mn_rng_below(r, 4);
        int C = 1 + (int)mn_rng_below(r, 4);
        int K = ks[t % 5][0], S = ks[t % 5][1];
        int H = K + (int)mn_rng_below(r, 34), W = K + (int)mn_rng_below(r, 34);
        int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
        size_t ni = (size_t)N * C * H * W, no = (size_t)N * C * OH * OW;
        float *in = malloc(ni * sizeof *in), *out = malloc(no * sizeof *out);
        float *rout = malloc(no * sizeof *rout), *dout = malloc(no * sizeof *dout);
        float *din = malloc(ni * sizeof *din), *rdin = malloc(ni * sizeof *rdin);
        int32_t *am = malloc(no * sizeof *am), *ram = malloc(no * sizeof *ram);
        fill_grid(in, ni, r, t % 2);
        fill_normal(dout, no, r, 1.0f);
        mn_maxpool_forward(out, am, in, N, C, H, W, K, S);
        ref_maxpool_forward(rout, ram, in, N, C, H, W, K, S);
        CHECK(memcmp(out, rout, no * sizeof *out) == 0, "pool out N%d C%d %dx%d K%d S%d", N, C,
              H, W, K, S);
        CHECK(memcmp(am, ram, no * sizeof *am) == 0, "pool argmax N%d C%d %dx%d K%d S%d", N, C,
              H, W, K, S);
        /* backward from the kernel's own winners, so the scatter is tested
         * alone (a winner mismatch is reported above) */
        mn_maxpool_backward(din, dout, am, N, C, H, W, K, S);
        ref_maxpool_backward(rdin, dout, am, N, C, H, W, K, S);
        CHECK(memcmp(din, rdin, ni * sizeof *din) == 0, "pool backward N%d C%d %dx%d K%d S%d", N,
              C, H, W, K, S);
        free(in), free(out), free(rout), free(dout), free(din), free(rdin), free(am), free(ram);
    }
}

/* One 2x2 row of n windows: both paths, with and without winners and ReLU,
 * against the twin on a [1,1,2,2n+odd] plane (rs = the row length). */
static void test_pool_rows(mn_rng *r)
{
    for (int n = 1; n <= 40; n++)
        for (int extra = 0; extra <= 1; extra++) {
            int W = 2 * n + extra;
            float in[2 * 81], ref[40], o[40];
            int32_t ram[40], a[40];
            fill_grid(in, (size_t)2 * W, r, n % 3 == 0);
            ref_maxpool_forward(ref, ram, in, 1, 1, 2, W, 2, 2);
            for (int relu = 0; relu <= 1; relu++) {
                float want[40];
                if (relu)
                    ref_relu_forward(want, ref, (size_t)n);
                else
                    memcpy(want, ref, sizeof(float) * n);
                for (int path = 0; path < 2; path++)
                    for (int keep = 0; keep <= 1; keep++) {
                        memset(a, 0xff, sizeof a);
                        if (path == 0)
                            level->pool2x2_row(o, keep ? a : NULL, in, in + W, n, 0, W, relu);
                        else
                            mn_maxpool2x2_row_relu(o, keep ? a : NULL, in, in + W, n, 0, W, relu);
                        CHECK(memcmp(o, want, sizeof(float) * n) == 0,
                              "row %s n=%d relu=%d keep=%d", path ? "generic" : mn_isa_name(level->isa), n, relu,
                              keep);
                        if (keep)
                            CHECK(memcmp(a, ram, sizeof(int32_t) * n) == 0,
                                  "row winners %s n=%d relu=%d", path ? "portable" : "fast", n,
                                  relu);
                    }
            }
        }
}

/* The tie rule spelt out on one window per case: the first maximum in
 * reading order wins; NaN never displaces a number. */
static void test_pool_ties(void)
{
    const float cases[][4] = {{1, 1, 1, 1}, {0, 2, 2, 1}, {-1, -1, 3, 3}, {1, NAN, 2, 2},
                              {5, NAN, NAN, NAN}, {NAN, 1, 2, 2}};
    /* the last: a NaN in the first cell stays, nothing compares above it */
    const int32_t want[] = {0, 1, 2, 2, 0, 0};
    for (int c = 0; c < 6; c++) {
        float o;
        int32_t a = -1;
        mn_maxpool_forward(&o, &a, cases[c], 1, 1, 2, 2, 2, 2);
        CHECK(a == want[c], "tie case %d: winner %d, want %d", c, (int)a, (int)want[c]);
        mn_maxpool2x2_row_relu(&o, &a, cases[c], cases[c] + 2, 1, 0, 2, 0);
        CHECK(a == want[c], "portable tie case %d: winner %d, want %d", c, (int)a, (int)want[c]);
    }
}

static void test_relu(mn_rng *r)
{
    for (int t = 0; t < 20; t++) {
        size_t n = 1 + mn_rng_below(r, 300);
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *ry = malloc(n * sizeof *ry);
        float *g = malloc(n * sizeof *g), *d = malloc(n * sizeof *d), *rd = malloc(n * sizeof *rd);
        fill_normal(x, n, r, 2.0f);
        fill_normal(g, n, r, 1.0f);
        x[0] = -0.0f;
        if (n > 3)
            x[1] = NAN, x[2] = INFINITY, x[3] = -INFINITY;
        mn_relu_forward(y, x, n);
        ref_relu_forward(ry, x, n);
        CHECK(memcmp(y, ry, n * sizeof *y) == 0, "relu forward n=%zu", n);
        mn_relu_backward(d, g, y, n);
        ref_relu_backward(rd, g, ry, n);
        CHECK(memcmp(d, rd, n * sizeof *d) == 0, "relu backward n=%zu", n);
        /* in place, as the contract allows */
        mn_relu_forward(x, x, n);
        CHECK(memcmp(x, ry, n * sizeof *x) == 0, "relu forward in place n=%zu", n);
        mn_relu_backward(g, g, y, n);
        CHECK(memcmp(g, rd, n * sizeof *g) == 0, "relu backward in place n=%zu", n);
        free(x), free(y), free(ry), free(g), free(d), free(rd);
    }
}

static void test_softmax(mn_rng *r)
{
    for (int t = 0; t < 30; t++) {
        int N = t % 3 == 0 ? 1 : 1 + (int)mn_rng_below(r, 9);
        int K = 1 + (int)mn_rng_below(r, 17);
        size_t n = (size_t)N * K;
        float *z = malloc(n * sizeof *z), *p = malloc(n * sizeof *p), *rp = malloc(n * sizeof *rp);
        float *g = malloc(n * sizeof *g), *rg = malloc(n * sizeof *rg);
        uint8_t *lab = malloc((size_t)N);
        fill_normal(z, n, r, t % 2 ? 30.0f : 3.0f);
        if (t % 5 == 4) { /* huge logits: clamped, never NaN */
            z[0] = INFINITY;
            z[n - 1] = -INFINITY;
            if (n > 2)
                z[1] = FLT_MAX;
        }
        for (int i = 0; i < N; i++)
            lab[i] = (uint8_t)mn_rng_below(r, (uint32_t)K);
        mn_softmax_forward(p, z, N, K);
        ref_softmax_forward(rp, z, N, K);
        for (size_t i = 0; i < n; i++)
            CHECK(fabsf(p[i] - rp[i]) <= 1e-6f + 1e-5f * rp[i], "softmax N%d K%d [%zu] %g vs %g",
                  N, K, i, p[i], rp[i]);
        /* the gradient is exact given the same probabilities; the loss is a
         * float sum against a double one */
        float loss = mn_softmax_xent_backward(g, p, lab, N, K);
        double rloss = ref_softmax_xent_backward(rg, p, lab, N, K);
        CHECK(memcmp(g, rg, n * sizeof *g) == 0, "xent gradient N%d K%d", N, K);
        CHECK(fabs(loss - rloss) <= 1e-5 * (1.0 + fabs(rloss)), "xent loss %g vs %g", loss,
              rloss);
        free(z), free(p), free(rp), free(g), free(rg), free(lab);
    }
}

static void test_dropout(mn_rng *r)
{
    static const float rates[] = {0.0f, 0.1f, 0.25f, 0.5f, 0.9f};
    for (int t = 0; t < 25; t++) {
        int N = t % 3 == 0 ? 1 : 1 + (int)mn_rng_below(r, 6);
        int D = 1 + (int)mn_rng_below(r, 200);
        float rate = rates[t % 5];
        uint64_t seed = mn_rng_next(r), salt = mn_rng_next(r);
        uint64_t keys[8];
        for (int i = 0; i < N; i++)
            keys[i] = mn_rng_next(r);
        const uint64_t *k = t % 2 ? keys : NULL;
        size_t n = (size_t)N * D;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *ry = malloc(n * sizeof *ry);
        float *g = malloc(n * sizeof *g), *d = malloc(n * sizeof *d), *rd = malloc(n * sizeof *rd);
        uint8_t *m = malloc(n), *rm = malloc(n);
        fill_normal(x, n, r, 1.0f);
        fill_normal(g, n, r, 1.0f);
        mn_dropout_forward(y, m, x, N, D, rate, seed, k, salt);
        ref_dropout_forward(ry, rm, x, N, D, rate, seed, k, salt);
        CHECK(memcmp(m, rm, n) == 0, "dropout mask N%d D%d rate %g", N, D, rate);
        CHECK(memcmp(y, ry, n * sizeof *y) == 0, "dropout out N%d D%d rate %g", N, D, rate);
        mn_dropout_backward(d, g, m, N, D, rate);
        ref_dropout_backward(rd, g, rm, N, D, rate);
        CHECK(memcmp(d, rd, n * sizeof *d) == 0, "dropout backward N%d D%d", N, D);
        mn_dropout_backward(g, g, m, N, D, rate); /* in place */
        CHECK(memcmp(g, rd, n * sizeof *g) == 0, "dropout backward in place N%d D%d", N, D);
        /* the last sample alone draws the same mask: batching does not
         * change the stream */
        uint64_t key = k ? k[N - 1] : (uint64_t)(N - 1);
        mn_dropout_forward(y, m, x + (size_t)(N - 1) * D, 1, D, rate, seed, &key, salt);
        CHECK(memcmp(m, rm + (size_t)(N - 1) * D, (size_t)D) == 0, "dropout mask alone N%d", N);
        free(x), free(y), free(ry), free(g), free(d), free(rd), free(m), free(rm);
    }
    /* the twin's mask keeps about 1 - rate of the values (so it is not
     * trivially all ones or all zeros): 100,000 draws, 5 sigma */
    enum { BIG = 100000 };
    float *x = calloc(BIG, sizeof *x), *y = malloc(BIG * sizeof *y);
    uint8_t *m = malloc(BIG);
    mn_dropout_forward(y, m, x, 1, BIG, 0.3f, 7, NULL, 1);
    long kept = 0;
    for (int i = 0; i < BIG; i++)
        kept += m[i];
    CHECK(fabs((double)kept / BIG - 0.7) < 5 * sqrt(0.21 / BIG), "kept fraction %g",
          (double)kept / BIG);
    free(x), free(y), free(m);
}

int main(void)
{
    level = check_level();
    mn_rng r;
    mn_rng_seed(&r, 20261205);
    test_pool(&r);
    test_pool_rows(&r);
    test_pool_ties();
    test_relu(&r);
    test_softmax(&r);
    test_dropout(&r);
    return check_finish();
}
