/* png_fast.h: the common PNG (8-bit greyscale, grey+alpha, RGB or RGBA,
 * not interlaced, no palette or transparency key) decoded with zlib's
 * inflate, row by row into the output. It is what browsers' canvases and
 * most scripts send, and stb_image's own inflate and row filters took
 * most of /v1/read's time on them. Anything else, and any file this path
 * cannot finish, is left to stb_image (image_decode.c), so its answers
 * and error messages stay stb's. */
#ifndef SRV_PNG_FAST_H
#define SRV_PNG_FAST_H

#include <stddef.h>
#include <stdint.h>

/* Decodes data[len], a PNG whose header img_decode has already checked
 * (dimensions within the pixel limit), into h rows of w pixels of
 * *channels bytes, exactly the bytes stb_image gives, at *pix: memory of
 * *cap bytes (NULL and 0 at first) that is grown with realloc when the
 * image needs more, so a caller decoding many images allocates once.
 * Returns 1, or 0 when the file is not of the common kind or does not
 * decode cleanly here: then stb_image decides (*pix stays valid). */
int png_fast_decode(const uint8_t *data, size_t len, uint8_t **pix, size_t *cap, int *w, int *h,
                    int *channels);

#endif
