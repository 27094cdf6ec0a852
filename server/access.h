/* access.h: who may call what, and from which origin: the bearer-key
 * checks of --api-key and --admin-key, and the CORS headers of
 * --cors-origin. The connection state machine (http_server.c) asks; these
 * decide. */
#ifndef SRV_ACCESS_H
#define SRV_ACCESS_H

#include <microhttpd.h>

/* 1 when the request carries "Authorization: Bearer KEY" for key, or key
 * is empty (no key configured). The comparison takes the same time
 * whatever the number of matching bytes. */
int access_bearer_ok(struct MHD_Connection *mc, const char *key);

/* Adds the CORS headers for origin (nothing when origin is empty) to r: a
 * preflight's (the methods, headers and max age allowed), or an answer's
 * (the headers a page may read). */
void access_add_cors(const char *origin, struct MHD_Response *r, int preflight);

#endif
