"""POST/GET /v1/feedback and /v1/feedback/info against the real server with a
SQLite store: what is stored (the model's view of the image to the bit, the
original upload, label, what the user was shown), the listing and its
paging, every refusal (and that it stores nothing), the rate limit's 429
with Retry-After, the API key, the counters of /metrics, feedback off, and
the records surviving a restart. Every answer is also checked against
web/openapi.json by httpkit."""

import base64
import json
import os
import re
import sqlite3
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import Server, check, expect_error, finish, mnist_test, png, request  # noqa: E402

digits = mnist_test(6)
work = tempfile.mkdtemp(prefix="mnist-feedback-")
db = os.path.join(work, "feedback.db")


def post(port, doc, headers=None, raw=None, ctype="application/json"):
    body = raw if raw is not None else json.dumps(doc).encode()
    return request(port, "POST", "/v1/feedback", body, headers=headers, content_type=ctype)


def rows():
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT id, label, prediction, model_version, probabilities, image, original, "
                         "original_type FROM feedback ORDER BY id").fetchall()
    finally:
        c.close()


def floats(blob):
    return list(struct.unpack("<%df" % (len(blob) // 4), blob))


def metric(port, name):
    text = request(port, "GET", "/metrics").body.decode()
    m = re.search("^" + re.escape(name) + r" (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


# --- feedback off: the info says so, a post is refused
srv = Server()
r = request(srv.port, "GET", "/v1/feedback/info")
check(r.status == 200 and r.json()["enabled"] is False, "info with feedback off: %r" % r.body[:200])
px, label = digits[0]
expect_error("post with feedback off", post(srv.port, {"pixels": list(px), "label": label}), 404,
             "feedback_disabled")
expect_error("list with feedback off", request(srv.port, "GET", "/v1/feedback"), 404, "feedback_disabled")
srv.stop()

# --- feedback on
srv = Server("--feedback-db", db, "--max-body", "64k", "--feedback-rate", "0")
port = srv.port
info = request(port, "GET", "/v1/feedback/info").json()
check(info["enabled"] is True and info["backend"] == "sqlite" and info["schema_version"] == 1 and
      "image" in info["stores"], "info: %r" % info)
check(srv.wait_output("feedback stored in sqlite " + db), "start-up names the store")

# a PNG as a data URL, with what the user was shown
px, label = digits[0]
image = png(28, 28, px)
shown = [0.0] * 10
shown[(label + 1) % 10] = 0.75
shown[label] = 0.25
doc = {"image": "data:image/png;base64," + base64.b64encode(image).decode(), "label": label,
       "prediction": (label + 1) % 10, "version": "abc123", "probabilities": shown}
r = post(port, doc)
check(r.status == 201 and r.json() == {"id": 1}, "first post: %d %r" % (r.status, r.body[:200]))
seen = request(port, "POST", "/predict?input=1", json.dumps({"image": doc["image"]}).encode(),
               content_type="application/json").json()["input"]
got = rows()
check(len(got) == 1, "one row after one post: %d" % len(got))
rid, lab, pred, ver, probs, img, orig, otype = got[0]
check((rid, lab, pred, ver) == (1, label, (label + 1) % 10, "abc123"), "row fields: %r" % ((rid, lab, pred, ver),))
check(floats(img) == [struct.unpack("<f", struct.pack("<f", v / 255.0))[0] for v in seen],
      "the stored image is the model's view of the upload, to the bit")
check(floats(probs) == [struct.unpack("<f", struct.pack("<f", v))[0] for v in shown], "probabilities stored")
check(orig == image and otype == "image/png", "the original PNG is kept as sent (%s, %d bytes)" % (otype, len(orig or b"")))

# pixels, "not_a_digit", nothing else sent
body = json.dumps({"pixels": list(digits[1][0]), "label": "not_a_digit"}).encode()
r = post(port, None, raw=body)
check(r.status == 201 and r.json() == {"id": 2}, "pixels post: %d %r" % (r.status, r.body[:200]))
rid, lab, pred, ver, probs, img, orig, otype = rows()[1]
check(lab == 10 and pred is None or pred == -1, "not_a_digit stored as 10, no prediction: %r %r" % (lab, pred))
check(ver == "" and probs is None and orig == body and otype == "application/json",
      "a pixels body is kept as its JSON: %r %r %r" % (ver, probs is None, otype))
check(floats(img)[:784] == [struct.unpack("<f", struct.pack("<f", v / 255.0))[0] for v in
                            request(port, "POST", "/predict?input=1", body,
                                    content_type="application/json").json()["input"]],
      "pixels: the stored image is the model's view")

# --- refusals: each a JSON error, none stores anything
before = len(rows())
good = {"pixels": list(px)}
for what, doc, raw, ctype, status, code in [
        ("no label", good, None, "application/json", 400, "invalid_label"),
        ("label 10", dict(good, label=10), None, "application/json", 400, "invalid_label"),
        ("label 3.5", dict(good, label=3.5), None, "application/json", 400, "invalid_label"),
        ("label '7' as a string", dict(good, label="7"), None, "application/json", 400, "invalid_label"),
        ("label null", dict(good, label=None), None, "application/json", 400, "invalid_label"),
        ("bad prediction", dict(good, label=1, prediction=11), None, "application/json", 400, "bad_request"),
        ("9 probabilities", dict(good, label=1, probabilities=[0.1] * 9), None, "application/json", 400,
         "bad_request"),
        ("a probability of 2", dict(good, label=1, probabilities=[2] + [0] * 9), None, "application/json", 400,
         "bad_request"),
        ("version too long", dict(good, label=1, version="v" * 64), None, "application/json", 400, "bad_request"),
        ("a batch", {"instances": [list(px)], "label": 1}, None, "application/json", 400, "bad_request"),
        ("no image", {"label": 1}, None, "application/json", 400, "bad_request"),
        ("broken image", {"image": "aGVsbG8=", "label": 1}, None, "application/json", 400, "invalid_image"),
        ("short pixels", {"pixels": [0, 1], "label": 1}, None, "application/json", 400, "invalid_pixels"),
        ("not JSON", None, b"{label", "application/json", 400, "invalid_json"),
        ("a PNG body", None, image, "image/png", 415, "unsupported_media_type"),
        ("no Content-Type", None, b"{}", None, 415, "unsupported_media_type"),
        ("over --max-body", None, b"{\"label\": 1, \"pixels\": [" + b"0," * 40000 + b"0]}", "application/json",
         413, "payload_too_large")]:
    expect_error(what, post(port, doc, raw=raw, ctype=ctype), status, code)
check(len(rows()) == before, "refused posts store nothing (%d rows, %d before)" % (len(rows()), before))
expect_error("PUT", request(port, "PUT", "/v1/feedback", b"{}", content_type="application/json"), 405,
             "method_not_allowed")

# --- the listing and its paging
for i in range(3):
    r = post(port, {"pixels": list(digits[2 + i][0]), "label": digits[2 + i][1], "prediction": "not_a_digit"})
    check(r.status == 201 and r.json()["id"] == 3 + i, "post %d: %r" % (3 + i, r.body[:100]))
r = request(port, "GET", "/v1/feedback")
lst = r.json()
check(r.status == 200 and [x["id"] for x in lst["records"]] == [1, 2, 3, 4, 5] and lst["next_after"] == 5,
      "list: %r" % [x["id"] for x in lst.get("records", [])])
first = lst["records"][0]
check(first["label"] == label and first["prediction"] == (label + 1) % 10 and first["version"] == "abc123" and
      first["original_type"] == "image/png" and first["original_bytes"] == len(image) and
      re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["created"]) and "image" not in first,
      "a listed record: %r" % first)
check(lst["records"][1]["label"] == "not_a_digit" and lst["records"][1]["prediction"] is None and
      lst["records"][2]["prediction"] == "not_a_digit", "labels listed as sent")
page = request(port, "GET", "/v1/feedback?after=2&limit=2").json()
check([x["id"] for x in page["records"]] == [3, 4] and page["next_after"] == 4, "page after=2 limit=2: %r" % page)
end = request(port, "GET", "/v1/feedback?after=5").json()
check(end == {"records": [], "next_after": 5}, "past the end: %r" % end)
for q in ("limit=0", "limit=1001", "after=-1", "after=x", "limit=5x"):
    expect_error("list ?" + q, request(port, "GET", "/v1/feedback?" + q), 400, "bad_request")

# --- /metrics counts stored posts by label and refusals by reason
check(metric(port, 'mnist_feedback_stored_total{label="not_a_digit"}') == 1, "metrics: one not_a_digit stored")
check(metric(port, 'mnist_feedback_stored_total{label="%d"}' % label) >= 1, "metrics: label %d stored" % label)
check(metric(port, 'mnist_feedback_refused_total{reason="invalid"}') == 14,
      "metrics: 14 invalid posts: %r" % metric(port, 'mnist_feedback_refused_total{reason="invalid"}'))
check(metric(port, 'mnist_feedback_refused_total{reason="unsupported_media_type"}') == 2, "metrics: 2 of type")
check(metric(port, 'mnist_feedback_refused_total{reason="too_large"}') == 1, "metrics: 1 too large")
check(metric(port, 'mnist_http_requests_total{route="/v1/feedback",status="201"}') == 5, "metrics: 5 answered 201")
r = request(port, "POST", "/predict", bytes(digits[0][0]), content_type="application/octet-stream")
check(r.status == 200 and r.json()["prediction"] == digits[0][1], "predictions go on beside feedback")
check(srv.stop() == 0, "SIGTERM with feedback on: exit 0")

# --- restart on the same file: every record is there, ids go on
srv = Server("--feedback-db", db)
ids = [x["id"] for x in request(srv.port, "GET", "/v1/feedback").json()["records"]]
check(ids == [1, 2, 3, 4, 5], "records after a restart: %r" % ids)
r = post(srv.port, {"pixels": list(px), "label": label})
check(r.status == 201 and r.json()["id"] == 6, "the next id after a restart: %r" % r.body[:100])
srv.stop()

# --- the rate limit: a burst of 6 (6 a minute), then 429 with Retry-After
srv = Server("--feedback-db", db, "--feedback-rate", "6")
codes = [post(srv.port, {"pixels": list(px), "label": label}).status for _ in range(6)]
check(codes == [201] * 6, "a burst of 6 within the limit: %r" % codes)
r = post(srv.port, {"pixels": list(px), "label": label})
expect_error("the 7th post in a second", r, 429, "rate_limited")
ra = r.header("retry-after")
check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 10, "429 has a Retry-After of 1-10 s: %r" % ra)
check(metric(srv.port, 'mnist_feedback_refused_total{reason="rate_limited"}') == 1, "metrics: 1 rate limited")
check(request(srv.port, "GET", "/v1/feedback?limit=1").status == 200, "listing is not rate limited")
srv.stop()

# --- with an API key: posting and listing need it, the info does not
srv = Server("--feedback-db", db, "--api-key", "s3cret")
expect_error("post without the key", post(srv.port, {"pixels": list(px), "label": 1}), 401, "unauthorized")
expect_error("list without the key", request(srv.port, "GET", "/v1/feedback"), 401, "unauthorized")
check(request(srv.port, "GET", "/v1/feedback/info").status == 200, "info without the key: 200")
r = post(srv.port, {"pixels": list(px), "label": 1}, headers={"Authorization": "Bearer s3cret"})
check(r.status == 201, "post with the key: %d" % r.status)
srv.stop()

# --- a store that cannot be opened stops the start with a message naming it
bad = os.path.join(work, "no-such-dir", "feedback.db")
srv = Server("--feedback-db", bad, expect_start=False)
rc = srv.wait(20)
check(rc not in (0, None) and bad in srv.stderr(), "unopenable store: exit %r, %r" % (rc, srv.stderr()[:200]))

finish()
