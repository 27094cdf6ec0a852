/* predict.c: POST /predict and POST /v1/read from bytes to JSON. Chooses
 * the body parser by media type, decodes images, applies the MNIST
 * normalisation of core/normalize.c (for /v1/read, the digits of
 * core/segment.c), runs the model set and renders the answer. Knows
 * nothing of sockets or threads; all memory is the caller's scratch. */
#include "predict.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base64.h"
#include "body_json.h"
#include "body_multipart.h"
#include "image_decode.h"
#include "mnist/normalize.h"
#include "mnist/segment.h"

const char predict_accepted_types[] =
    "image/png, image/jpeg, image/gif, image/bmp, image/x-portable-graymap, "
    "image/x-portable-pixmap, application/octet-stream (784 bytes), multipart/form-data, "
    "application/json";

enum { PRE_DEFAULT, PRE_NONE, PRE_MNIST };

static const char read_batch_msg[] =
    "POST /v1/read reads one image; a batch (\"instances\") is for POST /predict";
static const char explain_batch_msg[] =
    "POST /v1/explain explains one image; a batch (\"instances\") is for POST /predict";

struct predict_scratch {
    uint8_t *pixels;  /* [cap, 784] the model's view of each item */
    mn_box *boxes;    /* [cap] where each /v1/read digit is in its image */
    uint8_t *several; /* [cap] the image holds several digit-sized pieces side by side */
    float *probs;     /* [cap, classes] calibrated */
    float *digit_score; /* [cap] */
    float *input;     /* [chunk, 784] */
    size_t cap, n, forwarded;
    int chunk;
    float saliency[MN_PIXELS]; /* the last explained item's */
    uint8_t *maps;    /* one convolution's feature maps as bytes, the largest */
    int explained;    /* the class it explains */
    uint8_t *b64;     /* base64 decode buffer, grown as needed */
    size_t b64_cap;
    model_ws ws;
};

static int media_is(const char *ct, size_t n, const char *type)
{
    return strlen(type) == n && strncasecmp(ct, type, n) == 0;
}

predict_media predict_media_of(const char *ct)
{
    if (!ct)
        return MEDIA_NONE;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = 0;
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
        n++;
    if (n == 0)
        return MEDIA_NONE;
    static const char *const images[] = {
        "image/png", "image/x-png", "image/apng", "image/jpeg", "image/jpg", "image/pjpeg",
        "image/gif", "image/bmp", "image/x-bmp", "image/x-ms-bmp", "image/x-portable-graymap",
        "image/x-portable-pixmap", "image/x-portable-anymap", "image/x-portable-bitmap"};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        if (media_is(ct, n, images[i]))
            return MEDIA_IMAGE;
    if (media_is(ct, n, "application/octet-stream"))
        return MEDIA_RAW;
    if (media_is(ct, n, "multipart/form-data"))
        return MEDIA_MULTIPART;
    if (media_is(ct, n, "application/json"))
        return MEDIA_JSON;
    return MEDIA_UNSUPPORTED;
}

#define DEFAULT_MAX_DIGITS 32

static int max_digits(const predict_env *env)
{
    return env->max_digits > 0 ? env->max_digits : DEFAULT_MAX_DIGITS;
}

size_t predict_items_max(const predict_env *env)
{
    int d = max_digits(env);
    return (size_t)(env->max_batch > d ? env->max_batch : d);
}

