/* error.c: formatting of the caller-owned error message and status names. */
#include <stdarg.h>
#include <stdio.h>

#include "mnist/error.h"

mn_status mn_error_set(mn_error *err, mn_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *mn_status_name(mn_status code)
{
    switch (code) {
    case MN_OK: return "ok";
    case MN_ERR_ARG: return "argument";
    case MN_ERR_NOMEM: return "out of memory";
    case MN_ERR_IO: return "io";
    case MN_ERR_FORMAT: return "format";
    case MN_ERR_CHECKSUM: return "checksum";
    case MN_ERR_NOINK: return "no ink";
    case MN_ERR_LIMIT: return "limit";
    }
    return "unknown";
}
