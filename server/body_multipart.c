/* body_multipart.c: a small multipart/form-data reader: boundary from the
 * Content-Type, part headers (Content-Disposition name and filename), part
 * bodies as views into the request body. It does not decode the part's
 * content or honour its Content-Type: images are recognised by their bytes. */
#include "body_multipart.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const uint8_t *find(const uint8_t *h, size_t hn, const void *needle, size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    const uint8_t *n = needle;
    const uint8_t *end = h + hn - nn + 1;
    for (const uint8_t *p = h; p < end;) {
        p = memchr(p, n[0], (size_t)(end - p));
        if (!p)
            return NULL;
        if (memcmp(p, n, nn) == 0)
            return p;
        p++;
    }
    return NULL;
}

/* Copies the value of parameter `name` (case-insensitive) of a header value
 * into out; handles quoted values. Returns 1 when found. */
static int header_param(const char *v, size_t vn, const char *name, char *out, size_t outn)
{
    size_t nl = strlen(name);
    size_t i = 0;
    while (i < vn) {
        /* advance to the next ';' separated parameter */
        while (i < vn && v[i] != ';')
            i++;
        if (i >= vn)
            break;
        i++;
        while (i < vn && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (vn - i > nl && strncasecmp(v + i, name, nl) == 0 && v[i + nl] == '=') {
            i += nl + 1;
            size_t o = 0;
            if (i < vn && v[i] == '"') {
                i++;
                while (i < vn && v[i] != '"') {
                    if (v[i] == '\\' && i + 1 < vn)
                        i++;
                    if (o + 1 < outn)
                        out[o++] = v[i];
                    i++;
                }
            } else {
                while (i < vn && v[i] != ';' && v[i] != ' ' && v[i] != '\t') {
                    if (o + 1 < outn)
                        out[o++] = v[i];
                    i++;
                }
            }
            if (outn)
                out[o] = '\0';
            return 1;
        }
    }
    return 0;
}

int mpart_find_image(const uint8_t *body, size_t len, const char *content_type,
                     const uint8_t **part, size_t *part_len, reply_err *e)
{
    char boundary[80]; /* RFC 2046: at most 70 characters */
    if (!content_type ||
        !header_param(content_type, strlen(content_type), "boundary", boundary, sizeof boundary))
        return reply_fail(e, 400, "invalid_multipart",
                          "multipart/form-data without a boundary parameter in Content-Type");
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > 70)
        return reply_fail(e, 400, "invalid_multipart", "multipart boundary must be 1-70 characters");

    char delim[80];
    delim[0] = '-';
    delim[1] = '-';
    memcpy(delim + 2, boundary, bl);
    size_t dl = bl + 2;

    const uint8_t *end = body + len;
    const uint8_t *p = find(body, len, delim, dl);
    if (!p)
        return reply_fail(e, 400, "invalid_multipart", "multipart body has no boundary line --%s",
                          boundary);
    const uint8_t *first_file = NULL;
    size_t first_file_len = 0;
    int parts = 0;
    for (;;) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break; /* closing delimiter */
        /* rest of the delimiter line */
        const uint8_t *eol = find(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            return reply_fail(e, 400, "invalid_multipart", "multipart body ends inside a boundary line");
        const uint8_t *hdr = eol + 2;
        const uint8_t *hend = find(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
        const uint8_t *data;
        if (hend) {
            data = hend + 4;
        } else if (end - hdr >= 2 && hdr[0] == '\r' && hdr[1] == '\n') {
            hend = hdr; /* a part without headers */
            data = hdr + 2;
        } else {
            return reply_fail(e, 400, "invalid_multipart", "part %d has unterminated headers",
                              parts + 1);
        }
        /* The part ends at CRLF + delimiter. */
        char cdelim[84] = "\r\n";
        memcpy(cdelim + 2, delim, dl);
        const uint8_t *next = find(data, (size_t)(end - data), cdelim, dl + 2);
        if (!next)
            return reply_fail(e, 400, "invalid_multipart",
                              "part %d is not terminated by the boundary (truncated body?)",
                              parts + 1);
        parts++;

        char name[128] = "", filename[8] = "";
        int has_file = 0;
        for (const uint8_t *l = hdr; l < hend;) {
            const uint8_t *le = find(l, (size_t)(hend + 2 - l), "\r\n", 2);
            if (!le)
                le = hend;
            size_t ln = (size_t)(le - l);
            static const char cd[] = "content-disposition:";
            if (ln > sizeof cd - 1 && strncasecmp((const char *)l, cd, sizeof cd - 1) == 0) {
                header_param((const char *)l, ln, "name", name, sizeof name);
                has_file = header_param((const char *)l, ln, "filename", filename, sizeof filename);
            }
            l = le + 2;
        }
        size_t dlen = (size_t)(next - data);
        if (strcmp(name, "image") == 0) {
            *part = data;
            *part_len = dlen;
            return 0;
        }
        if (has_file && !first_file) {
            first_file = data;
            first_file_len = dlen;
        }
        p = next + 2;
    }
    if (first_file) {
        *part = first_file;
        *part_len = first_file_len;
        return 0;
    }
    return reply_fail(e, 400, "invalid_multipart",
                      "no file part named \"image\" and no other file part among %d part%s", parts,
                      parts == 1 ? "" : "s");
}
