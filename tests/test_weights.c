/* test_weights.c: the weights file: save then load is bit-exact, the
 * checksum gives the version, and every kind of corruption (truncation at
 * every length, flipped bytes, wrong shapes, NaN, trailing bytes) is
 * refused with a message, never a crash. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mnist/mnist.h"

static mn_model *make(const char *spec, uint64_t seed)
{
    mn_arch a;
    mn_model *m;
    mn_error err;
    if (spec)
        mn_arch_parse(spec, &a, &err);
    else
        mn_arch_reference(&a);
    mn_model_create(&a, &m, &err);
    mn_model_init_glorot(m, seed);
    mn_model_set_meta(m, "{\"name\":\"t\",\"labels\":[\"0\",\"1\"]}", &err);
    return m;
}

/* Re-seals buf after an edit so only the edit, not the checksum, is judged. */
static void reseal(uint8_t *buf, size_t len)
{
    mn_sha256(buf, len - 32, buf + len - 32);
}

static int refused(const uint8_t *buf, size_t len, const char *want, mn_error *err)
{
    mn_model *m = NULL;
    err->msg[0] = 0;
    mn_status st = mn_model_parse(buf, len, "w.bin", &m, NULL, err);
    mn_model_free(m);
    return st != MN_OK && strncmp(err->msg, "w.bin:", 6) == 0 && (!want || strstr(err->msg, want));
}

