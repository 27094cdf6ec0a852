/* test_convblock.c: the fused conv -> ReLU -> max-pool block against the
 * three naive layers run in turn (mn_conv2d_*_ref, ReLU, mn_maxpool_*),
 * forward and backward, on the wide (stride 1, no padding) path and the
 * im2col path, with gradients accumulating across calls; and its forward
 * against the unfused fast layers, bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_level.h"
#include "conv2d_internal.h"
#include "convblock.h"
#include "gemm.h"
#include "mnist/mnist.h"
#include "kernels.h"
#include "pool_internal.h"

static mn_rng rng;
static const mn_kernels *k; /* the level in force (MNIST_ISA) */

static float *rand_buf(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        p[i] = 2 * mn_rng_uniform(&rng) - 1;
    return p;
}

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* dst[n][y][x][c] = src[n][c][y][x]: planes to channels-last. */
static float *to_cl(const float *src, int N, int C, int H, int W)
{
    float *dst = zeros((size_t)N * C * H * W);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H * W; i++)
                dst[((size_t)n * H * W + i) * C + c] = src[((size_t)n * C + c) * H * W + i];
    return dst;
}

/* 1 when a holds exactly the bits of b, n floats. */
static int same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, sizeof(float) * n) == 0;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

static void test_block(int N, int C, int H, int W, int OC, int K, int S, int P, int PK, int PS)
{
    mn_conv2d_dims d = {N, C, H, W, OC, K, S, P, 0, 0};
    CHECK(mn_conv2d_dims_finish(&d) == 0, "dims");
    const int PH = (d.OH - PK) / PS + 1, PW = (d.OW - PK) / PS + 1;
    CHECK(mn_convblock_ph(&d, PK, PS) == PH && mn_convblock_pw(&d, PK, PS) == PW, "pooled size");
    const size_t n_in = (size_t)N * C * H * W, n_w = (size_t)OC * C * K * K;
    const size_t n_y = (size_t)N * OC * d.OH * d.OW, n_out = (size_t)N * OC * PH * PW;
    float *in = rand_buf(n_in), *w = rand_buf(n_w), *b = rand_buf(OC), *g = rand_buf(n_out);
    float *scratch = zeros(mn_convblock_scratch_floats(&d));

    /* reference: conv, relu, pool; backward in reverse */
    float *y = zeros(n_y), *out_r = zeros(n_out), *dpool = zeros(n_y), *din_r = zeros(n_in);
    float *dw_r = zeros(n_w), *db_r = zeros(OC);
    int32_t *am_r = calloc(n_out, sizeof(int32_t));
    mn_conv2d_forward_ref(y, in, w, b, &d);
    mn_relu_forward(y, y, n_y);
    mn_maxpool_forward(out_r, am_r, y, N, OC, d.OH, d.OW, PK, PS);
    mn_maxpool_backward(dpool, g, am_r, N, OC, d.OH, d.OW, PK, PS);
    mn_relu_backward(dpool, dpool, y, n_y);
    mn_conv2d_backward_ref(din_r, dw_r, db_r, dpool, in, w, &d);

    /* fused */
    float *out_f = zeros(n_out), *din_f = zeros(n_in), *dw_f = zeros(n_w), *db_f = zeros(OC);
    int32_t *am_f = calloc(n_out, sizeof(int32_t));
    mn_convblock_forward(out_f, am_f, in, w, b, &d, PK, PS, scratch);
    CHECK(max_diff(out_f, out_r, n_out) < 1e-5, "forward N%d C%d %dx%d OC%d K%d S%d P%d pool%d/%d: %g",
          N, C, H, W, OC, K, S, P, PK, PS, max_diff(out_f, out_r, n_out));
    /* wherever the output is positive the winner is the same element */
    int same = 1;
    for (size_t i = 0; i < n_out; i++)
        if (out_r[i] > 0)
            same &= am_f[i] == am_r[i];
    CHECK(same, "argmax of positive windows");

    /* the unfused fast layers (GEMM conv, ReLU, pool) give the same bits:
     * fusing changes no served probability */
    float *y_u = zeros(n_y), *out_u = zeros(n_out);
    float *cs = zeros(mn_conv2d_scratch_floats(&d));
    int32_t *am_u = calloc(n_out, sizeof(int32_t));
    mn_conv2d_forward(y_u, in, w, b, &d, cs);
    mn_relu_forward(y_u, y_u, n_y);
    mn_maxpool_forward(out_u, am_u, y_u, N, OC, d.OH, d.OW, PK, PS);
    CHECK(memcmp(out_f, out_u, sizeof(float) * n_out) == 0, "forward bit-identical to unfused");
    same = 1;
    for (size_t i = 0; i < n_out; i++)
        if (out_u[i] > 0)
            same &= am_f[i] == am_u[i];
    CHECK(same, "argmax identical to unfused");
    /* without winners (inference), the same outputs */
    float *out_n = zeros(n_out);
    mn_convblock_forward(out_n, NULL, in, w, b, &d, PK, PS, scratch);
    CHECK(memcmp(out_n, out_f, sizeof(float) * n_out) == 0, "forward without argmax");
    /* the level's direct block: the bits and winners of the GEMM path;
     * without winners (inference) also channels-last */
    if (PK == 2 && PS == 2 && k->block_applies && k->block_applies(&d)) {
        float *ks = zeros(k->block_scratch_floats(&d)), *out_k = zeros(n_out);
        int32_t *am_k = calloc(n_out, sizeof(int32_t));
        k->block_forward(out_k, am_k, in, w, b, &d, ks, 0);
        CHECK(same_bits(out_k, out_f, n_out) && !memcmp(am_k, am_f, sizeof(int32_t) * n_out),
              "%s block %dx%dx%d -> %d: the GEMM path's bits and winners", mn_isa_name(k->isa), C,
              H, W, OC);
        k->block_forward(out_k, NULL, in, w, b, &d, ks, 0);
        CHECK(same_bits(out_k, out_f, n_out), "direct block without winners");
        float *want = to_cl(out_f, N, OC, d.OH / 2, d.OW / 2);
        k->block_forward(out_k, NULL, in, w, b, &d, ks, MN_OUT_CHANNELS_LAST);
        CHECK(same_bits(out_k, want, n_out), "block %dx%dx%d -> %d, channels-last out", C, H, W,
              OC);
        free(want), free(ks), free(out_k), free(am_k);
    }
    free(out_n);
    free(y_u), free(out_u), free(cs), free(am_u);
    mn_convblock_backward(din_f, dw_f, db_f, g, out_f, am_f, in, w, &d, PK, PS, scratch);
    CHECK(max_diff(din_f, din_r, n_in) < 1e-4, "din: %g", max_diff(din_f, din_r, n_in));
    CHECK(max_diff(dw_f, dw_r, n_w) < 1e-4, "dw: %g", max_diff(dw_f, dw_r, n_w));
    CHECK(max_diff(db_f, db_r, OC) < 1e-4, "db: %g", max_diff(db_f, db_r, OC));

    /* dw, db accumulate; din is overwritten; din NULL skips it */
    for (size_t i = 0; i < n_in; i++)
        din_f[i] = NAN;
    mn_convblock_backward(din_f, dw_f, db_f, g, out_f, am_f, in, w, &d, PK, PS, scratch);
    for (size_t i = 0; i < n_w; i++)
        dw_r[i] *= 2;
    for (int i = 0; i < OC; i++)
        db_r[i] *= 2;
    CHECK(max_diff(din_f, din_r, n_in) < 1e-4, "din overwritten");
    CHECK(max_diff(dw_f, dw_r, n_w) < 1e-4, "dw accumulates");
    CHECK(max_diff(db_f, db_r, OC) < 1e-4, "db accumulates");
    mn_convblock_backward(NULL, dw_f, db_f, g, out_f, am_f, in, w, &d, PK, PS, scratch);
    for (size_t i = 0; i < n_w; i++)
        dw_r[i] *= 1.5f;
    CHECK(max_diff(dw_f, dw_r, n_w) < 1e-4, "dw without din");

    free(in), free(w), free(b), free(g), free(scratch), free(y), free(out_r), free(dpool);
    free(din_r), free(dw_r), free(db_r), free(am_r), free(out_f), free(din_f), free(dw_f);
    free(db_f), free(am_f);
}

