/* fuzz_image.c: libFuzzer target for image decoding (stb_image behind the
 * server's img_decode leash) followed by the MNIST normalisation of
 * core/normalize.c, the path every uploaded image takes. A decoded image
 * must have the dimensions its header promised and stay within the pixel
 * limit; errors must carry a status and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_decode.h"
#include "mnist/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Smaller than the server's default so each run stays fast; the checks
 * are the same at any limit. */
#define FUZZ_MAX_PIXELS (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    img_decoded img;
    reply_err e;
    memset(&e, 0, sizeof e);
    int st = img_decode(data, size, FUZZ_MAX_PIXELS, &img, &e);
    if (st != 0) {
        if ((st != 400 && st != 413) || e.status != st || !e.code || !e.msg[0] || img.pix)
            abort();
        return 0;
    }
    if (!img.pix || img.w < 1 || img.h < 1 || img.channels < 1 || img.channels > 4 ||
        (uint64_t)img.w * (uint64_t)img.h > FUZZ_MAX_PIXELS || !img.format)
        abort();
    /* Touch the last byte: the buffer must be as large as promised. */
    volatile uint8_t last = img.pix[(size_t)img.w * img.h * img.channels - 1];
    (void)last;
    uint8_t out[MN_PIXELS];
    mn_error err;
    mn_status ns = mn_normalize_image(img.pix, img.w, img.h, img.channels, out, &err);
    if (ns != MN_OK && ns != MN_ERR_NOINK && ns != MN_ERR_NOMEM)
        abort();
    if (img.w == MN_SIDE && img.h == MN_SIDE) {
        ns = mn_image_to_mnist_plain(img.pix, img.w, img.h, img.channels, out, &err);
        if (ns != MN_OK && ns != MN_ERR_NOINK)
            abort();
    }
    img_free(&img);
    return 0;
}
