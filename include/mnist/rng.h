/* rng.h: the library's own seeded random number generator (xoshiro256**,
 * seeded through splitmix64), so that training is reproducible on every
 * platform and libc. Counter-style derivation (mn_rng_derive) lets each
 * sample, epoch or thread get its own stream independent of scheduling. */
#ifndef MNIST_RNG_H
#define MNIST_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mn_rng;

/* Seeds r from one 64-bit seed. Any seed, including 0, is valid. */
void mn_rng_seed(mn_rng *r, uint64_t seed);

/* Seeds r from (seed, a, b): a stream that depends only on these three
 * numbers, e.g. (seed, epoch, sample index) for augmentation. */
void mn_rng_derive(mn_rng *r, uint64_t seed, uint64_t a, uint64_t b);

/* Next 64 random bits. */
uint64_t mn_rng_next(mn_rng *r);

/* Uniform float in [0, 1) with 24 random bits. */
float mn_rng_uniform(mn_rng *r);

/* Uniform integer in [0, n); n > 0. Unbiased (rejection sampling). */
uint32_t mn_rng_below(mn_rng *r, uint32_t n);

/* Standard normal sample (Box-Muller). */
float mn_rng_normal(mn_rng *r);

#endif
