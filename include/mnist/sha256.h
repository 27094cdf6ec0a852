/* sha256.h: SHA-256 (FIPS 180-4), used for the weights file checksum and
 * model version. */
#ifndef MNIST_SHA256_H
#define MNIST_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t fill;
} mn_sha256_ctx;

void mn_sha256_init(mn_sha256_ctx *s);
void mn_sha256_update(mn_sha256_ctx *s, const void *data, size_t len);
void mn_sha256_final(mn_sha256_ctx *s, uint8_t digest[32]);
/* One-shot digest of data[len]. */
void mn_sha256(const void *data, size_t len, uint8_t digest[32]);
/* Lower-case hex of digest[0..n) into hex (2n+1 bytes). */
void mn_hex(const uint8_t *digest, size_t n, char *hex);

#endif
