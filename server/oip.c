/* oip.c: the Open Inference Protocol's REST paths, metadata and
 * inference (oip.h). Requests are parsed with cJSON; tensors are checked
 * whole (name, datatype, shape, element count, every value) before the
 * model runs. */
#include "oip.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/normalize.h"

struct oip_scratch {
    float *in;          /* [n, 784] the model's inputs */
    float *probs;       /* [n, classes] */
    float *digit_score; /* [n] */
    size_t cap;         /* samples the buffers hold */
};

oip_scratch *oip_scratch_create(void) { return calloc(1, sizeof(oip_scratch)); }

void oip_scratch_free(oip_scratch *s)
{
    if (!s)
        return;
    free(s->in);
    free(s->probs);
    free(s->digit_score);
    free(s);
}

/* Room for n samples of `classes` outputs; 0 when memory cannot be had. */
static int reserve(oip_scratch *s, size_t n, uint32_t classes)
{
    if (n <= s->cap)
        return 1;
    float *in = realloc(s->in, n * MN_PIXELS * sizeof(float));
    if (in)
        s->in = in;
    float *pr = realloc(s->probs, n * classes * sizeof(float));
    if (pr)
        s->probs = pr;
    float *ds = realloc(s->digit_score, n * sizeof(float));
    if (ds)
        s->digit_score = ds;
    if (!in || !pr || !ds)
        return 0;
    s->cap = n;
    return 1;
}

/* Copies the path segment at *p (up to '/' or the end) into out; 0 when
 * empty or too long. */
static int segment(const char **p, char *out, size_t cap)
{
    size_t n = strcspn(*p, "/");
    if (n == 0 || n >= cap)
        return 0;
    memcpy(out, *p, n);
    out[n] = 0;
    *p += n;
    return 1;
}

void oip_parse_path(const char *url, oip_path *p)
{
    memset(p, 0, sizeof *p);
    if (strncmp(url, "/v2", 3) || (url[3] && url[3] != '/')) {
        p->route = OIP_NONE;
        return;
    }
    p->route = OIP_UNKNOWN;
    const char *r = url + 3;
    if (!*r || !strcmp(r, "/")) {
        p->route = OIP_SERVER;
        return;
    }
    if (!strcmp(r, "/health/live")) {
        p->route = OIP_LIVE;
        return;
    }
    if (!strcmp(r, "/health/ready")) {
        p->route = OIP_READY;
        return;
    }
    if (strncmp(r, "/models/", 8))
        return;
    r += 8;
    if (!segment(&r, p->name, sizeof p->name))
        return;
    if (!strncmp(r, "/versions/", 10)) {
        r += 10;
        if (!segment(&r, p->version, sizeof p->version))
            return;
    }
    if (!*r)
        p->route = OIP_MODEL;
    else if (!strcmp(r, "/ready"))
        p->route = OIP_MODEL_READY;
    else if (!strcmp(r, "/infer"))
        p->route = OIP_INFER;
}

static void error_v(sbuf *out, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    sbuf_reset(out);
    sbuf_puts(out, "{\"error\":");
    sbuf_json_str(out, msg, strlen(msg));
    sbuf_puts(out, "}\n");
}

void oip_error(sbuf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_v(out, fmt, ap);
    va_end(ap);
}

void oip_ready(const model_set *ms, int ready, sbuf *out)
{
    sbuf_reset(out);
    sbuf_putc(out, '{');
    if (ms) {
        sbuf_puts(out, "\"name\":");
        sbuf_json_str(out, ms->name, strlen(ms->name));
        sbuf_putc(out, ',');
    }
    sbuf_puts(out, ready ? "\"ready\":true}\n" : "\"ready\":false}\n");
}

int oip_check_model(const model_set *ms, const oip_path *p, sbuf *out)
{
    if (strcmp(p->name, ms->name)) {
        oip_error(out, "unknown model \"%.100s\": this server serves \"%.100s\"", p->name, ms->name);
        return 404;
    }
    if (p->version[0] && strcmp(p->version, ms->served_version)) {
        oip_error(out, "unknown version \"%.30s\" of model \"%.100s\": its version is \"%s\"",
                  p->version, ms->name, ms->served_version);
        return 404;
    }
    return 0;
}

void oip_server_metadata(const char *server_version, sbuf *out)
{
    sbuf_reset(out);
    sbuf_puts(out, "{\"name\":\"mnist-server\",\"version\":");
    sbuf_json_str(out, server_version, strlen(server_version));
    sbuf_puts(out, ",\"extensions\":[\"binary_tensor_data\"]}\n");
}

