"""Every error answer of API.md §0 comes in the JSON envelope with the right
status: 401, 403, 404, 405 (+Allow), 413, 415, and 400 for every kind of
invalid JSON."""
import json
import uuid

from cairn import eq, is_envelope


def check(r, status, code=None):
    eq(r.status, status, f"status of {r!r}")
    assert is_envelope(r), f"not an envelope: {r!r}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    if code is not None:
        eq(r.error_code(), code, "error code")


def create(s, body, **kw):
    return s.request("POST", "/admin/api-keys", body=body, key=s.admin_key, **kw)


def test_unknown_route_404(s):
    check(s.get("/no/such/route"), 404, "not_found")
    check(s.get("/"), 404, "not_found")


def test_wrong_method_405_with_allow(s):
    r = s.request("DELETE", "/healthz")
    check(r, 405, "method_not_allowed")
    allow = [m.strip() for m in r.headers["allow"].split(",")]
    assert "GET" in allow and "HEAD" in allow, allow
    r = s.request("PUT", "/admin/api-keys", key=s.admin_key)
    check(r, 405)
    assert set(m.strip() for m in r.headers["allow"].split(",")) >= {"GET", "POST"}, r.headers


def test_trailing_slash(s):
    eq(s.get("/healthz/").status, 200, "trailing slash accepted")
    r = s.request("DELETE", "/admin/api-keys/", key=s.admin_key)
    check(r, 404, "not_found")  # an empty id is never a parameter
    r = s.request("POST", "/admin/api-keys/", body={"name": "slash", "scopes": ["kv:read"]},
                  key=s.admin_key)
    eq(r.status, 201, "POST to the collection with a trailing slash")


def test_bad_path_escape_400(s):
    for path in ("/admin/api-keys/%00", "/admin/api-keys/%0a", "/admin/api-keys/%ff",
                 "/admin/api-keys/%zz", "/healthz%"):
        r = s.request("DELETE", path, key=s.admin_key)
        check(r, 400)


def test_missing_key_401(s):
    check(s.get("/admin/api-keys"), 401, "unauthorized")


def test_unknown_key_401(s):
    check(s.get("/admin/api-keys", key="0" * 64), 401, "unauthorized")
    check(s.get("/admin/api-keys", headers={"X-API-Key": "nope"}), 401)
    check(s.get("/admin/api-keys", headers={"Authorization": "Basic abc"}), 401)


def test_two_different_keys_401(s):
    r = s.get("/admin/api-keys", key=s.admin_key, headers={"X-API-Key": "other"})
    check(r, 401)
    r = s.get("/admin/api-keys", key=s.admin_key, headers={"X-API-Key": s.admin_key})
    eq(r.status, 200, "the same key twice is fine")


def test_x_api_key_header(s):
    eq(s.get("/admin/api-keys", headers={"X-API-Key": s.admin_key}).status, 200, "X-API-Key")


def test_key_without_scope_403(s):
    _, key = s.new_key(["kv:read"], name="weak")
    check(s.get("/admin/api-keys", key=key), 403, "forbidden")


def test_revoked_key_401(s):
    kid, key = s.new_key(["admin"], name="short-lived")
    eq(s.get("/admin/api-keys", key=key).status, 200, "before revoke")
    r = s.request("DELETE", f"/admin/api-keys/{kid}", key=s.admin_key)
    eq(r.status, 200, "revoke")
    check(s.get("/admin/api-keys", key=key), 401, "unauthorized")


def test_wrong_content_type_415(s):
    check(create(s, '{"name":"x","scopes":["admin"]}', content_type="text/plain"), 415)
    check(create(s, '{"name":"x","scopes":["admin"]}'), 415)  # no content type
    check(create(s, '{"name":"x","scopes":["admin"]}',
                 content_type="application/json; charset=latin1"), 415)


def test_json_content_type_with_charset_ok(s):
    r = create(s, '{"name":"cs","scopes":["kv:read"]}',
               content_type="application/json; charset=UTF-8")
    eq(r.status, 201, f"charset param: {r!r}")


def test_invalid_json_400(s):
    bad = [
        b"{", b"", b"nul", b"{\"name\":}", b"[1,]", b"{\"a\":1}x",
        b"\xef\xbb\xbf{}",                       # byte-order mark
        b"{\"name\":\"\\ud800\",\"scopes\":[]}",  # lone surrogate
        b"{\"name\":\"\xff\",\"scopes\":[]}",     # invalid UTF-8
        b"{\"name\":\"a\",\"name\":\"b\"}",       # duplicate keys
        b"{\"n\\u0061me\":\"a\",\"name\":\"b\"}",  # duplicate after unescaping
        b"{\"a\":NaN}",
        b"[" * 33 + b"]" * 33,                    # deeper than 32
        b"{\"a\":\"x\ny\"}",                      # raw control character
    ]
    for body in bad:
        r = create(s, body, content_type="application/json")
        check(r, 400, "invalid_json")


