/* fuzz_json.c: libFuzzer target for the JSON body of POST /predict
 * (jbody_parse), with each item handed on the way the server does: pixels
 * checked, image strings through the data-URL and base64 decoders. Every
 * status must be one API.md lists, with a code and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "body_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BATCH 16

static int item(void *ctx, size_t index, const char *path, const jbody_item *it, reply_err *e)
{
    size_t *count = ctx;
    if (index != *count || !path)
        abort(); /* items arrive in order */
    (*count)++;
    if (!it->is_image) {
        unsigned sum = 0;
        for (int i = 0; i < 784; i++)
            sum += it->pixels[i];
        (void)sum;
        return 0;
    }
    if (!it->str || strlen(it->str) != it->str_len)
        abort();
    const char *payload;
    size_t plen;
    int st = dataurl_payload(it->str, it->str_len, &payload, &plen, e);
    if (st)
        return st;
    if (payload < it->str || payload + plen > it->str + it->str_len)
        abort();
    size_t cap = b64_decoded_max(plen);
    uint8_t *out = malloc(cap ? cap : 1);
    if (!out)
        return 0;
    size_t olen = 0;
    st = b64_decode(payload, plen, out, &olen, e);
    if (st == 0 && olen > cap)
        abort();
    free(out);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = 0;
    int batched = -1;
    reply_err e;
    memset(&e, 0, sizeof e);
    int st = jbody_parse(data, size, MAX_BATCH, item, &count, &batched, &e);
    if (st == 0) {
        if (count == 0 || (batched != 0 && batched != 1) || (!batched && count != 1) ||
            count > MAX_BATCH)
            abort();
    } else if ((st != 400 && st != 413) || e.status != st || !e.code || !e.msg[0]) {
        abort();
    }
    return 0;
}
