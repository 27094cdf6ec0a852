/* fuzz_oip.c: libFuzzer target for the Open Inference Protocol's inference
 * (oip_infer): the driver of fuzz_predict.c with FUZZ_OIP set (input: a
 * Content-Type line, ignored; the Inference-Header-Content-Length line;
 * the body), checking the answer is the spec's. */
#define FUZZ_OIP 1
#include "fuzz_predict.c"