def test_depth_32_is_fine(s):
    """32 levels parse: the route itself then judges the member (it knows
    no "x"), where 33 levels are invalid JSON (test above)."""
    body = b"{\"name\":\"deep\",\"scopes\":[\"kv:read\"],\"x\":" + b"[" * 31 + b"]" * 31 + b"}"
    r = create(s, body, content_type="application/json")
    eq((r.status, r.error_code()), (400, "unknown_field"), f"depth 32: {r!r}")


def test_trailing_whitespace_ok(s):
    r = create(s, b"{\"name\":\"ws\",\"scopes\":[\"kv:read\"]}\n \r\n",
               content_type="application/json")
    eq(r.status, 201, f"trailing whitespace: {r!r}")


def test_wrong_types_400(s):
    for body in ({"name": 5, "scopes": ["admin"]}, {"name": "x", "scopes": "admin"},
                 {"name": "x", "scopes": [1]}, {"name": "x", "scopes": ["nope"]},
                 {"name": "", "scopes": ["admin"]}, {"name": "a\u0001b", "scopes": ["admin"]},
                 {"scopes": ["admin"]}, {"name": "x"}, [], "str", 7):
        r = create(s, json.dumps(body), content_type="application/json")
        check(r, 400)


def test_body_over_limit_413(s):
    big = b"{\"name\":\"" + b"a" * (8 * 1024 * 1024) + b"\",\"scopes\":[]}"
    r = create(s, big, content_type="application/json", timeout=60)
    check(r, 413, "too_large")


def test_body_far_over_limit_nginx_413(s):
    # beyond nginx's client_max_body_size (limit + 1 MiB): nginx answers itself
    r = s.request("POST", "/admin/api-keys", headers={"Content-Length": str(20 << 20)},
                  content_type="application/json", key=s.admin_key, body=b"")
    eq(r.status, 413, f"nginx 413: {r!r}")
    assert is_envelope(r), r


def test_duplicate_query_parameter_400(s):
    check(s.get("/admin/api-keys?limit=1&limit=2", key=s.admin_key), 400)


def test_request_id_on_errors(s):
    r = s.get("/no/such/route")
    rid = r.headers.get("x-request-id")
    assert rid and len(rid) >= 16, r.headers


def test_request_id_in_the_log(s):
    """The response's X-Request-Id is on the server's log lines for that
    request (API.md §0, "Request ids")."""
    name = "rid-" + uuid.uuid4().hex[:12]
    r = s.post("/services", {"name": name}, key=s.admin_key)
    eq(r.status, 201, "create a service (it logs a line)")
    rid = r.headers["x-request-id"]
    with open(s.env["CAIRN_LOG"], errors="replace") as f:
        lines = [x for x in f if f"req={rid} " in x]
    assert any(f"service {name} created" in x for x in lines), (rid, lines)


def test_repeated_key_headers(s):
    """A header line repeated reaches cairn twice: two different keys are
    refused (API.md §0), never read as whichever came first."""
    admin = s.admin_key

    def send(method, path, headers, body=None):
        r = s.request(method, path, body=body, headers=headers,
                      content_type="application/json" if body is not None else None)
        return r.status, r.body.decode("utf-8", "replace")
    for first, second in [(admin, "bogus"), ("bogus", admin)]:
        status, body = send("GET", "/admin/api-keys",
                            [("X-API-Key", first), ("X-API-Key", second)])
        eq(status, 401, f"{first[:5]} then {second[:5]}")
    status, _ = send("GET", "/admin/api-keys", [("X-API-Key", admin)] * 2)
    eq(status, 200, "repeated with the same key")
    # nginx refuses a repeated Authorization line itself (cairn would 401 it:
    # tests/unit/test_pipeline.c)
    status, _ = send("GET", "/admin/api-keys", [("Authorization", "Bearer " + admin),
                                                ("Authorization", "Bearer bogus")])
    assert status in (400, 401), status
    # /intake authenticates itself: the compat 403
    svc = s.env["CAIRN_SERVICE_KEY"]
    rec = json.dumps({"data": [{"timestamp": "2026-11-22 14:00:00", "body": "x"}]})
    status, body = send("POST", "/intake", [("X-API-Key", svc), ("X-API-Key", admin)], rec)
    eq((status, json.loads(body)), (403, {"code": 403, "message": "Unauthorized"}), "intake")
    status, _ = send("POST", "/intake", [("X-API-Key", svc)] * 2, rec)
    eq(status, 200, "intake, the same key twice")
    # two different Idempotency-Keys
    status, body = send("POST", "/intake", [("X-API-Key", svc), ("Idempotency-Key", "a"),
                                            ("Idempotency-Key", "b")], rec)
    eq(status, 400, f"two Idempotency-Keys: {body}")
