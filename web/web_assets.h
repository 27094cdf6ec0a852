/* web_assets.h: the drawing page's files (web/), embedded into the binary
 * at build time, looked up by URL path. Read-only data with static storage:
 * nothing to free, safe from any thread. Knows nothing about HTTP. */
#ifndef MNIST_WEB_ASSETS_H
#define MNIST_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;         /* "/index.html", "/app.js", ... */
    const char *content_type; /* the Content-Type to serve it with */
    const unsigned char *data;
    size_t len;               /* bytes in data */
} web_asset;

/* The asset at URL path (no query string), e.g. "/app.js"; "/" maps to
 * "/index.html". Returns NULL when there is none (or path is NULL). The
 * result points to static data, valid for the life of the process. */
const web_asset *web_asset_find(const char *path);

#endif
