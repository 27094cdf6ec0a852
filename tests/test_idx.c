/* test_idx.c: the IDX reader accepts well-formed files, raw and gzipped,
 * and rejects every kind of corruption with a message, never a crash. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "mnist/idx.h"

/* An images file of n items of r x c, pixel i = i & 255. */
static size_t make_images(uint8_t *buf, uint32_t n, uint32_t r, uint32_t c)
{
    uint8_t h[16] = {0, 0, 8, 3, n >> 24, n >> 16, n >> 8, n, r >> 24, r >> 16, r >> 8, r, c >> 24, c >> 16, c >> 8, c};
    memcpy(buf, h, 16);
    for (size_t i = 0; i < (size_t)n * r * c; i++)
        buf[16 + i] = (uint8_t)i;
    return 16 + (size_t)n * r * c;
}

static size_t make_labels(uint8_t *buf, uint32_t n)
{
    uint8_t h[8] = {0, 0, 8, 1, n >> 24, n >> 16, n >> 8, n};
    memcpy(buf, h, 8);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (uint8_t)(i % 10);
    return 8 + n;
}

static void write_file(const char *path, const uint8_t *buf, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, buf, (unsigned)len);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
    }
}

int main(void)
{
    uint8_t buf[4096];
    mn_idx x;
    mn_error err;
    size_t len = make_images(buf, 3, 4, 5);
    CHECK(mn_idx_parse(buf, len, "t", &x, &err) == MN_OK, "valid file: %s", err.msg);
    CHECK(x.ndim == 3 && x.count == 3 && x.item_size == 20 && x.data[21] == 21, "fields");
    mn_idx_free(&x);
    mn_idx_free(&x);

    /* truncation at every length, and one trailing byte */
    int all = 1;
    for (size_t n = 0; n < len; n++) {
        err.msg[0] = 0;
        all &= mn_idx_parse(buf, n, "t", &x, &err) == MN_ERR_FORMAT && strstr(err.msg, "t:") == err.msg;
    }
    CHECK(all, "every truncation refused with the file's name");
    CHECK(mn_idx_parse(buf, len + 1, "t", &x, &err) == MN_ERR_FORMAT && strstr(err.msg, "trailing"), "trailing byte: %s", err.msg);
    /* every header byte flipped */
    all = 1;
    for (int i = 0; i < 16; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1 << bit);
            mn_status st = mn_idx_parse(buf, len, "t", &x, &err);
            if (st == MN_OK) {
                fprintf(stderr, "flip of byte %d bit %d accepted\n", i, bit);
                mn_idx_free(&x);
                all = 0;
            }
            buf[i] ^= (uint8_t)(1 << bit);
        }
    }
    CHECK(all, "every header bit flip refused");
    buf[2] = 0x0D;
    CHECK(mn_idx_parse(buf, len, "t", &x, &err) != MN_OK && strstr(err.msg, "element type"), "float IDX: %s", err.msg);
    buf[2] = 8;
    /* huge declared dimensions are refused before allocating */
    uint8_t huge[16] = {0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0x10, 0, 0, 0, 0x10, 0};
    CHECK(mn_idx_parse(huge, 16, "t", &x, &err) != MN_OK, "huge dims: %s", err.msg);

    /* files: raw, gzip, truncated gzip, missing */
    char dir[] = "/tmp/test_idx_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    write_file(p, buf, len, 1);
    CHECK(mn_idx_load(p, &x, &err) == MN_OK && x.count == 3 && x.data[59] == 59, "gzip load: %s", err.msg);
    mn_idx_free(&x);
    FILE *f = fopen(p, "rb");
    uint8_t gz[4096];
    size_t gzlen = fread(gz, 1, sizeof gz, f);
    fclose(f);
    snprintf(q, sizeof q, "%s/cut.gz", dir);
    write_file(q, gz, gzlen / 2, 0);
    CHECK(mn_idx_load(q, &x, &err) != MN_OK && strstr(err.msg, q), "truncated gzip refused: %s", err.msg);
    gz[gzlen / 2] ^= 0x55;
    write_file(q, gz, gzlen, 0);
    CHECK(mn_idx_load(q, &x, &err) != MN_OK, "corrupt gzip refused: %s", err.msg);
    snprintf(q, sizeof q, "%s/none", dir);
    CHECK(mn_idx_load(q, &x, &err) == MN_ERR_IO && strstr(err.msg, "none"), "missing file: %s", err.msg);

    /* a dataset whose labels do not match its images */
    mn_dataset d;
    uint8_t lab[64];
    snprintf(q, sizeof q, "%s/train-labels-idx1-ubyte", dir);
    write_file(q, lab, make_labels(lab, 4), 0);
    CHECK(mn_dataset_load(dir, "train", &d, &err) == MN_ERR_FORMAT && strstr(err.msg, "4 labels"), "count mismatch: %s", err.msg);
    write_file(q, lab, make_labels(lab, 3), 0);
    CHECK(mn_dataset_load(dir, "train", &d, &err) == MN_OK && d.count == 3 && d.rows == 4 && d.cols == 5, "dataset: %s", err.msg);
    mn_dataset_free(&d);
    snprintf(q, sizeof q, "%s/train-labels-idx1-ubyte", dir);
    write_file(q, buf, len, 0); /* images where labels belong */
    CHECK(mn_dataset_load(dir, "train", &d, &err) == MN_ERR_FORMAT && strstr(err.msg, "labels need 1"), "wrong kind: %s", err.msg);
    unlink(q);
    unlink(p);
    snprintf(q, sizeof q, "%s/cut.gz", dir);
    unlink(q);
    rmdir(dir);

    /* the real MNIST files, as fetched by scripts/fetch-mnist.sh */
    const char *data = getenv("MNIST_DATA_DIR");
    CHECK(data != NULL, "MNIST_DATA_DIR is set (ctest sets it)");
    if (data) {
        CHECK(mn_dataset_load(data, "train", &d, &err) == MN_OK, "MNIST train: %s", err.msg);
        CHECK(d.count == 60000 && d.rows == 28 && d.cols == 28 && d.classes == 10, "train shape");
        mn_dataset_free(&d);
        CHECK(mn_dataset_load(data, "t10k", &d, &err) == MN_OK && d.count == 10000, "MNIST test: %s", err.msg);
        mn_dataset_free(&d);
    }
    return check_finish();
}
