/* idx.c: the IDX format of the MNIST files (LeCun's: magic 0x0000 08 NN,
 * NN big-endian u32 dimensions, then unsigned bytes), raw or gzipped, and
 * loading a split (images + labels) from a directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mnist/idx.h"

/* The largest dimensions accepted: items, and rows/cols of an image. */
#define MAX_ITEMS 10000000u
#define MAX_SIDE 4096u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

mn_status mn_idx_parse(const uint8_t *buf, size_t len, const char *name, mn_idx *out,
                       mn_error *err)
{
    memset(out, 0, sizeof *out);
    if (len < 4)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %zu bytes, too short for an IDX header", name, len);
    if (buf[0] != 0 || buf[1] != 0)
        return mn_error_set(err, MN_ERR_FORMAT,
                            "%s: not an IDX file (magic starts %02x %02x, expected 00 00)", name,
                            buf[0], buf[1]);
    if (buf[2] != 0x08)
        return mn_error_set(err, MN_ERR_FORMAT,
                            "%s: IDX element type 0x%02x, expected 0x08 (unsigned byte)", name, buf[2]);
    uint32_t ndim = buf[3];
    if (ndim != 1 && ndim != 3)
        return mn_error_set(err, MN_ERR_FORMAT,
                            "%s: %u dimensions, expected 1 (labels) or 3 (images)", name, ndim);
    size_t header = 4 + 4 * (size_t)ndim;
    if (len < header)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %zu bytes, truncated inside the %zu-byte header",
                            name, len, header);
    out->ndim = ndim;
    for (uint32_t d = 0; d < ndim; d++)
        out->dims[d] = be32(buf + 4 + 4 * d);
    if (out->dims[0] < 1 || out->dims[0] > MAX_ITEMS)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %u items, expected 1 to %u", name, out->dims[0],
                            MAX_ITEMS);
    out->item_size = 1;
    for (uint32_t d = 1; d < ndim; d++) {
        if (out->dims[d] < 1 || out->dims[d] > MAX_SIDE)
            return mn_error_set(err, MN_ERR_FORMAT, "%s: dimension %u is %u, expected 1 to %u", name,
                                d, out->dims[d], MAX_SIDE);
        out->item_size *= out->dims[d];
    }
    out->count = out->dims[0];
    /* Bounded above: count * item_size <= 1e7 * 4096^2 fits in 64 bits. */
    uint64_t body = (uint64_t)out->count * out->item_size;
    if (len - header != body)
        return mn_error_set(err, MN_ERR_FORMAT,
                            "%s: header promises %llu bytes of data, the file holds %zu (%s)", name,
                            (unsigned long long)body, len - header,
                            len - header < body ? "truncated" : "trailing bytes");
    out->data = malloc(body);
    if (!out->data)
        return mn_error_set(err, MN_ERR_NOMEM, "%s: cannot allocate %llu bytes", name,
                            (unsigned long long)body);
    memcpy(out->data, buf + header, body);
    return MN_OK;
}

void mn_idx_free(mn_idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* Reads a whole file through zlib (which passes non-gzip files through
 * unchanged), refusing more than MN_IDX_MAX_BYTES of content. */
static mn_status read_all(const char *path, uint8_t **out, size_t *len, mn_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return mn_error_set(err, MN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fclose(probe);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return mn_error_set(err, MN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= MN_IDX_MAX_BYTES + (size_t)1) {
                free(buf);
                gzclose(f);
                return mn_error_set(err, MN_ERR_LIMIT, "%s: more than %u bytes of content", path,
                                    MN_IDX_MAX_BYTES);
            }
            size_t ncap = cap * 2 > MN_IDX_MAX_BYTES + (size_t)1 ? MN_IDX_MAX_BYTES + (size_t)1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                gzclose(f);
                return mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        int want = cap - n > (1u << 30) ? (1 << 30) : (int)(cap - n);
        int got = gzread(f, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            mn_status st = mn_error_set(err, MN_ERR_FORMAT, "%s: corrupt gzip data: %s", path,
                                        zerr == Z_ERRNO ? strerror(errno) : msg);
            free(buf);
            gzclose(f);
            return st;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    /* zlib reports a gzip stream cut short only at close. */
    int zerr;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        mn_status st = mn_error_set(err, MN_ERR_FORMAT, "%s: corrupt gzip data: %s", path, msg);
        free(buf);
        gzclose(f);
        return st;
    }
    int cz = gzclose(f);
    if (cz == Z_BUF_ERROR || cz == Z_DATA_ERROR) {
        free(buf);
        return mn_error_set(err, MN_ERR_FORMAT, "%s: gzip stream truncated", path);
    }
    *out = buf;
    *len = n;
    return MN_OK;
}

mn_status mn_idx_load(const char *path, mn_idx *out, mn_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    mn_status st = read_all(path, &buf, &len, err);
    if (st != MN_OK)
        return st;
    st = mn_idx_parse(buf, len, path, out, err);
    free(buf);
    return st;
}

/* Finds <dir>/<split>-<kind>{-,.}idx<N>-ubyte[.gz]; writes the first that
 * exists into path, or the canonical name when none does. */
static void find_file(const char *dir, const char *split, const char *kind, int n, char *path,
                      size_t len)
{
    static const char *const forms[] = {"%s/%s-%s-idx%d-ubyte", "%s/%s-%s.idx%d-ubyte"};
    for (int f = 0; f < 2; f++)
        for (int gz = 0; gz < 2; gz++) {
            char base[4096];
            snprintf(base, sizeof base, forms[f], dir, split, kind, n);
            snprintf(path, len, "%s%s", base, gz ? ".gz" : "");
            FILE *fp = fopen(path, "rb");
            if (fp) {
                fclose(fp);
                return;
            }
        }
    snprintf(path, len, forms[0], dir, split, kind, n);
}

mn_status mn_dataset_load(const char *dir, const char *split, mn_dataset *out, mn_error *err)
{
    memset(out, 0, sizeof *out);
    char ipath[4200], lpath[4200];
    find_file(dir, split, "images", 3, ipath, sizeof ipath);
    find_file(dir, split, "labels", 1, lpath, sizeof lpath);
    mn_idx images, labels;
    mn_status st = mn_idx_load(ipath, &images, err);
    if (st != MN_OK)
        return st;
    if (images.ndim != 3) {
        mn_idx_free(&images);
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %u dimensions, images need 3", ipath, images.ndim);
    }
    if ((st = mn_idx_load(lpath, &labels, err)) != MN_OK) {
        mn_idx_free(&images);
        return st;
    }
    if (labels.ndim != 1) {
        st = mn_error_set(err, MN_ERR_FORMAT, "%s: %u dimensions, labels need 1", lpath, labels.ndim);
    } else if (labels.count != images.count) {
        st = mn_error_set(err, MN_ERR_FORMAT, "%s: %zu labels for the %zu images of %s", lpath,
                          labels.count, images.count, ipath);
    }
    if (st != MN_OK) {
        mn_idx_free(&images);
        mn_idx_free(&labels);
        return st;
    }
    uint32_t classes = 0;
    for (size_t i = 0; i < labels.count; i++)
        if (labels.data[i] + 1u > classes)
            classes = labels.data[i] + 1u;
    out->images = images.data;
    out->labels = labels.data;
    out->count = images.count;
    out->rows = images.dims[1];
    out->cols = images.dims[2];
    out->classes = classes;
    return MN_OK;
}

void mn_dataset_free(mn_dataset *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
