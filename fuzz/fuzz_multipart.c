/* fuzz_multipart.c: libFuzzer target for multipart/form-data bodies
 * (mpart_find_image). The input's first line is the Content-Type header
 * (so the boundary parameter is fuzzed too), the rest the body. A part
 * found must lie inside the body; a failure is a 400 with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body_multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 512 ? size : 512);
    if (!nl)
        return 0;
    size_t ct_len = (size_t)(nl - data);
    char ct[512];
    memcpy(ct, data, ct_len);
    ct[ct_len] = 0;
    if (memchr(ct, 0, ct_len))
        return 0; /* a header value holds no NUL */
    const uint8_t *body = nl + 1;
    size_t len = size - ct_len - 1;
    /* The body in its own allocation so a read past its end is caught. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, body, len);
    const uint8_t *part = NULL;
    size_t part_len = 0;
    reply_err e;
    memset(&e, 0, sizeof e);
    int st = mpart_find_image(copy, len, ct, &part, &part_len, &e);
    if (st == 0) {
        if (!part || part < copy || part + part_len > copy + len)
            abort();
    } else if (st != 400 || e.status != 400 || !e.code || !e.msg[0]) {
        abort();
    }
    free(copy);
    return 0;
}