/* The 2x2 pooling row of the level in force against the generic one, bit for bit, winners included: every length from 1
 * to 40 windows (partial, whole and several vector steps), values from a
 * few levels so that ties are common, NaN, -0, with and without ReLU. */
static void test_pool_row(void)
{
    static const float levels[] = {-1.0f, -0.0f, 0.0f, 0.5f, 1.0f, NAN};
    enum { MAX_N = 40, RS = 2 * MAX_N + 3 };
    float in[2 * RS], o_fast[MAX_N], o_port[MAX_N];
    int32_t a_fast[MAX_N], a_port[MAX_N];
    int bad = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 2 * RS; i++)
            in[i] = levels[mn_rng_next(&rng) % 6];
        for (int n = 1; n <= MAX_N; n++)
            for (int relu = 0; relu <= 1; relu++) {
                memset(o_fast, 0x7f, sizeof o_fast);
                memset(a_fast, 0x7f, sizeof a_fast);
                memcpy(o_port, o_fast, sizeof o_port);
                memcpy(a_port, a_fast, sizeof a_port);
                k->pool2x2_row(o_fast, a_fast, in, in + RS, n, 5, RS, relu);
                mn_maxpool2x2_row_relu(o_port, a_port, in, in + RS, n, 5, RS, relu);
                float o_none[MAX_N], o_none_port[MAX_N]; /* winners not kept */
                memset(o_none, 0x7f, sizeof o_none);
                memset(o_none_port, 0x7f, sizeof o_none_port);
                k->pool2x2_row(o_none, NULL, in, in + RS, n, 5, RS, relu);
                mn_maxpool2x2_row_relu(o_none_port, NULL, in, in + RS, n, 5, RS, relu);
                bad += memcmp(o_none, o_fast, sizeof o_none) != 0;
                bad += memcmp(o_none_port, o_fast, sizeof o_none) != 0;
                /* memcmp over the whole arrays: nothing past n is written */
                bad += memcmp(o_fast, o_port, sizeof o_fast) != 0;
                bad += memcmp(a_fast, a_port, sizeof a_fast) != 0;
            }
    }
    CHECK(bad == 0, "%s 2x2 pool row differs from the generic one in %d cases",
          mn_isa_name(k->isa), bad);
}

