/* ensemble_file.c: the ensemble file (docs/FORMAT.md): the members' weights
 * files back to back behind a header carrying the thresholds fitted for
 * the whole, and a SHA-256 of it all. Parsed like a weights file: every
 * field bounded and checked before use. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "le_bytes.h"
#include "mnist/ensemble.h"
#include "mnist/sha256.h"
#include "mnist/weights.h"

#define ENS_MAGIC "MNISTENS"
#define ENS_VERSION 1u
#define ENS_HEADER 64u
#define ENS_CHECKSUM 32u
#define ENS_MAX_BYTES ((size_t)MN_ENSEMBLE_MAX * MN_WEIGHTS_MAX_BYTES)


static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static int is_share(float v) { return isfinite(v) && v >= 0 && v <= 1; }

mn_status mn_ensemble_parse(const uint8_t *buf, size_t len, const char *name, mn_ensemble *e,
                            mn_error *err)
{
    memset(e, 0, sizeof *e);
    if (len < 8 || memcmp(buf, ENS_MAGIC, 8) != 0) {
        /* not an ensemble file: a weights file is an ensemble of one */
        mn_model *m;
        mn_status st = mn_model_parse(buf, len, name, &m, NULL, err);
        if (st != MN_OK)
            return st;
        *e = mn_ensemble_single(m);
        return MN_OK;
    }
    if (len < ENS_HEADER + ENS_CHECKSUM)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: ensemble file of %zu bytes, shorter than its header",
                            name, len);
    const uint32_t version = get32(buf + 8), n = get32(buf + 12);
    const uint64_t size = get64(buf + 16);
    const float escalate = getf(buf + 24), dthr = getf(buf + 28), uthr = getf(buf + 32);
    if (version != ENS_VERSION)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: ensemble file version %u, this reader knows %u", name,
                            version, ENS_VERSION);
    if (size != len)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: ensemble file says %llu bytes but has %zu (truncated?)",
                            name, (unsigned long long)size, len);
    if (n < 2 || n > MN_ENSEMBLE_MAX)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: %u members, an ensemble file has 2 to %d", name, n,
                            MN_ENSEMBLE_MAX);
    if (!is_share(escalate) || escalate >= 1 || !is_share(dthr) || !is_share(uthr))
        return mn_error_set(err, MN_ERR_FORMAT, "%s: thresholds outside [0, 1]", name);
    const uint32_t meta_len = get32(buf + 40);
    for (size_t i = 44; i < ENS_HEADER; i++)
        if (buf[i])
            return mn_error_set(err, MN_ERR_FORMAT, "%s: reserved header byte %zu is not 0", name, i);
    if (meta_len > MN_ENSEMBLE_META_MAX || pad8(meta_len) > len - ENS_HEADER - ENS_CHECKSUM)
        return mn_error_set(err, MN_ERR_FORMAT, "%s: metadata of %u bytes does not fit", name, meta_len);
    uint8_t digest[32];
    mn_sha256(buf, len - ENS_CHECKSUM, digest);
    if (memcmp(digest, buf + len - ENS_CHECKSUM, 32) != 0)
        return mn_error_set(err, MN_ERR_CHECKSUM, "%s: checksum mismatch (corrupted ensemble file)", name);
    const uint8_t *meta = buf + ENS_HEADER;
    if (memchr(meta, 0, meta_len))
        return mn_error_set(err, MN_ERR_FORMAT, "%s: the metadata holds a NUL byte", name);
    for (size_t i = meta_len; i < pad8(meta_len); i++)
        if (meta[i])
            return mn_error_set(err, MN_ERR_FORMAT, "%s: the metadata's padding is not 0", name);
    size_t at = ENS_HEADER + pad8(meta_len), end = len - ENS_CHECKSUM;
    mn_status st = MN_OK;
    for (uint32_t i = 0; i < n && st == MN_OK; i++) {
        if (end - at < 8) {
            st = mn_error_set(err, MN_ERR_FORMAT, "%s: member %u's length runs past the end", name, i + 1);
            break;
        }
        uint64_t mlen = get64(buf + at);
        at += 8;
        if (mlen > end - at) {
            st = mn_error_set(err, MN_ERR_FORMAT, "%s: member %u's %llu bytes run past the end", name,
                              i + 1, (unsigned long long)mlen);
            break;
        }
        char mname[128];
        snprintf(mname, sizeof mname, "%.100s member %u", name, i + 1);
        mn_model *m;
        if ((st = mn_model_parse(buf + at, (size_t)mlen, mname, &m, NULL, err)) != MN_OK)
            break;
        if ((st = mn_ensemble_add(e, m, err)) != MN_OK) {
            mn_model_free(m);
            break;
        }
        at += (size_t)mlen;
    }
    if (st == MN_OK && at != end)
        st = mn_error_set(err, MN_ERR_FORMAT, "%s: %zu bytes after the last member", name, end - at);
    if (st == MN_OK && meta_len) {
        if (!(e->meta = malloc(meta_len + 1))) {
            st = mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory for its metadata", name);
        } else {
            memcpy(e->meta, meta, meta_len);
            e->meta[meta_len] = '\0';
        }
    }
    if (st != MN_OK) {
        mn_ensemble_free(e);
        return st;
    }
    e->calib.digit_threshold = dthr;
    e->calib.unsure_threshold = uthr;
    e->calib.fitted_on = get32(buf + 36);
    e->escalate_below = escalate;
    mn_hex(digest, 4, e->version);
    return MN_OK;
}

