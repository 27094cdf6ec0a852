/* sha256_blocks.h: SHA-256's compression function over whole 64-byte
 * blocks, portable and with the x86 SHA extensions. Private to core/
 * (sha256.c chooses); the tests compare the two. */
#ifndef MNIST_SHA256_BLOCKS_H
#define MNIST_SHA256_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* The 64 round constants of FIPS 180-4, shared by both versions. */
extern const uint32_t mn_sha256_k[64];

/* Updates the state h[8] with n blocks of 64 bytes at p, in plain C. */
void mn_sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t n);

/* The same with the SHA-NI instructions. Returns 0 and does nothing when
 * this CPU (or this build's target) lacks them; otherwise 1. */
int mn_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n);

#endif
