/* explain.h: why a model answered as it did, for one image: the
 * attribution of each input pixel to a class (saliency), from the model's
 * own backward pass, and what each convolution's filters saw (feature
 * maps). An explainer holds every layer's output of its last forward
 * pass, so the maps and the gradients come from the same run. */
#ifndef MNIST_EXPLAIN_H
#define MNIST_EXPLAIN_H

#include <stdint.h>
#include "mnist/arch.h"
#include "mnist/error.h"
#include "mnist/model.h"

typedef struct mn_explainer mn_explainer;

/* An explainer for m (which must outlive it), with every buffer for one
 * sample allocated here. m's layers must be convolution, ReLU, max-pool,
 * dense, flatten and softmax, as every served (folded) model's are:
 * MN_ERR_ARG names a layer that is not (batch norm or dropout left in). */
mn_status mn_explainer_create(const mn_model *m, mn_explainer **out, mn_error *err);
void mn_explainer_free(mn_explainer *x);

/* Runs the model on one sample in[input_size] (pixels / 255), keeping
 * every layer's output; probs[classes] gets the softmax output (equal to
 * mn_model_forward's up to float rounding). */
void mn_explain_forward(mn_explainer *x, const float *in, float *probs);

/* After mn_explain_forward: the saliency of class k for that forward's
 * input, in out[input_size]: gradient x input, each pixel's value times
 * the derivative of class k's logit (the softmax's input) with respect to
 * it. Positive where the ink speaks for k, negative where it speaks
 * against, 0 off the ink. Uses the explainer's buffers: one call at a
 * time. */
void mn_explain_saliency(mn_explainer *x, int k, float *out);

/* The derivative of class k's logit with respect to each input value,
 * in grad[input_size] (after mn_explain_forward): where more ink would
 * raise or lower k, on the ink and off it. */
void mn_explain_gradient(mn_explainer *x, int k, float *grad);

/* Convolutions in the model, in order. */
int mn_explain_conv_count(const mn_explainer *x);

/* The i-th convolution's output of the last forward, after the ReLU that
 * follows it (if one does): shape->c maps of shape->h x shape->w, channel
 * after channel. *layer (if non-NULL) gets its layer index. */
const float *mn_explain_conv_output(const mn_explainer *x, int i, mn_shape *shape,
                                    uint32_t *layer);

#endif
