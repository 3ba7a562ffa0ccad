"""Geolocated event intake (API.md §4): submit, fetch, list, and the
enrichment worker against the geo API stand-in (tests/tools/geo-standin).

nginx trusts X-Real-IP from 127.0.0.1 in the test stack, so a test picks
the submitter's address with that header.  Every test uses its own
address range, so the per-address cache of one test never answers
another's.  The worker tests read what the provider received from the
stand-in's /stats (calls per address, the most calls in any one-second
window, how many were answered 429)."""
import concurrent.futures
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from cairn import INNODB_TRX_POLL, eq, is_envelope, process_exited

RATE = 5          # geo.rate in the stack's configuration (the default)
KEYS = {}
WAIT = 180        # generous upper bounds for waits; never a speed assertion


# ------------------------------------------------------------------ helpers

def keys(s):
    if not KEYS:
        KEYS["rw"] = s.new_key(["geo:write", "geo:read"], name="geo-rw")[1]
        KEYS["w"] = s.new_key(["geo:write"], name="geo-w")[1]
        KEYS["r"] = s.new_key(["geo:read"], name="geo-r")[1]
    return KEYS


def standin(s, path):
    with urllib.request.urlopen(s.env["GEO_STANDIN_URL"] + path, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def standin_defaults(s):
    standin(s, "/control?mode=ok&limit=5&stall_pct=10&stall_ms=5000")


def submit(s, body, ip=None, key=None, headers=None, path="/event/submit/"):
    h = dict(headers or {})
    if ip is not None:
        h["X-Real-IP"] = ip
    return s.post(path, body, key=key if key is not None else keys(s)["rw"], headers=h)


def submit_ok(s, body, ip=None, **kw):
    r = submit(s, body, ip=ip, **kw)
    eq(r.status, 202, f"submit {body} from {ip}: {r.body!r}")
    return r.json()["data"]["task_id"]


def fetch(s, task_id, key=None):
    return s.get("/event/" + task_id, key=key if key is not None else keys(s)["rw"])


def task(s, task_id):
    r = fetch(s, task_id)
    eq(r.status, 200, f"fetch {task_id}")
    return r.json()["data"]


def wait_state(s, task_id, states=("done", "failed", "skipped"), timeout=WAIT):
    def resolved():
        t = task(s, task_id)
        return t if t["state"] in states else None
    return s.wait_for(resolved, timeout=timeout, interval=0.2, what=f"task {task_id} in {states}")


def states_of(s, prefix):
    """{state: count} for the tasks whose name starts with prefix."""
    rows = s.mysql("SELECT state, COUNT(*) FROM geo_tasks WHERE name LIKE '%s%%' GROUP BY state"
                   % prefix)
    return {r[0]: int(r[1]) for r in rows}


def wait_all_resolved(s, prefix, total, timeout=WAIT):
    def done():
        st = states_of(s, prefix)
        return st if sum(st.values()) == total and st.get("queued", 0) == 0 else None
    return s.wait_for(done, timeout=timeout, interval=0.5, what=f"all '{prefix}' tasks resolved")


def submit_many(s, prefix, ips, n):
    """n submissions named prefix-<i>, cycling over ips; returns the ids."""
    ids = []
    for i in range(n):
        ids.append(submit_ok(s, {"name": f"{prefix}-{i}", "status_code": i}, ip=ips[i % len(ips)]))
    return ids


def worker_bin(s):
    return os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairn-worker")


def start_worker(s, tag, env_extra=None, **conf):
    """A cairn-worker of our own on the stack's configuration, with geo.*
    settings overridden through the environment (CAIRN_GEO_LEASE_SECONDS
    ...), and any other CAIRN_* variables in env_extra.  Returns the
    Popen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(env_extra or {})
    env["CAIRN_LOG_FILE"] = os.path.join(s.dir, f"worker-{tag}.log")
    for k, v in conf.items():
        env["CAIRN_GEO_" + k.upper()] = str(v)
    p = subprocess.Popen([worker_bin(s), "--config", s.env["CAIRN_CONF"]], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.3)
    assert p.poll() is None, f"worker {tag} exited at once (see worker-{tag}.log)"
    return p


def stop_worker(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        p.send_signal(sig)
    p.wait(timeout=timeout)


def stack_worker_pid(s):
    with open(s.env["CAIRN_WORKER_PIDFILE"]) as f:
        return int(f.read().strip())


def stop_stack_worker(s):
    """SIGTERM to the stack's own worker; waits until it has exited."""
    try:
        pid = stack_worker_pid(s)
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return

    s.wait_for(lambda: process_exited(pid), timeout=30, what="the stack's worker to exit")


def end_workers(s, *workers):
    """After a test that ran workers of its own (None for one it never
    started): resumes any it stopped and stops each, puts the stand-in
    back to its defaults and restarts the stack's own worker."""
    for p in workers:
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
            stop_worker(p)
    standin_defaults(s)
    s.stack("worker-restart")


def holder_like(pid):
    """A LIKE pattern for the lease_holder of process pid ("host:pid:nonce")."""
    return f"%:{pid}:%"


def metric(m, name):
    return m.get(name, 0.0)


# ------------------------------------------------------- submit validation

def test_submit_accepted(s):
    r = submit(s, {"name": "EC2 Instance Offline", "status_code": 2})
    eq(r.status, 202, "status")
    body = r.json()
    eq(body["status"], "success", "status field")
    eq(sorted(body.keys()), ["data", "status"], "keys")
    tid = body["data"]["task_id"]
    assert len(tid) == 36 and tid[14] == "4", tid
    eq(r.headers.get("location"), "/event/" + tid, "Location")
    # the Location works, status_code reads back as an integer
    t = task(s, tid)
    eq(t["task_id"], tid, "task_id")
    eq(t["name"], "EC2 Instance Offline", "name")
    eq(t["status_code"], 2, "status_code")
    assert t["state"] in ("queued", "skipped"), t
    # never waits for the provider: the row is queued, nothing was called
    eq(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE task_id = UNHEX('%s')"
                % tid.replace("-", "")), "1", "stored once")


