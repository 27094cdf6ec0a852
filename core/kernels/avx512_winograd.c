/* avx512_winograd.c: F(2x2, 3x3) convolution forward in AVX-512 (see
 * winograd.h). The weights g are transformed once, U = G g G^T
 * ([16][C][OC]), per call or kept with the model; per image, the input is
 * copied to [y][x][C] (zero-padded to whole tiles; a channels-last input
 * that covers them is read in place), then a group of tile rows at a time
 * (sized so the group's transforms stay in L2):
 *   1. each 4x4 input patch d (stride 2) becomes V = B^T d B, 16 channels
 *      per vector, stored as [16][tile][C];
 *   2. for each of the 16 points, M[tile][OC] = V U: conv_tile_avx512.h's
 *      register tiles, the tiles standing in for pixels;
 *   3. Y = A^T M A gives the 2x2 outputs, plus the bias; the fused block
 *      takes their max and ReLU, which is exactly one 2x2 pool window.
 * The transforms (B^T, G, A^T of Lavin & Gray):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1] */
#include "avx512.h"

#include <string.h>

#include "conv_tile_avx512.h"

/* V and M of one group of tiles fit this (L2 holds them and U). */
#define GROUP_BYTES (160 << 10)

typedef struct {
    int th, tw;     /* tile rows, tiles per row */
    int rows;       /* tile rows per group */
    int gmax;       /* tiles per group at most: rows * tw */
} tiling;

/* Tiles cover the conv output (pooled: the rows and columns the pool
 * reads, one tile per window). */
static tiling tiling_for(const mn_conv2d_dims *d, int pooled)
{
    tiling p;
    p.th = pooled ? d->OH / 2 : (d->OH + 1) / 2;
    p.tw = pooled ? d->OW / 2 : (d->OW + 1) / 2;
    long per_row = 16L * p.tw * (d->C + d->OC) * (long)sizeof(float);
    long r = per_row ? GROUP_BYTES / per_row : 1;
    p.rows = r < 1 ? 1 : r > p.th ? p.th : (int)r;
    p.gmax = p.rows * p.tw;
    return p;
}

/* The image as [y][x][C], padded to whole tiles: (2 th + 2) x (2 tw + 2). */
static size_t padded_floats(const mn_conv2d_dims *d, tiling p)
{
    return (size_t)(2 * p.th + 2) * (2 * p.tw + 2) * d->C;
}

/* Row offsets (C longs), a zero bias (OC), the transposed weights
 * (9 C OC), U (16 C OC), the padded image, V (16 gmax C), M (16 gmax OC)
 * and a group's outputs (2 rows x 2 tw pixels x OC). */
static size_t tiling_floats(const mn_conv2d_dims *d, tiling p)
{
    size_t C = (size_t)d->C, OC = (size_t)d->OC, g = (size_t)p.gmax;
    return 2 * C + OC + 9 * C * OC + 16 * C * OC + padded_floats(d, p) + 16 * C * g +
           16 * g * OC + 4 * (size_t)p.rows * p.tw * OC + 4 * LINE_FLOATS;
}


/* 3x3 stride 1 unpadded, whole vectors of input and output
 * channels. (With few input channels the transforms outweigh the
 * multiplies they save: the reference conv1, one channel, took 18 us
 * against the direct kernel's 7.) */
static int wg_case(const mn_conv2d_dims *d)
{
    return d->K == 3 && d->S == 1 && d->P == 0 && d->OC % 16 == 0 && d->C % 16 == 0;
}

size_t mn_avx512_winograd_scratch_floats(const mn_conv2d_dims *d)
{
    if (!wg_case(d))
        return 0;
    size_t a = tiling_floats(d, tiling_for(d, 0)), b = tiling_floats(d, tiling_for(d, 1));
    return a > b ? a : b;
}

size_t mn_avx512_winograd_weights_floats(const mn_conv2d_dims *d)
{
    return wg_case(d) ? (size_t)16 * d->C * d->OC : 0;
}

