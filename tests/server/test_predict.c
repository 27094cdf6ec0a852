/* test_predict.c: the pure request path of mnist-server (predict_run and
 * its parsers) without HTTP: answers and error codes for each body kind,
 * a model emitting NaN (500, never NaN in JSON), the pixel limit checked
 * from the header before decoding, base64/data URLs, multipart edge cases
 * and JSON string escaping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "body_multipart.h"
#include "check.h"
#include "image_decode.h"
#include "mnist/mnist.h"
#include "model_set.h"
#include "predict.h"
#include "sbuf.h"

static int run(const predict_env *env, predict_scratch *s, const char *ct, const char *q_pre,
               const void *body, size_t len, sbuf *out)
{
    predict_request r = {.content_type = ct, .q_preprocess = q_pre, .body = body, .len = len};
    return predict_run(env, s, &r, out);
}

static int has(const sbuf *b, const char *needle) { return b->p && strstr(b->p, needle) != NULL; }

int main(void)
{
    mn_arch arch;
    mn_arch_reference(&arch);
    mn_error e;
    model_set ms;
    memset(&ms, 0, sizeof ms);
    mn_model *m;
    CHECK(mn_model_create(&arch, &m, &e) == MN_OK, "create: %s", e.msg);
    mn_model_init_glorot(m, 1);
    ms.ens = mn_ensemble_single(m);
    ms.classes = ms.model_classes = 10;
    strcpy(ms.name, "test");
    strcpy(ms.version, "00000000");
    for (int c = 0; c < 10; c++)
        snprintf(ms.labels[c], sizeof ms.labels[c], "%d", c);

    predict_env env = {&ms, 1000000, 4, 3};
    char err[256];
    predict_scratch *s = predict_scratch_create(&env, 1, 1, err, sizeof err);
    CHECK(s != NULL, "scratch: %s", err);
    sbuf out = {0};

    uint8_t px[784] = {0};
    for (int y = 6; y < 22; y++)
        px[y * 28 + 14] = 255;
    int st = run(&env, s, "application/octet-stream", NULL, px, 784, &out);
    CHECK(st == 200 && has(&out, "\"prediction\":") && has(&out, "\"probabilities\":["),
          "raw: %d %s", st, out.p);
    CHECK(!has(&out, "nan") && !has(&out, "inf"), "finite numbers: %s", out.p);

    st = run(&env, s, "application/octet-stream", NULL, px, 0, &out);
    CHECK(st == 400 && has(&out, "empty_body"), "empty: %s", out.p);
    st = run(&env, s, "application/octet-stream", NULL, px, 783, &out);
    CHECK(st == 400 && has(&out, "invalid_pixels") && has(&out, "783"), "783: %s", out.p);
    st = run(&env, s, "text/html", NULL, px, 784, &out);
    CHECK(st == 415 && has(&out, "image/png"), "415: %s", out.p);
    st = run(&env, s, NULL, NULL, px, 784, &out);
    CHECK(st == 415 && has(&out, "missing"), "no type: %s", out.p);
    st = run(&env, s, "application/octet-stream", "sideways", px, 784, &out);
    CHECK(st == 400 && has(&out, "bad_request"), "bad preprocess: %s", out.p);
    uint8_t blank[784] = {0};
    st = run(&env, s, "application/octet-stream", "mnist", blank, 784, &out);
    CHECK(st == 400 && has(&out, "no ink"), "blank + mnist: %s", out.p);

    /* The pixel limit is read from the header: a PNG claiming 50000 x
     * 50000 pixels and holding none is refused before any decoding, and
     * so is one past the decoder's own bound on a side. */
    uint8_t huge_png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H',
                            'D', 'R', 0, 0, 0xc3, 0x50, 0, 0, 0xc3, 0x50, 8, 0, 0, 0, 0};
    uint32_t crc = 0xffffffffu; /* IHDR's CRC-32, so the header is valid */
    for (int i = 12; i < 29; i++) {
        crc ^= huge_png[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    crc ^= 0xffffffffu;
    for (int i = 0; i < 4; i++)
        huge_png[29 + i] = (uint8_t)(crc >> (24 - 8 * i));
    st = run(&env, s, "image/png", NULL, huge_png, sizeof huge_png, &out);
    CHECK(st == 413 && has(&out, "50000x50000"), "huge PNG header: %d %s", st, out.p);
    huge_png[17] = huge_png[21] = 1; /* 115536 x 115536 */
    st = run(&env, s, "image/png", NULL, huge_png, sizeof huge_png, &out);
    CHECK(st == 413 && has(&out, "115536x115536"), "PNG past 65536: %d %s", st, out.p);
    st = run(&env, s, "image/png", NULL, huge_png, 20, &out);
    CHECK(st == 400 && has(&out, "invalid_image") && has(&out, "PNG"), "truncated PNG: %s", out.p);
    static const uint8_t pgm_ascii[] = "P2\n2 2\n255\n0 0 0 0\n";
    st = run(&env, s, "image/x-portable-graymap", NULL, pgm_ascii, sizeof pgm_ascii - 1, &out);
    CHECK(st == 400 && has(&out, "P5"), "ASCII PGM: %s", out.p);
    static const uint8_t pgm_ok[] = "P5\n4 4\n255\n\0\0\0\0\0\xff\xff\0\0\xff\xff\0\0\0\0\0";
    st = run(&env, s, "image/x-portable-graymap", NULL, pgm_ok, sizeof pgm_ok - 1, &out);
    CHECK(st == 200, "binary PGM: %d %s", st, out.p);

    /* JSON: batch limit and item positions in messages. */
    const char *j5 = "{\"instances\":[[0],[0],[0],[0],[0]]}";
    st = run(&env, s, "application/json", NULL, j5, strlen(j5), &out);
    CHECK(st == 413 && has(&out, "limit of 4"), "batch limit: %s", out.p);
    const char *jb = "{\"instances\":[\"data:image/png;base64,AAAA\"]}";
    st = run(&env, s, "application/json", NULL, jb, strlen(jb), &out);
    CHECK(st == 400 && has(&out, "instances[0]"), "item position: %s", out.p);
    const char *jt = "{\"pixels\":[]} x";
    st = run(&env, s, "application/json", NULL, jt, strlen(jt), &out);
    CHECK(st == 400 && has(&out, "invalid_json"), "trailing data: %s", out.p);

    /* A model producing NaN answers 500, never NaN in JSON. */
    float *p = mn_model_params(m);
    p[mn_model_param_count(m) - 1] = NAN; /* the last bias: a NaN logit */
    st = run(&env, s, "application/octet-stream", NULL, px, 784, &out);
    CHECK(st == 500 && has(&out, "\"internal\"") && !has(&out, "nan"), "NaN model: %d %s", st, out.p);

    /* base64 and data URLs */
    uint8_t dec[16];
    size_t dl = 0;
    reply_err re;
    CHECK(b64_decode("aGk=", 4, dec, &dl, &re) == 0 && dl == 2 && !memcmp(dec, "hi", 2), "b64 hi");
    CHECK(b64_decode("aGk", 3, dec, &dl, &re) == 0 && dl == 2, "b64 unpadded");
    CHECK(b64_decode("a", 1, dec, &dl, &re) == 400, "b64 lone char");
    CHECK(b64_decode("aG=k", 4, dec, &dl, &re) == 400, "b64 data after padding");
    /* encoding: RFC 4648's vectors, then every length to 300 round trip */
    static const char *const rfc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int n = 0; n <= 6; n++) {
        sbuf e = {0};
        b64_encode(&e, (const uint8_t *)"foobar", (size_t)n);
        CHECK(e.len == strlen(rfc[n]) && (!n || !strcmp(e.p, rfc[n])), "b64 \"%.*s\": %s", n, "foobar",
              e.p ? e.p : "");
        sbuf_free(&e);
    }
    int round_trips = 1;
    for (size_t n = 0; n <= 300; n++) {
        uint8_t raw[300], back[310];
        for (size_t i = 0; i < n; i++)
            raw[i] = (uint8_t)(i * 131 + n * 7);
        sbuf e = {0};
        b64_encode(&e, raw, n);
        size_t bl = 0;
        round_trips &= n == 0 || (b64_decode(e.p, e.len, back, &bl, &re) == 0 && bl == n && !memcmp(raw, back, n));
        sbuf_free(&e);
    }
    CHECK(round_trips, "b64 encode then decode: every length to 300");
    const char *pl;
    size_t pn;
    CHECK(dataurl_payload("data:image/png;base64,QUJD", 26, &pl, &pn, &re) == 0 && pn == 4 &&
              !memcmp(pl, "QUJD", 4), "data URL");
    CHECK(dataurl_payload("data:text/plain,hello", 21, &pl, &pn, &re) == 400, "non-base64 URL");
    CHECK(dataurl_payload("QUJD", 4, &pl, &pn, &re) == 0 && pl[0] == 'Q', "plain base64");

    /* multipart */
    const char *mp = "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a\"\r\n\r\n"
                     "DATA\r\n--b--\r\n";
    const uint8_t *part;
    size_t partn;
    CHECK(mpart_find_image((const uint8_t *)mp, strlen(mp), "multipart/form-data; boundary=b",
                           &part, &partn, &re) == 0 && partn == 4 && !memcmp(part, "DATA", 4),
          "multipart part");
    CHECK(mpart_find_image((const uint8_t *)mp, strlen(mp) - 8, "multipart/form-data; boundary=b",
                           &part, &partn, &re) == 400, "multipart truncated");
    CHECK(mpart_find_image((const uint8_t *)mp, strlen(mp), "multipart/form-data", &part, &partn,
                           &re) == 400, "multipart without boundary");

    /* JSON strings: control characters escaped, bad UTF-8 replaced. */
    sbuf js = {0};
    sbuf_json_str(&js, "a\"\\\n\x01\xff\xc3\xa9", 8);
    CHECK(!strcmp(js.p, "\"a\\\"\\\\\\u000a\\u0001\\ufffd\xc3\xa9\""), "escaping: %s", js.p);
    sbuf_free(&js);

    sbuf_free(&out);
    predict_scratch_free(s);
    mn_model_free(m);
    return check_finish();
}