/* The convolution layer's forward against im2col + GEMM, bit for bit,
 * and the naive loop within rounding; the level's direct kernel, where
 * the shape is its case, against the layer bit for bit. */
static void test_conv_layer(int N, int C, int H, int W, int OC, int K)
{
    mn_conv2d_dims d = {N, C, H, W, OC, K, 1, 0, 0, 0};
    CHECK(mn_conv2d_dims_finish(&d) == 0, "dims");
    const int CKK = C * K * K, OHW = d.OH * d.OW;
    size_t n_in = (size_t)N * C * H * W, n_out = (size_t)N * OC * OHW;
    float *in = rand_buf(n_in), *w = rand_buf((size_t)OC * CKK), *b = rand_buf(OC);
    float *out = zeros(n_out), *out_g = zeros(n_out), *out_r = zeros(n_out);
    float *scratch = zeros(mn_conv2d_scratch_floats(&d)), *col = zeros((size_t)CKK * OHW);
    mn_conv2d_forward(out, in, w, b, &d, scratch);
    for (int n = 0; n < N; n++) {
        float *o = out_g + (size_t)n * OC * OHW;
        for (int oc = 0; oc < OC; oc++)
            for (int i = 0; i < OHW; i++)
                o[(size_t)oc * OHW + i] = b[oc];
        mn_im2col(col, in + (size_t)n * C * H * W, &d);
        mn_gemm(0, 0, OC, OHW, CKK, w, CKK, col, OHW, 1.0f, o, OHW);
    }
    CHECK(memcmp(out, out_g, sizeof(float) * n_out) == 0,
          "conv %dx%dx%d -> %d: bits of im2col+GEMM", C, H, W, OC);
    mn_conv2d_forward_ref(out_r, in, w, b, &d);
    CHECK(max_diff(out, out_r, n_out) < 1e-4, "conv against the naive loop");
    /* the SIMD levels' direct convs take whole vectors of output channels */
    const int ran = k->direct_applies && k->direct_applies(&d);
    CHECK(k->isa != MN_ISA_AVX512 || ran == (OC % 16 == 0), "the AVX-512 direct conv takes OC %d: %d",
          OC, ran);
    CHECK(k->isa != MN_ISA_AVX2 || ran == (OC % 8 == 0), "the AVX2 direct conv takes OC %d: %d", OC,
          ran);
    CHECK(k->isa != MN_ISA_NEON || ran == (OC % 4 == 0), "the NEON direct conv takes OC %d: %d", OC,
          ran);
    if (ran) {
        float *ks = zeros(k->conv_scratch_floats(&d));
        k->conv_forward(out_r, in, w, b, &d, ks, 0, 0);
        CHECK(same_bits(out, out_r, n_out), "%s direct conv %dx%dx%d -> %d: the layer's bits",
              mn_isa_name(k->isa), C, H, W, OC);
        /* inference's fused ReLU: the bits of the ReLU layer after the conv */
        k->conv_forward(out_r, in, w, b, &d, ks, 1, 0);
        mn_relu_forward(out, out, n_out);
        CHECK(same_bits(out, out_r, n_out), "conv with ReLU fused");
        /* channels-last output: the same bits, moved */
        float *want = to_cl(out, N, OC, d.OH, d.OW);
        k->conv_forward(out_r, in, w, b, &d, ks, 1, MN_OUT_CHANNELS_LAST);
        CHECK(same_bits(out_r, want, n_out), "conv with ReLU fused, channels-last out");
        free(want), free(ks);
    }
    free(in), free(w), free(b), free(out), free(out_g), free(out_r), free(scratch), free(col);
}

