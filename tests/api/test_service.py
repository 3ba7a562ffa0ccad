"""Service routes: /healthz, /readyz, /metrics (API.md §0)."""
from cairn import eq


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
