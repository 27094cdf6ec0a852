/* body_json.c: reads the JSON request body with cJSON. The number of
 * values is bounded by a scan before parsing, so a body cannot make cJSON
 * build a tree larger than a full legitimate batch. Pixel arrays become
 * 784 bytes here; image strings are passed on undecoded. */
#include "body_json.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SIDE 28
#define PIXELS 784

/* Upper bound of the values in a JSON text: every value but the first is
 * preceded by ',', '[' or ':' outside strings. */
static size_t count_values(const uint8_t *s, size_t n)
{
    size_t count = 1;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ',' || c == '[' || c == ':') {
            count++;
        }
    }
    return count;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "invalid";
}

static int pixel_value(const cJSON *v, const char *path, const char *where, uint8_t *out,
                       reply_err *e)
{
    if (!cJSON_IsNumber(v))
        return reply_fail(e, 400, "invalid_pixels", "%spixels%s is %s, expected a number 0-255",
                          path, where, type_name(v));
    double d = v->valuedouble;
    if (!(d >= 0.0 && d <= 255.0))
        return reply_fail(e, 400, "invalid_pixels", "%spixels%s is %g, expected 0-255", path,
                          where, d);
    *out = (uint8_t)lrint(d);
    return 0;
}

/* A flat array of 784 numbers or 28 arrays of 28. */
static int read_pixels(const cJSON *arr, const char *path, uint8_t px[PIXELS], reply_err *e)
{
    int n = cJSON_GetArraySize(arr);
    char where[32];
    const cJSON *first = arr->child;
    if (n == PIXELS && first && !cJSON_IsArray(first)) {
        int i = 0;
        for (const cJSON *v = first; v; v = v->next, i++) {
            snprintf(where, sizeof where, "[%d]", i);
            int st = pixel_value(v, path, where, &px[i], e);
            if (st)
                return st;
        }
        return 0;
    }
    if (n == SIDE && first && cJSON_IsArray(first)) {
        int r = 0;
        for (const cJSON *row = first; row; row = row->next, r++) {
            if (!cJSON_IsArray(row))
                return reply_fail(e, 400, "invalid_pixels",
                                  "%spixels[%d] must be an array of 28 numbers, got %s", path, r,
                                  type_name(row));
            if (cJSON_GetArraySize(row) != SIDE)
                return reply_fail(e, 400, "invalid_pixels",
                                  "%spixels[%d] must be an array of 28 numbers, got %d", path, r,
                                  cJSON_GetArraySize(row));
            int c = 0;
            for (const cJSON *v = row->child; v; v = v->next, c++) {
                snprintf(where, sizeof where, "[%d][%d]", r, c);
                int st = pixel_value(v, path, where, &px[r * SIDE + c], e);
                if (st)
                    return st;
            }
        }
        return 0;
    }
    return reply_fail(e, 400, "invalid_pixels",
                      "%spixels must be 784 numbers or 28 rows of 28 numbers, got an array of %d",
                      path, n);
}

/* One item: an array of pixels, an image string, or an object holding
 * "pixels", "image" or "b64". */
static int read_item(const cJSON *v, size_t index, const char *path, jbody_item_fn fn,
                     void *ctx, reply_err *e)
{
    uint8_t px[PIXELS];
    jbody_item it = {0};
    if (cJSON_IsObject(v)) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "pixels");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "image");
        if (!s)
            s = cJSON_GetObjectItemCaseSensitive(v, "b64");
        if (p)
            v = p;
        else if (s)
            v = s;
        else
            return reply_fail(e, 400, "bad_request", "%sobject has no \"pixels\" or \"image\"", path);
        if (p && !cJSON_IsArray(p))
            return reply_fail(e, 400, "invalid_pixels", "%spixels is %s, expected an array", path,
                              type_name(p));
    }
    if (cJSON_IsArray(v)) {
        int st = read_pixels(v, path, px, e);
        if (st)
            return st;
        it.pixels = px;
    } else if (cJSON_IsString(v)) {
        it.is_image = 1;
        it.str = v->valuestring;
        it.str_len = strlen(v->valuestring);
    } else {
        return reply_fail(e, 400, "bad_request",
                          "%sexpected pixels (an array) or an image (a base64 string), got %s",
                          path, type_name(v));
    }
    return fn(ctx, index, path, &it, e);
}

int jbody_parse(const uint8_t *body, size_t len, int max_batch, jbody_item_fn fn, void *ctx,
                int *batched, reply_err *e)
{
    *batched = 0;
    size_t limit = (size_t)max_batch * (PIXELS + SIDE + 8) + 1024;
    size_t values = count_values(body, len);
    if (values > limit)
        return reply_fail(e, 413, "payload_too_large",
                          "JSON body holds about %zu values, more than a batch of %d images can",
                          values, max_batch);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= (const char *)body ? (size_t)(end - (const char *)body) : 0;
        if (at > len)
            at = len;
        return reply_fail(e, 400, "invalid_json", "invalid JSON at byte %zu of %zu", at, len);
    }
    /* Only whitespace may follow the value. */
    for (const char *p = end; p && p < (const char *)body + len; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            size_t at = (size_t)(p - (const char *)body);
            cJSON_Delete(root);
            return reply_fail(e, 400, "invalid_json", "unexpected data after the JSON value at byte %zu",
                              at);
        }
    }
    int st = 0;
    if (!cJSON_IsObject(root)) {
        st = reply_fail(e, 400, "bad_request",
                        "JSON body must be an object with \"pixels\", \"image\" or \"instances\", "
                        "got %s",
                        type_name(root));
        goto done;
    }
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(root, "instances");
    if (inst) {
        if (!cJSON_IsArray(inst)) {
            st = reply_fail(e, 400, "bad_request", "instances is %s, expected an array",
                            type_name(inst));
            goto done;
        }
        int n = cJSON_GetArraySize(inst);
        if (n == 0) {
            st = reply_fail(e, 400, "bad_request", "instances is empty");
            goto done;
        }
        if (n > max_batch) {
            st = reply_fail(e, 413, "payload_too_large",
                            "batch of %d instances is over the limit of %d", n, max_batch);
            goto done;
        }
        *batched = 1;
        size_t i = 0;
        char path[32];
        for (const cJSON *v = inst->child; v; v = v->next, i++) {
            snprintf(path, sizeof path, "instances[%zu]: ", i);
            st = read_item(v, i, path, fn, ctx, e);
            if (st)
                goto done;
        }
        goto done;
    }
    const cJSON *px = cJSON_GetObjectItemCaseSensitive(root, "pixels");
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(root, "image");
    if (px) {
        if (!cJSON_IsArray(px))
            st = reply_fail(e, 400, "invalid_pixels", "pixels is %s, expected an array",
                            type_name(px));
        else
            st = read_item(px, 0, "", fn, ctx, e);
    } else if (im) {
        if (!cJSON_IsString(im))
            st = reply_fail(e, 400, "bad_request",
                            "image is %s, expected a base64 string or a data URL", type_name(im));
        else
            st = read_item(im, 0, "", fn, ctx, e);
    } else {
        st = reply_fail(e, 400, "bad_request",
                        "JSON body needs one of \"pixels\", \"image\" or \"instances\"");
    }
done:
    cJSON_Delete(root);
    return st;
}
