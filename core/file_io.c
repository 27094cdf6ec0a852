/* file_io.c: whole-file reads and crash-safe writes (file_io.h). */
#define _POSIX_C_SOURCE 200809L
#include "file_io.h"

#include "big_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mn_status mn_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, mn_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mn_error_set(err, MN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return mn_error_set(err, MN_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > max) {
        fclose(f);
        return mn_error_set(err, MN_ERR_LIMIT, "%s: %lld bytes, larger than the %zu a model file may have",
                            path, (long long)sb.st_size, max);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *b = mn_big_alloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return mn_error_set(err, MN_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != n || rerr) {
        free(b);
        return mn_error_set(err, MN_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    *buf = b;
    *len = n;
    return MN_OK;
}

/* Writes all of buf to fd, retrying short writes. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

mn_status mn_file_write_atomic(const char *path, const uint8_t *buf, size_t len, mn_error *err)
{
    mn_status st = MN_OK;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32), *dircopy = malloc(plen + 1);
    if (!tmp || !dircopy) {
        free(tmp);
        free(dircopy);
        return mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, plen + 32, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = mn_error_set(err, MN_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    } else if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        st = mn_error_set(err, MN_ERR_IO, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    } else if (close(fd) != 0 || rename(tmp, path) != 0) {
        st = mn_error_set(err, MN_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp,
                          strerror(errno));
        unlink(tmp);
    } else {
        /* Make the rename itself durable. */
        memcpy(dircopy, path, plen + 1);
        int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    free(dircopy);
    return st;
}
