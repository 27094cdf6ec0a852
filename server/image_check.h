/* image_check.h: completeness checks stb_image does not make. stb fills
 * missing pixel data with zeros, so a BMP, PNM, GIF or JPEG cut short
 * would decode into a partly blank image and get a confident wrong answer;
 * these checks refuse it as truncated instead. Pure, header-only parsing. */
#ifndef SRV_IMAGE_CHECK_H
#define SRV_IMAGE_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include "sbuf.h"

/* Checks that data[len], of format fmt ("PNG", "JPEG", "GIF", "BMP",
 * "PGM", "PPM"; as img_format says), holds all the image data its headers
 * promise. Returns 0, or 400 invalid_image "could not decode FMT:
 * truncated ..." in e. PNG is left to stb, which checks its chunks. */
int img_check_complete(const uint8_t *data, size_t len, const char *fmt, reply_err *e);

/* Refuses, before stb_image parses anything, the inputs that corrupt its
 * memory, overflow its integers or do undefined pointer arithmetic: JPEG
 * Huffman tables over 256 codes, PNM header numbers over 9 digits, an
 * empty PNG IDAT chunk before the image data. Returns 0, or 400
 * invalid_image. */
int img_check_safe(const uint8_t *data, size_t len, const char *fmt, reply_err *e);

#endif
