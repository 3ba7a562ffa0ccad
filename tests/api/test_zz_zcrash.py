"""Crash consistency (issue 8): concurrent clients write log batches, tag
increments, events, geo submissions and KV puts, each write with its own
Idempotency-Key where the route takes one (a KV PUT is idempotent per key),
while a fault thread kill -9s random pool workers, restarts MariaDB once,
kill -9s the geo worker once and MariaDB itself once.  A request that fails (5xx, connection
error, timeout) is retried with the same key until it succeeds (bounded).

Afterwards, from the database: every acknowledged write is stored exactly
once, tag counts equal the acknowledged increments, every geo task leaves
`queued` (the stand-in answers), and nothing unacknowledged is stored twice.
Runs after test_zz_faults: it disturbs the stack.  No assertion is on
speed; the counts are printed as TAP diagnostics."""
import json
import os
import random
import signal
import threading
import time
import urllib.request
import uuid

from cairn import eq, process_exited

RESTARTS_EXPECTED = True

LOAD_SECONDS = 25      # how long the clients write
RETRY_SECONDS = 90     # a request is retried for at most this long
GEO_WAIT = 90          # every geo task leaves `queued` within this (generous)
# 120 public addresses: enough provider calls (geo.rate 5/s) that some are
# in flight when the geo worker is killed; the repeats come from the cache
PUBLIC_IPS = ["45.70.%d.%d" % (i // 10, i % 10 + 1) for i in range(120)]
PRIVATE_IPS = ["10.70.0.1", "192.168.70.1"]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0          # logical requests (one Idempotency-Key each)
        self.attempts = 0      # HTTP attempts, retries included
        self.acked = 0
        self.retried = 0       # logical requests that needed more than one attempt
        self.gave_up = []      # (what, last status or error)
        self.unexpected = []   # 4xx and other answers that are bugs here
        self.failures = {}     # what a failed attempt saw (status or error type) -> count

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def send(s, st, what, method, path, body=None, headers=None, key=None,
         content_type=None, ok=(200, 201, 202)):
    """One logical request, retried with the same headers (so the same
    Idempotency-Key) after a 5xx or a connection failure.  Returns the
    2xx Response, or None when it gave up or got an unexpected answer."""
    st.add(sent=1)
    deadline = time.monotonic() + RETRY_SECONDS
    n = 0
    last = None
    while True:
        n += 1
        st.add(attempts=1)
        try:
            r = s.request(method, path, body=body, headers=headers, key=key,
                          content_type=content_type, timeout=20)
            last = r
            if r.status in ok:
                st.add(acked=1, retried=1 if n > 1 else 0)
                return r
            if r.status < 500 and r.status != 429:
                with st.lock:
                    st.unexpected.append((what, n, r.status, r.body[:200]))
                return None
            seen = str(r.status)
        except Exception as e:  # connection refused/reset, timeout
            last = repr(e)
            seen = type(e).__name__
        with st.lock:
            st.failures[seen] = st.failures.get(seen, 0) + 1
        if time.monotonic() > deadline:
            with st.lock:
                st.gave_up.append((what, n, repr(last)[:200]))
            st.add(retried=1 if n > 1 else 0)
            return None
        time.sleep(random.uniform(0.05, 0.3))


def idem(run, what):
    return {"Idempotency-Key": "crash-%s-%s" % (run, what)}


class Clients:
    """Per kind, what was sent and what was acknowledged."""

    def __init__(self, s, run, key):
        self.s, self.run, self.key = s, run, key
        self.st = Stats()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.logs_sent, self.logs_acked = set(), set()
        self.tags = ["crash-%s-tag-%d" % (run, i) for i in range(3)]
        self.tag_sent = {t: 0 for t in self.tags}
        self.tag_acked = {t: 0 for t in self.tags}
        self.ev_sent, self.ev_acked = set(), set()
        self.geo_sent, self.geo_acked = set(), {}   # name -> task_id (hex)
        self.kv_sent, self.kv_acked = {}, set()     # key -> value

    # one loop per kind; tid tells the threads of one kind apart
    def logs(self, tid):
        i = 0
        while not self.stop.is_set():
            i += 1
            bodies = ["crash-%s-log-%d-%d-%d" % (self.run, tid, i, j) for j in range(5)]
            with self.lock:
                self.logs_sent.update(bodies)
            data = [{"level": "info", "timestamp": "2026-11-22 14:00:00", "body": b}
                    for b in bodies]
            r = send(self.s, self.st, "intake", "POST", "/intake", body={"data": data},
                     headers=idem(self.run, "log-%d-%d" % (tid, i)),
                     key=self.s.env["CAIRN_SERVICE_KEY"], ok=(200,))
            if r is not None:
                eq(r.json().get("count"), 5, "intake count")
                with self.lock:
                    self.logs_acked.update(bodies)

    def tag_updates(self, tid):
        i = 0
        tag = self.tags[tid]
        while not self.stop.is_set():
            i += 1
            with self.lock:
                self.tag_sent[tag] += 1
            r = send(self.s, self.st, "update", "POST", "/update?tag=" + tag,
                     headers=idem(self.run, "tag-%d-%d" % (tid, i)), key=self.key, ok=(200,))
            if r is not None:
                with self.lock:
                    self.tag_acked[tag] += 1

    def events(self, tid):
        i = 0
        while not self.stop.is_set():
            i += 1
            tag = "crash-%s-ev-%d-%d" % (self.run, tid, i)
            with self.lock:
                self.ev_sent.add(tag)
            r = send(self.s, self.st, "add_event", "POST", "/add_event",
                     body={"tags": [tag, "crash-%s-ev" % self.run]},
                     headers=idem(self.run, "ev-%d-%d" % (tid, i)), key=self.key, ok=(201,))
            if r is not None:
                with self.lock:
                    self.ev_acked.add(tag)

    def geo(self, tid):
        i = 0
        while not self.stop.is_set():
            i += 1
            name = "crash-%s-geo-%d-%d" % (self.run, tid, i)
            ip = random.choice(PUBLIC_IPS if i % 4 else PRIVATE_IPS)
            with self.lock:
                self.geo_sent.add(name)
            h = idem(self.run, "geo-%d-%d" % (tid, i))
            h["X-Real-IP"] = ip
            r = send(self.s, self.st, "submit", "POST", "/event/submit/",
                     body={"name": name, "status_code": i}, headers=h, key=self.key, ok=(202,))
            if r is not None:
                task_id = r.json()["data"]["task_id"]
                with self.lock:
                    self.geo_acked[name] = task_id.replace("-", "").lower()

    def kv(self, tid):
        i = 0
        while not self.stop.is_set():
            i += 1
            k = "crash-%s-kv-%d-%d" % (self.run, tid, i)
            v = "value %s %d %d" % (uuid.uuid4().hex, tid, i)
            with self.lock:
                self.kv_sent[k] = v
            r = send(self.s, self.st, "kv put", "PUT", "/keys/" + k, body=v,
                     content_type="text/plain", key=self.key, ok=(200, 201))
            if r is not None:
                with self.lock:
                    self.kv_acked.add(k)

    def threads(self):
        def guarded(fn, tid):
            def go():
                try:
                    fn(tid)
                except Exception as e:
                    with self.st.lock:
                        self.st.unexpected.append((fn.__name__, tid, "exception", repr(e)))
            return go
        plan = [(self.logs, 2), (self.tag_updates, 3), (self.events, 2),
                (self.geo, 2), (self.kv, 2)]
        return [threading.Thread(target=guarded(fn, tid))
                for fn, n in plan for tid in range(n)]


def standin(s, path):
    with urllib.request.urlopen(s.env["GEO_STANDIN_URL"] + path, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def crash_database(s):
    """kill -9 mariadbd (commits in flight are cut, InnoDB recovers from its
    redo log at the next start), then start it again."""
    with open(s.env["CAIRN_MARIADB_PIDFILE"]) as f:
        pid = int(f.read().strip())
    os.kill(pid, signal.SIGKILL)
    s.wait_for(lambda: process_exited(pid), timeout=30, what="mariadbd to die")
    s.stack("db-start")


def faults(s, stop, done, log):
    """kill -9 random pool workers, one MariaDB restart, one geo worker kill,
    one MariaDB crash (kill -9)."""
    def pause(sec):
        stop.wait(sec)

    def kill_pool_worker():
        for _ in range(20):
            ws = s.pool_workers()
            if ws:
                pid = random.choice(ws)
                try:
                    os.kill(pid, signal.SIGKILL)
                    log["pool_kills"] += 1
                    return
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    try:
        pause(2)
        kill_pool_worker()
        pause(2)
        kill_pool_worker()
        pause(2)
        s.stack("db-stop")
        time.sleep(2)
        s.stack("db-start")
        log["db_restarts"] += 1
        pause(2)
        kill_pool_worker()
        pause(2)
        with open(s.env["CAIRN_WORKER_PIDFILE"]) as f:
            os.kill(int(f.read().strip()), signal.SIGKILL)
        log["geo_kills"] += 1
        time.sleep(0.5)
        s.stack("worker-restart")
        pause(2)
        kill_pool_worker()
        pause(2)
        crash_database(s)
        log["db_crashes"] += 1
        pause(2)
        kill_pool_worker()
        pause(2)
        kill_pool_worker()
    except Exception as e:
        log["error"] = repr(e)
    finally:
        done.set()


def test_crash_consistency(s):
    run = uuid.uuid4().hex[:8]
    key = s.new_key(["tags:write", "tags:read", "events:write", "events:read",
                     "geo:write", "geo:read", "kv:write", "kv:read"], name="crash")[1]
    standin(s, "/control?mode=ok&limit=5&stall_pct=0")
    standin(s, "/reset")
    s.wait_for(lambda: s.get("/readyz").status == 200, timeout=60, what="readyz")
    c = Clients(s, run, key)
    for t in c.tags:
        r = s.post("/create?tag=" + t, key=key)
        eq(r.status, 200, "create " + t)
    restarts = s.worker_restarts()

    threads = c.threads()
    for t in threads:
        t.start()
    fstop, fdone = threading.Event(), threading.Event()
    log = {"pool_kills": 0, "db_restarts": 0, "geo_kills": 0, "db_crashes": 0}
    ft = threading.Thread(target=faults, args=(s, fstop, fdone, log))
    t0 = time.monotonic()
    ft.start()
    time.sleep(LOAD_SECONDS)
    fdone.wait(120)
    c.stop.set()
    for t in threads:
        t.join()
    fstop.set()
    ft.join()
    took = time.monotonic() - t0
    st = c.st
    print(f"# {took:.1f}s of load: sent {st.sent}, acknowledged {st.acked}, retried {st.retried}, "
          f"attempts {st.attempts}, gave up {len(st.gave_up)}, unexpected {len(st.unexpected)}; "
          f"faults: {log['pool_kills']} worker kills, {log['db_restarts']} db restart, "
          f"{log['geo_kills']} worker kill, {log['db_crashes']} db crash")
    print(f"# logs {len(c.logs_acked)}/{len(c.logs_sent)} records, "
          f"tag increments {sum(c.tag_acked.values())}/{sum(c.tag_sent.values())}, "
          f"events {len(c.ev_acked)}/{len(c.ev_sent)}, geo {len(c.geo_acked)}/{len(c.geo_sent)}, "
          f"kv {len(c.kv_acked)}/{len(c.kv_sent)} (acknowledged/sent)")
    print(f"# failed attempts (retried): {dict(sorted(st.failures.items()))}")
    for g in st.gave_up[:10]:
        print(f"# gave up: {g}")
    for u in st.unexpected[:10]:
        print(f"# unexpected: {u}")
    problems = []
    if "error" in log:
        problems.append(f"fault thread failed: {log['error']}")
    if st.unexpected:
        problems.append(f"{len(st.unexpected)} unexpected answers, first {st.unexpected[:3]}")
    if st.gave_up:
        problems.append(f"{len(st.gave_up)} requests never succeeded, first {st.gave_up[:3]}")
    assert log["pool_kills"] >= 3 and log["db_restarts"] == 1 and log["geo_kills"] == 1, log
    assert s.worker_restarts() >= restarts + log["pool_kills"] or s.worker_restarts() < 0, \
        "the pool replaced the killed workers"
    s.wait_for(lambda: s.get("/readyz").status == 200, timeout=60, what="readyz after the faults")

    # logs: every acknowledged body exactly once, none twice
    rows = s.mysql("SELECT body, COUNT(*) FROM log_records WHERE body LIKE 'crash-%s-log-%%' "
                   "GROUP BY body" % run)
    got = {r[0]: int(r[1]) for r in rows}
    missing = sorted(c.logs_acked - set(got))
    twice = sorted(b for b, n in got.items() if n != 1)
    stray = sorted(set(got) - c.logs_sent)
    if missing or twice or stray:
        problems.append(f"logs: {len(missing)} acknowledged missing {missing[:3]}, "
                        f"{len(twice)} not once {twice[:3]}, {len(stray)} never sent {stray[:3]}")

    # tags: count == acknowledged increments; history rows agree
    for t in c.tags:
        row = s.mysql("SELECT t.count, (SELECT COUNT(*) FROM tag_history h WHERE h.tag_id = t.id), "
                      "(SELECT COALESCE(SUM(amount), 0) FROM tag_history h WHERE h.tag_id = t.id) "
                      "FROM tags t WHERE t.name = '%s'" % t)
        count, hrows, hsum = (int(x) for x in row[0])
        if not (count == c.tag_acked[t] and hrows == count and hsum == count):
            problems.append(f"tag {t}: count {count}, history rows {hrows} (sum {hsum}), "
                            f"acknowledged {c.tag_acked[t]}, sent {c.tag_sent[t]}")
        r = s.get("/get?tag=" + t, key=key)
        if r.status != 200 or r.text.strip() != str(count):
            problems.append(f"/get?tag={t}: {r!r}, stored {count}")

    # events: one event per acknowledged unique tag, none twice
    rows = s.mysql("SELECT CONVERT(tag USING utf8mb4), COUNT(*) FROM event_tags "
                   "WHERE tag LIKE 'crash-%s-ev-%%' GROUP BY tag" % run)
    got = {r[0]: int(r[1]) for r in rows}
    missing = sorted(c.ev_acked - set(got))
    twice = sorted(b for b, n in got.items() if n != 1)
    stray = sorted(set(got) - c.ev_sent)
    if missing or twice or stray:
        problems.append(f"events: {len(missing)} acknowledged missing {missing[:3]}, "
                        f"{len(twice)} not once {twice[:3]}, {len(stray)} never sent {stray[:3]}")
    n_shared = int(s.scalar("SELECT COUNT(*) FROM event_tags WHERE tag = 'crash-%s-ev'" % run))
    if n_shared != len(got):
        problems.append(f"events: {n_shared} events carry the shared tag, "
                        f"{len(got)} unique tags stored")

    # kv: every acknowledged key with its value
    rows = s.mysql("SELECT CONVERT(k USING utf8mb4), CONVERT(v USING utf8mb4) FROM kv_keys "
                   "WHERE k LIKE 'crash-%s-kv-%%'" % run)
    got = {r[0]: r[1] for r in rows}
    missing = sorted(k for k in c.kv_acked if k not in got)
    wrong = sorted(k for k in c.kv_acked if k in got and got[k] != c.kv_sent[k])
    stray = sorted(set(got) - set(c.kv_sent))
    if missing or wrong or stray:
        problems.append(f"kv: {len(missing)} acknowledged missing {missing[:3]}, "
                        f"{len(wrong)} wrong values {wrong[:3]}, {len(stray)} never sent {stray[:3]}")

    # geo: every acknowledged task once under its task_id, none lost or stuck
    def geo_rows():
        return s.mysql("SELECT name, LOWER(HEX(task_id)), state, attempts FROM geo_tasks "
                       "WHERE name LIKE 'crash-%s-geo-%%'" % run)
    rows = geo_rows()
    by_name = {}
    for name, tid, state, attempts in rows:
        by_name.setdefault(name, []).append(tid)
    missing = sorted(n for n in c.geo_acked if n not in by_name)
    twice = sorted(n for n, ids in by_name.items() if len(ids) != 1)
    wrong = sorted(n for n in c.geo_acked if n in by_name and by_name[n] != [c.geo_acked[n]])
    stray = sorted(set(by_name) - c.geo_sent)
    if missing or twice or wrong or stray:
        problems.append(f"geo: {len(missing)} acknowledged missing {missing[:3]}, "
                        f"{len(twice)} stored twice {twice[:3]}, {len(wrong)} under another "
                        f"task_id {wrong[:3]}, {len(stray)} never sent {stray[:3]}")
    t1 = time.monotonic()
    try:
        s.wait_for(lambda: not any(r[2] == "queued" for r in geo_rows()), timeout=GEO_WAIT,
                   interval=0.5, what="every geo task out of queued")
        print(f"# geo: {len(rows)} tasks resolved {time.monotonic() - t1:.1f}s after the load")
    except AssertionError:
        stuck = [r for r in geo_rows() if r[2] == "queued"]
        problems.append(f"geo: {len(stuck)} tasks still queued after {GEO_WAIT}s, "
                        f"first {stuck[:3]}")
    states = {}
    for r in geo_rows():
        states[r[2]] = states.get(r[2], 0) + 1
    print(f"# geo states: {states}")
    calls = standin(s, "/stats")
    per_ip = calls.get("per_ip", {})
    print(f"# geo provider: {calls.get('count')} calls for {len(per_ip)} addresses, "
          f"most for one address {max(per_ip.values(), default=0)}, "
          f"max in any second {calls.get('max_in_any_second')}, 429s {calls.get('too_many')}")
    bad = [r for r in geo_rows() if r[2] not in ("done", "skipped", "queued")]
    if bad:
        problems.append(f"geo: {len(bad)} tasks neither done nor skipped, first {bad[:3]}")

    for p in problems:
        print("# PROBLEM: " + p)
    eq(problems, [], "crash consistency")
