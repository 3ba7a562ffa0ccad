"""Service routes: /healthz, /readyz, /metrics (API.md §0)."""
import json
import os
import re

from cairn import eq, is_envelope


def test_healthz(s):
    r = s.get("/healthz")
    eq(r.status, 200, "status")
    eq(r.json(), {"status": "ok"}, "body")
    assert r.headers.get("x-request-id"), "X-Request-Id missing"


def test_readyz(s):
    r = s.get("/readyz")
    eq(r.status, 200, "status")
    eq(r.json()["status"], "ready", "body")


def test_metrics_exposition(s):
    s.get("/healthz")
    r = s.get("/metrics")
    eq(r.status, 200, "status")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    m = s.metrics()
    key = 'cairn_http_requests_total{method="GET",route="/healthz",status="200"}'
    assert m.get(key, 0) >= 1, key
    # the text format: each family once, its HELP and TYPE first, then all
    # of its samples together (group commit kinds once came in three blocks)
    families, current = [], None
    for line in r.body.decode().splitlines():
        if line.startswith("# TYPE "):
            current = line.split()[2]
            assert current not in families, f"{current} declared twice"
            families.append(current)
        elif line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            base = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[:-len(suffix)] == current:
                    base = current
            eq(base, current, f"sample {line!r} outside its family's block")
    assert "cairn_group_commit_rows_total" in families, families


def test_trace_is_answered_like_any_other_method(s):
    """nginx refuses TRACE itself, before it picks a location, and its 405
    carried no Allow header (RFC 9110: a 405 lists the methods the resource
    takes); cairn answers TRACE as any method a route does not take: 405
    with the route's Allow, or 404 for an unknown path (API.md §0)."""
    for path, allow in (("/healthz", "GET, HEAD"), ("/keys/k", "GET, HEAD, PUT, DELETE"),
                        ("/metrics", "GET, HEAD")):
        r = s.request("TRACE", path)
        eq(r.status, 405, f"TRACE {path}")
        eq(r.headers.get("allow"), allow, f"Allow of TRACE {path}")
        eq(r.error_code(), "method_not_allowed", f"TRACE {path}: {r!r}")
        assert r.headers.get("x-request-id"), r.headers
    r = s.request("TRACE", "/keys/k", body=b"hello", content_type="text/plain")
    eq((r.status, r.headers.get("allow")), (405, "GET, HEAD, PUT, DELETE"), "TRACE with a body")
    r = s.request("TRACE", "/no/such/route")
    eq(r.status, 404, "TRACE of an unknown path")
    assert is_envelope(r), r


def test_pool_unreachable_gives_502_with_retry_after(s):
    """nginx's own 502 (the pool's socket is gone: the pool is down or
    restarting) is the JSON envelope with Retry-After and X-Request-Id, as
    its 503 is; the pool's socket is moved away for a moment."""
    sock = s.env["CAIRN_POOL_SOCKET"]
    away = sock + ".away"
    os.rename(sock, away)
    try:
        r = s.get("/healthz")
    finally:
        os.rename(away, sock)
    eq((r.status, r.error_code()), (502, "bad_gateway"), f"no pool: {r.body!r}")
    assert is_envelope(r), r.body
    eq(r.headers.get("retry-after"), "5", "Retry-After")
    assert r.headers.get("x-request-id"), r.headers
    eq(s.get("/healthz").status, 200, "the pool again")


def test_nginx_413_has_the_apps_code(s):
    """A body over limits.max_body gets the app's 413 up to 9 MiB and nginx's
    beyond (API.md §0); both carry docs/api.md's code, too_large (nginx's
    page said payload_too_large)."""
    app = s.request("PUT", "/keys/big", body=b"v" * (8 * 1024 * 1024 + 1),
                    content_type="text/plain", key=s.admin_key)
    eq((app.status, app.error_code()), (413, "too_large"), "the app's 413")
    # the length alone: nginx refuses it before reading a byte of the body
    data = (b"PUT /keys/big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 10485760\r\n\r\n")
    head, _, body = s.raw(data).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"\r\ncontent-length: *(\d+)", head, re.I).group(1))
    body = json.loads(body[:length])
    eq((status, body["error"]["code"]), (413, "too_large"), "nginx's 413")


def test_migrate_twice_is_a_no_op(s):
    """A second migrate finds every file applied with an unchanged checksum
    (64-character values once lost their last byte on fetch)."""
    import subprocess
    ctl = [s.env["CAIRN_BUILD_DIR"] + "/bin/cairnctl", "--config", s.env["CAIRN_CONF"]]
    out = subprocess.run(ctl + ["migrate"], capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, f"migrate again: {out.stderr}")
    out = subprocess.run(ctl + ["status"], capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, f"status: {out.stdout} {out.stderr}")
    assert "pending migrations: 0" in out.stdout, out.stdout


def test_values_of_exactly_64_bytes_round_trip(s):
    name = "n" * 64
    r = s.post("/admin/api-keys", {"name": name, "scopes": ["kv:read"]}, key=s.admin_key)
    eq(r.status, 201, "create")
    listed = s.get("/admin/api-keys?limit=1000", key=s.admin_key).json()["keys"]
    assert any(k["name"] == name for k in listed), "a 64-byte name came back whole"
