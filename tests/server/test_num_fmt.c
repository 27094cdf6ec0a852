/* test_num_fmt.c: num_fmt_g6 against snprintf's "%.6g", byte for byte:
 * hand-picked edges (zero, signs, ties that round to even, the points where
 * %g changes style, carries into the next power of ten, values outside the
 * fast path), every float near each power of ten, a sweep of [0, 1] (the
 * probabilities the server writes), and random floats and doubles. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "num_fmt.h"

static long compared, differing;

static void same(double v)
{
    char want[64], got[NUM_FMT_G6_MAX];
    snprintf(want, sizeof want, "%.6g", v);
    size_t n = num_fmt_g6(got, v);
    compared++;
    if (strcmp(want, got) != 0 || n != strlen(want)) {
        if (differing++ < 20)
            fprintf(stderr, "  %.17g: printf \"%s\", num_fmt_g6 \"%s\" (%zu)\n", v, want, got, n);
    }
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void)
{
    static const double edges[] = {
        0.0, -0.0, 1, -1, 0.5, 2, 10, 100000, 999999, 1e6, 1e7, 123456, 1234567,
        999999.4, 999999.5, 999999.6, 9999995, 0.1, 0.0001, 0.00001, 9.999995e-5,
        9.9999949e-5, 9.99999501e-5, 0.99999949, 0.9999995, 0.99999951,
        13.0 / 128,     /* 101562.5 at six digits: a tie, rounds to even */
        15.0 / 128,     /* 117187.5: a tie, rounds to even (up) */
        0.1015625 * 1e-3, 1.5, 2.5, 0.25, 0.125, 0.0625, 3.0517578125e-05,
        1e-40, 1e-41, 1e40, 1e300, -1e300, 1e-300, 5e-324, 1.7976931348623157e308,
        1e-38, 1.17549435e-38, 3.4028235e38, 6.45466e-06, 0.998714, 1.19209e-07,
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        same(edges[i]);
        same(-edges[i]);
    }
    CHECK(differing == 0, "%ld of the %ld hand-picked values differ", differing, compared);

    long before = differing, c0 = compared;
    for (int k = -45; k <= 38; k++) { /* every float within 2000 steps of 10^k */
        float p = (float)pow(10, k);
        float lo = p, hi = p;
        for (int s = 0; s < 2000; s++) {
            lo = nextafterf(lo, 0);
            hi = nextafterf(hi, INFINITY);
            same(lo);
            same(hi);
        }
        same(p);
    }
    CHECK(differing == before, "%ld of %ld floats near powers of ten differ", differing - before,
          compared - c0);

    before = differing, c0 = compared;
    for (uint32_t b = 0; b <= 0x3f800000u; b += 97) { /* [0, 1], every 97th float */
        float f;
        memcpy(&f, &b, sizeof f);
        same(f);
    }
    CHECK(differing == before, "%ld of %ld floats in [0, 1] differ", differing - before,
          compared - c0);

    before = differing, c0 = compared;
    for (int i = 0; i < 1000000; i++) {
        uint32_t b = (uint32_t)next();
        float f;
        memcpy(&f, &b, sizeof f);
        if (isfinite(f))
            same(f);
        uint64_t d = next();
        double v;
        memcpy(&v, &d, sizeof v);
        if (isfinite(v))
            same(v);
    }
    CHECK(differing == before, "%ld of %ld random floats and doubles differ", differing - before,
          compared - c0);

    /* Not finite: the fallback writes what printf writes. */
    char got[NUM_FMT_G6_MAX];
    num_fmt_g6(got, INFINITY);
    CHECK(strcmp(got, "inf") == 0, "inf gave \"%s\"", got);
    num_fmt_g6(got, -NAN);
    CHECK(strcmp(got, "-nan") == 0 || strcmp(got, "nan") == 0, "NaN gave \"%s\"", got);
    printf("%ld values compared\n", compared);
    return check_finish();
}
