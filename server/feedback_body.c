/* feedback_body.c: the label and context fields of POST /v1/feedback
 * (feedback_body.h). */
#include "feedback_body.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"

static const char label_msg[] = "label must be a digit 0-9 or \"not_a_digit\"";

/* A label or prediction: 0-9 or "not_a_digit" -> 0-10; else -1. */
static int class_of(const cJSON *v)
{
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9 &&
        v->valuedouble == floor(v->valuedouble))
        return (int)v->valuedouble;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "not_a_digit"))
        return FB_LABEL_NOT_A_DIGIT;
    return -1;
}

/* The media type of an image by its first bytes, as the decoder sees it. */
static const char *sniff(const uint8_t *b, size_t n)
{
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "image/jpeg";
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
        return "image/gif";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        return "image/bmp";
    return "application/octet-stream";
}

/* The original upload: an image string's bytes, or the pixels body. */
static int keep_original(const cJSON *image, const uint8_t *body, size_t len, fb_record *rec,
                         sbuf *original, reply_err *e)
{
    sbuf_reset(original);
    rec->original = NULL;
    rec->original_len = 0;
    rec->original_type[0] = '\0';
    const char *type = "application/json";
    if (cJSON_IsString(image)) {
        const char *payload;
        size_t plen, blen;
        int st = dataurl_payload(image->valuestring, strlen(image->valuestring), &payload, &plen, e);
        if (st)
            return st;
        if (b64_decoded_max(plen) > FB_ORIGINAL_MAX + 3)
            return 0; /* too large to keep; the model's view is stored all the same */
        if (sbuf_reserve(original, b64_decoded_max(plen)) != 0)
            return reply_fail(e, 503, "overloaded", "out of memory for the feedback's image");
        st = b64_decode(payload, plen, (uint8_t *)original->p, &blen, e);
        if (st)
            return st;
        original->len = blen;
        type = sniff((const uint8_t *)original->p, blen);
    } else {
        if (len > FB_ORIGINAL_MAX)
            return 0;
        sbuf_put(original, body, len);
        if (original->failed)
            return reply_fail(e, 503, "overloaded", "out of memory for the feedback's pixels");
    }
    if (original->len > FB_ORIGINAL_MAX)
        return 0;
    rec->original = (const uint8_t *)original->p;
    rec->original_len = original->len;
    snprintf(rec->original_type, sizeof rec->original_type, "%s", type);
    return 0;
}

int feedback_body_parse(const uint8_t *body, size_t len, fb_record *rec, sbuf *original,
                        reply_err *e)
{
    cJSON *root = cJSON_ParseWithLength((const char *)body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return reply_fail(e, 400, "invalid_json", "the body must be a JSON object");
    }
    int st = 0;
    const cJSON *v;
    if (cJSON_GetObjectItemCaseSensitive(root, "instances")) {
        st = reply_fail(e, 400, "bad_request",
                        "POST /v1/feedback takes one image (\"image\" or \"pixels\"), not \"instances\"");
        goto done;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "label");
    rec->label = class_of(v);
    if (rec->label < 0) {
        st = reply_fail(e, 400, "invalid_label", v ? "%s" : "missing label: %s", label_msg);
        goto done;
    }
    rec->prediction = -1;
    v = cJSON_GetObjectItemCaseSensitive(root, "prediction");
    if (v && !cJSON_IsNull(v) && (rec->prediction = class_of(v)) < 0) {
        st = reply_fail(e, 400, "bad_request",
                        "prediction must be a digit 0-9 or \"not_a_digit\" (what the user was shown)");
        goto done;
    }
    rec->model_version[0] = '\0';
    v = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= FB_VERSION_MAX) {
            st = reply_fail(e, 400, "bad_request", "version must be a string of at most %d bytes",
                            FB_VERSION_MAX - 1);
            goto done;
        }
        snprintf(rec->model_version, sizeof rec->model_version, "%s", v->valuestring);
    }
    rec->has_probabilities = 0;
    v = cJSON_GetObjectItemCaseSensitive(root, "probabilities");
    if (v && !cJSON_IsNull(v)) {
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1, k = 0;
        for (const cJSON *p = n == 10 ? v->child : NULL; p; p = p->next, k++) {
            if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble <= 1))
                break;
            rec->probabilities[k] = (float)p->valuedouble;
        }
        if (n != 10 || k != 10) {
            st = reply_fail(e, 400, "bad_request",
                            "probabilities must be 10 numbers in [0, 1] (what the user was shown)");
            goto done;
        }
        rec->has_probabilities = 1;
    }
    st = keep_original(cJSON_GetObjectItemCaseSensitive(root, "image"), body, len, rec, original, e);
done:
    cJSON_Delete(root);
    return st;
}

void feedback_label_json(sbuf *out, int label)
{
    if (label == FB_LABEL_NOT_A_DIGIT)
        sbuf_puts(out, "\"not_a_digit\"");
    else if (label < 0)
        sbuf_puts(out, "null");
    else
        sbuf_json_uint(out, (uint64_t)label);
}
