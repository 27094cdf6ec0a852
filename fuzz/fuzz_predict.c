/* fuzz_predict.c: libFuzzer target for the whole POST /predict path as a
 * pure function of (Content-Type, query, body): predict_run with the
 * reference architecture. Input: the Content-Type line, a query line
 * ("input=1&preprocess=none"), then the body. The answer must be valid
 * JSON with a status API.md lists: a prediction with finite probabilities
 * for 200, an error object carrying the same status otherwise.
 * fuzz_read.c builds this file with FUZZ_READ 1: the same for POST
 * /v1/read, whose 200 is a text of at most MAX_DIGITS digits, each a
 * prediction with a box. fuzz_explain.c builds it with FUZZ_EXPLAIN 1:
 * POST /v1/explain (query also "class=V&layers=V"), whose 200 adds 784
 * finite saliencies and feature maps whose bytes match their shapes.
 * fuzz_oip.c builds it with FUZZ_OIP 1: the Open Inference Protocol's
 * inference (oip_infer); the query line is then the
 * Inference-Header-Content-Length ("" for none) and the answer must be
 * the spec's: outputs, or {"error": message}. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnist/mnist.h"
#include "oip.h"
#include "predict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BATCH 8
#define MAX_DIGITS 6
#ifndef FUZZ_READ
#define FUZZ_READ 0
#endif
#ifndef FUZZ_EXPLAIN
#define FUZZ_EXPLAIN 0
#endif
#ifndef FUZZ_OIP
#define FUZZ_OIP 0
#endif

static model_set models;
static predict_env env;
static predict_scratch *scratch;
#if FUZZ_OIP
static oip_scratch *oip;
#endif
static sbuf out;

/* A reference-architecture model with seeded weights, loaded through the
 * server's own model_set_load from a temporary file. */
static void setup(void)
{
    char path[64], err[512];
    snprintf(path, sizeof path, "/tmp/fuzz_predict_%ld.bin", (long)getpid());
    mn_arch a;
    mn_model *m;
    mn_error me;
    mn_arch_reference(&a);
    if (mn_model_create(&a, &m, &me) != MN_OK)
        abort();
    mn_model_init_glorot(m, 1);
    mn_model_set_meta(m, "{\"name\":\"fuzz\"}", &me);
    if (mn_model_save(m, path, NULL, &me) != MN_OK)
        abort();
    mn_model_free(m);
    if (model_set_load(&models, path, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_predict: %s\n", err);
        abort();
    }
    unlink(path);
    env = (predict_env){&models, 1u << 20, MAX_BATCH, MAX_DIGITS};
    scratch = predict_scratch_create(&env, 0, MAX_BATCH, err, sizeof err);
#if FUZZ_OIP
    oip = oip_scratch_create();
    if (!oip)
        abort();
#endif
    if (!scratch)
        abort();
}

#if FUZZ_OIP
/* An Open Inference Protocol answer: outputs whose shapes fit their
 * data (JSON) or their binary sizes (which add up to what follows the
 * JSON part), or the spec's error object. */
static void check_oip(int status, const char *body, size_t len, long json_len)
{
    if (status != 200 && status != 400 && status != 413 && status != 503)
        abort();
    size_t n = json_len >= 0 ? (size_t)json_len : len;
    if (n > len || (status != 200 && json_len >= 0))
        abort();
    cJSON *root = cJSON_ParseWithLength(body, n);
    if (!root)
        abort();
    if (status != 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (!cJSON_IsString(e) || !e->valuestring[0] || cJSON_GetArraySize(root) != 1)
            abort();
        cJSON_Delete(root);
        return;
    }
    size_t binary = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "outputs"))
    {
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(o, "shape");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "parameters"),
                                                             "binary_data_size");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
        size_t count = 1;
        const cJSON *d;
        cJSON_ArrayForEach(d, shape) count *= (size_t)d->valuedouble;
        if (size)
            binary += (size_t)size->valuedouble;
        else if (!cJSON_IsArray(data) || (size_t)cJSON_GetArraySize(data) != count)
            abort();
    }
    if (binary != len - n)
        abort();
    cJSON_Delete(root);
}
#endif

/* Copies the line starting at *p (up to '\n' or end) into a NUL-terminated
 * buffer and advances *p past it; returns NULL when no '\n' ends it. */
static char *take_line(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl || (size_t)(nl - *p) >= cap || memchr(*p, 0, (size_t)(nl - *p)))
        return NULL;
    memcpy(buf, *p, (size_t)(nl - *p));
    buf[nl - *p] = 0;
    *p = nl + 1;
    return buf;
}

