/* paths.c: default locations of the bundled model and the MNIST data,
 * relative to the running executable first so an installed or copied
 * build finds its own files. */
#define _DEFAULT_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void exe_dir(char *dir, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    if (n <= 0) {
        snprintf(dir, len, ".");
        return;
    }
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
}

int paths_default_model(char *out, size_t len)
{
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    /* what the server answers with: the cascade, else the best single
     * model, else the reference model */
    static const char *const files[] = {"mnist-cnn-ensemble.bin", "mnist-cnn-large.bin", "mnist-cnn.bin"};
    const char *forms[] = {"%s/models/%s", "%s/../models/%s", "%s/../share/mnist/models/%s"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
            snprintf(out, len, forms[i], dir, files[f]);
            if (exists(out))
                return 0;
        }
        snprintf(out, len, "/usr/share/mnist/models/%s", files[f]);
        if (exists(out))
            return 0;
        snprintf(out, len, "%s/%s", MNIST_SOURCE_MODELS_DIR, files[f]);
        if (exists(out))
            return 0;
    }
    return -1;
}

int paths_default_data(char *out, size_t len)
{
    const char *env = getenv("MNIST_DATA_DIR");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return exists(out) ? 0 : -1;
    }
    if (exists("data/mnist")) {
        snprintf(out, len, "data/mnist");
        return 0;
    }
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    snprintf(out, len, "%s/../data/mnist", dir);
    if (exists(out))
        return 0;
    snprintf(out, len, "%s", MNIST_SOURCE_DATA_DIR);
    return exists(out) ? 0 : -1;
}

void paths_default_fashion(char *out, size_t len)
{
    const char *env = getenv("FASHION_MNIST_DIR");
    snprintf(out, len, "%s", env && *env ? env : "/usr/share/datasets/fashion-mnist");
}
