/* routes.h: the paths of the HTTP API outside the Open Inference Protocol
 * (oip.h) and the repository extension: which route a path is, the
 * methods it takes, and whether --api-key guards it. One table, so the
 * 404's list, the Allow headers and the key checks cannot disagree. */
#ifndef SRV_ROUTES_H
#define SRV_ROUTES_H

#include "metrics.h"

typedef struct {
    route_id route;   /* ROUTE_OTHER for no such path */
    const char *allow; /* the Allow header: its methods; NULL for no such path */
    int needs_key;    /* --api-key guards it */
    int page;         /* the page or one of its assets (GET /, ...) */
    char model[128];  /* the model the path names (KServe's
                       * /v1/models/{name}:explain), or "" */
} route_match;

/* The route of url (its path, without the query) into *m. */
void routes_match(const char *url, route_match *m);

/* 1 when method (GET, HEAD, POST...) is one m's path takes. */
int routes_allows(const route_match *m, const char *method);

/* The paths, for a 404's message. */
extern const char routes_list[];

#endif
