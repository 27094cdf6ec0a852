/* json_out.c: JSON string escaping for the metadata the tools write. */
#include <stdio.h>

#include "json_out.h"

char *json_quote(const char *s, char *out, size_t len)
{
    size_t n = 0;
    if (len < 3) {
        if (len)
            out[0] = 0;
        return out;
    }
    out[n++] = '"';
    for (; *s && n + 8 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = 0;
    return out;
}
