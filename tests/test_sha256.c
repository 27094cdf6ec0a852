/* test_sha256.c: SHA-256 against FIPS 180-4's examples, whole and fed in
 * pieces, and the SHA-NI blocks against the portable ones on random data. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mnist/sha256.h"
#include "sha256_blocks.h"

static void hex_of(const void *data, size_t len, char hex[65])
{
    uint8_t d[32];
    mn_sha256(data, len, d);
    mn_hex(d, 32, hex);
}

int main(void)
{
    char hex[65];
    hex_of("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc: %s", hex);
    hex_of("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "empty: %s", hex);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "two blocks: %s", hex);

    /* A million 'a's, whole and in uneven pieces. */
    size_t mil = 1000000;
    uint8_t *a = malloc(mil);
    memset(a, 'a', mil);
    hex_of(a, mil, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a: %s", hex);
    mn_sha256_ctx ctx;
    mn_sha256_init(&ctx);
    for (size_t at = 0, step = 1; at < mil; at += step, step = step * 3 % 1000 + 1)
        mn_sha256_update(&ctx, a + at, at + step > mil ? mil - at : step);
    uint8_t d[32];
    mn_sha256_final(&ctx, d);
    mn_hex(d, 32, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "million a in pieces: %s", hex);

    /* The SHA-NI blocks against the portable ones, 1 to 40 blocks of
     * random bytes from random states. */
    uint32_t seed = 12345;
    for (size_t i = 0; i < 64 * 40; i++)
        a[i] = (uint8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
    int shani = 0, same = 1;
    for (size_t n = 1; n <= 40; n++) {
        uint32_t h1[8], h2[8];
        for (int k = 0; k < 8; k++)
            h1[k] = h2[k] = (seed = seed * 1664525u + 1013904223u);
        mn_sha256_blocks_portable(h1, a, n);
        shani = mn_sha256_blocks_shani(h2, a, n);
        if (shani && memcmp(h1, h2, sizeof h1))
            same = 0;
    }
    CHECK(same, "SHA-NI blocks differ from the portable ones");
    printf("SHA-NI %s\n", shani ? "compared with the portable blocks" : "absent on this CPU or build");
    free(a);
    return check_finish();
}
