/* num_fmt.c: printf's "%.6g" and "%.3f" without printf. Every answer
 * carries eleven numbers; glibc's exact big-number conversion made them
 * about 4% of the server's CPU under load. Here the digits come from one
 * double product, and the rare value whose rounding that product cannot
 * settle goes to snprintf, so the text is always printf's, byte for
 * byte. */
#include "num_fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Every literal is correctly rounded, so each entry is within half an ulp
 * of the power. */
static const double POW10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23,
    1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35,
    1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47,
};
#define POW10_MAX ((int)(sizeof POW10 / sizeof POW10[0]) - 1)

/* |v| * 10^s, s within the table either way. */
static double scale(double v, int s)
{
    return s >= 0 ? v * POW10[s] : v / POW10[-s];
}

/* The six significant digits of a > 0, rounded to nearest, as an integer
 * in [1e5, 1e6), and the decimal exponent x of the rounded value's first
 * digit; -1 when the product is too close to a tie to tell (or a is out of
 * the table's range). The product's error is below 2 ulps of 1e6, about
 * 2.4e-10 (the table entry's half ulp and the product's own), so a margin
 * of 1e-7 around .5 is ample. A product that lands on the wrong side of
 * 1e5 or 1e6 by that error still gives the same digits and exponent: both
 * sides round to 100000. */
static int six_digits(double a, uint32_t *digits, int *x)
{
    if (!(a >= 1e-40 && a < 1e40))
        return -1;
    int b2;
    frexp(a, &b2); /* a in [2^(b2-1), 2^b2): its log10 is at most one above */
    int e = (int)floor((b2 - 1) * 0.30102999566398120);
    for (int tries = 0; tries < 3; tries++) {
        int s = 5 - e;
        if (s > POW10_MAX || -s > POW10_MAX)
            return -1;
        double d = scale(a, s);
        if (d < 1e5) {
            e--;
            continue;
        }
        if (d >= 1e6) {
            e++;
            continue;
        }
        double f = floor(d);
        double frac = d - f;
        if (fabs(frac - 0.5) < 1e-7)
            return -1;
        uint32_t n = (uint32_t)f + (frac > 0.5);
        if (n == 1000000) { /* 999999.7 rounds up to the next power of ten */
            n = 100000;
            e++;
        }
        *digits = n;
        *x = e;
        return 0;
    }
    return -1;
}

size_t num_fmt_g6(char out[NUM_FMT_G6_MAX], double v)
{
    char *p = out;
    if (v == 0) { /* also -0, which %g writes as "-0" */
        if (signbit(v))
            *p++ = '-';
        *p++ = '0';
        *p = '\0';
        return (size_t)(p - out);
    }
    uint32_t n;
    int x;
    if (!isfinite(v) || six_digits(fabs(v), &n, &x) != 0)
        return (size_t)snprintf(out, NUM_FMT_G6_MAX, "%.6g", v);

    char dig[6];
    for (int i = 5; i >= 0; i--) {
        dig[i] = (char)('0' + n % 10);
        n /= 10;
    }
    int last = 5; /* %g drops trailing zeros of the fraction */
    while (last > 0 && dig[last] == '0')
        last--;

    if (v < 0)
        *p++ = '-';
    if (x < -4 || x >= 6) { /* d.ddddde+XX */
        *p++ = dig[0];
        if (last > 0) {
            *p++ = '.';
            for (int i = 1; i <= last; i++)
                *p++ = dig[i];
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100)
            *p++ = (char)('0' + ax / 100);
        *p++ = (char)('0' + ax / 10 % 10);
        *p++ = (char)('0' + ax % 10);
    } else if (x >= 0) { /* x + 1 integer digits */
        for (int i = 0; i <= x; i++)
            *p++ = dig[i];
        if (last > x) {
            *p++ = '.';
            for (int i = x + 1; i <= last; i++)
                *p++ = dig[i];
        }
    } else { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > x; i--)
            *p++ = '0';
        for (int i = 0; i <= last; i++)
            *p++ = dig[i];
    }
    *p = '\0';
    return (size_t)(p - out);
}

/* v*1000 rounded to nearest. Below 1e6 the product is within 6e-8 of the
 * exact value, so only values within 1e-6 of a tie go to snprintf, which
 * rounds those exactly. */
size_t num_fmt_f3(char out[NUM_FMT_F3_MAX], double v)
{
    if (v >= 0 && v < 1e6) {
        double r = v * 1000.0, f = floor(r), frac = r - f;
        if (fabs(frac - 0.5) >= 1e-6) {
            uint32_t n = (uint32_t)f + (frac > 0.5); /* below 1e9 + 1 */
            char t[16];
            int i = (int)sizeof t;
            for (int k = 0; k < 3; k++, n /= 10)
                t[--i] = (char)('0' + n % 10);
            t[--i] = '.';
            do {
                t[--i] = (char)('0' + n % 10);
                n /= 10;
            } while (n);
            size_t len = sizeof t - (size_t)i;
            memcpy(out, t + i, len);
            out[len] = '\0';
            return len;
        }
    }
    return (size_t)snprintf(out, NUM_FMT_F3_MAX, "%.3f", v);
}
