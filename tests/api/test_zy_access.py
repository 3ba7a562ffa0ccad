"""Access-control matrix (issue 8): every route of cgi-bin/routes.c (but
/_debug/*) called with no key, with a key lacking the route's scope, with a
key holding exactly that scope, and with a revoked key -> 401 / 403 /
neither / 401 exactly.  /intake and /insert authenticate themselves and
answer the compat 403 {"code":403,"message":"Unauthorized"} for every
failure, disabled services' and rotated-away keys included.  Keys never
appear after creation: not in any response body or header of the matrix,
not in the log file, not in /metrics."""
import json
import uuid

from cairn import is_envelope

STATE = {"responses": [], "keys": {}, "asserts": 0, "fails": []}

SCOPES = ["logs:read", "logs:admin", "tags:read", "tags:write", "tags:admin",
          "events:read", "events:write", "events:admin", "geo:read", "geo:write",
          "geo:admin", "kv:read", "kv:write", "kv:admin", "admin"]


def uniq(prefix="acc"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def routes(svc):
    """(method, path, needed scope, a scope that is not enough, body, content type).
    The needed scope's request is one that passes authentication and then
    succeeds or fails for reasons other than access (404 for an absent id)."""
    rec = {"timestamp": "2026-11-22 14:00:00", "body": "access"}
    absent = uniq("absent")
    tid = str(uuid.uuid4())
    J = "application/json"
    return [
        ("POST", "/admin/api-keys", "admin", "kv:admin",
         lambda: {"name": "acc", "scopes": ["kv:read"]}, J),
        ("GET", "/admin/api-keys", "admin", "logs:admin", None, None),
        ("DELETE", "/admin/api-keys/999999999", "admin", "tags:admin", None, None),
        ("GET", f"/query/service/{svc}", "logs:read", "logs:admin", None, None),
        ("GET", f"/query/service/{svc}/2026-11-22", "logs:read", "kv:read", None, None),
        ("GET", "/query/level/info", "logs:read", "events:read", None, None),
        ("GET", "/query/level/info/2026-11-22", "logs:read", "logs:admin", None, None),
        ("GET", "/query/date/2026-11-22", "logs:read", "logs:admin", None, None),
        ("GET", "/logs", "logs:read", "logs:admin", None, None),
        ("POST", f"/purge/{svc}/2026-01-01?dry_run=1", "logs:admin", "logs:read", None, None),
        ("POST", "/services", "logs:admin", "logs:read", lambda: {"name": uniq("accs")}, J),
        ("GET", "/services", "logs:admin", "logs:read", None, None),
        ("POST", f"/services/{absent}/rotate-key", "logs:admin", "logs:read", None, None),
        ("DELETE", f"/services/{absent}", "logs:admin", "logs:read", None, None),
        ("GET", f"/create?tag={uniq('acct')}", "tags:write", "tags:read", None, None),
        ("POST", f"/create?tag={uniq('acct')}", "tags:write", "tags:admin", None, None),
        ("GET", f"/update?tag={absent}", "tags:write", "tags:read", None, None),
        ("POST", f"/update?tag={absent}", "tags:write", "tags:admin", None, None),
        ("GET", f"/get?tag={absent}", "tags:read", "tags:write", None, None),
        ("POST", f"/get?tag={absent}", "tags:read", "tags:admin", None, None),
        ("GET", f"/history?tag={absent}", "tags:read", "tags:write", None, None),
        ("POST", f"/history?tag={absent}", "tags:read", "kv:read", None, None),
        ("GET", "/tags", "tags:read", "tags:write", None, None),
        ("DELETE", f"/tags/{absent}", "tags:admin", "tags:write", None, None),
        ("POST", "/add_event", "events:write", "events:read", lambda: {"tags": ["acc"]}, J),
        ("GET", "/list_events", "events:read", "events:write", None, None),
        ("POST", "/remove_events", "events:write", "events:read",
         lambda: {"start_epoch_array": [1.25]}, J),
        ("GET", "/events/tags", "events:read", "events:write", None, None),
        ("GET", "/events/999999999", "events:read", "events:admin", None, None),
        ("DELETE", "/events/999999999", "events:write", "events:read", None, None),
        ("POST", "/events/999999999/stop", "events:write", "events:read", None, None),
        ("POST", "/event/submit/", "geo:write", "geo:read",
         lambda: {"name": "acc", "status_code": 1}, J),
        ("GET", "/event/", "geo:read", "geo:write", None, None),
        ("GET", f"/event/{tid}", "geo:read", "geo:admin", None, None),
        ("PUT", f"/keys?{uniq('acck')}=v", "kv:write", "kv:read", None, None),
        ("GET", "/keys", "kv:read", "kv:write", None, None),
        ("HEAD", "/keys", "kv:read", "kv:admin", None, None),
        ("DELETE", "/keys", "kv:admin", "kv:write", None, None),
        ("GET", f"/keys/{absent}", "kv:read", "kv:write", None, None),
        ("HEAD", f"/keys/{absent}", "kv:read", "kv:write", None, None),
        ("PUT", f"/keys/{uniq('acck')}", "kv:write", "kv:read", lambda: b"value", "text/plain"),
        ("DELETE", f"/keys/{absent}", "kv:write", "kv:read", None, None),
    ]


def call(s, method, path, body=None, ctype=None, key=None, headers=None):
    b = body() if callable(body) else body
    if b is not None and not isinstance(b, bytes):
        b = json.dumps(b).encode()
    r = s.request(method, path, body=b, content_type=ctype, key=key, headers=headers)
    STATE["responses"].append((f"{method} {path}", r))
    return r


def expect(cond, msg):
    STATE["asserts"] += 1
    if not cond:
        STATE["fails"].append(msg)


def test_setup(s):
    keys = STATE["keys"]
    for sc in SCOPES:
        keys[sc] = s.new_key([sc], name="acc-" + sc)[1]
    rid, keys["revoked"] = s.new_key(["admin"], name="acc-revoked")
    r = s.request("DELETE", f"/admin/api-keys/{rid}", key=s.admin_key)
    assert r.status == 200, r
    keys["stack-admin"] = s.admin_key
    svc = uniq("accsvc")
    r = s.post("/services", {"name": svc}, key=s.admin_key)
    assert r.status == 201, r
    STATE["svc"], keys["svc"] = svc, r.json()["key"]
    # a rotated-away key
    other = uniq("accsvc")
    r = s.post("/services", {"name": other}, key=s.admin_key)
    assert r.status == 201, r
    keys["svc-old"] = r.json()["key"]
    r = s.post(f"/services/{other}/rotate-key", key=s.admin_key)
    assert r.status == 200, r
    keys["svc-rotated"] = r.json()["key"]
    # a disabled service's key
    dis = uniq("accsvc")
    r = s.post("/services", {"name": dis}, key=s.admin_key)
    assert r.status == 201, r
    keys["svc-disabled"] = r.json()["key"]
    r = s.request("DELETE", f"/services/{dis}", key=s.admin_key)
    assert r.status == 200, r


def test_public_routes(s):
    k = STATE["keys"]
    for path in ["/healthz", "/readyz", "/metrics"]:
        for who in [None, "kv:read", "admin", "revoked"]:
            r = call(s, "GET", path, key=k[who] if who else None)
            if who == "revoked":
                # a public route needs no key; a revoked one is refused or ignored
                expect(r.status in (200, 401), f"GET {path} revoked key: {r}")
            else:
                expect(r.status == 200, f"GET {path} key {who}: {r}")
    assert not STATE["fails"], "\n".join(STATE["fails"])


def test_matrix(s):
    k = STATE["keys"]
    n = 0
    for method, path, need, lack, body, ctype in routes(STATE["svc"]):
        n += 1
        where = f"{method} {path} (needs {need})"
        r = call(s, method, path, body, ctype, key=None)
        expect(r.status == 401, f"{where} no key: expected 401, got {r}")
        expect(method == "HEAD" or is_envelope(r), f"{where} no key: not the envelope: {r}")
        r = call(s, method, path, body, ctype, key=k[lack])
        expect(r.status == 403, f"{where} key with {lack}: expected 403, got {r}")
        expect(method == "HEAD" or is_envelope(r), f"{where} {lack}: not the envelope: {r}")
        r = call(s, method, path, body, ctype, key=k["revoked"])
        expect(r.status == 401, f"{where} revoked key: expected 401, got {r}")
        r = call(s, method, path, body, ctype, key=k[need])
        expect(r.status not in (401, 403) and r.status < 500,
               f"{where} key with exactly {need}: got {r}")
        # the same through X-API-Key
        r = call(s, method, path, body, ctype, headers={"X-API-Key": k[need]})
        expect(r.status not in (401, 403) and r.status < 500,
               f"{where} X-API-Key with {need}: got {r}")
        # a plain (non-privileged) service key holds only logs:write
        r = call(s, method, path, body, ctype, key=k["svc"])
        expect(r.status == 403, f"{where} service key: expected 403, got {r}")
        # two different keys -> 401
        r = call(s, method, path, body, ctype, key=k[need], headers={"X-API-Key": k[lack]})
        expect(r.status == 401, f"{where} two different keys: expected 401, got {r}")
    # purge of events needs events:admin even with events:write
    r = call(s, "POST", "/remove_events", {"purge": True}, "application/json", key=k["events:write"])
    expect(r.status == 403, f"purge with events:write: expected 403, got {r}")
    print(f"# access matrix: {n} routes, {STATE['asserts']} assertions so far")
    assert not STATE["fails"], "\n".join(STATE["fails"])


def compat_403(r):
    try:
        return r.status == 403 and r.json() == {"code": 403, "message": "Unauthorized"}
    except Exception:
        return False


def test_intake(s):
    k = STATE["keys"]
    rec = {"timestamp": "2026-11-22 14:00:00", "body": "access"}
    for path in ["/intake", "/insert"]:
        cases = [
            ("no key", {"data": [rec]}, None, None),
            ("API key without logs:write", {"data": [rec]}, k["logs:admin"], None),
            ("admin API key", {"data": [rec]}, k["admin"], None),
            ("revoked API key", {"data": [rec]}, k["revoked"], None),
            ("rotated-away service key", {"data": [rec]}, k["svc-old"], None),
            ("rotated-away key in body", {"key": k["svc-old"], "data": [rec]}, None, None),
            ("disabled service key", {"data": [rec]}, k["svc-disabled"], None),
            ("disabled service key in body", {"key": k["svc-disabled"], "data": [rec]}, None, None),
            ("body and header keys differ", {"key": k["svc-rotated"], "data": [rec]}, k["svc"], None),
            ("unknown key", {"key": "0" * 64, "data": [rec]}, None, None),
        ]
        for desc, body, key, hdrs in cases:
            r = call(s, "POST", path, body, "application/json", key=key, headers=hdrs)
            expect(compat_403(r), f"POST {path} {desc}: expected compat 403, got {r}")
        for desc, body, key, hdrs in [
            ("service key in header", {"data": [rec]}, k["svc"], None),
            ("service key in body", {"key": k["svc"], "data": [rec]}, None, None),
            ("service key in X-API-Key", {"data": [rec]}, None, {"X-API-Key": k["svc"]}),
            ("rotated key", {"data": [rec]}, k["svc-rotated"], None),
        ]:
            r = call(s, "POST", path, body, "application/json", key=key, headers=hdrs)
            expect(r.status == 200, f"POST {path} {desc}: expected 200, got {r}")
    assert not STATE["fails"], "\n".join(STATE["fails"])


def test_keys_never_shown(s):
    keys = {n: v for n, v in STATE["keys"].items()}
    leaks = []
    for what, r in STATE["responses"]:
        hay = [r.body.decode("utf-8", "replace")] + [f"{h}: {v}" for h, v in (r.header_list or [])]
        for name, key in keys.items():
            STATE["asserts"] += 1
            if any(key in x for x in hay):
                leaks.append(f"{what}: the {name} key in the response {r}")
    log = "\n".join(s.log_tail(100000))
    m = s.get("/metrics").text
    for name, key in keys.items():
        STATE["asserts"] += 2
        if key in log:
            line = next(x for x in log.splitlines() if key in x)
            leaks.append(f"the {name} key in the log: {line[:300]}")
        if key in m:
            leaks.append(f"the {name} key in /metrics")
    print(f"# access: {len(STATE['responses'])} responses checked, {STATE['asserts']} assertions")
    assert not leaks, "\n".join(leaks)
