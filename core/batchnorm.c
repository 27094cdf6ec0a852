/* batchnorm.c: batch normalisation per channel (Ioffe & Szegedy, 2015),
 * the training forward (batch statistics), its backward, and the
 * inference forward (running statistics). Plain direct formulas with
 * double accumulation; the running statistics are the caller's business. */
#include <math.h>

#include "mnist/layers.h"

void mn_batchnorm_forward_train(float *out, float *mean, float *var, float *invstd,
                                const float *in, const float *gamma, const float *beta,
                                int N, int C, int HW, float eps)
{
    const double count = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                s += x[i];
        }
        const double mu = s / count;
        /* Two passes: the variance of values far from zero stays accurate. */
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                double d = x[i] - mu;
                ss += d * d;
            }
        }
        const double v = ss / count;
        const float is = (float)(1.0 / sqrt(v + eps));
        mean[c] = (float)mu;
        var[c] = (float)v;
        invstd[c] = is;
        const float g = gamma[c] * is, b = beta[c] - (float)mu * g;
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                y[i] = x[i] * g + b;
        }
    }
}

void mn_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *in, const float *gamma, const float *mean,
                           const float *invstd, int N, int C, int HW)
{
    const double count = (double)N * HW;
    for (int c = 0; c < C; c++) {
        const float mu = mean[c], is = invstd[c];
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            const float *dy = dout + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sdy += dy[i];
                sdyx += (double)dy[i] * (x[i] - mu) * is;
            }
        }
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (!din)
            continue;
        /* dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) */
        const float k = gamma[c] * is, mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            const float *dy = dout + ((size_t)n * C + c) * HW;
            float *dx = din + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                dx[i] = k * (dy[i] - mdy - (x[i] - mu) * is * mdyx);
        }
    }
}

void mn_batchnorm_forward_infer(float *out, const float *in, const float *gamma,
                                const float *beta, const float *rmean, const float *rvar,
                                int N, int C, int HW, float eps)
{
    for (int c = 0; c < C; c++) {
        const float g = gamma[c] / sqrtf(rvar[c] + eps), b = beta[c] - rmean[c] * g;
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                y[i] = x[i] * g + b;
        }
    }
}