predict_scratch *predict_scratch_create(const predict_env *env, int extra_items, int chunk,
                                        char *err, size_t errlen)
{
    predict_scratch *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cap = predict_items_max(env) + (size_t)(extra_items > 0 ? extra_items : 0);
    s->chunk = chunk < 1 ? 1 : chunk;
    s->pixels = malloc(s->cap * MN_PIXELS);
    s->boxes = malloc(s->cap * sizeof *s->boxes);
    s->probs = malloc(s->cap * env->models->classes * sizeof(float));
    s->digit_score = malloc(s->cap * sizeof(float));
    s->input = malloc((size_t)s->chunk * MN_PIXELS * sizeof(float));
    s->several = malloc(s->cap);
    if (!s->pixels || !s->boxes || !s->several || !s->probs || !s->digit_score || !s->input) {
        snprintf(err, errlen, "out of memory for a worker's scratch (%zu items)", s->cap);
        predict_scratch_free(s);
        return NULL;
    }
    if (model_ws_create(env->models, s->chunk, &s->ws, err, errlen) != 0) {
        predict_scratch_free(s);
        return NULL;
    }
    /* room for the largest layer output of the first model, which holds
     * any convolution's feature maps an explanation shows */
    size_t largest = 1;
    const mn_arch *arch = mn_model_arch(env->models->ens.m[0]);
    for (uint32_t i = 0; i < arch->n_layers; i++) {
        const mn_shape sh = mn_arch_shape(arch, i);
        largest = (size_t)sh.c * sh.h * sh.w > largest ? (size_t)sh.c * sh.h * sh.w : largest;
    }
    if (!(s->maps = malloc(largest))) {
        snprintf(err, errlen, "out of memory for a worker's feature maps");
        predict_scratch_free(s);
        return NULL;
    }
    return s;
}

void predict_scratch_free(predict_scratch *s)
{
    if (!s)
        return;
    model_ws_free(&s->ws);
    free(s->pixels);
    free(s->boxes);
    free(s->probs);
    free(s->digit_score);
    free(s->several);
    free(s->input);
    free(s->b64);
    free(s->maps);
    free(s);
}

void predict_begin(predict_scratch *s) { s->n = s->forwarded = 0; }

size_t predict_room(const predict_scratch *s) { return s->cap - s->n; }

/* What the parsers need while handing items over. */
typedef struct {
    const predict_env *env;
    predict_scratch *s;
    int pre;
    int read;           /* /v1/read: an image is a number of digits */
    int explain;        /* /v1/explain: one image */
    const int *batched; /* set by the JSON parser before its first item */
} parse_ctx;

static int normalize_status(mn_status st, const mn_error *me, const char *path, const char *code,
                            reply_err *e)
{
    if (st == MN_ERR_NOINK)
        return reply_fail(e, 400, code, "%sno ink found: the image is blank", path);
    if (st == MN_ERR_NOMEM)
        return reply_fail(e, 503, "overloaded", "%sout of memory while normalising", path);
    if (st == MN_ERR_LIMIT)
        return reply_fail(e, 413, "payload_too_large", "%s%s", path, me->msg);
    return reply_fail(e, 400, code, "%s%s", path, me->msg);
}

/* Encoded image bytes -> the item's 784 pixels. */
static int add_image(parse_ctx *c, const uint8_t *data, size_t len, const char *path,
                     reply_err *e)
{
    img_decoded img;
    int st = img_decode(data, len, c->env->max_pixels, &img, e);
    if (st) {
        reply_prefix(e, path); /* the item's position, if any */
        return st;
    }
    uint8_t *out = c->s->pixels + c->s->n * MN_PIXELS;
    mn_error me;
    mn_status ms;
    int n = 1;
    if (c->pre == PRE_NONE) {
        if (img.w != MN_SIDE || img.h != MN_SIDE) {
            reply_fail(e, 400, "invalid_image",
                       "%spreprocess=none needs a 28x28 image, got %dx%d", path, img.w, img.h);
            img_free(&img);
            return 400;
        }
        ms = mn_image_to_mnist_plain(img.pix, img.w, img.h, img.channels, out, &me);
    } else if (c->read) {
        /* The digits go into consecutive items; the room for
         * max_digits of them was checked before parsing. */
        ms = mn_segment_image(img.pix, img.w, img.h, img.channels, max_digits(c->env),
                              c->s->boxes + c->s->n, (uint8_t(*)[MN_PIXELS])out, &n, &me);
    } else {
        /* The digits side by side are counted from the same ink map. */
        int pieces = 0;
        ms = mn_normalize_image_count(img.pix, img.w, img.h, img.channels, out, &pieces, &me);
        c->s->several[c->s->n] = pieces >= 2;
    }
    if (!c->read || c->pre == PRE_NONE)
        c->s->boxes[c->s->n] = (mn_box){0, 0, img.w, img.h};
    img_free(&img);
    if (ms != MN_OK)
        return normalize_status(ms, &me, path, "invalid_image", e);
    if (c->read || c->pre == PRE_NONE)
        memset(c->s->several + c->s->n, 0, (size_t)n);
    c->s->n += (size_t)n;
    return 0;
}

