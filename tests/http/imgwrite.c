/* imgwrite.c: test helper that encodes raw 8-bit pixels as PNG, JPEG or
 * BMP with stb_image_write, so the HTTP tests can send real encoded images
 * made from MNIST digits. Usage: imgwrite png|jpg|bmp W H C in.raw out [quality]
 * (C = channels 1-4; in.raw holds W*H*C bytes). Not a general converter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_image_write.h>

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: imgwrite png|jpg|bmp W H C in.raw out [quality]\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), c = atoi(argv[4]);
    if (w <= 0 || h <= 0 || c < 1 || c > 4 || (long long)w * h > (1LL << 28)) {
        fprintf(stderr, "imgwrite: bad dimensions %sx%sx%s\n", argv[2], argv[3], argv[4]);
        return 2;
    }
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    unsigned char *px = malloc(n);
    FILE *f = fopen(argv[5], "rb");
    if (!px || !f || fread(px, 1, n, f) != n) {
        fprintf(stderr, "imgwrite: cannot read %zu bytes from %s\n", n, argv[5]);
        return 1;
    }
    fclose(f);
    int ok = 0;
    if (!strcmp(argv[1], "png"))
        ok = stbi_write_png(argv[6], w, h, c, px, w * c);
    else if (!strcmp(argv[1], "jpg"))
        ok = stbi_write_jpg(argv[6], w, h, c, px, argc > 7 ? atoi(argv[7]) : 90);
    else if (!strcmp(argv[1], "bmp"))
        ok = stbi_write_bmp(argv[6], w, h, c, px);
    free(px);
    if (!ok) {
        fprintf(stderr, "imgwrite: cannot write %s as %s\n", argv[6], argv[1]);
        return 1;
    }
    return 0;
}
