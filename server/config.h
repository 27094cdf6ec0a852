/* config.h: the server's settings (API.md's configuration table plus the
 * tuning knobs of the worker pool): each one a flag and an environment
 * variable, flags winning over variables, variables over defaults. */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_TEXT, LOG_JSON, LOG_OFF } log_format;

typedef struct {
    char host[256];
    int port;
    char model[4096];     /* "" = the bundled model; may be a comma-separated list */
    char repository[4096]; /* a model repository DIR/<name>/<version>/model.bin, or "" */
    char default_model[128]; /* the repository model /predict answers with */
    int poll_seconds;     /* re-read the repository this often (0: never) */
    char admin_key[512];  /* needed by the repository API when set */
    int threads;          /* inference workers */
    size_t max_body;      /* bytes */
    uint64_t max_pixels;  /* width x height of one image */
    int max_batch;        /* instances in one request */
    int max_digits;       /* digits in one POST /v1/read image */
    int timeout;          /* idle connection, seconds */
    char cors_origin[512];
    char api_key[512];
    log_format log;
    int queue;            /* requests waiting for a worker before 503 */
    int batch;            /* most requests a worker runs through the model at once */
    int batch_wait_us;    /* how long a worker waits to fill a batch (0: never) */
    int model_batch;      /* samples per model call */
    int io_threads;       /* HTTP threads */
    char feedback_db[4096]; /* the feedback store: a SQLite path or a postgresql:// URL; "" = off */
    int feedback_rate;    /* feedback posts a client address may send a minute (0: no limit) */
    int healthcheck;      /* probe mode */
} srv_config;

/* Fills c from defaults, then the environment, then argv. Returns 0 to
 * run, 1 when --help or --version was printed (exit 0), -1 on a bad flag
 * or value, with a message naming it in err. */
int config_load(srv_config *c, int argc, char **argv, char *err, size_t errlen);

/* Writes the --help text to f. */
void config_usage(void *file);

#endif