/* The level's Winograd F(2x2, 3x3) forward (inference), plain and as the
 * fused block, against the naive loops within rounding, where the level
 * has one and the shape is its case. */
static void test_winograd(int N, int C, int H, int W, int OC)
{
    mn_conv2d_dims d = {N, C, H, W, OC, 3, 1, 0, 0, 0};
    CHECK(mn_conv2d_dims_finish(&d) == 0, "dims");
    const int PH = d.OH / 2, PW = d.OW / 2;
    const size_t n_in = (size_t)N * C * H * W, n_y = (size_t)N * OC * d.OH * d.OW;
    const size_t n_out = (size_t)N * OC * PH * PW;
    float *in = rand_buf(n_in), *w = rand_buf((size_t)OC * C * 9), *b = rand_buf(OC);
    float *y_r = zeros(n_y), *out_r = zeros(n_out), *y = zeros(n_y), *out = zeros(n_out);
    const int ran = k->winograd_applies && k->winograd_applies(&d, 0) && k->winograd_applies(&d, 1);
    const int expect = k->isa == MN_ISA_AVX512 && OC % 16 == 0 && C % 16 == 0;
    CHECK(ran == expect || k->isa != MN_ISA_AVX512, "avx512 winograd %dx%dx%d -> %d: runs %d",
          C, H, W, OC, ran);
    CHECK(ran == (OC % 8 == 0 && C % 8 == 0) || k->isa != MN_ISA_AVX2,
          "avx2 winograd %dx%dx%d -> %d: runs %d", C, H, W, OC, ran);
    CHECK(ran == (OC % 4 == 0 && C % 4 == 0) || k->isa != MN_ISA_NEON,
          "neon winograd %dx%dx%d -> %d: runs %d", C, H, W, OC, ran);
    float *scratch = zeros(ran ? k->winograd_scratch_floats(&d) : 0);
    int32_t *am = calloc(n_out ? n_out : 1, sizeof(int32_t));
    mn_conv2d_forward_ref(y_r, in, w, b, &d);
    if (ran) {
        k->winograd_conv(y, in, w, NULL, b, &d, scratch, 0, 0);
        k->winograd_block(out, in, w, NULL, b, &d, scratch, 0);
        double e = max_diff(y, y_r, n_y);
        CHECK(e < 1e-4, "winograd conv %dx%dx%d -> %d: %g", C, H, W, OC, e);
        mn_relu_forward(y_r, y_r, n_y);
        mn_maxpool_forward(out_r, am, y_r, N, OC, d.OH, d.OW, 2, 2);
        e = max_diff(out, out_r, n_out);
        CHECK(e < 1e-4, "winograd block %dx%dx%d -> %d: %g", C, H, W, OC, e);
        /* with the weights transformed beforehand: the same bits */
        float *u = zeros(k->winograd_weights_floats(&d)), *tmp = zeros((size_t)9 * C * OC);
        float *y_u = zeros(n_y), *out_u = zeros(n_out);
        k->winograd_transform(u, w, &d, tmp);
        k->winograd_conv(y_u, in, w, u, b, &d, scratch, 0, 0);
        CHECK(memcmp(y_u, y, sizeof(float) * n_y) == 0,
              "winograd conv with prepared weights");
        k->winograd_block(out_u, in, w, u, b, &d, scratch, 0);
        CHECK(memcmp(out_u, out, sizeof(float) * n_out) == 0,
              "winograd block with prepared weights");
        /* channels-last in, out or both: the same bits, moved (in place
         * or through the padded copy, per shape) */
        float *in_cl = to_cl(in, N, C, H, W), *y_cl = to_cl(y, N, OC, d.OH, d.OW);
        float *out_cl = to_cl(out, N, OC, PH, PW);
        static const char *name[] = {"", "in", "out", "in and out"};
        for (int l = 1; l <= 3; l++) {
            const float *x = l & MN_IN_CHANNELS_LAST ? in_cl : in;
            k->winograd_conv(y_u, x, w, u, b, &d, scratch, 0, l);
            CHECK(same_bits(y_u, l & MN_OUT_CHANNELS_LAST ? y_cl : y, n_y),
                  "winograd conv %dx%dx%d -> %d, channels-last %s", C, H, W, OC, name[l]);
            k->winograd_block(out_u, x, w, u, b, &d, scratch, l);
            CHECK(same_bits(out_u, l & MN_OUT_CHANNELS_LAST ? out_cl : out, n_out),
                  "winograd block %dx%dx%d -> %d, channels-last %s", C, H, W, OC, name[l]);
        }
        /* with the ReLU fused: the bits of the ReLU layer after it */
        mn_relu_forward(y, y, n_y);
        k->winograd_conv(y_u, in, w, u, b, &d, scratch, 1, 0);
        CHECK(memcmp(y_u, y, sizeof(float) * n_y) == 0,
              "winograd conv with ReLU fused");
        mn_relu_forward(y_cl, y_cl, n_y);
        k->winograd_conv(y_u, in_cl, w, u, b, &d, scratch, 1,
                         MN_IN_CHANNELS_LAST | MN_OUT_CHANNELS_LAST);
        CHECK(same_bits(y_u, y_cl, n_y),
              "winograd conv with ReLU fused, channels-last");
        free(u), free(tmp), free(y_u), free(out_u), free(in_cl), free(y_cl), free(out_cl);
    }
    free(in), free(w), free(b), free(y_r), free(out_r), free(y), free(out), free(scratch), free(am);
}