mn_status mn_ensemble_load(const char *path, mn_ensemble *e, mn_error *err)
{
    memset(e, 0, sizeof *e);
    uint8_t *buf;
    size_t len;
    mn_status st = mn_file_read(path, ENS_MAX_BYTES, &buf, &len, err);
    if (st != MN_OK)
        return st;
    st = mn_ensemble_parse(buf, len, path, e, err);
    free(buf);
    return st;
}

mn_status mn_ensemble_load_list(const char *paths, mn_ensemble *e, mn_error *err)
{
    memset(e, 0, sizeof *e);
    if (!strchr(paths, ','))
        return mn_ensemble_load(paths, e, err);
    char path[4096];
    for (const char *p = paths;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= sizeof path) {
            mn_ensemble_free(e);
            return mn_error_set(err, MN_ERR_ARG, "%s in the model list \"%.200s\"",
                                n ? "a path too long" : "an empty path", paths);
        }
        memcpy(path, p, n);
        path[n] = '\0';
        mn_model *m;
        mn_status st = mn_model_load(path, &m, NULL, err);
        if (st == MN_OK && (st = mn_ensemble_add(e, m, err)) != MN_OK) {
            mn_model_free(m);
            char why[MN_ERROR_MAX];
            snprintf(why, sizeof why, "%s", err ? err->msg : "");
            mn_error_set(err, st, "%s: %s", path, why);
        }
        if (st != MN_OK) {
            mn_ensemble_free(e);
            return st;
        }
        if (!comma)
            return MN_OK;
        p = comma + 1;
    }
}

mn_status mn_ensemble_save(mn_ensemble *e, const char *path, mn_error *err)
{
    if (e->n < 2)
        return mn_error_set(err, MN_ERR_ARG, "%s: an ensemble file holds 2 members or more, not %d", path,
                            e->n);
    if (!is_share(e->escalate_below) || e->escalate_below >= 1 || !is_share(e->calib.digit_threshold) ||
        !is_share(e->calib.unsure_threshold))
        return mn_error_set(err, MN_ERR_ARG, "%s: thresholds outside [0, 1]", path);
    const size_t meta_len = e->meta ? strlen(e->meta) : 0;
    if (meta_len > MN_ENSEMBLE_META_MAX)
        return mn_error_set(err, MN_ERR_ARG, "%s: metadata of %zu bytes, more than %u", path, meta_len,
                            MN_ENSEMBLE_META_MAX);
    uint8_t *mbuf[MN_ENSEMBLE_MAX] = {0};
    size_t mlen[MN_ENSEMBLE_MAX] = {0}, len = ENS_HEADER + pad8(meta_len) + ENS_CHECKSUM;
    mn_status st = MN_OK;
    for (int i = 0; i < e->n && st == MN_OK; i++) {
        /* serialising sets a member's version from its own checksum, as
         * saving it alone would */
        st = mn_model_serialize(e->m[i], NULL, &mbuf[i], &mlen[i], err);
        len += 8 + mlen[i];
    }
    uint8_t *buf = st == MN_OK ? calloc(1, len) : NULL;
    if (st == MN_OK && !buf)
        st = mn_error_set(err, MN_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    if (st == MN_OK) {
        memcpy(buf, ENS_MAGIC, 8);
        put32(buf + 8, ENS_VERSION);
        put32(buf + 12, (uint32_t)e->n);
        put64(buf + 16, len);
        putf(buf + 24, e->escalate_below);
        putf(buf + 28, e->calib.digit_threshold);
        putf(buf + 32, e->calib.unsure_threshold);
        put32(buf + 36, e->calib.fitted_on);
        put32(buf + 40, (uint32_t)meta_len);
        if (meta_len)
            memcpy(buf + ENS_HEADER, e->meta, meta_len); /* calloc'd: the padding is 0 */
        size_t at = ENS_HEADER + pad8(meta_len);
        for (int i = 0; i < e->n; i++) {
            put64(buf + at, mlen[i]);
            memcpy(buf + at + 8, mbuf[i], mlen[i]);
            at += 8 + mlen[i];
        }
        uint8_t digest[32];
        mn_sha256(buf, at, digest);
        memcpy(buf + at, digest, 32);
        if ((st = mn_file_write_atomic(path, buf, len, err)) == MN_OK)
            mn_hex(digest, 4, e->version);
    }
    for (int i = 0; i < e->n; i++)
        free(mbuf[i]);
    free(buf);
    return st;
}