void oip_model_metadata(const model_set *ms, sbuf *out)
{
    sbuf_reset(out);
    sbuf_puts(out, "{\"name\":");
    sbuf_json_str(out, ms->name, strlen(ms->name));
    sbuf_printf(out,
                ",\"versions\":[\"%s\"],\"platform\":\"mnist_c\","
                "\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,784]}],"
                "\"outputs\":[{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[-1,%u]},"
                "{\"name\":\"prediction\",\"datatype\":\"INT64\",\"shape\":[-1]}]}\n",
                ms->served_version, ms->classes);
}

/* The outputs, in the order they are answered. */
enum { OUT_PROBS, OUT_PRED, N_OUT };
static const char *const out_names[N_OUT] = {"probabilities", "prediction"};

/* A parsed request: what the model runs on and what is answered. */
typedef struct {
    const char *id;      /* NULL when none */
    size_t n;            /* samples */
    int uint8;           /* datatype UINT8 (else FP32) */
    const cJSON *data;   /* JSON data, or NULL for binary */
    const uint8_t *bin;  /* binary data (n * 784 elements), or NULL */
    int want[N_OUT];     /* answered */
    int binary[N_OUT];   /* answered as binary data */
} infer_req;

static int fail(sbuf *out, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(sbuf *out, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_v(out, fmt, ap);
    va_end(ap);
    return status;
}

/* A JSON number that is a whole non-negative value up to max; -1 if not. */
static long long whole(const cJSON *v, long long max)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    return (long long)v->valuedouble;
}

/* The input's shape: N samples of 784, 28x28 or 1x28x28. */
static int parse_shape(const cJSON *shape, size_t max_batch, size_t *n, sbuf *out)
{
    int dims = cJSON_GetArraySize(shape);
    long long d[4] = {0};
    if (!cJSON_IsArray(shape) || dims < 2 || dims > 4)
        return fail(out, 400, "input \"input\": shape must be [N,784], [N,28,28] or [N,1,28,28]");
    for (int i = 0; i < dims; i++)
        if ((d[i] = whole(cJSON_GetArrayItem(shape, i), 1LL << 40)) < 0)
            return fail(out, 400, "input \"input\": shape dimension %d is not a non-negative integer", i);
    int ok = (dims == 2 && d[1] == 784) || (dims == 3 && d[1] == 28 && d[2] == 28) ||
             (dims == 4 && d[1] == 1 && d[2] == 28 && d[3] == 28);
    if (!ok)
        return fail(out, 400, "input \"input\": shape must be [N,784], [N,28,28] or [N,1,28,28]");
    if (d[0] < 1)
        return fail(out, 400, "input \"input\": the batch N must be at least 1");
    if ((size_t)d[0] > max_batch)
        return fail(out, 413, "input \"input\": a batch of %lld is over the limit of %zu", d[0], max_batch);
    *n = (size_t)d[0];
    return 0;
}

/* Counts the numbers of a (possibly nested) JSON array; -1 when it holds
 * anything else. */
static long long count_numbers(const cJSON *a, int depth)
{
    if (cJSON_IsNumber(a))
        return 1;
    if (!cJSON_IsArray(a) || depth > 4)
        return -1;
    long long n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
    {
        long long k = count_numbers(v, depth + 1);
        if (k < 0)
            return -1;
        n += k;
    }
    return n;
}

/* Writes the numbers of a into in as the model's inputs, row-major; 400
 * on a value the datatype does not allow. */
