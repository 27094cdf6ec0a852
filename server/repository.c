/* repository.c: served models by name, reference counts, and the reload
 * of a model repository directory (repository.h). One mutex guards the
 * table (held for a lookup or a pointer swap, never while loading); a
 * second one lets one reload run at a time. */
#include "repository.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_info.h"

#define REPO_MAX_MODELS 64
#define REPO_MAX_VERSIONS 64
#define REPO_NAME_MAX 100

/* A file as it was when last tried: a failed file is tried again only
 * once it changes. */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    long long mtime_ns;
} file_sig;

typedef struct {
    long version;
    file_sig sig;
    int failed;        /* it failed the check (reason says why) */
    char reason[256];
} version_state;

typedef struct {
    char name[256]; /* a repository's directory name, or the --model's metadata name */
    served_model *served; /* the repository's reference; NULL: none */
    file_sig served_sig;
    int unloaded;         /* by POST .../unload, until a load */
    version_state v[REPO_MAX_VERSIONS]; /* on disk, highest first */
    int nv;
} model_entry;

struct repo {
    char dir[PATH_MAX];   /* "" for --model */
    char default_name[256];
    predict_env limits;
    metrics *m;
    log_format log;
    pthread_mutex_t mu;     /* the table */
    pthread_mutex_t reload; /* one reload at a time */
    model_entry e[REPO_MAX_MODELS];
    int n;
};

void served_release(served_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        model_set_free(&m->ms);
        sbuf_free(&m->info);
        free(m);
    }
}

void served_count(served_model *m, int cls, mn_verdict v)
{
    if (cls >= 0 && cls < MS_MAX_CLASSES)
        atomic_fetch_add_explicit(&m->predictions[cls], 1, memory_order_relaxed);
    if (v <= MN_VERDICT_SEVERAL_DIGITS)
        atomic_fetch_add_explicit(&m->verdicts[v], 1, memory_order_relaxed);
}

/* The check's image: a 1 (a slanted stroke), in the [0, 1] pixels the
 * model takes. */
static void check_image(float *in)
{
    memset(in, 0, MN_PIXELS * sizeof *in);
    for (int y = 5; y < 23; y++)
        for (int dx = -1; dx <= 1; dx++)
            in[y * 28 + 14 - (y - 14) / 6 + dx] = dx ? 0.5f : 1.0f;
}

/* Loads and checks path; NULL with the reason in why. */
static served_model *load_served(const repo *r, const char *name, long version, const char *path,
                                 char *why, size_t whyn)
{
    served_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(why, whyn, "out of memory");
        return NULL;
    }
    if (model_set_load(&m->ms, path, why, whyn) != 0) {
        free(m);
        return NULL;
    }
    /* a prediction on a built-in image: finite probabilities summing to 1 */
    model_ws ws;
    float in[MN_PIXELS], probs[MS_MAX_CLASSES], ds;
    check_image(in);
    int ok = model_ws_create(&m->ms, 1, &ws, why, whyn) == 0;
    if (ok) {
        model_set_forward(&m->ms, &ws, in, 1, probs, &ds);
        model_ws_free(&ws);
        double sum = 0;
        for (uint32_t k = 0; k < m->ms.classes; k++) {
            ok &= isfinite(probs[k]) && probs[k] >= 0 && probs[k] <= 1;
            sum += probs[k];
        }
        ok &= isfinite(ds) && fabs(sum - 1) < 1e-3;
        if (!ok)
            snprintf(why, whyn, "%s: its answer to the check's image is not a distribution (sum %g)",
                     path, sum);
    }
    if (!ok) {
        model_set_free(&m->ms);
        free(m);
        return NULL;
    }
    if (version > 0) {
        snprintf(m->ms.name, sizeof m->ms.name, "%s", name);
        snprintf(m->ms.served_version, sizeof m->ms.served_version, "%ld", version);
    }
    m->version = version;
    m->env = r->limits;
    m->env.models = &m->ms;
    model_info_json(&m->ms, r->limits.max_pixels, r->limits.max_batch, &m->info);
    atomic_init(&m->refs, 1);
    atomic_init(&m->retired, 0);
    return m;
}

