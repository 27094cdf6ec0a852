/* repository.h: the models the server serves, by name, and their reload.
 *
 * With --model PATH it serves one model, named by its metadata, for the
 * process's life. With --model-repository DIR it serves every
 * DIR/<name>/<version>/model.bin (the layout of Triton and TF Serving;
 * the version a positive integer), the highest version of each that
 * passes the check (it loads, takes 1x28x28 inputs, and answers a
 * built-in image with finite probabilities summing to 1). A reload
 * re-reads the directory: a new version is loaded and checked beside the
 * one served and swapped in atomically; a file that fails leaves the
 * served version in place and is remembered (with its reason, until the
 * file changes); a version removed from the disk falls back to the next
 * one down.
 *
 * Requests hold a reference to the served_model they started with
 * (repo_acquire ... served_release), so a swap never disturbs a request
 * in flight: the old model is freed when its last request is done. */
#ifndef SRV_REPOSITORY_H
#define SRV_REPOSITORY_H

#include <stdatomic.h>
#include "http_log.h"
#include "metrics.h"
#include "model_set.h"
#include "predict.h"
#include "sbuf.h"

typedef struct served_model {
    model_set ms;    /* ms.name is the name clients address it by */
    predict_env env; /* env.models == &ms; the server's limits */
    long version;    /* its repository version; 0 for --model */
    sbuf info;       /* the GET /v1/model document */
    atomic_int refs;
    atomic_int retired; /* no longer served: workers drop what they keep for it */
    atomic_ullong predictions[MS_MAX_CLASSES]; /* its answers by class */
    atomic_ullong verdicts[MN_VERDICT_SEVERAL_DIGITS + 1];
} served_model;

typedef struct repo repo;

/* One model from path (mn_ensemble_load_list's forms), never reloaded.
 * limits: the predict_env limits (its models field is ignored). */
repo *repo_open_model(const char *path, const predict_env *limits, char *err, size_t errlen);

/* Every model of the repository dir, default_name ("" for the only model
 * or, among several, "mnist") answering /predict. Fails when the default
 * model has no version that passes the check; other models that fail are
 * logged and shown in the index. */
repo *repo_open_dir(const char *dir, const char *default_name, const predict_env *limits,
                    metrics *m, log_format log, char *err, size_t errlen);

void repo_free(repo *r);

/* The served model called name (NULL or "": the default), with a
 * reference the caller gives back with served_release. version 0 takes
 * the served version; another version is found only if it is the one
 * served. NULL when there is none, with the reason in why and *status
 * 404 (no such model or version) or 503 (known, nothing served now). */
served_model *repo_acquire(repo *r, const char *name, long version, int *status, char *why,
                           size_t whyn);
void served_release(served_model *m);
/* One answer of m: its predicted class and verdict (metrics). */
void served_count(served_model *m, int cls, mn_verdict v);

const char *repo_default_name(const repo *r);
/* 1 when the repository is a directory (reloadable). */
int repo_is_dir(const repo *r);

/* Re-reads the whole directory. Returns how many models changed. One
 * reload runs at a time; requests go on meanwhile. */
int repo_reload(repo *r);

/* Triton's repository extension: load re-reads name's versions (and
 * serves it again after an unload); unload stops serving it. 0, or -1
 * with the reason in why. */
int repo_load(repo *r, const char *name, char *why, size_t whyn);
int repo_unload(repo *r, const char *name, char *why, size_t whyn);

/* POST /v2/repository/index: every version on disk of every model (by
 * name, then version from the highest),
 * [{"name","version","state"[,"reason"]}], state READY (served) or
 * UNAVAILABLE (with why); ready_only lists the READY ones. */
void repo_index_json(repo *r, int ready_only, sbuf *out);

/* GET /v1/models: {"default": name, "models": [{"name", "version",
 * "repository_version", "ensemble", "classes", "labels"}]}, the served
 * models by name, for the page's model picker. */
void repo_models_json(repo *r, sbuf *out);

/* Appends the per-model series to a /metrics exposition: every served
 * model with its name, version and whether it is the default, and its
 * answers by class and by verdict. */
void repo_metrics(repo *r, sbuf *out);

#endif
