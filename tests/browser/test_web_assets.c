/* test_web_assets.c: the page embedded by web/ (mnist_web_assets): every file
 * is found by its URL path with the right Content-Type and exactly the bytes
 * of its source, "/" is the page, and unknown paths find nothing. Reads the
 * sources from MNIST_SOURCE_DIR/web. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "web_assets.h"

/* Whether asset a holds exactly the bytes of the file web/name. */
static int same_as_source(const web_asset *a, const char *src_dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/web/%s", src_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char *buf = malloc(a->len + 1);
    size_t n = buf ? fread(buf, 1, a->len + 1, f) : 0;
    int same = buf && n == a->len && memcmp(buf, a->data, a->len) == 0;
    free(buf);
    fclose(f);
    return same;
}

int main(void)
{
    const char *src = getenv("MNIST_SOURCE_DIR");
    CHECK(src != NULL, "MNIST_SOURCE_DIR is not set");
    static const struct { const char *name, *type; } files[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"style.css", "text/css; charset=utf-8"},
        {"favicon.svg", "image/svg+xml"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char url[64];
        snprintf(url, sizeof url, "/%s", files[i].name);
        const web_asset *a = web_asset_find(url);
        CHECK(a != NULL, "%s not embedded", url);
        if (!a)
            continue;
        CHECK(strcmp(a->path, url) == 0, "%s: path %s", url, a->path);
        CHECK(strcmp(a->content_type, files[i].type) == 0, "%s: type %s", url, a->content_type);
        CHECK(a->len > 0, "%s is empty", url);
        CHECK(src && same_as_source(a, src, files[i].name), "%s differs from web/%s", url, files[i].name);
        /* Text assets also end in a NUL beyond len, so they are C strings. */
        CHECK(a->data[a->len] == 0, "%s lacks its NUL", url);
    }

    const web_asset *root = web_asset_find("/");
    CHECK(root != NULL && root == web_asset_find("/index.html"), "/ is not /index.html");
    CHECK(root && strstr((const char *)root->data, "<canvas") != NULL, "the page has no canvas");
    CHECK(root && strstr((const char *)root->data, "app.js") != NULL, "the page loads no app.js");

    CHECK(web_asset_find(NULL) == NULL, "found NULL");
    CHECK(web_asset_find("") == NULL, "found \"\"");
    CHECK(web_asset_find("/nope.js") == NULL, "found \"/nope.js\"");
    CHECK(web_asset_find("index.html") == NULL, "found \"index.html\"");   /* paths start with '/' */
    CHECK(web_asset_find("/index.html?x=1") == NULL, "found \"/index.html?x=1\""); /* the caller strips queries */
    CHECK(web_asset_find("/INDEX.HTML") == NULL, "found \"/INDEX.HTML\"");
    CHECK(web_asset_find("/../index.html") == NULL, "found \"/../index.html\"");
    CHECK(web_asset_find("/index.html/") == NULL, "found \"/index.html/\"");
    return check_finish();
}
