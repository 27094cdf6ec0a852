/* rng.c: xoshiro256** (Blackman & Vigna) seeded through splitmix64. The
 * library's only source of randomness; its state is a plain struct the
 * caller owns, so there is no hidden global stream. */
#include <math.h>

#include "mnist/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mn_rng_seed(mn_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void mn_rng_derive(mn_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    /* Mix the three words through splitmix so nearby (a, b) pairs give
     * unrelated streams. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xd1342543de82ef95ull);
    h = splitmix64(&x);
    x = h ^ (b * 0x9e3779b97f4a7c15ull);
    mn_rng_seed(r, splitmix64(&x));
}

uint64_t mn_rng_next(mn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float mn_rng_uniform(mn_rng *r)
{
    return (float)(mn_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

uint32_t mn_rng_below(mn_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection: unbiased for every n. */
    uint64_t m = (uint64_t)(uint32_t)(mn_rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(mn_rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float mn_rng_normal(mn_rng *r)
{
    float u1 = mn_rng_uniform(r), u2 = mn_rng_uniform(r);
    if (u1 < 1e-12f)
        u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}