/* 784 pixels in MNIST convention -> the item (normalised on request). */
static int add_pixels(parse_ctx *c, const uint8_t *px, const char *path, reply_err *e)
{
    uint8_t *out = c->s->pixels + c->s->n * MN_PIXELS;
    if (c->pre == PRE_MNIST) {
        mn_error me;
        mn_status ms = mn_normalize_mnist(px, out, &me);
        if (ms != MN_OK)
            return normalize_status(ms, &me, path, "invalid_pixels", e);
    } else if (out != px) {
        memcpy(out, px, MN_PIXELS);
    }
    c->s->boxes[c->s->n] = (mn_box){0, 0, MN_SIDE, MN_SIDE};
    c->s->several[c->s->n] = 0;
    c->s->n++;
    return 0;
}

static int json_item(void *ctx, size_t index, const char *path, const jbody_item *it,
                     reply_err *e)
{
    (void)index;
    parse_ctx *c = ctx;
    if ((c->read || c->explain) && *c->batched) /* refused before any item is decoded */
        return reply_fail(e, 400, "bad_request", "%s", c->read ? read_batch_msg : explain_batch_msg);
    if (!it->is_image)
        return add_pixels(c, it->pixels, path, e);
    const char *payload;
    size_t plen;
    int st = dataurl_payload(it->str, it->str_len, &payload, &plen, e);
    if (st)
        return st;
    if (plen == 0)
        return reply_fail(e, 400, "invalid_image", "%simage is an empty string", path);
    size_t need = b64_decoded_max(plen);
    if (need > c->s->b64_cap) {
        uint8_t *nb = realloc(c->s->b64, need);
        if (!nb)
            return reply_fail(e, 503, "overloaded", "out of memory for a base64 image");
        c->s->b64 = nb;
        c->s->b64_cap = need;
    }
    size_t blen = 0;
    st = b64_decode(payload, plen, c->s->b64, &blen, e);
    if (st) {
        char pre[64];
        snprintf(pre, sizeof pre, "%simage: ", path);
        reply_prefix(e, pre);
        return st;
    }
    return add_image(c, c->s->b64, blen, path, e);
}

static int parse_query(const predict_request *r, predict_parsed *p, int *pre)
{
    *pre = PRE_DEFAULT;
    p->want_input = 0;
    if (r->q_input) {
        const char *v = r->q_input;
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, ""))
            p->want_input = 1;
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
            p->want_input = 0;
        else
            return reply_fail(&p->err, 400, "bad_request",
                              "query parameter input must be 1 or 0, got \"%.40s\"", v);
    }
    if (r->q_preprocess) {
        const char *v = r->q_preprocess;
        if (!strcasecmp(v, "none"))
            *pre = PRE_NONE;
        else if (!strcasecmp(v, "mnist"))
            *pre = PRE_MNIST;
        else
            return reply_fail(&p->err, 400, "bad_request",
                              "query parameter preprocess must be none or mnist, got \"%.40s\"", v);
    }
    return 0;
}

/* Convolutions of the set's (first) model: the feature maps there are. */
static int conv_count(const predict_env *env)
{
    const mn_arch *a = mn_model_arch(env->models->ens.m[0]);
    int n = 0;
    for (uint32_t i = 0; i < a->n_layers; i++)
        n += a->layers[i].kind == MN_LAYER_CONV2D;
    return n;
}

/* ?class= (a served class's index or label) and ?layers= ("all", "none"
 * or convolution indices from 0, comma-separated). */
