/* model_set.h: the model(s) the server answers with: one weights file, an
 * ensemble file, or several weights files (a comma-separated --model list)
 * whose calibrated outputs are averaged (mnist/ensemble.h). Loaded once, then shared read-only by every worker; each
 * worker owns a model_ws (its workspaces and scratch). */
#ifndef SRV_MODEL_SET_H
#define SRV_MODEL_SET_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/ensemble.h"
#include "mnist/explain.h"
#include "mnist/model.h"
#include "mnist/normalize.h"
#include "mnist/verdict.h"

#define MS_MAX_CLASSES 256
#define MS_LABEL_MAX 48

typedef struct {
    mn_ensemble ens;         /* the members, how answers are judged, the cascade */
    char path[MN_ENSEMBLE_MAX][1024]; /* each member's file */
    uint32_t classes;        /* served classes: the models' less a background class */
    uint32_t model_classes;  /* the models' own outputs */
    char name[256];    /* the model's "name" metadata, or "a+b" for an ensemble */
    char version[16];  /* the weights' version, or the ensemble's (mn_ensemble) */
    char served_version[24]; /* the version clients address: the repository's, else "1" */
    char labels[MS_MAX_CLASSES][MS_LABEL_MAX];
} model_set;

/* Loads `paths` (mn_ensemble_load_list: one weights or ensemble file, or a
 * comma-separated list of weights files); every member must take a
 * 1x28x28 input. On failure writes a message naming the file into err and
 * returns -1; ms is then empty. */
int model_set_load(model_set *ms, const char *paths, char *err, size_t errlen);
void model_set_free(model_set *ms);

/* Finds the bundled model, mnist-cnn-ensemble.bin, else mnist-cnn-large.bin,
 * else mnist-cnn.bin, in:
 * the executable's models/, ../models/, ../share/mnist/models/, then
 * /usr/share/mnist/models/, then compiled_dir. Writes the path into out
 * and returns 0, or -1 with the places tried in out. */
int model_set_find_default(const char *compiled_dir, char *out, size_t outn);

/* One worker's scratch for running the set on up to max_batch samples. */
typedef struct {
    mn_ensemble_ws *ews;
    /* Made by the first model_set_explain, not at start-up: they cost each
     * worker a copy of every member's turned kernels, which start-up (and
     * the many users who never explain) need not pay for. */
    mn_explainer *ex[MN_ENSEMBLE_MAX];
    int explain_state; /* 0: not made yet, 1: made, -1: a member cannot be explained */
    float *raw; /* [model_classes]: a member's softmax output of one sample */
    float *grad; /* [784]: a member's saliency */
    int max_batch;
} model_ws;

int model_ws_create(const model_set *ms, int max_batch, model_ws *w, char *err, size_t errlen);
void model_ws_free(model_ws *w);

/* For in[N, 784] (N <= w->max_batch): probs[N, classes] and
 * digit_score[N] by mn_ensemble_forward, whose count of inputs every
 * member answered it returns. Allocates nothing. */
int model_set_forward(const model_set *ms, model_ws *w, const float *in, int N, float *probs,
                      float *digit_score);

/* The saliency of served class k (0 <= k < classes) for one sample
 * in[784]: mn_explain_saliency (gradient x input of the class's logit) of
 * the members that answered it (all of a plain ensemble; member 1 alone
 * where a cascade's first member suffices), averaged. Each member's
 * explainer then holds its feature maps (mn_explain_conv_output) until
 * the next call. Returns 0, or -1 when a member's layers cannot be
 * explained (batch norm left unfolded) or, on the first call, when there
 * is no memory for the explainers, which that call makes; later calls
 * allocate nothing. */
int model_set_explain(const model_set *ms, model_ws *w, const float *in, int k, float *saliency);

#endif