static repo *repo_new(const predict_env *limits)
{
    repo *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->limits = *limits;
    r->limits.models = NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->reload, NULL);
    return r;
}

repo *repo_open_model(const char *path, const predict_env *limits, char *err, size_t errlen)
{
    repo *r = repo_new(limits);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    served_model *m = load_served(r, "", 0, path, err, errlen);
    if (!m) {
        repo_free(r);
        return NULL;
    }
    r->n = 1;
    r->e[0].served = m;
    snprintf(r->e[0].name, sizeof r->e[0].name, "%s", m->ms.name);
    snprintf(r->default_name, sizeof r->default_name, "%s", m->ms.name);
    return r;
}

void repo_free(repo *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        served_release(r->e[i].served);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->reload);
    free(r);
}

const char *repo_default_name(const repo *r) { return r->default_name; }
int repo_is_dir(const repo *r) { return r->dir[0] != 0; }

static model_entry *find_locked(repo *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].name, name))
            return &r->e[i];
    return NULL;
}

served_model *repo_acquire(repo *r, const char *name, long version, int *status, char *why,
                           size_t whyn)
{
    if (!name || !name[0])
        name = r->default_name;
    pthread_mutex_lock(&r->mu);
    model_entry *e = find_locked(r, name);
    served_model *m = e ? e->served : NULL;
    if (m && (version == 0 || version == m->version || (m->version == 0 && version == 1)))
        atomic_fetch_add(&m->refs, 1);
    else if (m) {
        *status = 404;
        snprintf(why, whyn, "version %ld of model \"%.100s\" is not served (version %ld is)", version,
                 name, m->version ? m->version : 1);
        m = NULL;
    } else {
        *status = e ? 503 : 404;
        if (e)
            snprintf(why, whyn, "model \"%.100s\" has no version being served now%s", name,
                     e->unloaded ? " (unloaded)" : "");
        else
            snprintf(why, whyn, "no model named \"%.100s\" is served", name);
    }
    pthread_mutex_unlock(&r->mu);
    return m;
}

/* ---- the directory ---- */

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > REPO_NAME_MAX || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* A version directory's name as a positive integer, or 0. */
static long version_of(const char *s)
{
    if (!s[0] || strlen(s) > 9)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return strtol(s, NULL, 10);
}

static int sig_of(const char *path, file_sig *sg)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    sg->dev = sb.st_dev;
    sg->ino = sb.st_ino;
    sg->size = sb.st_size;
    sg->mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    return 0;
}

static int same_sig(const file_sig *a, const file_sig *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static int cmp_desc(const void *a, const void *b)
{
    long x = ((const version_state *)a)->version, y = ((const version_state *)b)->version;
    return (x < y) - (x > y);
}

/* The versions of DIR/name with a model.bin, highest first. */
static int list_versions(const repo *r, const char *name, version_state *v)
{
    char path[PATH_MAX + 512];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < REPO_MAX_VERSIONS) {
        long ver = version_of(de->d_name);
        if (ver <= 0)
            continue;
        snprintf(path, sizeof path, "%s/%s/%s/model.bin", r->dir, name, de->d_name);
        memset(&v[n], 0, sizeof v[n]);
        if (sig_of(path, &v[n].sig) != 0)
            continue;
        v[n++].version = ver;
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof *v, cmp_desc);
    return n;
}

static void log_event(const repo *r, const char *msg)
{
    if (r->log != LOG_OFF)
        http_log_event(r->log, msg);
}

/* Brings entry e (its name set) up to date with the disk: the highest
 * version that passes the check is served. Returns 1 when what is served
 * changed. Called under r->reload, not r->mu. */