static int parse_explain_query(const predict_env *env, const predict_request *r, predict_parsed *p)
{
    const model_set *ms = env->models;
    p->explain_class = -1;
    if (r->q_class) {
        const char *v = r->q_class;
        char *end;
        long k = strtol(v, &end, 10);
        if (*v && !*end && k >= 0 && k < (long)ms->classes)
            p->explain_class = (int)k;
        for (uint32_t c = 0; p->explain_class < 0 && c < ms->classes; c++)
            if (!strcasecmp(v, ms->labels[c]))
                p->explain_class = (int)c;
        if (p->explain_class < 0)
            return reply_fail(&p->err, 400, "bad_request",
                              "query parameter class must be a class index 0..%u or one of the "
                              "model's labels, got \"%.40s\"",
                              ms->classes - 1, v);
    }
    const int n = conv_count(env);
    const uint32_t all = n >= 32 ? 0xffffffffu : (1u << n) - 1;
    p->layers = all;
    const char *v = r->q_layers;
    if (!v || !strcasecmp(v, "all"))
        return 0;
    p->layers = 0;
    if (!strcasecmp(v, "none"))
        return 0;
    for (const char *q = v; *q;) {
        char *end;
        long i = strtol(q, &end, 10);
        if (end == q || i < 0 || i >= n || (*end && *end != ','))
            return reply_fail(&p->err, 400, "bad_request",
                              "query parameter layers must be all, none or convolution indices "
                              "0..%d separated by commas, got \"%.40s\"",
                              n - 1, v);
        p->layers |= 1u << i;
        q = *end ? end + 1 : end;
    }
    return 0;
}

int predict_parse(const predict_env *env, predict_scratch *s, const predict_request *r,
                  predict_parsed *p)
{
    memset(p, 0, sizeof *p);
    p->first = s->n;
    parse_ctx c = {env, s, PRE_DEFAULT, r->read, r->explain, &p->batched};
    p->read = r->read;
    p->explain = r->explain;
    int st = parse_query(r, p, &c.pre);
    if (!st && r->explain)
        st = parse_explain_query(env, r, p);
    if (st)
        goto fail;
    predict_media media = predict_media_of(r->content_type);
    if (media == MEDIA_NONE || media == MEDIA_UNSUPPORTED) {
        if (media == MEDIA_NONE)
            st = reply_fail(&p->err, 415, "unsupported_media_type",
                            "missing Content-Type; accepted: %s", predict_accepted_types);
        else
            st = reply_fail(&p->err, 415, "unsupported_media_type",
                            "unsupported Content-Type \"%.60s\"; accepted: %s", r->content_type,
                            predict_accepted_types);
        goto fail;
    }
    if (r->len == 0) {
        st = reply_fail(&p->err, 400, "empty_body",
                        "the request body is empty: send an image, 784 raw bytes or JSON");
        goto fail;
    }
    if (predict_room(s) < predict_items_max(env)) {
        st = reply_fail(&p->err, 503, "overloaded", "no room left in this batch");
        goto fail;
    }
    switch (media) {
    case MEDIA_RAW:
        if (r->len != MN_PIXELS) {
            st = reply_fail(&p->err, 400, "invalid_pixels",
                            "application/octet-stream body must be exactly 784 bytes (28x28 "
                            "greyscale), got %zu",
                            r->len);
            goto fail;
        }
        st = add_pixels(&c, r->body, "", &p->err);
        break;
    case MEDIA_IMAGE:
        st = add_image(&c, r->body, r->len, "", &p->err);
        break;
    case MEDIA_MULTIPART: {
        const uint8_t *part;
        size_t plen;
        st = mpart_find_image(r->body, r->len, r->content_type, &part, &plen, &p->err);
        if (!st) {
            if (plen == 0)
                st = reply_fail(&p->err, 400, "empty_body", "the image part is empty (0 bytes)");
            else
                st = add_image(&c, part, plen, "", &p->err);
        }
        break;
    }
    case MEDIA_JSON:
        st = jbody_parse(r->body, r->len, env->max_batch, json_item, &c, &p->batched, &p->err);
        if ((r->read || r->explain) && p->batched) /* also when the batch was refused as too large */
            st = reply_fail(&p->err, 400, "bad_request", "%s",
                            r->read ? read_batch_msg : explain_batch_msg);
        break;
    default:
        break;
    }
    if (st)
        goto fail;
    p->count = s->n - p->first;
    return 0;
fail:
    s->n = p->first; /* drop this request's partial items */
    p->status = st;
    return st;
}

