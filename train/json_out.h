/* json_out.h: the little JSON writing the tools need (metadata blocks),
 * kept to string escaping into a caller's buffer. */
#ifndef MNIST_TRAIN_JSON_OUT_H
#define MNIST_TRAIN_JSON_OUT_H

#include <stddef.h>

/* Writes s as a JSON string literal (with quotes) into out[len];
 * returns out. Truncates safely. */
char *json_quote(const char *s, char *out, size_t len);

#endif
