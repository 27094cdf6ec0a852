/* test_feedback_nolibpq.c: on a machine without libpq (the small image), a
 * PostgreSQL URL is refused as unavailable with a message saying what to
 * install, and the SQLite backend still works. Run by
 * tests/feedback/no_libpq.sh with libpq.so.5 hidden.
 * Usage: test_feedback_nolibpq SQLITE_PATH */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "feedback_store.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_feedback_nolibpq SQLITE_PATH\n");
        return 2;
    }
    char err[512];
    const char *urls[] = {"postgresql://u:secret-pw@localhost/feedback", "postgres:///feedback"};
    for (int i = 0; i < 2; i++) { /* twice: the failed load is remembered */
        fb_store *s = NULL;
        err[0] = '\0';
        int rc = fb_store_open(urls[i], &s, err, sizeof err);
        CHECK(rc == FB_ERR_UNAVAILABLE && s == NULL, "%s: %d", urls[i], rc);
        CHECK(strstr(err, "cannot load libpq.so.5") && strstr(err, "install libpq5"), "%s: %s", urls[i], err);
        CHECK(!strstr(err, "secret-pw"), "message shows the password: %s", err);
    }
    unlink(argv[1]);
    fb_store *s = NULL;
    int rc = fb_store_open(argv[1], &s, err, sizeof err);
    CHECK(rc == FB_OK && s && strcmp(fb_store_backend(s), "sqlite") == 0, "SQLite without libpq: %d %s", rc, err);
    fb_store_close(s);
    unlink(argv[1]);
    return check_finish();
}