void predict_forward(const predict_env *env, predict_scratch *s)
{
    uint32_t classes = env->models->classes;
    while (s->forwarded < s->n) {
        size_t k = s->n - s->forwarded;
        if (k > (size_t)s->chunk)
            k = (size_t)s->chunk;
        for (size_t i = 0; i < k; i++)
            mn_pixels_to_input(s->pixels + (s->forwarded + i) * MN_PIXELS, s->input + i * MN_PIXELS);
        model_set_forward(env->models, &s->ws, s->input, (int)k,
                          s->probs + s->forwarded * classes, s->digit_score + s->forwarded);
        s->forwarded += k;
    }
}

void predict_forward_floats(const predict_env *env, predict_scratch *s, const float *in, size_t n,
                            float *probs, float *digit_score)
{
    const uint32_t classes = env->models->classes;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < (size_t)s->chunk ? n - done : (size_t)s->chunk;
        model_set_forward(env->models, &s->ws, in + done * MN_PIXELS, (int)k, probs + done * classes,
                          digit_score + done);
        done += k;
    }
}

int predict_class_of(const float *probs, uint32_t classes)
{
    int best = 0;
    for (uint32_t c = 1; c < classes; c++)
        if (probs[c] > probs[best])
            best = (int)c;
    return best;
}

const uint8_t *predict_item_pixels(const predict_scratch *s, size_t i)
{
    return s->pixels + i * MN_PIXELS;
}

int predict_item_class(const predict_env *env, const predict_scratch *s, size_t i)
{
    uint32_t classes = env->models->classes;
    return predict_class_of(s->probs + i * classes, classes);
}

mn_verdict predict_item_verdict(const predict_env *env, const predict_scratch *s, size_t i)
{
    const float *pr = s->probs + i * env->models->classes;
    mn_verdict v = mn_verdict_of(&env->models->ens.calib, pr[predict_item_class(env, s, i)], s->digit_score[i]);
    /* Pieces side by side that the model, seeing them as one, does not
     * read as one digit: a number. A digit drawn in separate strokes
     * stays a digit, since the model reads it. */
    return v != MN_VERDICT_DIGIT && s->several[i] ? MN_VERDICT_SEVERAL_DIGITS : v;
}

int predict_item_is_digit(const predict_env *env, const predict_scratch *s, size_t i)
{
    return predict_item_verdict(env, s, i) != MN_VERDICT_NOT_A_DIGIT;
}

void predict_render_item(const predict_env *env, const predict_scratch *s, size_t i,
                         int want_input, sbuf *out)
{
    uint32_t classes = env->models->classes;
    const float *pr = s->probs + i * classes;
    int best = predict_item_class(env, s, i);
    sbuf_puts(out, "\"prediction\":");
    sbuf_json_uint(out, (unsigned)best);
    sbuf_puts(out, ",\"label\":");
    const char *label = env->models->labels[best];
    sbuf_json_str(out, label, strlen(label));
    sbuf_puts(out, ",\"confidence\":");
    sbuf_json_num(out, pr[best]);
    sbuf_puts(out, ",\"probabilities\":[");
    for (uint32_t c = 0; c < classes; c++) {
        if (c)
            sbuf_putc(out, ',');
        sbuf_json_num(out, pr[c]);
    }
    sbuf_putc(out, ']');
    sbuf_puts(out, ",\"verdict\":\"");
    sbuf_puts(out, mn_verdict_name(predict_item_verdict(env, s, i)));
    sbuf_puts(out, "\",\"digit_score\":");
    sbuf_json_num(out, s->digit_score[i]);
    if (want_input) {
        sbuf_puts(out, ",\"input\":[");
        const uint8_t *px = s->pixels + i * MN_PIXELS;
        for (int j = 0; j < MN_PIXELS; j++) {
            if (j)
                sbuf_putc(out, ',');
            sbuf_json_uint(out, px[j]);
        }
        sbuf_putc(out, ']');
    }
}

