/* test_arch.c: layer strings, shape inference and the checks that keep a
 * bad layer table from sizing anything. */
#include <string.h>

#include "check.h"
#include "mnist/mnist.h"

int main(void)
{
    mn_arch a, b;
    mn_error err;
    mn_arch_reference(&a);
    CHECK(mn_arch_check(&a, &err) == MN_OK, "reference checks: %s", err.msg);
    char s[512];
    mn_arch_format(&a, s, sizeof s);
    CHECK(!strcmp(s, "1x28x28:conv32k3,relu,pool2,conv64k3,relu,pool2,flatten,dense128,relu,dense10,softmax"),
          "format: %s", s);
    CHECK(mn_arch_parse(s, &b, &err) == MN_OK && !memcmp(&a, &b, sizeof a), "parse(format(a)) == a");
    mn_shape sh = mn_arch_shape(&a, 5);
    CHECK(sh.c == 64 && sh.h == 5 && sh.w == 5, "shape after pool2: %ux%ux%u", sh.c, sh.h, sh.w);
    CHECK(mn_arch_classes(&a) == 10, "classes");
    mn_model *m;
    CHECK(mn_model_create(&a, &m, &err) == MN_OK, "create");
    CHECK(mn_model_param_count(m) == 225034, "reference parameters: %zu", mn_model_param_count(m));
    CHECK(mn_model_tensor_count(m) == 8 && !strcmp(mn_model_tensor(m, 2)->name, "conv2.w"), "tensor names");
    const mn_tensor_info *t = mn_model_tensor(m, 4);
    CHECK(t->ndim == 2 && t->dims[0] == 128 && t->dims[1] == 1600, "dense1.w shape");
    mn_model_free(m);
    mn_model_free(NULL);

    CHECK(mn_arch_parse("conv8k3s2p1,relu,flatten,dense10,softmax", &b, &err) == MN_OK, "stride/pad: %s", err.msg);
    CHECK(mn_arch_shape(&b, 0).h == 14, "stride 2 pad 1 halves 28");
    /* batch norm and dropout: parsed, formatted back, counted, flagged */
    const char *bn = "1x28x28:conv8k3,bn,relu,pool2,dropout25,flatten,dense16,bn,relu,dense10,softmax";
    CHECK(mn_arch_parse(bn, &b, &err) == MN_OK, "bn/dropout parse: %s", err.msg);
    mn_arch_format(&b, s, sizeof s);
    CHECK(!strcmp(s, bn), "bn/dropout format round trip: %s", s);
    CHECK(b.layers[1].kind == MN_LAYER_BATCHNORM && b.layers[4].kind == MN_LAYER_DROPOUT && b.layers[4].out == 25,
          "bn and dropout layer fields");
    CHECK(mn_arch_has_training_layers(&b) && !mn_arch_has_training_layers(&a), "training layers flagged");
    CHECK(mn_model_create(&b, &m, &err) == MN_OK, "create bn model");
    /* conv 8*9+8, bn 4*8, dense 16*1352+16, bn 4*16, dense 10*16+10 */
    CHECK(mn_model_param_count(m) == 80 + 32 + 21648 + 64 + 170, "bn parameters: %zu", mn_model_param_count(m));
    mn_model_free(m);
    const char *bad[] = {
        "conv8k3,dropout0,flatten,dense10,softmax",  /* dropout rate 0 */
        "conv8k3,dropout95,flatten,dense10,softmax", /* dropout rate above 90 */
        "conv8k3,bnx,flatten,dense10,softmax",       /* junk after bn */
        "conv32k3,relu",                      /* no softmax */
        "conv32,relu,dense10,softmax",         /* missing kernel */
        "conv32k3,softmax,dense10,softmax",    /* softmax not last */
        "conv32k30,dense10,softmax",           /* kernel larger than input */
        "pool2,frobnicate,dense10,softmax",    /* unknown layer */
        "dense10,relu,softmax",                /* softmax not after dense */
        "dense1,softmax",                      /* one class */
        "dense100000,softmax",                 /* too many units */
        "0x28x28:dense10,softmax",             /* empty input */
        "conv4096k3,conv4096k3,dense10,softmax", /* too many parameters */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECK(mn_arch_parse(bad[i], &b, &err) != MN_OK && err.msg[0], "'%s' refused (%s)", bad[i], err.msg);
    }
    return check_finish();
}