static int fill_json(const cJSON *a, int uint8, float *in, size_t *at, sbuf *out)
{
    if (cJSON_IsNumber(a)) {
        double v = a->valuedouble;
        if (uint8 ? (v < 0 || v > 255 || v != floor(v)) : !(isfinite(v) && fabs(v) <= 1e6))
            return fail(out, 400, "input \"input\": element %zu is %g, not %s", *at, v,
                        uint8 ? "an integer 0..255" : "a finite FP32 value");
        in[(*at)++] = uint8 ? (float)v * (1.0f / 255.0f) : (float)v;
        return 0;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
    {
        int st = fill_json(v, uint8, in, at, out);
        if (st)
            return st;
    }
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The binary data as the model's inputs (little-endian, as the extension says). */
static int fill_binary(const infer_req *r, float *in, sbuf *out)
{
    const size_t count = r->n * MN_PIXELS;
    for (size_t i = 0; i < count; i++) {
        if (r->uint8) {
            in[i] = r->bin[i] * (1.0f / 255.0f);
        } else {
            uint32_t u = le32(r->bin + 4 * i);
            float v;
            memcpy(&v, &u, sizeof v);
            if (!(isfinite(v) && fabsf(v) <= 1e6f))
                return fail(out, 400, "input \"input\": element %zu is not a finite FP32 value", i);
            in[i] = v;
        }
    }
    return 0;
}

/* The request's "outputs" and "parameters": what to answer, and how. */
static int parse_outputs(const cJSON *root, infer_req *r, sbuf *out)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    if (params && !cJSON_IsObject(params))
        return fail(out, 400, "\"parameters\" must be an object");
    const cJSON *bdo = cJSON_GetObjectItemCaseSensitive(params, "binary_data_output");
    if (bdo && !cJSON_IsBool(bdo))
        return fail(out, 400, "parameter \"binary_data_output\" must be true or false");
    const int all_binary = cJSON_IsTrue(bdo);
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    if (!outs) {
        for (int k = 0; k < N_OUT; k++)
            r->want[k] = 1, r->binary[k] = all_binary;
        return 0;
    }
    if (!cJSON_IsArray(outs))
        return fail(out, 400, "\"outputs\" must be an array");
    const cJSON *o;
    cJSON_ArrayForEach(o, outs)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (!cJSON_IsString(name))
            return fail(out, 400, "each requested output needs a \"name\"");
        int k = 0;
        while (k < N_OUT && strcmp(name->valuestring, out_names[k]))
            k++;
        if (k == N_OUT)
            return fail(out, 400, "unknown output \"%.60s\": this model's are \"probabilities\" and \"prediction\"",
                        name->valuestring);
        if (r->want[k])
            return fail(out, 400, "output \"%s\" is requested twice", out_names[k]);
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "parameters");
        const cJSON *bd = cJSON_GetObjectItemCaseSensitive(op, "binary_data");
        if ((op && !cJSON_IsObject(op)) || (bd && !cJSON_IsBool(bd)))
            return fail(out, 400, "output \"%s\": parameter \"binary_data\" must be true or false", out_names[k]);
        r->want[k] = 1;
        r->binary[k] = bd ? cJSON_IsTrue(bd) : all_binary;
    }
    return 0;
}

/* The request's one input. */
static int parse_input(const cJSON *root, const uint8_t *bin, size_t bin_len, size_t max_batch,
                       infer_req *r, sbuf *out)
{
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) != 1)
        return fail(out, 400, "\"inputs\" must be an array of one input, \"input\"");
    const cJSON *in = cJSON_GetArrayItem(inputs, 0);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
    if (!cJSON_IsString(name) || strcmp(name->valuestring, "input"))
        return fail(out, 400, "unknown input \"%.60s\": this model's input is \"input\"",
                    cJSON_IsString(name) ? name->valuestring : "");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(in, "datatype");
    if (!cJSON_IsString(dt) || (strcmp(dt->valuestring, "UINT8") && strcmp(dt->valuestring, "FP32")))
        return fail(out, 400, "input \"input\": datatype must be \"FP32\" (pixels / 255) or \"UINT8\" (pixels 0-255)");
    r->uint8 = !strcmp(dt->valuestring, "UINT8");
    int st = parse_shape(cJSON_GetObjectItemCaseSensitive(in, "shape"), max_batch, &r->n, out);
    if (st)
        return st;
    const size_t count = r->n * MN_PIXELS, bytes = count * (r->uint8 ? 1 : 4);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(in, "parameters");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(params, "binary_data_size");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
    if (size) {
        long long b = whole(size, 1LL << 40);
        if (data)
            return fail(out, 400, "input \"input\" has both \"data\" and binary data");
        if (b < 0 || (size_t)b != bytes)
            return fail(out, 400, "input \"input\": binary_data_size must be %zu for its shape and datatype", bytes);
        if (bin_len != bytes)
            return fail(out, 400, "the body holds %zu bytes of binary data after its JSON; input \"input\" needs %zu",
                        bin_len, bytes);
        r->bin = bin;
        return 0;
    }
    if (bin_len)
        return fail(out, 400, "%zu bytes follow the JSON but no input has binary_data_size", bin_len);
    long long k = data ? count_numbers(data, 0) : -1;
    if (k < 0)
        return fail(out, 400, "input \"input\": \"data\" must be an array of numbers (or give binary_data_size)");
    if ((size_t)k != count)
        return fail(out, 400, "input \"input\": %lld elements for a shape of %zu", k, count);
    r->data = data;
    return 0;
}

