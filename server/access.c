/* access.c: bearer keys and CORS headers (access.h). */
#include "access.h"

#include <string.h>
#include <strings.h>

/* a == b in a time that depends on a's length only, not on where the two
 * first differ. */
static int same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned diff = (unsigned)(na ^ nb);
    for (size_t i = 0; i < na; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)b[nb ? i % nb : 0];
    return diff == 0;
}

int access_bearer_ok(struct MHD_Connection *mc, const char *key)
{
    if (!key[0])
        return 1;
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    return same_secret(h, key);
}

void access_add_cors(const char *origin, struct MHD_Response *r, int preflight)
{
    if (!origin[0])
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    if (strcmp(origin, "*") != 0)
        MHD_add_response_header(r, "Vary", "Origin");
    if (preflight) {
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
        MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                "Content-Type, Authorization, Inference-Header-Content-Length");
        MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
    } else {
        MHD_add_response_header(r, "Access-Control-Expose-Headers",
                                "Retry-After, Inference-Header-Content-Length");
    }
}