static int refresh(repo *r, model_entry *e)
{
    version_state v[REPO_MAX_VERSIONS];
    int nv = list_versions(r, e->name, v);
    /* what is known of each file carries over while it is unchanged */
    for (int i = 0; i < nv; i++)
        for (int j = 0; j < e->nv; j++)
            if (e->v[j].version == v[i].version && e->v[j].failed && same_sig(&e->v[j].sig, &v[i].sig))
                v[i] = e->v[j];
    served_model *next = NULL, *cur = e->served;
    file_sig next_sig = {0};
    int keep = 0;
    for (int i = 0; i < nv && !e->unloaded; i++) {
        if (cur && cur->version == v[i].version && same_sig(&e->served_sig, &v[i].sig)) {
            keep = 1; /* the served version is still the best */
            break;
        }
        if (v[i].failed)
            continue;
        char path[PATH_MAX + 512], why[sizeof v[i].reason];
        snprintf(path, sizeof path, "%s/%s/%ld/model.bin", r->dir, e->name, v[i].version);
        next = load_served(r, e->name, v[i].version, path, why, sizeof why);
        if (next) {
            atomic_fetch_add(&r->m->model_loads[0], 1);
            next_sig = v[i].sig;
            break;
        }
        atomic_fetch_add(&r->m->model_loads[1], 1);
        v[i].failed = 1;
        snprintf(v[i].reason, sizeof v[i].reason, "failed the check: %.220s", why);
        char msg[600];
        snprintf(msg, sizeof msg, "model %s version %ld not loaded: %s", e->name, v[i].version, why);
        log_event(r, msg);
    }
    pthread_mutex_lock(&r->mu);
    memcpy(e->v, v, sizeof v[0] * (size_t)nv);
    e->nv = nv;
    served_model *old = NULL;
    if (!keep) {
        old = e->served;
        e->served = next;
        e->served_sig = next_sig;
    }
    pthread_mutex_unlock(&r->mu);
    if (old) {
        /* requests that hold it finish on it; it is freed after the last */
        atomic_store(&old->retired, 1);
        served_release(old);
    }
    if (!keep && (old || next)) {
        char msg[400];
        if (next)
            snprintf(msg, sizeof msg, "model %s version %ld (%s) now served%s", e->name, next->version,
                     next->ms.version, old ? "" : " (new)");
        else
            snprintf(msg, sizeof msg, "model %s no longer served", e->name);
        log_event(r, msg);
    }
    return !keep && (old || next);
}

/* Names on the disk that the table lacks join it. Under r->reload. */
static void add_names(repo *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!valid_name(de->d_name))
            continue;
        char path[PATH_MAX + 512];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", r->dir, de->d_name);
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        pthread_mutex_lock(&r->mu);
        if (!find_locked(r, de->d_name) && r->n < REPO_MAX_MODELS) {
            memset(&r->e[r->n], 0, sizeof r->e[r->n]);
            snprintf(r->e[r->n].name, sizeof r->e[r->n].name, "%s", de->d_name);
            r->n++;
        }
        pthread_mutex_unlock(&r->mu);
    }
    closedir(d);
}

int repo_reload(repo *r)
{
    if (!r->dir[0])
        return 0;
    pthread_mutex_lock(&r->reload);
    add_names(r);
    /* Entries are never removed (a name gone from the disk keeps an empty
     * entry), so e stays valid outside the table's lock. */
    int changed = 0;
    for (int i = 0; i < r->n; i++)
        changed += refresh(r, &r->e[i]);
    pthread_mutex_unlock(&r->reload);
    return changed;
}

repo *repo_open_dir(const char *dir, const char *default_name, const predict_env *limits,
                    metrics *m, log_format log, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "--model-repository %s: not a directory", dir);
        return NULL;
    }
    repo *r = repo_new(limits);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->m = m;
    r->log = log;
    repo_reload(r);
    if (default_name[0])
        snprintf(r->default_name, sizeof r->default_name, "%s", default_name);
    else if (r->n == 1)
        snprintf(r->default_name, sizeof r->default_name, "%s", r->e[0].name);
    else
        snprintf(r->default_name, sizeof r->default_name, "mnist");
    model_entry *e = find_locked(r, r->default_name);
    if (!e || !e->served) {
        const char *why = e && e->nv && e->v[0].failed ? e->v[0].reason : "";
        snprintf(err, errlen,
                 "--model-repository %s: the default model \"%s\" has no version that loads "
                 "(%s/%s/<version>/model.bin%s%s; --default-model names another)",
                 dir, r->default_name, dir, r->default_name, why[0] ? ": " : "", why);
        repo_free(r);
        return NULL;
    }
    return r;
}

