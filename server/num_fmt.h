/* num_fmt.h: numbers as text for the JSON answers and the access log,
 * fast and exact: printf's text without printf's cost. */
#ifndef SRV_NUM_FMT_H
#define SRV_NUM_FMT_H

#include <stddef.h>

/* Room for any "%.6g" of a double: "-1.23457e-308" and the NUL. */
#define NUM_FMT_G6_MAX 32

/* Writes v into out exactly as snprintf(out, NUM_FMT_G6_MAX, "%.6g", v)
 * does (in the C locale, rounding to nearest), NUL-terminated; returns the
 * length. NaN and infinities are handed to snprintf. Thread-safe. */
size_t num_fmt_g6(char out[NUM_FMT_G6_MAX], double v);

/* Room for any "%.3f" of a double: 309 integer digits, sign, point,
 * three decimals and the NUL. */
#define NUM_FMT_F3_MAX 320

/* Writes v into out exactly as snprintf(out, NUM_FMT_F3_MAX, "%.3f", v)
 * does, NUL-terminated; returns the length. Fast for v in [0, 1e6) (the
 * access log's milliseconds); the rest is handed to snprintf. */
size_t num_fmt_f3(char out[NUM_FMT_F3_MAX], double v);

#endif