/* U[(xi*C + c)*OC + oc] = (G g G^T)[xi] for g = w[oc][c], from the
 * weights transposed to wt[(c*9 + tap)*OC + oc]: 16 output channels per
 * vector. */
static T512 void transform_weights(float *U, const float *wt, int C, int OC)
{
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int c = 0; c < C; c++)
        for (int oc = 0; oc < OC; oc += 16) {
            __m512 g[9], r[4][3];
            for (int j = 0; j < 9; j++)
                g[j] = _mm512_loadu_ps(wt + ((long)c * 9 + j) * OC + oc);
            for (int q = 0; q < 3; q++) { /* G g: rows */
                const __m512 s = _mm512_add_ps(g[q], g[6 + q]);
                r[0][q] = g[q];
                r[1][q] = _mm512_mul_ps(half, _mm512_add_ps(s, g[3 + q]));
                r[2][q] = _mm512_mul_ps(half, _mm512_sub_ps(s, g[3 + q]));
                r[3][q] = g[6 + q];
            }
            for (int i = 0; i < 4; i++) { /* (G g) G^T: columns */
                const __m512 s = _mm512_add_ps(r[i][0], r[i][2]);
                const __m512 u[4] = {r[i][0], _mm512_mul_ps(half, _mm512_add_ps(s, r[i][1])),
                                     _mm512_mul_ps(half, _mm512_sub_ps(s, r[i][1])), r[i][2]};
                for (int j = 0; j < 4; j++)
                    _mm512_storeu_ps(U + ((long)(i * 4 + j) * C + c) * OC + oc, u[j]);
            }
        }
}

T512 void mn_avx512_winograd_transform(float *u, const float *w, const mn_conv2d_dims *d, float *tmp)
{
    transpose_weights(tmp, w, d->OC, 9 * d->C);
    transform_weights(u, tmp, d->C, d->OC);
}

/* X[(y*Wp + x)*C + c] = im[c][y][x] for y < Hp, x < Wp: zero past H, W.
 * (A pooled block of odd width reads one column less than the image.) */
static T512 void to_padded(float *X, const float *im, int C, int H, int W, int Hp, int Wp)
{
    const long plane = (long)H * W;
    const int w = W < Wp ? W : Wp;
    for (int y = 0; y < Hp; y++) {
        float *row = X + (long)y * Wp * C;
        const int n = y < H ? w : 0;
        for (int x0 = 0; x0 < n; x0 += 16)
            for (int c0 = 0; c0 < C; c0 += 16)
                mn_transpose16(row + (long)x0 * C + c0, C, im + c0 * plane + (long)y * W + x0,
                               plane, NULL, 0, 16, n - x0 < 16 ? n - x0 : 16, 0xFFFF);
        for (long i = (long)n * C; i < (long)Wp * C; i += 16)
            _mm512_storeu_ps(row + i, _mm512_setzero_ps());
    }
}

/* The same from a channels-last image im[y][x][C]: rows copied whole. */
static void to_padded_cl(float *X, const float *im, int C, int H, int W, int Hp, int Wp)
{
    const int w = W < Wp ? W : Wp;
    for (int y = 0; y < Hp; y++) {
        float *row = X + (long)y * Wp * C;
        const int n = y < H ? w : 0;
        if (n)
            memcpy(row, im + (long)y * W * C, sizeof(float) * n * C);
        memset(row + (long)n * C, 0, sizeof(float) * (Wp - n) * C);
    }
}

/* V[(xi*ldv + t)*C + c] = (B^T d B)[xi] for the 4x4 patch d at
 * (2 ty, 2 tx) of channel c of X ([y][x][C], rows of Wp pixels), for the
 * tile rows ty0 <= ty < ty0 + rows, t = (ty - ty0) tw + tx. B^T d works
 * on the patch's columns, and neighbouring patches share two: each column
 * is loaded and transformed once per tile row (half the loads and adds of
 * transforming each patch whole; the same operations on each value, so the
 * same bits; the large model's image took 2.5 us less). */
