/* images.c: reading DIR/<label>/<file> into a training set: directory
 * walk in sorted order, decoding with the server's decoder
 * (image_decode.h: the same formats, limits and checks), the server's
 * normalisation, and a seeded shuffle. Writes nothing. */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "images.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entries of dir, sorted (readdir's order is the file
 * system's); *n gets the count. NULL with errno on failure. */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t cap = 64, k = 0;
    char **v = malloc(cap * sizeof *v);
    for (struct dirent *e; v && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (k == cap) {
            char **nv = k < IMAGES_MAX_COUNT ? realloc(v, 2 * cap * sizeof *v) : NULL;
            if (!nv) {
                for (size_t i = 0; i < k; i++)
                    free(v[i]);
                free(v);
                v = NULL;
                errno = ENOMEM;
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[k++] = strdup(e->d_name);
    }
    closedir(d);
    if (v)
        qsort(v, k, sizeof *v, cmp_str);
    *n = k;
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* A label directory's name: a whole number 0..255, else -1. */
static int label_of(const char *name)
{
    if (!*name || strlen(name) > 3)
        return -1;
    for (const char *p = name; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    int v = atoi(name);
    return v <= 255 ? v : -1;
}

int images_decode_file(const char *path, img_decoded *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    int rc = -1;
    reply_err e;
    uint8_t *data = NULL;
    if (!S_ISREG(sb.st_mode))
        snprintf(why, whylen, "not a regular file");
    else if ((uint64_t)sb.st_size > IMAGES_MAX_FILE_BYTES)
        snprintf(why, whylen, "%lld bytes, more than %u", (long long)sb.st_size,
                 IMAGES_MAX_FILE_BYTES);
    else if (!(data = malloc((size_t)sb.st_size + 1)))
        snprintf(why, whylen, "out of memory");
    else if (fread(data, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
        snprintf(why, whylen, "read error");
    else if (img_decode(data, (size_t)sb.st_size, IMAGES_MAX_PIXELS, out, &e) != 0)
        snprintf(why, whylen, "%s", e.msg);
    else
        rc = 0;
    free(data);
    fclose(f);
    return rc;
}

int images_read_file(const char *path, uint8_t px[MN_PIXELS])
{
    img_decoded img; /* images_decode_file checks the file's kind and size */
    char why[512];
    if (images_decode_file(path, &img, why, sizeof why) != 0) {
        fprintf(stderr, "mnist-train: note: %s: cannot decode (%s), skipped\n", path, why);
        return -1;
    }
    mn_error e;
    mn_status st = mn_normalize_image(img.pix, img.w, img.h, img.channels, px, &e);
    img_free(&img);
    if (st != MN_OK) {
        fprintf(stderr, "mnist-train: note: %s: %s, skipped\n", path, e.msg);
        return -1;
    }
    return 0;
}

mn_status images_load(const char *dir, mn_shape input, uint64_t seed, mn_dataset *out,
                      mn_error *err)
{
    memset(out, 0, sizeof *out);
    if (input.c != 1 || input.h != MN_SIDE || input.w != MN_SIDE)
        return mn_error_set(err, MN_ERR_ARG, "%s: images are normalised to 1x28x28, the model takes %ux%ux%u",
                            dir, input.c, input.h, input.w);
    size_t n_labels;
    char **labels = list_dir(dir, &n_labels);
    if (!labels)
        return mn_error_set(err, MN_ERR_IO, "%s: cannot read the directory: %s", dir, strerror(errno));
    size_t cap = 1024, count = 0;
    out->images = malloc(cap * MN_PIXELS);
    out->labels = malloc(cap);
    mn_status st = MN_OK;
    char path[8192];
    for (size_t i = 0; i < n_labels && st == MN_OK; i++) {
        int label = label_of(labels[i]);
        snprintf(path, sizeof path, "%s/%s", dir, labels[i]);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue; /* a README or the like beside the class directories */
        if (label < 0) {
            st = mn_error_set(err, MN_ERR_ARG, "%s: directory name is not a class number 0 to 255", path);
            break;
        }
        size_t n_files;
        char **files = list_dir(path, &n_files);
        if (!files) {
            st = mn_error_set(err, MN_ERR_IO, "%s: cannot read the directory: %s", path, strerror(errno));
            break;
        }
        for (size_t f = 0; f < n_files && st == MN_OK; f++) {
            if (count == IMAGES_MAX_COUNT) {
                st = mn_error_set(err, MN_ERR_LIMIT, "%s: more than %d images", dir, IMAGES_MAX_COUNT);
                break;
            }
            if (count == cap) {
                uint8_t *ni = realloc(out->images, 2 * cap * MN_PIXELS), *nl = NULL;
                if (ni)
                    out->images = ni;
                nl = ni ? realloc(out->labels, 2 * cap) : NULL;
                if (!nl) {
                    st = mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory after %zu images", dir, count);
                    break;
                }
                out->labels = nl;
                cap *= 2;
            }
            char fpath[8448];
            snprintf(fpath, sizeof fpath, "%s/%s", path, files[f]);
            if (images_read_file(fpath, out->images + count * MN_PIXELS) == 0)
                out->labels[count++] = (uint8_t)label;
        }
        free_list(files, n_files);
    }
    free_list(labels, n_labels);
    if (st == MN_OK && (!out->images || !out->labels))
        st = mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory", dir);
    if (st == MN_OK && count == 0)
        st = mn_error_set(err, MN_ERR_FORMAT, "%s: no usable image in any <label>/ directory", dir);
    if (st != MN_OK) {
        mn_dataset_free(out);
        return st;
    }
    /* Fisher-Yates from the run's seed: a --val tail mixes the classes. */
    mn_rng r;
    mn_rng_derive(&r, seed, 0x494d47ull /* "IMG" */, count);
    uint8_t tmp[MN_PIXELS];
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = mn_rng_below(&r, (uint32_t)(i + 1));
        memcpy(tmp, out->images + i * MN_PIXELS, MN_PIXELS);
        memcpy(out->images + i * MN_PIXELS, out->images + j * MN_PIXELS, MN_PIXELS);
        memcpy(out->images + j * MN_PIXELS, tmp, MN_PIXELS);
        uint8_t t = out->labels[i];
        out->labels[i] = out->labels[j];
        out->labels[j] = t;
    }
    out->count = count;
    out->rows = out->cols = MN_SIDE;
    out->classes = 0;
    for (size_t i = 0; i < count; i++)
        if (out->labels[i] + 1u > out->classes)
            out->classes = out->labels[i] + 1u;
    return MN_OK;
}
