/* dense.c: fully connected layer, forward and backward, on [N,I] inputs
 * with weights [O,I] (one row per unit). Fast path through mn_gemm; *_ref
 * twins are plain loops for the tests. */
#include <string.h>

#include "gemm.h"
#include "mnist/layers.h"

void mn_dense_forward(float *out, const float *in, const float *w, const float *b,
                      int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * O, b, sizeof(float) * O);
    /* out[N,O] += in[N,I] w^T */
    mn_gemm(0, 1, N, O, I, in, I, w, I, 1.0f, out, O);
}

void mn_dense_backward(float *din, float *dw, float *db, const float *dout,
                       const float *in, const float *w, int N, int I, int O)
{
    for (int n = 0; db && n < N; n++)
        for (int o = 0; o < O; o++)
            db[o] += dout[(size_t)n * O + o];
    /* dw[O,I] += dout^T[O,N] in[N,I] */
    if (dw)
        mn_gemm(1, 0, O, I, N, dout, O, in, I, 1.0f, dw, I);
    if (din) /* din[N,I] = dout[N,O] w[O,I] */
        mn_gemm(0, 0, N, I, O, dout, O, w, I, 0.0f, din, I);
}

void mn_dense_forward_ref(float *out, const float *in, const float *w, const float *b,
                          int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double s = b[o];
            for (int i = 0; i < I; i++)
                s += (double)in[(size_t)n * I + i] * w[(size_t)o * I + i];
            out[(size_t)n * O + o] = (float)s;
        }
}

void mn_dense_backward_ref(float *din, float *dw, float *db, const float *dout,
                           const float *in, const float *w, int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            float g = dout[(size_t)n * O + o];
            db[o] += g;
            for (int i = 0; i < I; i++)
                dw[(size_t)o * I + i] += g * in[(size_t)n * I + i];
        }
    if (din)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < I; i++) {
                double s = 0;
                for (int o = 0; o < O; o++)
                    s += (double)dout[(size_t)n * O + o] * w[(size_t)o * I + i];
                din[(size_t)n * I + i] = (float)s;
            }
}