static T512 void transform_input(float *V, long ldv, const float *X, int Wp, int C, int ty0,
                                 int rows, int tw)
{
    const long step = ldv * C; /* from one point xi to the next */
    const long ldx = (long)Wp * C;
    for (int ty = ty0; ty < ty0 + rows; ty++)
        for (int c = 0; c < C; c += 16) {
            const float *r = X + 2 * ty * ldx + c;
            /* B^T d of column x into t0..t3: named, as GCC spills an array */
#define COLUMN(t, x)                                                                           \
    do {                                                                                       \
        const __m512 d0 = _mm512_loadu_ps(r + (long)(x) * C),                                  \
                     d1 = _mm512_loadu_ps(r + ldx + (long)(x) * C),                            \
                     d2 = _mm512_loadu_ps(r + 2 * ldx + (long)(x) * C),                        \
                     d3 = _mm512_loadu_ps(r + 3 * ldx + (long)(x) * C);                        \
        t##0 = _mm512_sub_ps(d0, d2), t##1 = _mm512_add_ps(d1, d2);                            \
        t##2 = _mm512_sub_ps(d2, d1), t##3 = _mm512_sub_ps(d1, d3);                            \
    } while (0)
            __m512 a0, a1, a2, a3, b0, b1, b2, b3, e0, e1, e2, e3, f0, f1, f2, f3;
            COLUMN(a, 0);
            COLUMN(b, 1);
            float *v = V + (long)(ty - ty0) * tw * C + c;
            for (int tx = 0; tx < tw; tx++, v += C) {
                COLUMN(e, 2 * tx + 2);
                COLUMN(f, 2 * tx + 3);
                /* (B^T d) B, row i of B^T d being (a_i, b_i, e_i, f_i) */
                float *o = v;
#define ROW(a, b, e, f)                                                                        \
    _mm512_storeu_ps(o, _mm512_sub_ps(a, e));                                                  \
    _mm512_storeu_ps(o + step, _mm512_add_ps(b, e));                                           \
    _mm512_storeu_ps(o + 2 * step, _mm512_sub_ps(e, b));                                       \
    _mm512_storeu_ps(o + 3 * step, _mm512_sub_ps(b, f));                                       \
    o += 4 * step;
                ROW(a0, b0, e0, f0)
                ROW(a1, b1, e1, f1)
                ROW(a2, b2, e2, f2)
                ROW(a3, b3, e3, f3)
#undef ROW
                a0 = e0, a1 = e1, a2 = e2, a3 = e3;
                b0 = f0, b1 = f1, b2 = f2, b3 = f3;
            }
#undef COLUMN
        }
}

/* The 2x2 outputs y[a][b] of tile t, 16 channels from oc: A^T M A + b,
 * M read from [16][ldm tiles][OC]: A^T M a column at a time, in named
 * values (GCC spilled an array of the 16 products to the stack). */
INL void output_tile(__m512 y[2][2], const float *M, long ldm, int OC, int t, int oc,
                     __m512 bias)
{
    const float *m = M + (long)t * OC + oc;
    const long st = ldm * OC; /* from one point xi to the next */
#define MV(xi) _mm512_loadu_ps(m + (long)(xi) * st)
#define COL(j)                                                                                 \
    const __m512 m4##j = MV(4 + j), m8##j = MV(8 + j);                                          \
    const __m512 s0##j = _mm512_add_ps(_mm512_add_ps(MV(j), m4##j), m8##j);                      \
    const __m512 s1##j = _mm512_sub_ps(_mm512_sub_ps(m4##j, m8##j), MV(12 + j));
    COL(0) COL(1) COL(2) COL(3)
#undef COL
#undef MV
    y[0][0] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s00, s01), s02), bias);
    y[0][1] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s01, s02), s03), bias);
    y[1][0] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s10, s11), s12), bias);
    y[1][1] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s11, s12), s13), bias);
}

