/* file_io.h: whole-file reads of untrusted files and crash-safe writes,
 * shared by the weights file and the ensemble file. Internal to core/. */
#ifndef MNIST_FILE_IO_H
#define MNIST_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include "mnist/error.h"

/* Reads the regular file path, at most max bytes, into a malloc'd *buf
 * (*len bytes; the caller frees). Messages start with the path. */
mn_status mn_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, mn_error *err);

/* Writes buf[len] to path so that path holds either its old content or
 * all of the new, whatever happens: path.tmp-PID, fsync, rename, fsync of
 * the directory. No temporary file is left behind on failure. */
mn_status mn_file_write_atomic(const char *path, const uint8_t *buf, size_t len, mn_error *err);

#endif
