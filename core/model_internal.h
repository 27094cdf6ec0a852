/* model_internal.h (internal): the layout of mn_model and mn_workspace,
 * shared by model.c (creation, tensors, metadata), run.c (forward and
 * backward) and weights.c (the file format). */
#ifndef MNIST_CORE_MODEL_INTERNAL_H
#define MNIST_CORE_MODEL_INTERNAL_H

#include "mnist/model.h"

#define MN_MAX_TENSORS (4 * MN_MAX_LAYERS)
#define MN_META_MAX (1u << 20)

struct mn_model {
    mn_arch arch;
    mn_shape out_shape[MN_MAX_LAYERS]; /* sample shape after each layer */
    size_t w_off[MN_MAX_LAYERS];       /* weights of layer i in params, or SIZE_MAX */
    size_t b_off[MN_MAX_LAYERS];       /* bias of layer i in params, or SIZE_MAX */
    /* batch norm: w_off = gamma, b_off = beta, plus the running statistics */
    size_t mean_off[MN_MAX_LAYERS], var_off[MN_MAX_LAYERS];
    uint32_t n_tensors;
    mn_tensor_info tensors[MN_MAX_TENSORS];
    size_t n_params;
    float *params; /* [n_params], every tensor a slice of it */
    char *meta;    /* JSON text, NUL-terminated */
    char version[9];
    mn_calibration calib;
    /* Layer i's weights laid out for inference by
     * mn_model_prepare_inference (a convolution's Winograd transform, a
     * dense layer's transpose), or NULL. */
    float *prepared[MN_MAX_LAYERS];
};

/* Sets m->version from a SHA-256 digest. */
void mn_model_set_version(mn_model *m, const uint8_t digest[32]);

#endif