/* The answer: JSON, then the binary outputs in order. */
static void render(const predict_env *env, const oip_scratch *s, const infer_req *r, sbuf *out,
                   long *json_len)
{
    const model_set *ms = env->models;
    const uint32_t C = ms->classes;
    sbuf_reset(out);
    sbuf_reserve(out, 256 + r->n * (C * 16 + 8));
    sbuf_puts(out, "{\"model_name\":");
    sbuf_json_str(out, ms->name, strlen(ms->name));
    sbuf_puts(out, ",\"model_version\":");
    sbuf_json_str(out, ms->served_version, strlen(ms->served_version));
    if (r->id) {
        sbuf_puts(out, ",\"id\":");
        sbuf_json_str(out, r->id, strlen(r->id));
    }
    sbuf_puts(out, ",\"outputs\":[");
    int first = 1, any_binary = 0;
    for (int k = 0; k < N_OUT; k++) {
        if (!r->want[k])
            continue;
        sbuf_puts(out, first ? "{" : ",{");
        first = 0;
        if (k == OUT_PROBS)
            sbuf_printf(out, "\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[%zu,%u]", r->n, C);
        else
            sbuf_printf(out, "\"name\":\"prediction\",\"datatype\":\"INT64\",\"shape\":[%zu]", r->n);
        if (r->binary[k]) {
            any_binary = 1;
            sbuf_printf(out, ",\"parameters\":{\"binary_data_size\":%zu}}", r->n * (k == OUT_PROBS ? C * 4 : 8));
            continue;
        }
        sbuf_puts(out, ",\"data\":[");
        for (size_t i = 0; i < r->n; i++) {
            const float *p = s->probs + i * C;
            if (k == OUT_PROBS) {
                for (uint32_t c = 0; c < C; c++)
                    sbuf_printf(out, i || c ? ",%.9g" : "%.9g", (double)p[c]);
            } else {
                sbuf_printf(out, i ? ",%d" : "%d", predict_class_of(p, C));
            }
        }
        sbuf_puts(out, "]}");
    }
    sbuf_puts(out, "]}");
    *json_len = any_binary ? (long)out->len : -1;
    for (int k = 0; k < N_OUT; k++) {
        if (!r->want[k] || !r->binary[k])
            continue;
        for (size_t i = 0; i < r->n; i++) {
            const float *p = s->probs + i * C;
            uint8_t b[8];
            if (k == OUT_PROBS) {
                for (uint32_t c = 0; c < C; c++) {
                    uint32_t u;
                    memcpy(&u, &p[c], 4);
                    for (int j = 0; j < 4; j++)
                        b[j] = (uint8_t)(u >> (8 * j));
                    sbuf_put(out, b, 4);
                }
            } else {
                const int best = predict_class_of(p, C);
                memset(b, 0, sizeof b);
                b[0] = (uint8_t)best;
                b[1] = (uint8_t)(best >> 8);
                sbuf_put(out, b, 8);
            }
        }
    }
    if (!any_binary)
        sbuf_putc(out, '\n');
}

int oip_infer(const predict_env *env, predict_scratch *ps, oip_scratch *s, const uint8_t *body,
              size_t len, long header_len, sbuf *out, long *json_len)
{
    *json_len = -1;
    if (header_len > (long)len)
        return fail(out, 400, "Inference-Header-Content-Length is %ld but the body has %zu bytes", header_len, len);
    const size_t hlen = header_len >= 0 ? (size_t)header_len : len;
    if (hlen == 0)
        return fail(out, 400, "the request is empty: send an inference request JSON object");
    cJSON *root = cJSON_ParseWithLength((const char *)body, hlen);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(out, 400, "the request is not a JSON object%s",
                    header_len < 0 ? " (binary data after the JSON needs Inference-Header-Content-Length)" : "");
    }
    infer_req r;
    memset(&r, 0, sizeof r);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    int st = 0;
    if (id && !cJSON_IsString(id))
        st = fail(out, 400, "\"id\" must be a string");
    r.id = id ? id->valuestring : NULL;
    const size_t max_batch = env->max_batch > 0 ? (size_t)env->max_batch : 1;
    if (!st)
        st = parse_input(root, body + hlen, len - hlen, max_batch, &r, out);
    if (!st)
        st = parse_outputs(root, &r, out);
    if (!st && !reserve(s, r.n, env->models->classes))
        st = fail(out, 503, "out of memory for a batch of %zu", r.n);
    size_t at = 0;
    if (!st)
        st = r.data ? fill_json(r.data, r.uint8, s->in, &at, out) : fill_binary(&r, s->in, out);
    if (!st) {
        predict_forward_floats(env, ps, s->in, r.n, s->probs, s->digit_score);
        render(env, s, &r, out, json_len);
    }
    cJSON_Delete(root);
    return st ? st : 200;
}