/* Y[t][OC] = ReLU(max of tile t's outputs + b) for t < nt: one pool
 * window per tile. */
static T512 void pool_tiles(float *Y, const float *M, long ldm, int OC, int nt, const float *b)
{
    for (int t = 0; t < nt; t++)
        for (int oc = 0; oc < OC; oc += 16) {
            __m512 y[2][2];
            /* max(a + b, c + b) is max(a, c) + b in floats too (rounding
             * is monotonic): the bias is added once, after */
            output_tile(y, M, ldm, OC, t, oc, _mm512_setzero_ps());
            __m512 m = _mm512_max_ps(_mm512_max_ps(y[0][0], y[0][1]),
                                     _mm512_max_ps(y[1][0], y[1][1]));
            m = _mm512_add_ps(m, _mm512_loadu_ps(b + oc));
            _mm512_storeu_ps(Y + (long)t * OC + oc, _mm512_max_ps(m, _mm512_setzero_ps()));
        }
}

/* Y[row][x][OC] = the outputs of tiles t < nt, tw per row, in rows of
 * 2 tw pixels (the last row or column may lie past the conv output; the
 * caller copies what does not); ReLU'd when relu, as mn_relu_forward:
 * max(y, 0) makes NaN and -0 +0. */
static T512 void output_tiles(float *Y, const float *M, long ldm, int OC, int nt, int tw,
                              const float *b, int relu)
{
    const long ldy = 2L * tw * OC;
    for (int t = 0; t < nt; t++) {
        const int r = t / tw, tx = t % tw;
        for (int oc = 0; oc < OC; oc += 16) {
            __m512 y[2][2];
            output_tile(y, M, ldm, OC, t, oc, _mm512_loadu_ps(b + oc));
            for (int a = 0; a < 2; a++) {
                float *yr = Y + (2L * r + a) * ldy + (2L * tx) * OC + oc;
                const __m512 zero = _mm512_setzero_ps();
                _mm512_storeu_ps(yr, relu ? _mm512_max_ps(y[a][0], zero) : y[a][0]);
                _mm512_storeu_ps(yr + OC, relu ? _mm512_max_ps(y[a][1], zero) : y[a][1]);
            }
        }
    }
}

/* M[t][OC] = V[t][C] U[C][OC] for t < nt: the register tiles with the
 * tiles standing in for pixels, C floats apart. The usual channel counts
 * are constants here, so the tiles address their broadcasts by
 * displacement instead of computing each address. */
static T512 void products(const float *V, const long *brow, int C, int nt, int OC, const float *U,
                          const float *zero, float *M)
{
    switch (C) {
    case 32:
        conv_rows(V, 32, 0, 1, brow, 32, 32, nt, OC, U, zero, M);
        break;
    case 64:
        conv_rows(V, 64, 0, 1, brow, 64, 64, nt, OC, U, zero, M);
        break;
    default:
        conv_rows(V, C, 0, 1, brow, C, C, nt, OC, U, zero, M);
        break;
    }
}

/* The forward of both entry points, their case checked (here the compiler
 * may use AVX-512 anywhere): pooled selects the fused block, relu a
 * plain convolution's fused ReLU, layout the channels-last flags. */