int main(void)
{
    k = check_level();
    mn_rng_seed(&rng, 7);
    test_pool_row();
    test_block(3, 1, 28, 28, 32, 3, 1, 0, 2, 2);  /* the reference model's conv1 block */
    test_block(2, 32, 13, 13, 64, 3, 1, 0, 2, 2); /* conv2: odd size, the pool drops a row */
    test_block(2, 3, 9, 11, 5, 2, 1, 0, 3, 2);    /* overlapping 3x3/2 windows */
    test_block(2, 2, 8, 8, 4, 3, 1, 1, 2, 2);     /* padding: the im2col path */
    test_block(1, 2, 9, 9, 3, 3, 2, 0, 2, 1);     /* stride 2, overlapping pool */
    test_block(1, 1, 5, 5, 1, 5, 1, 0, 1, 1);     /* 1x1 output */
    /* Shapes for the AVX-512 path (OC a multiple of 16): 48 and 16
     * channels (tiles of 8 and 12 pixels), odd sizes; K = 576 in three
     * K blocks with 64 + 16 channels; pooled rows of exactly 16 and of 19
     * windows, the image in several groups of rows. */
    test_block(2, 3, 12, 12, 48, 3, 1, 0, 2, 2);
    test_block(1, 2, 7, 9, 16, 3, 1, 0, 2, 2);
    test_block(1, 64, 10, 10, 80, 3, 1, 0, 2, 2);
    test_block(1, 4, 34, 34, 64, 3, 1, 0, 2, 2);
    test_block(1, 2, 40, 40, 16, 3, 1, 0, 2, 2);
    /* For the AVX2 path (OC a multiple of 8): 8 and 24 channels (a last
     * vector of 8: tiles of up to 12 pixels, 12 in the first), rows of 15
     * windows, two K blocks (K = 288) with 24 channels. */
    test_block(1, 1, 26, 26, 8, 3, 1, 0, 2, 2);
    test_block(1, 1, 32, 32, 8, 3, 1, 0, 2, 2);
    test_block(2, 3, 12, 32, 24, 3, 1, 0, 2, 2);
    test_block(1, 32, 9, 15, 24, 3, 1, 0, 2, 2);
    /* The plain conv layer: the large model's unfused convs, 48 and 80
     * channels, K = 576 in three blocks, a row over 16 pixels and several
     * groups of rows, a 1-pixel-wide output. */
    test_conv_layer(2, 1, 28, 28, 32, 3);
    test_conv_layer(1, 32, 12, 12, 64, 3);
    test_conv_layer(2, 3, 9, 11, 48, 3);
    test_conv_layer(1, 64, 10, 10, 80, 3);
    test_conv_layer(1, 4, 40, 40, 64, 3);
    test_conv_layer(1, 2, 7, 3, 16, 3);
    test_conv_layer(2, 3, 9, 30, 24, 3);
    test_conv_layer(1, 32, 8, 17, 8, 3);
    test_conv_layer(1, 2, 6, 6, 12, 3); /* not a whole AVX2 vector */
    /* Winograd: the reference conv2 (odd output: the pool drops a row, a
     * plain conv's last tiles reach past the image), the large model's
     * convs, a row of over 16 tiles, 48 channels out, a single tile, and
     * shapes it declines (input channels not a multiple of 16, OC 5). */
    test_winograd(2, 32, 13, 13, 64);
    test_winograd(1, 32, 26, 26, 32);
    test_winograd(1, 32, 12, 12, 64);
    test_winograd(2, 64, 10, 10, 64);
    test_winograd(1, 16, 40, 37, 16);
    test_winograd(1, 16, 9, 8, 48);
    test_winograd(1, 17, 9, 8, 48);
    test_winograd(1, 16, 4, 4, 16);
    test_winograd(2, 1, 28, 28, 32);
    test_winograd(1, 32, 6, 6, 5);
    /* the AVX2 kernel's case, not the AVX-512 one's: 8 and 24 channels */
    test_winograd(2, 8, 13, 13, 24);
    test_winograd(1, 24, 12, 21, 8);
    return check_finish();
}