#if !FUZZ_OIP
static void check_answer(int status, const char *json, size_t len)
{
    if (status != 200 && status != 400 && status != 413 && status != 415 && status != 503)
        abort();
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        abort(); /* every answer is JSON */
    if (status == 200 && FUZZ_READ) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
        const cJSON *digits = cJSON_GetObjectItemCaseSensitive(root, "digits");
        int n = cJSON_GetArraySize(digits);
        if (!cJSON_IsString(text) || !cJSON_IsArray(digits) || n < 1 || n > MAX_DIGITS ||
            strlen(text->valuestring) != (size_t)n)
            abort();
        const cJSON *d;
        cJSON_ArrayForEach(d, digits)
        {
            const cJSON *box = cJSON_GetObjectItemCaseSensitive(d, "box");
            const cJSON *pred = cJSON_GetObjectItemCaseSensitive(d, "prediction");
            if (!cJSON_IsArray(box) || cJSON_GetArraySize(box) != 4 || !cJSON_IsNumber(pred))
                abort();
            const cJSON *v;
            cJSON_ArrayForEach(v, box)
            {
                if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1 << 20)
                    abort();
            }
        }
    } else if (status == 200 && FUZZ_EXPLAIN) {
        const cJSON *sal = cJSON_GetObjectItemCaseSensitive(root, "saliency");
        const cJSON *maps = cJSON_GetObjectItemCaseSensitive(root, "feature_maps");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "explained_class");
        if (!cJSON_IsArray(sal) || cJSON_GetArraySize(sal) != 784 || !cJSON_IsArray(maps) ||
            !cJSON_IsNumber(k) || k->valueint < 0 || k->valueint > 9 ||
            cJSON_GetObjectItemCaseSensitive(root, "predictions"))
            abort();
        const cJSON *v;
        cJSON_ArrayForEach(v, sal)
        {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                abort();
        }
        cJSON_ArrayForEach(v, maps)
        {
            const cJSON *shape = cJSON_GetObjectItemCaseSensitive(v, "shape");
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
            if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 3 || !cJSON_IsString(data))
                abort();
            size_t n = 1;
            const cJSON *d;
            cJSON_ArrayForEach(d, shape) n *= (size_t)d->valueint;
            if (strlen(data->valuestring) != (n + 2) / 3 * 4)
                abort();
        }
    } else if (status == 200) {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "predictions");
        const cJSON *one = items ? cJSON_GetArrayItem(items, 0) : root;
        const cJSON *probs = cJSON_GetObjectItemCaseSensitive(one, "probabilities");
        const cJSON *pred = cJSON_GetObjectItemCaseSensitive(one, "prediction");
        if (!cJSON_IsArray(probs) || cJSON_GetArraySize(probs) != 10 || !cJSON_IsNumber(pred) ||
            pred->valueint < 0 || pred->valueint > 9)
            abort();
        const cJSON *p;
        cJSON_ArrayForEach(p, probs)
        {
            if (!cJSON_IsNumber(p) || !isfinite(p->valuedouble) || p->valuedouble < 0 ||
                p->valuedouble > 1)
                abort();
        }
    } else {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "status");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (!cJSON_IsNumber(s) || s->valueint != status || !cJSON_IsString(c) ||
            !cJSON_IsString(m) || !m->valuestring[0])
            abort();
    }
    cJSON_Delete(root);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scratch)
        setup();
    const uint8_t *p = data, *end = data + size;
    char ct[256], query[256];
    if (!take_line(&p, end, ct, sizeof ct) || !take_line(&p, end, query, sizeof query))
        return 0;
    predict_request r = {.content_type = ct[0] ? ct : NULL, .read = FUZZ_READ, .explain = FUZZ_EXPLAIN};
    /* "input=V&preprocess=V&class=V&layers=V", each part optional. */
    for (char *tok = strtok(query, "&"); tok; tok = strtok(NULL, "&")) {
        if (!strncmp(tok, "input=", 6))
            r.q_input = tok + 6;
        else if (!strncmp(tok, "preprocess=", 11))
            r.q_preprocess = tok + 11;
        else if (!strncmp(tok, "class=", 6))
            r.q_class = tok + 6;
        else if (!strncmp(tok, "layers=", 7))
            r.q_layers = tok + 7;
    }
    size_t len = (size_t)(end - p);
    uint8_t *body = malloc(len ? len : 1); /* its own block: overreads are caught */
    if (!body)
        return 0;
    memcpy(body, p, len);
    r.body = body;
    r.len = len;
#if FUZZ_OIP
    long json_len, header_len = query[0] ? strtol(query, NULL, 10) : -1;
    int status = oip_infer(&env, scratch, oip, body, len, header_len < -1 ? -1 : header_len, &out, &json_len);
    check_oip(status, out.p, out.len, json_len);
    (void)r; /* the query line is the header length here */
#else
    int status = predict_run(&env, scratch, &r, &out);
    check_answer(status, out.p, out.len);
#endif
    free(body);
    sbuf_shrink(&out, 1 << 16);
    return 0;
}