int main(void)
{
    mn_error err;
    char dir[] = "/tmp/test_weights_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/m.bin", dir);

    /* save, load, compare */
    mn_model *m = make(NULL, 3), *l;
    CHECK(mn_model_save(m, path, NULL, &err) == MN_OK, "save: %s", err.msg);
    CHECK(strlen(mn_model_version(m)) == 8, "version set on save");
    CHECK(mn_model_load(path, &l, NULL, &err) == MN_OK, "load: %s", err.msg);
    CHECK(mn_model_param_count(l) == mn_model_param_count(m) &&
              !memcmp(mn_model_params(l), mn_model_params(m), 4 * mn_model_param_count(m)),
          "parameters bit-exact");
    CHECK(!strcmp(mn_model_meta(l), mn_model_meta(m)), "metadata kept");
    CHECK(!strcmp(mn_model_version(l), mn_model_version(m)), "version %s vs %s", mn_model_version(l), mn_model_version(m));
    CHECK(!memcmp(mn_model_arch(l), mn_model_arch(m), sizeof(mn_arch)), "layer table kept");
    mn_model_free(l);
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));)
        files += e->d_name[0] != '.';
    closedir(d);
    CHECK(files == 1, "no temporary file left behind (%d files)", files);
    char bad_path[300];
    snprintf(bad_path, sizeof bad_path, "%s/no/such/dir/m.bin", dir);
    CHECK(mn_model_save(m, bad_path, NULL, &err) == MN_ERR_IO && strstr(err.msg, bad_path), "unwritable: %s", err.msg);

    /* the version is the checksum's first 8 hex digits */
    uint8_t *buf;
    size_t len;
    CHECK(mn_model_serialize(m, NULL, &buf, &len, &err) == MN_OK, "serialize");
    char hex[65];
    mn_hex(buf + len - 32, 4, hex);
    CHECK(!strcmp(hex, mn_model_version(m)), "version = checksum prefix");
    free(buf);
    mn_model_free(m);

    /* a small model: truncation at every length, every byte flipped */
    m = make("1x5x5:conv2k3,relu,flatten,dense3,softmax", 9);
    CHECK(mn_model_serialize(m, NULL, &buf, &len, &err) == MN_OK, "serialize small");
    int all = 1;
    for (size_t n = 0; n < len; n++)
        all &= refused(buf, n, NULL, &err);
    CHECK(all, "every truncation refused");
    all = 1;
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x5a;
        if (!refused(buf, len, NULL, &err)) {
            fprintf(stderr, "flip at %zu accepted\n", i);
            all = 0;
        }
        buf[i] ^= 0x5a;
    }
    CHECK(all, "every flipped byte refused");
    buf[len - 1] ^= 1;
    CHECK(refused(buf, len, "checksum mismatch", &err), "checksum: %s", err.msg);
    buf[len - 1] ^= 1;
    uint8_t *longer = malloc(len + 4);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 4);
    CHECK(refused(longer, len + 4, "trailing", &err), "trailing bytes: %s", err.msg);
    free(longer);
    CHECK(refused(buf, 40, "too short", &err), "short: %s", err.msg);
    buf[0] = 'X';
    CHECK(refused(buf, len, "magic", &err), "magic: %s", err.msg);
    buf[0] = 'M';
    CHECK(buf[8] == 1, "a table without batch norm or dropout is written as version 1");
    buf[8] = 3;
    reseal(buf, len);
    CHECK(refused(buf, len, "format version 3", &err), "version: %s", err.msg);
    buf[8] = 0;
    reseal(buf, len);
    CHECK(refused(buf, len, "format version 0", &err), "version 0: %s", err.msg);
    buf[8] = 1;
    /* a tensor whose shape disagrees with the layer table: conv1.w dims[0]
     * at directory entry 0 (after the 64-byte header and 5 x 20 layers) */
    size_t dir0 = 64 + 5 * 20;
    buf[dir0 + 36] = 7;
    reseal(buf, len);
    CHECK(refused(buf, len, "conv1.w has shape [7,1,3,3]", &err), "wrong shape: %s", err.msg);
    buf[dir0 + 36] = 2;
    buf[dir0] = 'k';
    reseal(buf, len);
    CHECK(refused(buf, len, "expected \"conv1.w\"", &err), "wrong name: %s", err.msg);
    buf[dir0] = 'c';
    /* a layer table that does not check out */
    buf[64] = 9;
    reseal(buf, len);
    CHECK(refused(buf, len, "layer table", &err), "bad layer kind: %s", err.msg);
    buf[64] = 1;
    /* NaN and infinity in the weights */
    size_t data = len - 32 - 4 * mn_model_param_count(m);
    float nan = NAN, inf = INFINITY, keep;
    memcpy(&keep, buf + data + 8, 4);
    memcpy(buf + data + 8, &nan, 4);
    reseal(buf, len);
    CHECK(refused(buf, len, "conv1.w element 2 is NaN", &err), "NaN: %s", err.msg);
    memcpy(buf + data + 8, &inf, 4);
    reseal(buf, len);
    CHECK(refused(buf, len, "infinite", &err), "inf: %s", err.msg);
    memcpy(buf + data + 8, &keep, 4);
    reseal(buf, len);
    mn_model *ok;
    CHECK(mn_model_parse(buf, len, "w.bin", &ok, NULL, &err) == MN_OK, "restored file loads: %s", err.msg);
    mn_model_free(ok);
    free(buf);

    /* checkpoints carry the optimiser and the run's position */
    mn_checkpoint ck = {.seed = 77, .epoch = 3, .batch = 12};
    mn_adam_init(&ck.adam, mn_model_param_count(m), 0.002f, &err);
    ck.adam.t = 1234;
    for (size_t i = 0; i < ck.adam.n; i++)
        ck.adam.m[i] = 0.5f * i, ck.adam.v[i] = 0.25f * i;
    CHECK(mn_model_save(m, path, &ck, &err) == MN_OK, "save checkpoint");
    mn_checkpoint back;
    CHECK(mn_model_load(path, &l, &back, &err) == MN_OK, "load checkpoint: %s", err.msg);
    CHECK(back.seed == 77 && back.epoch == 3 && back.batch == 12 && back.adam.t == 1234 &&
              back.adam.lr == 0.002f && back.adam.n == ck.adam.n &&
              !memcmp(back.adam.m, ck.adam.m, 4 * ck.adam.n) && !memcmp(back.adam.v, ck.adam.v, 4 * ck.adam.n),
          "checkpoint state round trip");
    mn_adam_free(&back.adam);
    mn_model_free(l);
    CHECK(mn_model_load(path, &l, NULL, &err) == MN_OK, "a checkpoint loads as a model");
    mn_model_free(l);
    mn_adam_free(&ck.adam);
    mn_model_free(m);
    /* version 2: batch norm and dropout layers, their tensors, and the
     * rules that keep them out of version 1 files */
    const char *bn_spec = "conv4k3,bn,relu,pool2,dropout25,flatten,dense10,softmax";
    m = make(bn_spec, 5);
    float *pp = mn_model_params(m);
    for (size_t i = 0; i < mn_model_param_count(m); i++)
        pp[i] += 0.01f * (float)(i % 7); /* statistics away from their initial 0 and 1 */
    CHECK(mn_model_save(m, path, NULL, &err) == MN_OK, "save batch-norm model: %s", err.msg);
    CHECK(mn_model_load(path, &l, NULL, &err) == MN_OK, "load batch-norm model: %s", err.msg);
    CHECK(l && !memcmp(mn_model_params(l), mn_model_params(m), 4 * mn_model_param_count(m)) &&
              !memcmp(mn_model_arch(l), mn_model_arch(m), sizeof(mn_arch)),
          "batch-norm model round trip bit-exact");
    mn_model_free(l);
    CHECK(mn_model_tensor_count(m) == 8 && !strcmp(mn_model_tensor(m, 2)->name, "bn1.gamma") &&
              !strcmp(mn_model_tensor(m, 5)->name, "bn1.var"),
          "batch-norm tensors named bn1.gamma .. bn1.var");
    CHECK(mn_model_serialize(m, NULL, &buf, &len, &err) == MN_OK, "serialize v2");
    CHECK(buf[8] == 2, "batch norm makes a version 2 file");
    buf[8] = 1;
    reseal(buf, len);
    CHECK(refused(buf, len, "version 1", &err), "batch norm in a version 1 file: %s", err.msg);
    buf[8] = 2;
    /* bn1.var is tensor 5; its first element made negative */
    size_t var0 = len - 32 - 4 * mn_model_param_count(m) + 4 * mn_model_tensor(m, 5)->offset;
    float neg = -1.0f;
    memcpy(buf + var0, &neg, 4);
    reseal(buf, len);
    CHECK(refused(buf, len, "bn1.var element 0 is negative", &err), "negative variance: %s", err.msg);
    free(buf);
    mn_model *folded;
    CHECK(mn_model_fold(m, &folded, &err) == MN_OK, "fold: %s", err.msg);
    char fs[256];
    mn_arch_format(mn_model_arch(folded), fs, sizeof fs);
    CHECK(!strcmp(fs, "1x28x28:conv4k3,relu,pool2,flatten,dense10,softmax"), "folded table: %s", fs);
    CHECK(mn_model_serialize(folded, NULL, &buf, &len, &err) == MN_OK && buf[8] == 1,
          "a folded model is a version 1 file");
    free(buf);
    mn_model_free(folded);
    mn_model_free(m);
    snprintf(bad_path, sizeof bad_path, "%s/missing.bin", dir);
    CHECK(mn_model_load(bad_path, &l, NULL, &err) == MN_ERR_IO && strstr(err.msg, "missing.bin"), "missing: %s", err.msg);
    CHECK(mn_model_load(dir, &l, NULL, &err) == MN_ERR_IO, "directory refused: %s", err.msg);
    unlink(path);
    rmdir(dir);
    return check_finish();
}
