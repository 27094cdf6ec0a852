/* fuzz_weights.c: libFuzzer target for the weights reader, mn_model_parse,
 * and the ensemble reader, mn_ensemble_parse (inputs that start with its
 * magic). Each input is parsed as given, then again with its size field
 * and SHA-256 fixed up so that mutations reach the checks behind the
 * checksum. An accepted weights file must survive a serialise/parse round
 * trip bit for bit and, when small, a forward pass; an accepted ensemble
 * answers one input with a distribution; crashes and aborts are the
 * findings. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/mnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER_BYTES 64u
#define CHECKSUM_BYTES 32u

/* Multiply-adds of one forward pass of the conv layers, to skip models
 * whose single pass would take seconds (they are valid, only slow). */
static uint64_t forward_cost(const mn_arch *a)
{
    uint64_t cost = 0;
    mn_shape in = a->input;
    for (uint32_t i = 0; i < a->n_layers; i++) {
        mn_shape o = mn_arch_shape(a, i);
        const mn_layer *l = &a->layers[i];
        if (l->kind == MN_LAYER_CONV2D)
            cost += (uint64_t)o.c * o.h * o.w * in.c * l->k * l->k;
        else
            cost += (uint64_t)in.c * in.h * in.w * (l->kind == MN_LAYER_DENSE ? o.c : 1);
        in = o;
    }
    return cost;
}

static void run_forward(const mn_model *m)
{
    if (forward_cost(mn_model_arch(m)) > 2000000)
        return;
    mn_workspace *ws;
    mn_error err;
    if (mn_workspace_create(m, 1, 0, &ws, &err) != MN_OK)
        abort();
    size_t n_in = mn_model_input_size(m);
    uint32_t classes = mn_model_classes(m);
    float *in = malloc(n_in * sizeof *in), *probs = malloc(classes * sizeof *probs);
    if (!in || !probs)
        abort();
    for (size_t i = 0; i < n_in; i++)
        in[i] = (float)(i % 256) / 255.0f;
    mn_model_forward(m, ws, in, 1, probs);
    /* Moderate weights and inputs give a probability distribution. Finite
     * but huge weights (1e37) may overflow to infinite logits and NaN
     * probabilities: the reader accepts them, so callers check outputs. */
    float big = 0;
    const float *w = mn_model_params_const(m);
    for (size_t i = 0; i < mn_model_param_count(m); i++)
        big = fabsf(w[i]) > big ? fabsf(w[i]) : big;
    if (big > 16.0f) {
        free(in);
        free(probs);
        mn_workspace_free(ws);
        return;
    }
    double sum = 0;
    for (uint32_t c = 0; c < classes; c++) {
        if (!(probs[c] >= 0.0f && probs[c] <= 1.0f))
            abort();
        sum += probs[c];
    }
    if (fabs(sum - 1.0) > 1e-3)
        abort();
    free(in);
    free(probs);
    mn_workspace_free(ws);
}

/* Serialises m back and parses it again: the reader accepts only the
 * canonical form, so the bytes written equal the bytes read. */
static void round_trip(mn_model *m, const mn_checkpoint *ck, const uint8_t *orig, size_t orig_len)
{
    uint8_t *buf;
    size_t len;
    mn_error err;
    if (mn_model_serialize(m, ck, &buf, &len, &err) != MN_OK)
        abort();
    /* Except the version field: a version 2 file whose layer table needs
     * nothing new is written back as version 1, so its checksum differs. */
    if (len != orig_len || memcmp(buf, orig, 8) != 0 ||
        memcmp(buf + 12, orig + 12, len - 12 - CHECKSUM_BYTES) != 0)
        abort();
    int same_version = memcmp(buf + 8, orig + 8, 4) == 0;
    if (same_version && memcmp(buf + len - CHECKSUM_BYTES, orig + len - CHECKSUM_BYTES, CHECKSUM_BYTES) != 0)
        abort();
    mn_model *m2;
    mn_checkpoint ck2;
    if (mn_model_parse(buf, len, "round trip", &m2, &ck2, &err) != MN_OK)
        abort();
    size_t n = mn_model_param_count(m);
    if (mn_model_param_count(m2) != n ||
        memcmp(mn_model_params_const(m), mn_model_params_const(m2), n * sizeof(float)) != 0 ||
        memcmp(mn_model_arch(m), mn_model_arch(m2), sizeof(mn_arch)) != 0 ||
        strcmp(mn_model_meta(m), mn_model_meta(m2)) != 0 ||
        (same_version && strcmp(mn_model_version(m), mn_model_version(m2)) != 0))
        abort();
    if (ck->adam.n != ck2.adam.n || ck->seed != ck2.seed || ck->epoch != ck2.epoch ||
        ck->batch != ck2.batch || ck->adam.t != ck2.adam.t)
        abort();
    if (ck->adam.n && (memcmp(ck->adam.m, ck2.adam.m, n * sizeof(float)) != 0 ||
                       memcmp(ck->adam.v, ck2.adam.v, n * sizeof(float)) != 0))
        abort();
    mn_adam_free(&ck2.adam);
    mn_model_free(m2);
    free(buf);
}

static void parse_one(const uint8_t *data, size_t size)
{
    mn_model *m = (mn_model *)1;
    mn_checkpoint ck;
    mn_error err;
    err.msg[0] = 0;
    mn_status st = mn_model_parse(data, size, "fuzz", &m, &ck, &err);
    if (st != MN_OK) {
        /* A failure allocates nothing and names the input. */
        if (m != NULL || ck.adam.m != NULL || strncmp(err.msg, "fuzz: ", 6) != 0)
            abort();
        return;
    }
    const mn_arch *a = mn_model_arch(m);
    if (mn_arch_check(a, &err) != MN_OK || mn_model_tensor_count(m) == 0)
        abort();
    const mn_tensor_info *last = mn_model_tensor(m, mn_model_tensor_count(m) - 1);
    if (last->offset + last->count != mn_model_param_count(m))
        abort();
    round_trip(m, &ck, data, size);
    run_forward(m);
    mn_adam_free(&ck.adam);
    mn_model_free(m);
}

static void parse_ensemble(const uint8_t *data, size_t size)
{
    mn_ensemble e;
    mn_error err;
    err.msg[0] = 0;
    if (mn_ensemble_parse(data, size, "fuzz", &e, &err) != MN_OK) {
        if (e.n != 0 || e.meta != NULL || strncmp(err.msg, "fuzz", 4) != 0)
            abort();
        return;
    }
    if (e.n < 1 || e.n > MN_ENSEMBLE_MAX || (e.meta && strlen(e.meta) > MN_ENSEMBLE_META_MAX) ||
        !(e.escalate_below >= 0 && e.escalate_below < 1))
        abort();
    for (int i = 0; i < e.n; i++)
        run_forward(e.m[i]);
    mn_ensemble_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int ensemble = size >= 8 && !memcmp(data, "MNISTENS", 8);
    if (ensemble)
        parse_ensemble(data, size);
    else
        parse_one(data, size);
    if (size < HEADER_BYTES + CHECKSUM_BYTES || size > (1u << 24))
        return 0;
    /* The same bytes made to pass the size and checksum checks. */
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    for (int i = 0; i < 8; i++)
        fixed[(ensemble ? 16 : 40) + i] = (uint8_t)((uint64_t)size >> (8 * i));
    mn_sha256(fixed, size - CHECKSUM_BYTES, fixed + size - CHECKSUM_BYTES);
    if (ensemble)
        parse_ensemble(fixed, size);
    else
        parse_one(fixed, size);
    free(fixed);
    return 0;
}