int repo_load(repo *r, const char *name, char *why, size_t whyn)
{
    if (!r->dir[0]) {
        snprintf(why, whyn, "this server serves one --model, not a repository");
        return -1;
    }
    pthread_mutex_lock(&r->reload);
    add_names(r);
    pthread_mutex_lock(&r->mu);
    model_entry *e = find_locked(r, name);
    if (e) {
        e->unloaded = 0;
        for (int i = 0; i < e->nv; i++)
            e->v[i].failed = 0; /* an explicit load tries every file again */
    }
    pthread_mutex_unlock(&r->mu);
    int rc = -1;
    if (!e) {
        snprintf(why, whyn, "no model named \"%.100s\" in the repository", name);
    } else {
        refresh(r, e);
        pthread_mutex_lock(&r->mu);
        /* loaded: its newest version on the disk is the one served */
        rc = e->served && e->nv && e->v[0].version == e->served->version ? 0 : -1;
        if (rc && e->served)
            snprintf(why, whyn, "model \"%.100s\" version %ld %.300s; version %ld is still served", name,
                     e->v[0].version, e->v[0].reason, e->served->version);
        else if (rc)
            snprintf(why, whyn, "model \"%.100s\" has no version that loads%s%.300s", name,
                     e->nv ? ": " : "", e->nv ? e->v[0].reason : " (no <version>/model.bin)");
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&r->reload);
    return rc;
}

int repo_unload(repo *r, const char *name, char *why, size_t whyn)
{
    if (!r->dir[0]) {
        snprintf(why, whyn, "this server serves one --model, not a repository");
        return -1;
    }
    pthread_mutex_lock(&r->reload);
    pthread_mutex_lock(&r->mu);
    model_entry *e = find_locked(r, name);
    served_model *old = NULL;
    if (e) {
        e->unloaded = 1;
        old = e->served;
        e->served = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&r->reload);
    if (!e) {
        snprintf(why, whyn, "no model named \"%.100s\" in the repository", name);
        return -1;
    }
    if (old) {
        atomic_store(&old->retired, 1);
        served_release(old);
        char msg[300];
        snprintf(msg, sizeof msg, "model %s unloaded", name);
        log_event(r, msg);
    }
    return 0;
}

