/* make_seeds.c: writes the seed corpora of the core fuzz targets (IDX and
 * weights files) into CORPUS_DIR/idx and CORPUS_DIR/weights: small valid
 * files made by the library itself, and broken variants of each. Run once
 * when the formats change; the output is kept in fuzz/corpus/. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "mnist/mnist.h"

static char root[1024];

static void put(const char *target, const char *name, const uint8_t *data, size_t len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void put_gz(const char *target, const char *name, const uint8_t *data, size_t len)
{
    uLongf cap = compressBound(len) + 32;
    uint8_t *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); /* +16: gzip wrapper */
    z.next_in = (uint8_t *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    put(target, name, out, n);
    if (n > 20) {
        char cut[256];
        snprintf(cut, sizeof cut, "%s-truncated", name);
        put(target, cut, out, n - 9);
    }
    free(out);
}

static size_t idx_header(uint8_t *b, int ndim, const uint32_t *dims)
{
    b[0] = b[1] = 0;
    b[2] = 8;
    b[3] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++)
        for (int i = 0; i < 4; i++)
            b[4 + 4 * d + i] = (uint8_t)(dims[d] >> (24 - 8 * i));
    return 4 + 4 * (size_t)ndim;
}

static void idx_seeds(void)
{
    uint8_t b[4096];
    uint32_t ld[1] = {10};
    size_t h = idx_header(b, 1, ld);
    for (int i = 0; i < 10; i++)
        b[h + i] = (uint8_t)i;
    put("idx", "labels-10", b, h + 10);
    put_gz("idx", "labels-10.gz", b, h + 10);
    put("idx", "labels-truncated", b, h + 5);
    put("idx", "header-only", b, 6);
    uint32_t id[3] = {3, 4, 5};
    h = idx_header(b, 3, id);
    for (int i = 0; i < 60; i++)
        b[h + i] = (uint8_t)(i * 37);
    put("idx", "images-3x4x5", b, h + 60);
    put_gz("idx", "images-3x4x5.gz", b, h + 60);
    put("idx", "images-trailing", b, h + 61);
    uint32_t one[3] = {1, 28, 28};
    h = idx_header(b, 3, one);
    memset(b + h, 0, 784);
    for (int i = 0; i < 28; i++)
        b[h + i * 28 + 14] = 255;
    put("idx", "image-28x28", b, h + 784);
    uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    h = idx_header(b, 3, huge);
    put("idx", "dims-huge", b, h + 8);
    uint32_t zero[3] = {0, 28, 28};
    h = idx_header(b, 3, zero);
    put("idx", "dims-zero", b, h);
    b[2] = 0x0d; /* float elements: refused */
    put("idx", "type-float", b, h);
}

/* A model for spec with deterministic weights and metadata. */
static mn_model *small_model(const char *spec, uint64_t seed)
{
    mn_arch a;
    mn_error err;
    mn_model *m;
    if (mn_arch_parse(spec, &a, &err) != MN_OK || mn_model_create(&a, &m, &err) != MN_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        exit(1);
    }
    mn_model_init_glorot(m, seed);
    mn_model_set_meta(m, "{\"name\":\"seed\",\"labels\":[\"0\",\"1\",\"2\"]}", &err);
    return m;
}

static void put_model(const char *name, mn_model *m, const mn_checkpoint *ck)
{
    uint8_t *buf;
    size_t len;
    mn_error err;
    if (mn_model_serialize(m, ck, &buf, &len, &err) != MN_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        exit(1);
    }
    put("weights", name, buf, len);
    char variant[256];
    snprintf(variant, sizeof variant, "%s-truncated", name);
    put("weights", variant, buf, len / 2);
    buf[len - 1] ^= 1;
    snprintf(variant, sizeof variant, "%s-bad-checksum", name);
    put("weights", variant, buf, len);
    free(buf);
}

static void weights_seeds(void)
{
    mn_model *m = small_model("1x4x4:dense3,softmax", 1);
    put_model("dense", m, NULL);
    mn_model_free(m);
    m = small_model("1x8x8:conv2k3,relu,pool2,flatten,dense3,softmax", 2);
    put_model("conv", m, NULL);
    mn_checkpoint ck = {.seed = 7, .epoch = 1, .batch = 3};
    mn_error err;
    mn_adam_init(&ck.adam, mn_model_param_count(m), 0.001f, &err);
    for (size_t i = 0; i < ck.adam.n; i++)
        ck.adam.m[i] = 0.01f * (float)i, ck.adam.v[i] = 0.001f * (float)i;
    ck.adam.t = 42;
    put_model("conv-checkpoint", m, &ck);
    mn_adam_free(&ck.adam);
    mn_model_free(m);
    m = small_model("2x9x7:conv3k3s2p1,relu,conv2k2,pool2s1,dense4,relu,dense2,softmax", 3);
    put_model("conv-stride-pad", m, NULL);
    mn_model_free(m);
    m = small_model("1x6x6:conv2k3,bn,relu,pool2,flatten,dropout25,dense3,softmax", 4);
    put_model("batchnorm-dropout", m, NULL);
    mn_model_free(m);
    /* the calibration section: temperature, background class, thresholds */
    m = small_model("1x4x4:dense3,softmax", 5);
    mn_calibration c = {1.5f, 2, 0.25f, 0.6f, 500};
    if (mn_model_set_calibration(m, &c, &err) != MN_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        exit(1);
    }
    put_model("calibrated", m, NULL);
    mn_model_free(m);
    /* ensemble files: two members with a background class, a cascade */
    mn_ensemble e;
    memset(&e, 0, sizeof e);
    for (int i = 0; i < 2; i++) {
        m = small_model("1x4x4:dense3,softmax", 10 + i);
        if (mn_model_set_calibration(m, &c, &err) != MN_OK || mn_ensemble_add(&e, m, &err) != MN_OK) {
            fprintf(stderr, "make_seeds: %s\n", err.msg);
            exit(1);
        }
    }
    e.escalate_below = 0.9f;
    char path[1200];
    snprintf(path, sizeof path, "%s/weights/ensemble-cascade", root);
    if (mn_ensemble_set_meta(&e, "{\"name\":\"seed\"}", &err) != MN_OK ||
        mn_ensemble_save(&e, path, &err) != MN_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        exit(1);
    }
    mn_ensemble_free(&e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    mkdir(root, 0755);
    idx_seeds();
    weights_seeds();
    printf("seeds written to %s\n", root);
    return 0;
}
