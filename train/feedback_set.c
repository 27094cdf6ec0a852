/* feedback_set.c: loads a feedback store's records into byte images and
 * splits them by id into training and held-out parts. */
#define _POSIX_C_SOURCE 200809L
#include "feedback_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feedback_store.h"

#define PAGE 500

void feedback_location_public(const char *location, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", location);
    char *scheme = strstr(out, "://");
    if (!scheme)
        return;
    char *auth = scheme + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
    if (!at || (slash && slash < at))
        return;
    char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon)
        memmove(colon, at, strlen(at) + 1);
}

static int is_url(const char *s)
{
    return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

void feedback_set_free(feedback_set *f)
{
    free(f->train_images);
    free(f->train_labels);
    free(f->held_images);
    free(f->held_labels);
    memset(f, 0, sizeof *f);
}

/* Grows the arrays of one part to hold n + 1 rows. */
static int push(uint8_t **images, uint8_t **labels, size_t *n, const fb_record *r, uint8_t label)
{
    uint8_t *im = realloc(*images, (*n + 1) * FB_IMAGE_PIXELS), *lb;
    if (!im)
        return -1;
    *images = im;
    lb = realloc(*labels, *n + 1);
    if (!lb)
        return -1;
    *labels = lb;
    for (int i = 0; i < FB_IMAGE_PIXELS; i++) {
        float v = r->image[i] < 0 ? 0 : r->image[i] > 1 ? 1 : r->image[i];
        im[*n * FB_IMAGE_PIXELS + i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    lb[*n] = label;
    (*n)++;
    return 0;
}

int feedback_set_load(const char *location, int32_t background, feedback_set *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    feedback_location_public(location, out->location, sizeof out->location);
    struct stat st;
    /* fb_store_open creates a missing SQLite file: a typo must not train
     * on a new empty store */
    if (!is_url(location) && stat(location, &st) != 0) {
        snprintf(err, errlen, "%s: no such feedback database", out->location);
        return -1;
    }
    fb_store *s = NULL;
    char e[512];
    if (fb_store_open(location, &s, e, sizeof e) != FB_OK) {
        snprintf(err, errlen, "%s: cannot open the feedback database: %s", out->location, e);
        return -1;
    }
    fb_record *page = malloc(sizeof *page * PAGE);
    int64_t after = 0;
    int rc = 0;
    if (!page) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    while (!rc) {
        int n = 0;
        if (fb_store_list(s, after, PAGE, page, &n, e, sizeof e) != FB_OK) {
            snprintf(err, errlen, "%s: %s", out->location, e);
            rc = -1;
            break;
        }
        for (int i = 0; i < n && !rc; i++) {
            const fb_record *r = &page[i];
            if (!out->n_records)
                out->first_id = r->id;
            out->last_id = r->id;
            out->n_records++;
            int label = r->label;
            if (label == FB_LABEL_NOT_A_DIGIT) {
                if (background < 0) {
                    out->n_skipped++;
                    continue;
                }
                label = background;
            }
            int held = r->id % FEEDBACK_HOLD_EVERY == 0;
            if ((held ? push(&out->held_images, &out->held_labels, &out->n_held, r, (uint8_t)label)
                      : push(&out->train_images, &out->train_labels, &out->n_train, r, (uint8_t)label)) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
        }
        if (n < PAGE)
            break;
        after = page[n - 1].id;
    }
    free(page);
    fb_store_close(s);
    if (!rc && out->n_train == 0) {
        snprintf(err, errlen, "%s: no usable feedback records to train on (%zu records, %zu skipped, %zu held out)",
                 out->location, out->n_records, out->n_skipped, out->n_held);
        rc = -1;
    }
    if (rc)
        feedback_set_free(out);
    return rc;
}