def test_submit_without_trailing_slash(s):
    r = submit(s, {"status_code": "2"}, path="/event/submit")
    eq(r.status, 202, "status")
    t = task(s, r.json()["data"]["task_id"])
    eq(t["status_code"], 2, "a digit string reads back as an integer")
    eq(t["name"], None, "name absent")
    r = s.get("/event/submit/", key=keys(s)["rw"])
    assert r.status in (404, 405), r


def test_submit_with_two_trailing_slashes_is_404(s):
    before = s.scalar("SELECT COUNT(*) FROM geo_tasks")
    r = submit(s, {"name": "slashes"}, path="/event/submit//")
    eq(r.status, 404, "one trailing slash is toggled, never two")
    eq(s.scalar("SELECT COUNT(*) FROM geo_tasks"), before, "nothing stored")


def test_submit_validation_rows(s):
    rows = [
        ({"name": "a" * 120}, 202, None),
        ({"name": "a" * 121}, 400, {"name": "must be 1 to 120 characters"}),
        ({"name": "é" * 120}, 202, None),
        ({"name": "é" * 121}, 400, {"name": "must be 1 to 120 characters"}),
        ({"name": ""}, 400, {"name": "must be 1 to 120 characters"}),
        ({"status_code": "2"}, 202, None),
        ({"status_code": "x"}, 400, {"status_code": "must be an integer or a string of digits"}),
        ({"status_code": 2.5}, 400, {"status_code": "must be an integer or a string of digits"}),
        ({"status_code": "-2"}, 400, {"status_code": "must be an integer or a string of digits"}),
        ({"status_code": True}, 400, {"status_code": "must be an integer or a string of digits"}),
        ({"name": "only a name"}, 202, None),
        ({"status_code": 0}, 202, None),
        ({"name": "n", "other": [1, 2]}, 202, None),
        ({}, 400, "body"),
        ({"other": 1}, 400, "body"),
        ({"name": None, "status_code": None}, 400, "body"),
        ([], 400, "body"),
        ([{"name": "a"}], 400, "body"),
        ("just a string", 400, "body"),
        ({"name": "", "status_code": "x"}, 400,
         {"name": "must be 1 to 120 characters",
          "status_code": "must be an integer or a string of digits"}),
        ({"name": "bad\u0007bell"}, 400, {"name": "must not contain control characters"}),
        ({"status_code": 9223372036854775807}, 202, None),
        ({"status_code": -9223372036854775808}, 202, None),
        # valid JSON (a JSON object): the bad field is named, not "body"
        ({"name": "n", "status_code": 9223372036854775808}, 400,
         {"status_code": "must be an integer or a string of digits"}),
        ({"status_code": -10**20}, 400, {"status_code": "must be an integer or a string of digits"}),
    ]
    for body, status, expect in rows:
        raw = json.dumps(body)
        r = s.post("/event/submit/", raw, key=keys(s)["rw"], content_type="application/json")
        eq(r.status, status, f"status for {raw}: {r.body!r}")
        if status == 400:
            j = r.json()
            eq(j["status"], "fail", f"JSend status for {raw}")
            if expect == "body":
                eq(list(j["data"].keys()), ["body"], f"blamed on body for {raw}")
                assert isinstance(j["data"]["body"], str) and j["data"]["body"], j
            else:
                eq(j["data"], expect, f"JSend data for {raw}")
    # invalid JSON (and the strict cases of §0) is blamed on the body too
    for raw in [b"", b"{", b"{\"name\": \"a\",}", b"{\"name\":\"a\",\"name\":\"b\"}",
                b"\xef\xbb\xbf{\"name\":\"a\"}", b"{\"name\":\"\\ud800\"}", b"{\"name\":\"\xff\"}"]:
        r = s.post("/event/submit/", raw, key=keys(s)["rw"], content_type="application/json")
        eq(r.status, 400, f"status for {raw!r}")
        eq(r.json()["status"], "fail", f"JSend for {raw!r}")
        eq(list(r.json()["data"].keys()), ["body"], f"blamed on body for {raw!r}")
    # a body that is not application/json: 415 in the error envelope (§0)
    for ct in ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]:
        r = s.post("/event/submit/", '{"name":"a"}', key=keys(s)["rw"], content_type=ct)
        eq(r.status, 415, f"status for {ct}")
        assert is_envelope(r), r
    r = s.post("/event/submit/", None, key=keys(s)["rw"])
    eq(r.status, 415, "no content type")
    r = s.post("/event/submit/", '{"name":"a"}', key=keys(s)["rw"],
               content_type="application/json; charset=utf-8")
    eq(r.status, 202, "charset=utf-8 is fine")


