/* fuzz_idx.c: libFuzzer target for the IDX reader: mn_idx_parse on the raw
 * bytes, and mn_idx_load (the gzip path) when the input is gzip. Checks
 * that an accepted file is self-consistent; crashes are the findings. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnist/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted array must describe exactly the bytes it holds. */
static void check_parsed(const mn_idx *x, size_t size)
{
    if (x->ndim != 1 && x->ndim != 3)
        abort();
    if (x->count != x->dims[0] || x->count == 0)
        abort();
    size_t item = x->ndim == 3 ? (size_t)x->dims[1] * x->dims[2] : 1;
    if (item != x->item_size)
        abort();
    if (4 + 4 * (size_t)x->ndim + x->count * x->item_size != size)
        abort();
    volatile uint8_t sink = 0;
    sink ^= x->data[0];
    sink ^= x->data[x->count * x->item_size - 1];
    (void)sink;
}

/* The gzip path reads a file; one temporary file per process, reused. */
static void load_gzip(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz_idx_%ld.gz", (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(data, 1, size, f);
    fclose(f);
    mn_idx x;
    mn_error err;
    mn_status st = mn_idx_load(path, &x, &err);
    if (st == MN_OK)
        mn_idx_free(&x);
    else if (x.data != NULL || err.msg[0] == 0)
        abort();
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_idx x;
    mn_error err;
    err.msg[0] = 0;
    mn_status st = mn_idx_parse(data, size, "fuzz", &x, &err);
    if (st == MN_OK) {
        check_parsed(&x, size);
        mn_idx_free(&x);
    } else if (x.data != NULL || strncmp(err.msg, "fuzz: ", 6) != 0) {
        abort(); /* a failure leaves nothing allocated and says why */
    }
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        load_gzip(data, size);
    return 0;
}
