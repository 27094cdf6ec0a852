/* fuzz_read.c: libFuzzer target for the whole POST /v1/read path: the
 * driver of fuzz_predict.c with the request's read flag set (same input:
 * Content-Type line, query line, body), checking /v1/read's answer. */
#define FUZZ_READ 1
#include "fuzz_predict.c"