int predict_explain(const predict_env *env, predict_scratch *s, predict_parsed *p)
{
    if (p->status || !p->explain || p->count != 1)
        return p->status;
    s->explained = p->explain_class >= 0 ? p->explain_class : predict_item_class(env, s, p->first);
    mn_pixels_to_input(s->pixels + p->first * MN_PIXELS, s->input);
    if (model_set_explain(env->models, &s->ws, s->input, s->explained, s->saliency) != 0)
        return p->status = reply_fail(&p->err, 500, "internal",
                                      "this model cannot be explained: its batch-norm layers are "
                                      "not folded into its convolutions");
    return 0;
}

/* An upper bound of render_explanation's bytes, to reserve them at once. */
static size_t explanation_bytes(const predict_scratch *s, const predict_parsed *p)
{
    size_t n = 256 + MN_PIXELS * 14;
    for (int i = 0; i < mn_explain_conv_count(s->ws.ex[0]); i++) {
        mn_shape sh;
        mn_explain_conv_output(s->ws.ex[0], i, &sh, NULL);
        if (p->layers >> i & 1)
            n += 256 + sh.c * 14 + ((size_t)sh.c * sh.h * sh.w + 2) / 3 * 4;
    }
    return n;
}

/* ,"explained_class":k,"saliency":[784],"feature_maps":[{...},...] */
static void render_explanation(const predict_env *env, const predict_scratch *s,
                               const predict_parsed *p, sbuf *out)
{
    sbuf_puts(out, ",\"explained_class\":");
    sbuf_json_uint(out, (unsigned)s->explained);
    sbuf_puts(out, ",\"explained_label\":");
    const char *label = env->models->labels[s->explained];
    sbuf_json_str(out, label, strlen(label));
    sbuf_puts(out, ",\"saliency_method\":\"gradient_x_input\",\"saliency\":[");
    for (int j = 0; j < MN_PIXELS; j++) {
        if (j)
            sbuf_putc(out, ',');
        sbuf_json_num(out, s->saliency[j] == 0 ? 0.0 : s->saliency[j]); /* never "-0" */
    }
    sbuf_puts(out, "],\"feature_maps\":[");
    const mn_explainer *ex = s->ws.ex[0];
    const mn_arch *arch = mn_model_arch(env->models->ens.m[0]);
    int first = 1;
    for (int i = 0; i < mn_explain_conv_count(ex); i++) {
        if (!(p->layers >> i & 1))
            continue;
        mn_shape sh;
        uint32_t layer;
        const float *v = mn_explain_conv_output(ex, i, &sh, &layer);
        const size_t hw = (size_t)sh.h * sh.w;
        sbuf_puts(out, first ? "{" : ",{");
        first = 0;
        sbuf_printf(out, "\"index\":%d,\"layer\":%u,\"name\":\"conv %u@%ux%u\",\"shape\":[%u,%u,%u],\"max\":[",
                    i, layer, arch->layers[layer].out, arch->layers[layer].k, arch->layers[layer].k,
                    sh.c, sh.h, sh.w);
        /* each channel's map as bytes, 255 at its maximum (ReLU outputs are >= 0) */
        for (uint32_t c = 0; c < sh.c; c++) {
            const float *m = v + c * hw;
            /* Eight running maxima the compiler keeps in a register (an
             * omp simd max reduction kept its accumulator on the stack:
             * 11x slower, 6% of an explanation). */
            float lane[8] = {0}, mx = 0;
            size_t j = 0;
            for (; j + 8 <= hw; j += 8)
                for (int l = 0; l < 8; l++)
                    lane[l] = m[j + l] > lane[l] ? m[j + l] : lane[l];
            for (; j < hw; j++)
                mx = m[j] > mx ? m[j] : mx;
            for (int l = 0; l < 8; l++)
                mx = lane[l] > mx ? lane[l] : mx;
            const float scale = mx > 0 ? 255.0f / mx : 0.0f;
            uint8_t *t = s->maps + c * hw;
            /* in int, so the compiler converts a vector at a time */
#pragma omp simd
            for (size_t j = 0; j < hw; j++) {
                int q = (int)(m[j] * scale + 0.5f);
                t[j] = (uint8_t)(q < 0 ? 0 : q);
            }
            if (c)
                sbuf_putc(out, ',');
            sbuf_json_num(out, mx);
        }
        sbuf_puts(out, "],\"data\":\"");
        b64_encode(out, s->maps, sh.c * hw);
        sbuf_puts(out, "\"}");
    }
    sbuf_putc(out, ']');
}