/* The table's indices in name order, into order[r->n]. Under r->mu. */
static void name_order(const repo *r, int *order)
{
    for (int i = 0; i < r->n; i++) {
        int j = i;
        for (; j > 0 && strcmp(r->e[order[j - 1]].name, r->e[i].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
}

void repo_index_json(repo *r, int ready_only, sbuf *out)
{
    sbuf_reset(out);
    sbuf_putc(out, '[');
    int first = 1;
    pthread_mutex_lock(&r->mu);
    int order[REPO_MAX_MODELS];
    name_order(r, order);
    for (int k = 0; k < r->n; k++) {
        const model_entry *e = &r->e[order[k]];
        if (!r->dir[0]) { /* --model: its one version */
            sbuf_puts(out, "{\"name\":");
            sbuf_json_str(out, e->name, strlen(e->name));
            sbuf_puts(out, ",\"version\":\"1\",\"state\":\"READY\"}");
            first = 0;
            continue;
        }
        for (int j = 0; j < e->nv; j++) {
            const version_state *v = &e->v[j];
            int ready = e->served && e->served->version == v->version;
            if (ready_only && !ready)
                continue;
            char reason[300];
            if (v->failed)
                snprintf(reason, sizeof reason, "%s", v->reason);
            else if (e->unloaded)
                snprintf(reason, sizeof reason, "unloaded");
            else if (e->served)
                snprintf(reason, sizeof reason, "not served: version %ld is", e->served->version);
            else
                snprintf(reason, sizeof reason, "not loaded");
            sbuf_puts(out, first ? "{\"name\":" : ",{\"name\":");
            first = 0;
            sbuf_json_str(out, e->name, strlen(e->name));
            sbuf_printf(out, ",\"version\":\"%ld\",\"state\":\"%s\"", v->version, ready ? "READY" : "UNAVAILABLE");
            if (!ready) {
                sbuf_puts(out, ",\"reason\":");
                sbuf_json_str(out, reason, strlen(reason));
            }
            sbuf_putc(out, '}');
        }
    }
    pthread_mutex_unlock(&r->mu);
    sbuf_puts(out, "]\n");
}

void repo_models_json(repo *r, sbuf *out)
{
    sbuf_reset(out);
    sbuf_puts(out, "{\"default\":");
    sbuf_json_str(out, r->default_name, strlen(r->default_name));
    sbuf_puts(out, ",\"models\":[");
    int first = 1;
    pthread_mutex_lock(&r->mu);
    int order[REPO_MAX_MODELS];
    name_order(r, order);
    for (int k = 0; k < r->n; k++) {
        const served_model *m = r->e[order[k]].served;
        if (!m)
            continue;
        sbuf_puts(out, first ? "{\"name\":" : ",{\"name\":");
        first = 0;
        sbuf_json_str(out, m->ms.name, strlen(m->ms.name));
        sbuf_printf(out, ",\"version\":\"%s\",\"repository_version\":%ld,\"ensemble\":%s,\"classes\":%u,\"labels\":[",
                    m->ms.version, m->version ? m->version : 1, m->ms.ens.n > 1 ? "true" : "false",
                    m->ms.classes);
        for (uint32_t c = 0; c < m->ms.classes; c++) {
            if (c)
                sbuf_putc(out, ',');
            sbuf_json_str(out, m->ms.labels[c], strlen(m->ms.labels[c]));
        }
        sbuf_puts(out, "]}");
    }
    pthread_mutex_unlock(&r->mu);
    sbuf_puts(out, "]}\n");
}

void repo_metrics(repo *r, sbuf *out)
{
    static const char *const kinds[] = {"served", "predictions", "verdicts"};
    static const char *const help[] = {
        "# HELP mnist_model_served The models served: 1 a model, with its repository version, "
        "content version and whether it is the default.\n# TYPE mnist_model_served gauge\n",
        "# HELP mnist_model_predictions_total Answers of each served model, by predicted class.\n"
        "# TYPE mnist_model_predictions_total counter\n",
        "# HELP mnist_model_verdicts_total Answers of each served model, by verdict.\n"
        "# TYPE mnist_model_verdicts_total counter\n"};
    pthread_mutex_lock(&r->mu);
    int order[REPO_MAX_MODELS];
    name_order(r, order);
    for (int kind = 0; kind < 3; kind++) {
        sbuf_puts(out, help[kind]);
        for (int k = 0; k < r->n; k++) {
            const served_model *m = r->e[order[k]].served;
            if (!m)
                continue;
            int rows = kind == 0 ? 1 : kind == 1 ? (int)m->ms.classes : MN_VERDICT_SEVERAL_DIGITS + 1;
            for (int i = 0; i < rows; i++) {
                sbuf_printf(out, "mnist_model_%s%s{model=\"", kinds[kind], kind ? "_total" : "");
                metrics_label_value(out, m->ms.name);
                sbuf_printf(out, "\",version=\"%ld\"", m->version ? m->version : 1);
                if (kind == 0)
                    sbuf_printf(out, ",hash=\"%s\",default=\"%s\"} 1\n", m->ms.version,
                                strcmp(m->ms.name, r->default_name) ? "false" : "true");
                else if (kind == 1)
                    sbuf_printf(out, ",class=\"%d\"} %llu\n", i,
                                (unsigned long long)atomic_load(&m->predictions[i]));
                else
                    sbuf_printf(out, ",verdict=\"%s\"} %llu\n", mn_verdict_name((mn_verdict)i),
                                (unsigned long long)atomic_load(&m->verdicts[i]));
            }
        }
    }
    pthread_mutex_unlock(&r->mu);
}
