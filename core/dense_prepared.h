/* dense_prepared.h (internal): the dense layer's inference forward on
 * weights laid out beforehand (mn_model_prepare_inference). The training
 * layout, w[O,I], makes each output a dot product over a row of w: one
 * image reads all of w (819 KB for the reference dense1) as O separate
 * streams, and a batch reads it once per four images. Transposed,
 * wt[I,O], each input broadcasts onto whole vectors of outputs, as the
 * convolutions' register tiles do. Each output is b + a chain of FMAs in
 * i order, whatever the batch: a sample's result does not depend on the
 * requests it is batched with. Equal to mn_dense_forward within float
 * rounding, not bit for bit. */
#ifndef MNIST_CORE_DENSE_PREPARED_H
#define MNIST_CORE_DENSE_PREPARED_H

#include <stddef.h>

/* Floats of a layer's prepared weights (0 where this CPU, AVX-512, or
 * the shape, O a multiple of 16, is not the case), and the preparation
 * itself, from w[O,I]. */
size_t mn_dense_prepared_floats(int I, int O);
void mn_dense_prepare(float *p, const float *w, int I, int O);

/* out[N,O] = in[N,I] w^T + b from p = mn_dense_prepare's result. Returns
 * 1 when it ran, 0 when not its case. Single-threaded, allocates nothing. */
int mn_dense_forward_prepared(float *out, const float *in, const float *p, const float *b, int N,
                              int I, int O);

#endif