/* {"text":"42","digits":[{item fields,"box":[x,y,w,h]},...] */
static void render_read(const predict_env *env, const predict_scratch *s, const predict_parsed *p,
                        sbuf *out)
{
    sbuf_puts(out, "{\"text\":\"");
    for (size_t i = p->first; i < p->first + p->count; i++) {
        if (predict_item_is_digit(env, s, i))
            sbuf_json_uint(out, (unsigned)predict_item_class(env, s, i));
        else
            sbuf_putc(out, '?');
    }
    sbuf_puts(out, "\",\"digits\":[");
    for (size_t i = p->first; i < p->first + p->count; i++) {
        sbuf_puts(out, i > p->first ? ",{" : "{");
        predict_render_item(env, s, i, p->want_input, out);
        const mn_box *b = &s->boxes[i];
        const int v[4] = {b->x, b->y, b->w, b->h};
        sbuf_puts(out, ",\"box\":[");
        for (int k = 0; k < 4; k++) {
            if (k)
                sbuf_putc(out, ',');
            sbuf_json_uint(out, (unsigned)v[k]);
        }
        sbuf_puts(out, "]}");
    }
    sbuf_putc(out, ']');
}

int predict_render(const predict_env *env, const predict_scratch *s, const predict_parsed *p,
                   double elapsed_ms, sbuf *out)
{
    if (p->status) {
        sbuf_error(out, &p->err);
        return p->status;
    }
    /* A model with absurd weights can produce NaN: never send it as JSON. */
    size_t k = p->count * env->models->classes;
    const float *pr = s->probs + p->first * env->models->classes;
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(pr[i])) {
            reply_err e;
            reply_fail(&e, 500, "internal",
                       "the model produced a non-finite output (item %zu); its weights are unusable",
                       i / env->models->classes);
            sbuf_error(out, &e);
            return 500;
        }
    }
    sbuf_reset(out);
    sbuf_reserve(out, 256 + p->count * (200 + (p->want_input ? 3200 : 0)) +
                          (p->explain ? explanation_bytes(s, p) : 0));
    if (p->read) {
        render_read(env, s, p, out);
    } else if (p->batched) {
        sbuf_puts(out, "{\"predictions\":[");
        for (size_t i = 0; i < p->count; i++) {
            sbuf_puts(out, i ? ",{" : "{");
            predict_render_item(env, s, p->first + i, p->want_input, out);
            sbuf_putc(out, '}');
        }
        sbuf_putc(out, ']');
    } else {
        sbuf_putc(out, '{');
        predict_render_item(env, s, p->first, p->want_input, out);
        if (p->explain)
            render_explanation(env, s, p, out);
    }
    sbuf_puts(out, ",\"model\":{\"name\":");
    sbuf_json_str(out, env->models->name, strlen(env->models->name));
    sbuf_puts(out, ",\"version\":");
    sbuf_json_str(out, env->models->version, strlen(env->models->version));
    sbuf_printf(out, "},\"elapsed_ms\":%.3f}\n", elapsed_ms);
    if (out->failed) {
        reply_err e;
        reply_fail(&e, 503, "overloaded", "out of memory while writing the answer");
        out->failed = 0;
        sbuf_error(out, &e);
        return 503;
    }
    return 200;
}

int predict_run(const predict_env *env, predict_scratch *s, const predict_request *r, sbuf *out)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    predict_parsed p;
    predict_begin(s);
    if (predict_parse(env, s, r, &p) == 0) {
        predict_forward(env, s);
        predict_explain(env, s, &p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return predict_render(env, s, &p, ms, out);
}