static T512 void run(float *out, const float *in, const float *w, const float *u, const float *b,
                     const mn_conv2d_dims *d, float *scratch, int pooled, int relu, int layout)
{
    const int in_cl = layout & MN_IN_CHANNELS_LAST, out_cl = layout & MN_OUT_CHANNELS_LAST;
    const int C = d->C, OC = d->OC, H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const tiling p = tiling_for(d, pooled);
    const long ldv = p.gmax; /* tiles from one point xi to the next in V and M */
    const int Hp = 2 * p.th + 2, Wp = 2 * p.tw + 2;
    long *brow = (long *)(void *)scratch;
    float *zero = scratch + 2 * (size_t)C;
    float *wt = zero + OC;
    float *own_u = wt + (size_t)9 * C * OC;
    float *X = line_up(own_u + (size_t)16 * C * OC);
    float *V = line_up(X + padded_floats(d, p));
    float *M = line_up(V + (size_t)16 * C * ldv);
    float *Y = line_up(M + (size_t)16 * ldv * OC);
    for (int c = 0; c < C; c++)
        brow[c] = c; /* "pixel" t of input channel c: V[t*C + c] */
    for (int oc = 0; oc < OC; oc++)
        zero[oc] = 0.0f;
    if (!u) {
        mn_avx512_winograd_transform(own_u, w, d, wt);
        u = own_u;
    }

    const size_t in_size = (size_t)C * H * W;
    const size_t out_size = pooled ? (size_t)OC * p.th * p.tw : (size_t)OC * OH * OW;
    for (int i = 0; i < d->N; i++) {
        const float *im = in + (size_t)i * in_size;
        float *o = out + (size_t)i * out_size;
        /* A channels-last image that covers the tiles is read in place. */
        const float *x = X;
        int ldx = Wp;
        if (in_cl && Hp <= H && Wp <= W)
            x = im, ldx = W;
        else if (in_cl)
            to_padded_cl(X, im, C, H, W, Hp, Wp);
        else
            to_padded(X, im, C, H, W, Hp, Wp);
        for (int ty0 = 0; ty0 < p.th; ty0 += p.rows) {
            const int rows = p.th - ty0 < p.rows ? p.th - ty0 : p.rows, nt = rows * p.tw;
            transform_input(V, ldv, x, ldx, C, ty0, rows, p.tw);
            for (int xi = 0; xi < 16; xi++)
                products(V + (size_t)xi * ldv * C, brow, C, nt, OC, u + (size_t)xi * C * OC, zero,
                         M + (size_t)xi * ldv * OC);
            if (pooled) { /* tile t is output pixel t */
                pool_tiles(out_cl ? o + (long)ty0 * p.tw * OC : Y, M, ldv, OC, nt, b);
                if (!out_cl)
                    to_planes(o + (long)ty0 * p.tw, Y, nt, OC, (long)p.th * p.tw);
                continue;
            }
            const long ldy = 2L * p.tw * OC;
            /* Whole tiles inside the output go straight to a channels-last
             * one; otherwise through Y, cut to the output. */
            if (out_cl && 2 * p.tw == OW && 2 * (ty0 + rows) <= OH) {
                output_tiles(o + 2L * ty0 * ldy, M, ldv, OC, nt, p.tw, b, relu);
                continue;
            }
            output_tiles(Y, M, ldv, OC, nt, p.tw, b, relu);
            for (int oh = 2 * ty0; oh < 2 * (ty0 + rows) && oh < OH; oh++) {
                const float *yr = Y + (oh - 2L * ty0) * ldy;
                if (out_cl)
                    memcpy(o + (long)oh * OW * OC, yr, sizeof(float) * OW * OC);
                else
                    to_planes(o + (long)oh * OW, yr, OW, OC, (long)OH * OW);
            }
        }
    }
}

int mn_avx512_winograd_applies(const mn_conv2d_dims *d, int pooled)
{
    return wg_case(d) && (!pooled || (d->OH >= 2 && d->OW >= 2));
}

void mn_avx512_winograd_conv(float *out, const float *in, const float *w, const float *u,
                             const float *b, const mn_conv2d_dims *d, float *scratch, int relu,
                             int layout)
{
    run(out, in, w, u, b, d, scratch, 0, relu, layout);
}

void mn_avx512_winograd_block(float *out, const float *in, const float *w, const float *u,
                              const float *b, const mn_conv2d_dims *d, float *scratch, int layout)
{
    run(out, in, w, u, b, d, scratch, 1, 0, layout);
}
