/* test_adam.c: Adam against steps computed by hand from Kingma & Ba's
 * update in Keras' form. */
#include <math.h>

#include "check.h"
#include "mnist/adam.h"

int main(void)
{
    mn_adam a;
    mn_error err;
    CHECK(mn_adam_init(&a, 2, 0.001f, &err) == MN_OK, "init");
    CHECK(a.beta1 == 0.9f && a.beta2 == 0.999f && a.eps == 1e-7f, "Keras defaults");
    float p[2] = {1.0f, -2.0f};
    const float g1[2] = {0.5f, -0.25f}, g2[2] = {0.1f, 0.3f};
    /* step 1: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(1-.999)/(1-.9);
     * p -= lr_t m / (sqrt v + eps) = lr * sign(g) (up to eps) */
    mn_adam_step(&a, p, g1);
    double lr1 = 0.001 * sqrt(1 - 0.999) / (1 - 0.9);
    double m0 = 0.1 * 0.5, v0 = 0.001 * 0.25, m1 = 0.1 * -0.25, v1 = 0.001 * 0.0625;
    double e0 = 1.0 - lr1 * m0 / (sqrt(v0) + 1e-7), e1 = -2.0 - lr1 * m1 / (sqrt(v1) + 1e-7);
    CHECK(fabs(p[0] - e0) < 1e-6 && fabs(p[1] - e1) < 1e-6, "step 1: %.8f %.8f vs %.8f %.8f", p[0], p[1], e0, e1);
    CHECK(fabs(p[0] - 0.999) < 1e-5, "first step moves by lr");
    /* step 2 */
    mn_adam_step(&a, p, g2);
    double lr2 = 0.001 * sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9);
    m0 = 0.9 * m0 + 0.1 * 0.1, v0 = 0.999 * v0 + 0.001 * 0.01;
    m1 = 0.9 * m1 + 0.1 * 0.3, v1 = 0.999 * v1 + 0.001 * 0.09;
    e0 -= lr2 * m0 / (sqrt(v0) + 1e-7), e1 -= lr2 * m1 / (sqrt(v1) + 1e-7);
    CHECK(fabs(p[0] - e0) < 1e-6 && fabs(p[1] - e1) < 1e-6, "step 2: %.8f %.8f vs %.8f %.8f", p[0], p[1], e0, e1);
    CHECK(a.t == 2, "step count");
    /* a zero gradient from the start leaves parameters unchanged */
    mn_adam b;
    mn_adam_init(&b, 1, 0.01f, &err);
    float q = 3.0f, z = 0.0f;
    for (int i = 0; i < 5; i++)
        mn_adam_step(&b, &q, &z);
    CHECK(q == 3.0f, "zero gradient, no move");
    mn_adam_free(&a);
    mn_adam_free(&b);
    mn_adam_free(&b); /* freeing twice is safe */
    return check_finish();
}
