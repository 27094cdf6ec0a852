/* routes.c: the API's path table (routes.h). */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#ifdef MNIST_HAVE_WEB_ASSETS
#include "web_assets.h"
#endif

static const char GET[] = "GET, HEAD, OPTIONS";
static const char POST[] = "POST, OPTIONS";
static const char GET_POST[] = "GET, HEAD, POST, OPTIONS";

static const struct {
    const char *path;
    route_id route;
    const char *allow;
    int needs_key;
} table[] = {
    {"/predict", ROUTE_PREDICT, POST, 1},
    {"/v1/read", ROUTE_READ, POST, 1},
    {"/v1/explain", ROUTE_EXPLAIN, POST, 1},
    {"/v1/feedback", ROUTE_FEEDBACK, GET_POST, 1},
    {"/v1/feedback/info", ROUTE_FEEDBACK_INFO, GET, 0},
    {"/v1/models", ROUTE_REPOSITORY, GET, 1},
    {"/v1/model", ROUTE_MODEL, GET, 1},
    {"/healthz", ROUTE_HEALTHZ, GET, 0},
    {"/readyz", ROUTE_READYZ, GET, 0},
    {"/metrics", ROUTE_METRICS, GET, 0},
    {"/", ROUTE_ROOT, GET, 0},
};

const char routes_list[] = "POST /predict, /v1/read, /v1/explain, /v1/feedback, GET /healthz, "
                           "/readyz, /metrics, /v1/model, /v1/models, /v1/feedback, "
                           "/v1/feedback/info";

/* /v1/models/{name}:explain, KServe's v1 explain path: its name into
 * name[n]; 0 when url is not one. */
static int kserve_explain(const char *url, char *name, size_t n)
{
    const char *pre = "/v1/models/", *suf = ":explain";
    size_t len = strlen(url), np = strlen(pre), ns = strlen(suf);
    if (len <= np + ns || strncmp(url, pre, np) || strcmp(url + len - ns, suf))
        return 0;
    size_t k = len - np - ns;
    snprintf(name, n, "%.*s", (int)(k < n ? k : n - 1), url + np);
    return 1;
}

void routes_match(const char *url, route_match *m)
{
    memset(m, 0, sizeof *m);
    m->route = ROUTE_OTHER;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (!strcmp(url, table[i].path)) {
            m->route = table[i].route;
            m->allow = table[i].allow;
            m->needs_key = table[i].needs_key;
            m->page = m->route == ROUTE_ROOT;
            return;
        }
    if (kserve_explain(url, m->model, sizeof m->model)) {
        m->route = ROUTE_EXPLAIN;
        m->allow = POST;
        m->needs_key = 1;
        return;
    }
#ifdef MNIST_HAVE_WEB_ASSETS
    if (web_asset_find(url)) {
        m->route = ROUTE_ROOT;
        m->allow = GET;
        m->page = 1;
    }
#endif
}

int routes_allows(const route_match *m, const char *method)
{
    if (!m->allow)
        return 0;
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return strstr(m->allow, "GET") != NULL;
    if (!strcmp(method, "POST"))
        return strstr(m->allow, "POST") != NULL;
    return 0;
}