def test_concurrent_submissions_each_stored_once(s):
    """Submissions sent at once by many clients are written together
    (lib/gcommit): each 202 names its own task, stored once with its own
    name, status code and source address."""
    m0 = s.metrics()
    n = 160

    def one(i):
        # private addresses: settled as skipped, without provider calls
        return submit_ok(s, {"name": f"burst-{i}", "status_code": i},
                         ip=f"10.70.{i // 200}.{i % 200 + 1}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(one, range(n)))
    eq(len(set(ids)), n, "distinct task ids")
    for i, tid in enumerate(ids):
        row = s.mysql("SELECT name, status_code, INET6_NTOA(ip) FROM geo_tasks"
                      " WHERE task_id = UNHEX('%s')" % tid.replace("-", ""))
        eq(row, [[f"burst-{i}", str(i), f"10.70.{i // 200}.{i % 200 + 1}"]], f"task {i}")
    m1 = s.metrics()
    rows = 'cairn_group_commit_rows_total{kind="geo"}'
    eq(metric(m1, rows) - metric(m0, rows), n, "every submission went through the group commit")


def test_submit_scopes(s):
    r = s.post("/event/submit/", {"name": "x"})
    eq(r.status, 401, "no key")
    r = s.post("/event/submit/", {"name": "x"}, key=keys(s)["r"])
    eq(r.status, 403, "read-only key")
    tid = submit_ok(s, {"name": "x"}, key=keys(s)["w"])
    eq(fetch(s, tid, key=keys(s)["w"]).status, 403, "write-only key cannot read")
    eq(fetch(s, tid, key=keys(s)["r"]).status, 200, "read key reads")
    eq(s.get("/event/", key=keys(s)["w"]).status, 403, "write-only key cannot list")


def test_submit_idempotency(s):
    h = {"Idempotency-Key": "geo-idem-1"}
    r1 = submit(s, {"name": "idem", "status_code": 7}, headers=h)
    r2 = submit(s, {"name": "idem", "status_code": 7}, headers=h)
    eq(r1.status, 202, "first")
    eq(r2.status, 202, "replay")
    eq(r2.json(), r1.json(), "same answer")
    eq(r2.headers.get("location"), r1.headers.get("location"), "Location replayed")
    eq(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name = 'idem'"), "1", "stored once")
    r3 = submit(s, {"name": "idem", "status_code": 8}, headers=h)
    eq(r3.status, 422, "same key, other body")
    eq(r3.error_code(), "idempotency_key_reused", "code")


# ---------------------------------------------------------------- fetching

def test_fetch_unknown_and_malformed(s):
    for tid in ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "1234",
                "00000000-0000-4000-8000-00000000000g", "%2e", "00000000000040008000000000000000"]:
        r = fetch(s, tid)
        eq(r.status, 404, f"status for {tid}")
        eq(r.json(), {"status": "fail", "data": {"task_id": "not found"}}, f"body for {tid}")
    eq(fetch(s, "00000000-0000-4000-8000-000000000000", key="").status, 401, "no key")
    # upper case is the same id
    tid = submit_ok(s, {"name": "upper"})
    eq(task(s, tid.upper())["task_id"], tid, "case-insensitive id")


def test_methods_405_with_allow(s):
    for method, path, allowed in [("PUT", "/event/", {"GET", "HEAD"}),
                                  ("POST", "/event/", {"GET", "HEAD"}),
                                  ("DELETE", "/event/00000000-0000-4000-8000-000000000000",
                                   {"GET", "HEAD"})]:
        r = s.request(method, path, key=keys(s)["rw"])
        eq(r.status, 405, f"{method} {path}: {r!r}")
        assert is_envelope(r), r
        eq({m.strip() for m in r.headers.get("allow", "").split(",")}, allowed, f"Allow of {path}")


def test_loopback_and_reserved_skipped(s):
    before = standin(s, "/stats")["count"]
    cases = {
        None: "loopback address",            # nginx sees the test client: 127.0.0.1
        "10.20.30.40": "private address",
        "192.168.1.7": "private address",
        "100.64.3.4": "shared (carrier-grade NAT) address",
        "198.51.100.9": "documentation address",
        "::1": "loopback address",
        "fe80::1": "link-local address",
        "fd00::7": "unique local (private) address",
        "2001:db8::5": "documentation address",
        "::ffff:127.0.0.1": "loopback address",
    }
    ids = {ip: submit_ok(s, {"name": "reserved", "status_code": 1}, ip=ip) for ip in cases}
    for ip, why in cases.items():
        t = wait_state(s, ids[ip])
        eq(t["state"], "skipped", f"state for {ip}")
        eq(t["attempts"], 0, f"attempts for {ip}")
        eq(t["geo"], None, f"geo for {ip}")
        eq(t["error"], why, f"reason for {ip}")
        assert t["resolved_at"] is not None, t
    eq(task(s, ids[None])["ip"], "127.0.0.1", "the address nginx passed")
    eq(task(s, ids["::ffff:127.0.0.1"])["ip"], "127.0.0.1", "IPv4-mapped is IPv4")
    eq(standin(s, "/stats")["count"], before, "the provider was never called")


def test_known_addresses_done(s):
    addrs = ["8.8.8.8", "2001:4860:4860::8888", "45.10.1.1", "1.0.0.1"]
    ids = {ip: submit_ok(s, {"name": "known", "status_code": 200}, ip=ip) for ip in addrs}
    for ip in addrs:
        t = wait_state(s, ids[ip])
        eq(t["state"], "done", f"state for {ip}: {t}")
        eq(t["attempts"], 1, f"one call for {ip}")
        eq(t["error"], None, f"error for {ip}")
        want = standin(s, "/lookup?ip=" + urllib.request.quote(ip))
        g = t["geo"]
        eq(g["country_code"], want["country"]["iso_code"], f"country for {ip}")
        eq(g["country_name"], want["country"]["name"], f"country name for {ip}")
        eq(g["city"], want["city"], f"city for {ip}")
        eq(g["time_zone"], want["location"]["time_zone"], f"time zone for {ip}")
        eq(g["accuracy_radius"], want["location"]["accuracy_radius"], f"radius for {ip}")
        assert abs(g["latitude"] - want["location"]["latitude"]) < 1e-6, (g, want)
        assert abs(g["longitude"] - want["location"]["longitude"]) < 1e-6, (g, want)
        eq(t["ip"], ip, "ip")
    # a repeat address comes from the cache: no call
    count = standin(s, "/stats")["per_ip"].get("45.10.1.1", 0)
    again = submit_ok(s, {"name": "known-again"}, ip="45.10.1.1")
    t = wait_state(s, again)
    eq(t["state"], "done", "cached state")
    eq(t["attempts"], 0, "a cached answer costs no call")
    eq(t["geo"], task(s, ids["45.10.1.1"])["geo"], "same data")
    eq(standin(s, "/stats")["per_ip"].get("45.10.1.1", 0), count, "no second call")


def test_unknown_address_failed_and_requeue(s):
    ip = "7.1.2.3"   # the stand-in has no data for 7.0.0.0/8: 404
    tid = submit_ok(s, {"name": "unknown-addr"}, ip=ip)
    t = wait_state(s, tid)
    eq(t["state"], "failed", "404 is terminal")
    eq(t["attempts"], 1, "one call")
    assert "404" in t["error"], t
    # the failure is cached briefly: a repeat costs no call
    again = wait_state(s, submit_ok(s, {"name": "unknown-addr"}, ip=ip))
    eq(again["state"], "failed", "negative cache")
    eq(again["attempts"], 0, "no call")
    calls = standin(s, "/stats")["per_ip"].get(ip, 0)
    # cairnctl geo requeue puts failed tasks back and forgets cached failures
    out = subprocess.run([os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairnctl"),
                          "--config", s.env["CAIRN_CONF"], "geo", "requeue"],
                         capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")})
    eq(out.returncode, 0, f"cairnctl geo requeue: {out.stderr}")
    assert "requeued" in out.stdout, out.stdout

    def failed_again():
        a, b = task(s, tid), task(s, again["task_id"])
        return a["state"] == "failed" and b["state"] == "failed" and (a, b)
    a, b = s.wait_for(failed_again, timeout=WAIT, interval=0.3, what="requeued tasks to fail again")
    assert standin(s, "/stats")["per_ip"].get(ip, 0) > calls, "the provider was asked again"
    eq(a["attempts"] + b["attempts"], 1, "one call between the two requeued tasks")
    eq(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE state = 'queued' AND name = 'unknown-addr'"),
       "0", "none left queued")


def test_one_claim_resolves_many_without_calls(s):
    """Tasks that need no call, queued while no worker runs, are all
    claimed at once and resolved in statements of up to 16 (lib/geo_store.c,
    write_resolved): each keeps its own reason, cached data or cached
    failure, and the provider is not asked."""
    standin(s, "/control?mode=ok&stall_pct=0")
    known, unknown = "45.12.0.1", "7.12.0.1"   # the stand-in has no data for 7/8
    first = wait_state(s, submit_ok(s, {"name": "batch-seed"}, ip=known))
    eq(first["state"], "done", "known address resolved")
    eq(wait_state(s, submit_ok(s, {"name": "batch-seed"}, ip=unknown))["state"], "failed",
       "unknown address failed")
    calls = standin(s, "/stats")["count"]
    m0 = s.metrics()
    plan = ([(f"10.12.{i}.1", "skipped", "private address") for i in range(30)]
            + [(None, "skipped", "loopback address")] * 17
            + [(f"198.51.100.{i + 1}", "skipped", "documentation address") for i in range(3)]
            + [(known, "done", None)] * 5
            + [(unknown, "failed", first_error(s, unknown))] * 5)
    stop_stack_worker(s)
    try:
        ids = [submit_ok(s, {"name": f"batch-{i}", "status_code": i}, ip=ip)
               for i, (ip, _, _) in enumerate(plan)]
    finally:
        s.stack("worker-restart")
    eq(wait_all_resolved(s, "batch-", len(plan) + 2),
       {"skipped": 50, "done": 6, "failed": 6}, "every task resolved")
    for tid, (ip, state, why) in zip(ids, plan):
        t = task(s, tid)
        eq((t["state"], t["error"], t["attempts"]), (state, why, 0), f"task from {ip}")
        eq(t["geo"], first["geo"] if state == "done" else None, f"geo for {ip}")
        assert t["resolved_at"] is not None, t
    eq(standin(s, "/stats")["count"], calls, "no call for any of them")
    m1 = s.metrics()

    def delta(name):
        return metric(m1, name) - metric(m0, name)
    eq(delta('cairn_geo_tasks_resolved_total{state="skipped"}'), 50.0, "skipped")
    eq(delta('cairn_geo_cache_hits_total{result="positive"}'), 5.0, "cache hits")
    eq(delta('cairn_geo_cache_hits_total{result="negative"}'), 5.0, "negative cache hits")
    standin_defaults(s)


def test_submissions_never_wait_for_a_claim(s):
    """A claim locks the tasks it takes and no range of the queue's index:
    a submission commits while a claim is still open.  The claim is held
    open by locking the cache row of its task's address from a session of
    the test's own; the worker then waits on that lock inside its claim
    (it waits up to 60 s here, the pool 5 s).  Under a locking read of
    the due range, InnoDB's gap lock past its last row would hold every new
    task's insert until the claim ended."""
    standin(s, "/control?mode=ok&stall_pct=0")
    ip = "45.14.0.1"
    eq(wait_state(s, submit_ok(s, {"name": "gap-seed"}, ip=ip))["state"], "done", "cached")
    stop_stack_worker(s)
    worker = None
    admin = s.admin_argv("--unbuffered", s.env["CAIRN_DB_NAME"])

    def waiting_claim():
        """The id of the transaction waiting for a lock, if one is."""
        return "\n".join(r[0] for r in s.innodb_trx() if r[2] == "LOCK WAIT")
    lock = subprocess.Popen(admin, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lock.stdin.write("START TRANSACTION; SELECT COUNT(*) FROM geo_cache"
                         f" WHERE ip = INET6_ATON('{ip}') FOR UPDATE; SELECT 'locked';\n")
        lock.stdin.flush()
        eq([lock.stdout.readline().strip() for _ in range(2)], ["1", "locked"], "cache row locked")
        held = submit_ok(s, {"name": "gap-held"}, ip=ip)
        worker = start_worker(s, "gap", env_extra={"CAIRN_DB_LOCK_WAIT_TIMEOUT": "60"})
        claim = s.wait_for(waiting_claim, timeout=WAIT, interval=INNODB_TRX_POLL,
                           what="the worker's claim waiting on the cache row")
        r = submit(s, {"name": "gap-new"})
        eq(r.status, 202, f"a submission while the claim is open: {r.body!r}")
        eq(waiting_claim(), claim, "the claim was still open when the submission answered")
        lock.stdin.write("COMMIT;\n")
        lock.stdin.close()
        eq(wait_state(s, held)["state"], "done", "the held task, once the claim goes on")
        eq(wait_state(s, r.json()["data"]["task_id"])["state"], "skipped", "the new task")
    finally:
        lock.kill()
        lock.wait()
        if worker is not None:
            stop_worker(worker)
        s.stack("worker-restart")
        standin_defaults(s)


def test_worker_log_hides_the_provider_password(s):
    """A user and password in geo.url (libcurl sends them as basic auth)
    stay out of the worker's log."""
    url = s.env["GEO_STANDIN_URL"].replace("http://", "http://geo-user:s3cret-pw@")
    log = os.path.join(s.dir, "worker-userinfo.log")

    def start_line():
        try:
            with open(log) as f:
                return next((line for line in f if "enrichment on" in line), None)
        except OSError:
            return None
    w = start_worker(s, "userinfo", url=url)
    try:
        line = s.wait_for(start_line, timeout=WAIT, what="the worker's start line")
    finally:
        stop_worker(w)
    assert "http://***@127.0.0.1:" in line, line
    with open(log) as f:
        assert "s3cret-pw" not in f.read(), "the password is not logged"


def first_error(s, ip):
    """The error of the failed task from ip that reached the provider."""
    return s.scalar("SELECT last_error FROM geo_tasks WHERE ip = INET6_ATON('%s')"
                    " AND attempts = 1 ORDER BY id DESC LIMIT 1" % ip)


# ------------------------------------------------------------------ lists

def test_list_filters_and_pages(s):
    ids = [submit_ok(s, {"name": f"list-{i}", "status_code": 4100 + i % 2}) for i in range(7)]
    for tid in ids:
        wait_state(s, tid)
    # paging with a small limit, in submission order
    seen, cursor, pages = [], None, 0
    while True:
        path = "/event/?status_code=4100&limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = s.get(path, key=keys(s)["r"])
        eq(r.status, 200, f"page {pages}")
        j = r.json()
        eq(j["status"], "success", "JSend")
        seen += [e["task_id"] for e in j["data"]["events"]]
        assert len(j["data"]["events"]) <= 2
        cursor = j["data"]["next_cursor"]
        pages += 1
        if cursor is None:
            break
    eq(seen, [ids[i] for i in range(0, 7, 2)], "status_code=4100 in order")
    eq(pages, 2, "pages")
    r = s.get("/event?status_code=4101&state=skipped", key=keys(s)["r"])
    eq([e["task_id"] for e in r.json()["data"]["events"]], [ids[i] for i in range(1, 7, 2)],
       "two filters, no trailing slash")
    eq(s.get("/event/?status_code=4101&state=done", key=keys(s)["r"]).json()["data"]["events"], [],
       "no match")
    # a time window
    first = task(s, ids[0])["submitted_at"]
    r = s.get("/event/?status_code=4100&to=" + urllib.request.quote(first), key=keys(s)["r"])
    eq(r.json()["data"]["events"], [], "to is exclusive")
    r = s.get("/event/?status_code=4100&from=" + urllib.request.quote(first), key=keys(s)["r"])
    eq(len(r.json()["data"]["events"]), 4, "from is inclusive")
    r = s.get("/event/?status_code=4100&from=2000-01-01%2000:00:00&to=2000-01-02T00:00:00Z",
              key=keys(s)["r"])
    eq(r.json()["data"]["events"], [], "an old window")
    # by country, after the known-address test resolved some
    r = s.get("/event/?country=GB&state=done", key=keys(s)["r"])
    eq(r.status, 200, "country filter")
    assert all(e["geo"]["country_code"] == "GB" for e in r.json()["data"]["events"]), r
    # bad parameters: JSend 400 naming each
    for q, field in [("state=bogus", "state"), ("limit=0", "limit"), ("limit=1001", "limit"),
                     ("limit=x", "limit"), ("status_code=1.5", "status_code"),
                     ("from=yesterday", "from"), ("to=2026-13-01", "to"),
                     ("cursor=%21%21", "cursor"), ("country=", "country"),
                     ("country=ABCDEFGHI", "country"), ("state=done&state=failed", "state")]:
        r = s.get("/event/?" + q, key=keys(s)["r"])
        eq(r.status, 400, f"status for {q}")
        j = r.json()
        eq(j["status"], "fail", f"JSend for {q}")
        assert field in j["data"], (q, j)
    r = s.get("/event/?limit=1000", key=keys(s)["r"])
    eq(r.status, 200, "limit 1000 is the maximum")


# ------------------------------------------------------------ the worker

def test_many_submissions_with_stalls(s):
    """200 submissions over 60 addresses, 10% of answers stalled 5 s: every
    task done, the provider never saw more than geo.rate calls in a second,
    each address was called once, hardly any 429."""
    standin_defaults(s)
    standin(s, "/reset")
    ips = [f"45.60.{i}.{(i * 7) % 250 + 1}" for i in range(60)]
    submit_many(s, "load", ips, 200)
    st = wait_all_resolved(s, "load", 200)
    eq(st, {"done": 200}, "every task done")
    stats = standin(s, "/stats")
    assert stats["max_in_any_second"] <= RATE, stats
    eq(stats["count"], 60, "one call per address")
    eq(sorted(stats["per_ip"]), sorted(ips), "the addresses called")
    assert all(n == 1 for n in stats["per_ip"].values()), stats["per_ip"]
    assert stats["too_many"] <= 3, stats
    assert stats["stalled"] >= 1, f"stalls were on: {stats}"
    eq(s.scalar("SELECT SUM(attempts) FROM geo_tasks WHERE name LIKE 'load-%'"), "60",
       "attempts count the calls")
    eq(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name LIKE 'load-%' AND attempts = 0"), "140",
       "the repeats came from the cache")


def test_provider_down_then_back(s):
    """The provider refuses connections for 20 s: tasks wait (none is
    failed or lost), the breaker opens, and all complete after it is back."""
    standin(s, "/control?mode=ok&stall_pct=0")
    m0 = s.metrics()
    with open(s.env["CAIRN_WORKER_LOG"]) as f:
        log_from = len(f.read())
    standin(s, "/control?mode=down&for=20")
    ips = [f"45.62.{i}.9" for i in range(20)]
    ids = submit_many(s, "down", ips, 20)
    deadline = time.monotonic() + 15
    errors = set()
    while time.monotonic() < deadline:
        st = states_of(s, "down")
        eq(st.get("failed", 0), 0, "no task fails while the provider is down")
        eq(sum(st.values()), 20, "none lost")
        errors.update(task(s, tid)["error"] for tid in ids[:5])
        time.sleep(1)
    st = wait_all_resolved(s, "down", 20)
    eq(st, {"done": 20}, "all done after the provider came back")
    # a task shows why it waits, but not where the provider is: curl's
    # detail (host and port) is in the worker's log, once per outage
    errors.discard(None)
    assert errors, "a waiting task shows its last failure"
    host_port = s.env["GEO_STANDIN_URL"].split("://")[1]
    for e in errors:
        assert e.startswith("cannot reach the provider (") and e.endswith(")"), e
        assert host_port.split(":")[0] not in e and host_port.split(":")[1] not in e, e
    with open(s.env["CAIRN_WORKER_LOG"]) as f:
        log = f.read()[log_from:]
    unreachable = [line for line in log.splitlines() if "cannot reach the provider" in line]
    eq(len(unreachable), 1, f"one line for the outage: {unreachable}")
    assert host_port.split(":")[1] in unreachable[0], unreachable[0]
    assert "geo: the provider answers again" in log, log
    m1 = s.metrics()
    assert metric(m1, "cairn_geo_breaker_opened_total") > metric(m0, "cairn_geo_breaker_opened_total"), \
        "the breaker opened"
    assert metric(m1, 'cairn_geo_provider_calls_total{outcome="connect_error"}') > \
        metric(m0, 'cairn_geo_provider_calls_total{outcome="connect_error"}'), "refused calls counted"
    calls = int(s.scalar("SELECT SUM(attempts) FROM geo_tasks WHERE name LIKE 'down-%'"))
    assert calls < 20 + 15, f"the open breaker spared the provider ({calls} calls for 20 tasks)"
    s.wait_for(lambda: metric(s.metrics(), 'cairn_geo_breaker_state{state="closed"}') == 1,
               timeout=WAIT, what="the breaker to close")
    standin_defaults(s)


def test_rate_limited_by_provider(s):
    """The provider allows fewer calls than geo.rate: its 429s are retried
    after period_remaining, and every task still ends done."""
    standin(s, "/control?mode=ok&stall_pct=0&limit=4")
    standin(s, "/reset")
    m0 = s.metrics()
    ips = [f"45.64.{i}.1" for i in range(12)]
    submit_many(s, "limited", ips, 12)
    st = wait_all_resolved(s, "limited", 12)
    eq(st, {"done": 12}, "all done")
    stats = standin(s, "/stats")
    assert stats["too_many"] >= 1, f"the stand-in's limit was hit: {stats}"
    m1 = s.metrics()
    assert metric(m1, 'cairn_geo_provider_calls_total{outcome="rate_limited"}') > \
        metric(m0, 'cairn_geo_provider_calls_total{outcome="rate_limited"}'), "429s counted"
    assert int(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name LIKE 'limited-%'"
                        " AND attempts > 1")) >= 1, "a 429 counts as an attempt and is retried"
    eq(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name LIKE 'limited-%'"
                " AND last_error IS NOT NULL"), "0", "no stale error on a done task")
    standin_defaults(s)


def test_two_workers(s):
    """Two worker processes at once: no address called twice, the combined
    rate still within geo.rate."""
    two_workers(s, "two", 61)


def two_workers(s, prefix, net, env_extra=None):
    """test_two_workers with tasks named prefix-*, addresses 45.<net>.*.*,
    and the second worker's CAIRN_* settings in env_extra (another
    database node)."""
    standin_defaults(s)
    standin(s, "/reset")
    extra = start_worker(s, "second", env_extra)
    try:
        ips = [f"45.{net}.{i}.{i + 3}" for i in range(40)]
        submit_many(s, prefix, ips, 100)
        st = wait_all_resolved(s, prefix, 100)
    finally:
        stop_worker(extra)
    eq(st, {"done": 100}, "every task done")
    stats = standin(s, "/stats")
    assert stats["max_in_any_second"] <= RATE, stats
    eq(stats["count"], 40, "one call per address")
    assert all(n == 1 for n in stats["per_ip"].values()), stats["per_ip"]
    assert stats["too_many"] <= 3, stats
    holders = s.mysql(f"SELECT DISTINCT lease_holder FROM geo_tasks WHERE name LIKE '{prefix}-%'")
    eq(len(holders), 2, f"both workers resolved tasks: {holders}")


def test_sigterm_finishes_or_releases(s):
    """SIGTERM while calls are in flight: the worker finishes them, gives
    back what waits, and leaves no lease behind."""
    stop_stack_worker(s)
    try:
        standin(s, "/control?mode=ok&stall_pct=100&stall_ms=2000")
        standin(s, "/reset")
        w = start_worker(s, "term")
        ips = [f"45.65.{i}.1" for i in range(14)]
        submit_many(s, "term", ips, 14)
        s.wait_for(lambda: standin(s, "/stats")["in_flight"] >= 2, timeout=WAIT,
                   what="calls in flight")
        stop_worker(w, signal.SIGTERM)
        eq(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name LIKE 'term-%' AND state = 'queued'"
                    " AND lease_until > UTC_TIMESTAMP(6)"), "0", "no live lease left")
        done = int(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name LIKE 'term-%' AND state = 'done'"))
        called = standin(s, "/stats")["count"]
        eq(done, called, "every call that went out was recorded")
        assert done >= 2, done
    finally:
        standin(s, "/control?stall_pct=0")
        s.stack("worker-restart")
    eq(wait_all_resolved(s, "term", 14), {"done": 14}, "the rest done by the next worker")
    assert all(n == 1 for n in standin(s, "/stats")["per_ip"].values()), "no address called twice"
    standin_defaults(s)


def test_worker_killed_claims_taken_over(s):
    """A worker killed mid-flight: its claimed tasks are taken over by
    another worker once their lease ends, and all complete."""
    stop_stack_worker(s)
    try:
        standin(s, "/control?mode=ok&stall_pct=100&stall_ms=4000")
        standin(s, "/reset")
        w = start_worker(s, "killed", lease_seconds=12)
        ips = [f"45.63.{i}.2" for i in range(6)]
        submit_many(s, "killed", ips, 6)
        s.wait_for(lambda: standin(s, "/stats")["in_flight"] >= 2, timeout=WAIT,
                   what="calls in flight")
        stop_worker(w, signal.SIGKILL)
        claims = s.mysql("SELECT id, lease_until FROM geo_tasks WHERE name LIKE 'killed-%%'"
                         " AND state = 'queued' AND lease_holder LIKE '%s'" % holder_like(w.pid))
        assert len(claims) >= 2, f"the killed worker held claims: {claims}"
        standin(s, "/control?stall_pct=0")
    finally:
        s.stack("worker-restart")
    eq(wait_all_resolved(s, "killed", 6), {"done": 6}, "all done")
    for task_id, lease_until in claims:
        row = s.mysql("SELECT lease_holder, resolved_at >= '%s' FROM geo_tasks WHERE id = %s"
                      % (lease_until, task_id))[0]
        assert not row[0].endswith(":%d" % w.pid), f"task {task_id} taken over: {row}"
        eq(row[1], "1", f"task {task_id} resolved only after its lease ended")
    per_ip = standin(s, "/stats")["per_ip"]
    assert all(n <= 2 for n in per_ip.values()), per_ip
    standin_defaults(s)


# ------------------------------------------------------- metrics and views

def test_metrics_and_admin_views(s):
    standin(s, "/control?mode=ok&stall_pct=0")
    m0 = s.metrics()
    a = submit_ok(s, {"name": "metrics"}, ip="45.66.0.1")
    b = submit_ok(s, {"name": "metrics"}, ip="45.66.0.2")
    wait_state(s, a)
    wait_state(s, b)
    c = submit_ok(s, {"name": "metrics"}, ip="45.66.0.1")
    d = submit_ok(s, {"name": "metrics"}, ip="10.66.0.1")
    eq(wait_state(s, c)["attempts"], 0, "cached")
    eq(wait_state(s, d)["state"], "skipped", "private")
    m1 = s.metrics()

    def delta(name):
        return metric(m1, name) - metric(m0, name)
    eq(metric(m1, "cairn_geo_up"), 1.0, "geo metrics read from the database")
    eq(delta('cairn_geo_provider_calls_total{outcome="ok"}'), 2.0, "two calls")
    eq(delta('cairn_geo_cache_hits_total{result="positive"}'), 1.0, "one cache hit")
    eq(delta('cairn_geo_tasks_resolved_total{state="done"}'), 3.0, "three done")
    eq(delta('cairn_geo_tasks_resolved_total{state="skipped"}'), 1.0, "one skipped")
    assert delta('cairn_geo_permits_total{result="granted"}') >= 2, "permits granted"
    for name in ['cairn_geo_tasks{state="queued"}', 'cairn_geo_tasks{state="failed"}',
                 "cairn_geo_queue_oldest_age_seconds", "cairn_geo_queue_due",
                 "cairn_geo_queue_claimed", 'cairn_geo_breaker_state{state="closed"}',
                 'cairn_geo_breaker_state{state="open"}', "cairn_geo_breaker_consecutive_failures",
                 "cairn_geo_breaker_opened_total", "cairn_geo_leases_lost_total",
                 'cairn_geo_cache_hits_total{result="negative"}',
                 'cairn_geo_permits_total{result="waited"}']:
        assert name in m1, name
    queue = {r[0]: r for r in s.mysql("SELECT state, tasks, oldest_age_seconds FROM admin_geo_queue")}
    assert int(queue["done"][1]) >= 3, queue
    assert int(queue["skipped"][1]) >= 1, queue
    for state, claimed, due in s.mysql("SELECT state, claimed, due_now FROM admin_geo_queue"):
        assert claimed.isdigit() and due.isdigit(), (state, claimed, due)
    countries = s.mysql("SELECT country_code, events FROM admin_geo_by_country ORDER BY events DESC")
    assert countries and all(int(r[1]) > 0 for r in countries), countries
    eq(sum(int(r[1]) for r in countries),
       int(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE state = 'done'")), "by country sums done")
    eq(len(s.mysql("SELECT * FROM admin_geo_budget")), 1, "budget view")
    standin_defaults(s)
