/* error.h: status codes and the caller-owned error message of the mnist library.
 * Every fallible function returns an mn_status and, on failure, writes a
 * precise, human-readable message into the mn_error the caller passed. */
#ifndef MNIST_ERROR_H
#define MNIST_ERROR_H

#define MN_ERROR_MAX 512

typedef enum {
    MN_OK = 0,
    MN_ERR_ARG,      /* a parameter is out of range or inconsistent */
    MN_ERR_NOMEM,    /* an allocation failed */
    MN_ERR_IO,       /* open/read/write/fsync/rename failed */
    MN_ERR_FORMAT,   /* a file or buffer is malformed */
    MN_ERR_CHECKSUM, /* a weights file's SHA-256 does not match its content */
    MN_ERR_NOINK,    /* an image has no ink to classify */
    MN_ERR_LIMIT     /* a size from outside exceeds a configured bound */
} mn_status;

/* The message buffer a caller owns; err may be NULL where a caller does not
 * care. Thread-safe: the library keeps no global error state. */
typedef struct {
    char msg[MN_ERROR_MAX];
} mn_error;

/* Formats a message into err (if non-NULL) and returns code, so that error
 * paths read `return mn_error_set(err, MN_ERR_FORMAT, "...", ...);`. */
mn_status mn_error_set(mn_error *err, mn_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A short stable name for a status ("format", "io", ...). Never NULL. */
const char *mn_status_name(mn_status code);

#endif
