/* fuzz_explain.c: libFuzzer target for the whole POST /v1/explain path:
 * the driver of fuzz_predict.c with the request's explain flag set (same
 * input: Content-Type line, query line, body), checking the explanation. */
#define FUZZ_EXPLAIN 1
#include "fuzz_predict.c"
