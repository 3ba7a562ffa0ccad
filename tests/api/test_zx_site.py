"""The production nginx site, nginx/cairn-http.conf and nginx/cairn.conf as
README installs them, in front of this stack's pool.

The files are served as shipped but for the pool's socket, the port and
the log directory; each of those substitutions must apply, so a changed
file fails here instead of testing something else.  Tests written for the
local template (nginx/cairn-local.conf.in) then run against the site too:
the two files promise to keep their FastCGI parameters and error pages in
step.  No test here asserts on speed."""
import concurrent.futures
import contextlib
import copy
import os
import shutil
import socket
import subprocess

import test_kv
import test_service
from cairn import eq, free_port, is_envelope


def substitute(text, old, new, what, count=1):
    eq(text.count(old), count, f"{what}: '{old.strip()}' in the shipped file")
    return text.replace(old, new)


@contextlib.contextmanager
def production_site(s):
    """Serves the site on a free port; yields a Stack that talks to it."""
    d = os.path.join(s.dir, "site")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    port = free_port()
    with open(os.path.join(s.src, "nginx/cairn-http.conf")) as f:
        http = substitute(f.read(), "server unix:/run/cairn/cairn.sock ",
                          f"server unix:{s.env['CAIRN_POOL_SOCKET']} ", "the pool's socket")
    with open(os.path.join(s.src, "nginx/cairn.conf")) as f:
        site = f.read()
    site = substitute(site, "    listen 80;\n", f"    listen 127.0.0.1:{port};\n", "the port")
    site = substitute(site, "    listen [::]:80;\n", "", "the IPv6 port")
    site = substitute(site, "/var/log/nginx/", d + "/", "the logs", count=2)
    for name, text in (("cairn-http.conf", http), ("cairn.conf", site)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    # what Debian's /etc/nginx/nginx.conf puts around conf.d/ and sites-enabled/
    mime = "include /etc/nginx/mime.types;" if os.path.exists("/etc/nginx/mime.types") else ""
    temp = "".join(f"    {k}_temp_path {d}/{k};\n"
                   for k in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        # as root, the workers must reach the pool's root-owned 0660 socket
        f.write(f"{'user root;' if os.geteuid() == 0 else ''}\n"
                f"worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n"
                f"events {{ worker_connections 256; }}\n"
                f"http {{\n    {mime}\n    default_type application/octet-stream;\n{temp}"
                f"    include {d}/cairn-http.conf;\n    include {d}/cairn.conf;\n}}\n")
    cmd = ["nginx", "-p", d + "/", "-c", os.path.join(d, "nginx.conf"), "-e", d + "/error.log"]
    r = subprocess.run(cmd + ["-t"], capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, f"nginx -t on the production site: {r.stderr}")
    subprocess.run(cmd, check=True, timeout=60, stdin=subprocess.DEVNULL)
    try:
        site_stack = copy.copy(s)
        site_stack.port = port
        s.wait_for(lambda: probe(port), timeout=30, what="the production site to listen")
        yield site_stack
    finally:
        subprocess.run(cmd + ["-s", "stop"], timeout=60, capture_output=True)

        def gone():
            return not os.path.exists(os.path.join(d, "nginx.pid"))
        s.wait_for(gone, timeout=30, what="the production site's nginx to stop")


def probe(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_site_serves_the_pool(s):
    with production_site(s) as p:
        test_service.test_healthz(p)
        test_service.test_readyz(p)
        r = p.get("/no/such/route")
        eq((r.status, r.error_code()), (404, "not_found"), "cairn's 404")
        # from the host itself, /metrics is allowed
        eq(p.get("/metrics").status, 200, "/metrics from 127.0.0.1")


def test_site_passes_the_raw_path(s):
    """PATH_INFO is the raw request path: /keys/%2e is a key (refused),
    never /keys/ and never the delete-all route."""
    with production_site(s) as p:
        test_kv.test_dot_keys_400(p)
        test_kv.test_raw_paths_never_reach_delete_all(p)


def test_site_error_pages(s):
    with production_site(s) as p:
        test_service.test_trace_is_answered_like_any_other_method(p)
        test_service.test_nginx_413_has_the_apps_code(p)
        test_service.test_pool_unreachable_gives_502_with_retry_after(p)
        head, _, body = p.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n") \
            .partition(b"\r\n\r\n")
        eq(head.split(b" ", 2)[1], b"400", f"a request with two Host headers: {head!r}")
        assert b'"code":"bad_request"' in body, body


def test_site_throttles_with_429(s):
    """limit_req (20 r/s, burst 40 per address): more than that at once
    gets nginx's JSON 429 with Retry-After.  Requests go out 8 at a time
    until one is throttled, however slow the machine (up to 5,000)."""
    with production_site(s) as p:
        r, sent = None, 0
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            while r is None and sent < 5000:
                answers = list(pool.map(lambda _: p.get("/healthz"), range(40)))
                sent += len(answers)
                assert {a.status for a in answers} <= {200, 429}, answers
                r = next((a for a in answers if a.status == 429), None)
        assert r is not None, f"none of {sent} requests was throttled"
        assert is_envelope(r) and r.error_code() == "rate_limited", r
        eq(r.headers.get("retry-after"), "1", "Retry-After")
        assert r.headers.get("x-request-id"), r.headers
