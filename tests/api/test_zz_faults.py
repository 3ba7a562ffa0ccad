"""Faults (DESIGN.md "Quality bars"): a killed worker, a stopped and
restarted database, SIGHUP, more clients than workers, throttling.
Runs last: it disturbs the stack.  No assertion is on speed; the times
measured are printed as TAP diagnostics."""
import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time

import test_ctl
import test_geo
import test_kv
import test_logs
from cairn import eq, is_envelope
from test_events import group_commit, rw, stored_events, uniq

RESTARTS_EXPECTED = True


class Load:
    """Background clients hammering a route until stopped."""

    def __init__(self, s, path, clients=4, key=None):
        self.s, self.path, self.key = s, path, key
        self.stop = threading.Event()
        self.statuses = []
        self.errors = []
        self.threads = [threading.Thread(target=self.run) for _ in range(clients)]

    def run(self):
        while not self.stop.is_set():
            try:
                self.statuses.append(self.s.get(self.path, key=self.key, timeout=30).status)
            except Exception as e:  # connection trouble counts as a failure
                self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def test_killed_worker_is_replaced(s):
    workers = s.pool_workers()
    n = len(workers)
    assert n >= 2, workers
    restarts = s.worker_restarts()
    with Load(s, "/_debug/sleep?ms=5", clients=3) as load:
        time.sleep(0.3)
        t0 = time.monotonic()
        os.kill(workers[0], signal.SIGKILL)
        s.wait_for(lambda: len(s.pool_workers()) == n and workers[0] not in s.pool_workers(),
                   timeout=15, what="the pool back at full size")
        took = time.monotonic() - t0
        time.sleep(0.3)
    print(f"# pool back to {n} workers {took:.3f}s after kill -9")
    failed = [st for st in load.statuses if st != 200]
    assert len(load.statuses) > 20, "the load ran"
    assert len(failed) + len(load.errors) <= 1, \
        f"only the request in hand may fail: {failed} {load.errors[:3]}"
    eq(s.worker_restarts(), restarts + 1, "restart counted")
    assert any("killed by signal 9" in l for l in s.log_tail(50)), "logged"


def test_database_down_gives_503_then_recovers(s):
    master = s.pool_master()
    workers = s.pool_workers()
    restarts = s.worker_restarts()
    s.stack("db-stop")
    try:
        r = s.get("/readyz")
        eq(r.status, 503, "readyz")
        eq(r.json()["status"], "unavailable", "readyz body")
        for _ in range(2 * len(workers)):
            r = s.get("/admin/api-keys", key=s.admin_key, timeout=30)
            eq(r.status, 503, "data route")
            assert is_envelope(r), r
            assert int(r.headers["retry-after"]) > 0, r.headers
            r = s.post("/_debug/idempotent", {"n": 1}, key=s.admin_key)
            eq(r.status, 503, "write route")
        # the compat log routes keep their own body (API.md §1)
        r = s.post("/intake", {"key": s.env["CAIRN_SERVICE_KEY"], "data": [
            {"timestamp": "2026-11-22 14:00:00", "body": "db down"}]}, timeout=30)
        eq((r.status, r.json()), (503, {"code": 503, "message": "Storage unavailable"}), "/intake")
        for method, path in [("GET", "/query/date/2026-11-22"), ("GET", "/query/service/local"),
                             ("GET", "/query/level/info"), ("POST", "/purge/local/2020-01-01")]:
            r = s.request(method, path, key=s.admin_key, timeout=30)
            eq((r.status, r.json()), (503, {"code": 503, "message": "Storage unavailable"}),
               f"{method} {path}")
            assert int(r.headers["retry-after"]) > 0, r.headers
        eq(s.get("/healthz").status, 200, "healthz needs no database")
    finally:
        s.stack("db-start")
    t0 = time.monotonic()
    s.wait_for(lambda: s.get("/readyz").status == 200, timeout=30, what="readyz")
    print(f"# ready {time.monotonic() - t0:.3f}s after the database came back")
    for _ in range(2 * len(workers)):
        eq(s.get("/admin/api-keys", key=s.admin_key).status, 200, "data route recovered")
    eq(s.pool_master(), master, "pool not restarted")
    eq(s.pool_workers(), workers, "no worker replaced")
    eq(s.worker_restarts(), restarts, "no worker died")
    assert s.metrics().get("cairn_db_reconnects_total", 0) >= 1, "reconnects counted"


def test_a_lock_held_past_the_retries_gives_503(s):
    """A write whose row lock is held elsewhere waits db.lock_wait_timeout
    (5 s in the stack) and is tried once more; a lock held past both is
    a 503 with Retry-After, like a database that is down, not a 500:
    nothing was written and the client may retry."""
    eq(test_kv.put_q(s, "lockheld=1").status, 200, "the key")
    admin = s.admin_argv("--unbuffered", s.env["CAIRN_DB_NAME"])
    lock = subprocess.Popen(admin, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lock.stdin.write("START TRANSACTION; SELECT v FROM kv_keys WHERE k = 'lockheld'"
                         " FOR UPDATE; SELECT 'locked';\n")
        lock.stdin.flush()
        eq([lock.stdout.readline().strip() for _ in range(2)], ["1", "locked"], "row locked")
        t0 = time.monotonic()
        r = test_kv.put_q(s, "lockheld=2")
        took = time.monotonic() - t0
    finally:
        lock.kill()
        lock.wait()
    print(f"# 503 after {took:.1f}s")
    eq(r.status, 503, f"the write behind the lock: {r.body!r}")
    assert is_envelope(r), r
    eq(r.json()["error"], {"code": "unavailable", "message": "the database is busy; retry later"},
       "body")
    assert int(r.headers["retry-after"]) > 0, r.headers
    eq(test_kv.get(s, "lockheld").json(), {"lockheld": "1"}, "nothing written")
    eq(test_kv.put_q(s, "lockheld=3").status, 200, "the retry, once the lock is gone")
    eq(test_kv.get(s, "lockheld").json(), {"lockheld": "3"}, "written")


def test_metrics_while_the_database_is_down(s):
    """docs/geo.md: cairn_geo_up is 1 when the geo numbers could be read,
    so 0 while the database is down (its collector writes that line when
    it fails; /metrics once dropped it with the rest, so the series went
    missing instead of reading 0).  The kv series, read from the database,
    are left out (docs/kv.md); the pool's own counters stay; the text is
    still one block per family."""
    eq(s.metrics().get("cairn_geo_up"), 1.0, "geo_up with the database up")
    s.stack("db-stop")
    try:
        r = s.get("/metrics")
        eq(r.status, 200, "status")
        m = s.metrics()
        eq(m.get("cairn_geo_up"), 0.0, "geo_up with the database down")
        assert "cairn_kv_keys" not in m, "kv series read from a stopped database"
        assert 'cairn_geo_tasks{state="queued"}' not in m, "geo numbers without a database"
        assert "cairn_http_requests_in_flight" in m, "the pool's own series"
        types = [ln.split()[2] for ln in r.text.splitlines() if ln.startswith("# TYPE ")]
        eq(len(types), len(set(types)), "each family declared once")
        assert "cairn_geo_up" in types, types
    finally:
        s.stack("db-start")
    s.wait_for(lambda: s.get("/readyz").status == 200, timeout=30, what="ready again")
    s.wait_for(lambda: s.metrics().get("cairn_geo_up") == 1.0, timeout=30, what="geo_up 1")


def test_lists_print_nothing_on_stdout_without_a_database(s):
    """A list whose database is down exits 1 with the reason on stderr and
    prints nothing on stdout: a script reading it sees no header without
    rows."""
    s.stack("db-stop")
    try:
        for args in (("key", "list"), ("service", "list"), ("job", "list")):
            r = test_ctl.ctl(s, *args)
            eq((r.returncode, r.stdout), (1, ""), f"{' '.join(args)}: {r.stderr}")
            assert "connect" in r.stderr, r.stderr
    finally:
        s.stack("db-start")
    s.wait_for(lambda: s.get("/readyz").status == 200, timeout=30, what="ready again")
    for args in (("key", "list"), ("service", "list"), ("job", "list")):
        r = test_ctl.ctl(s, *args)
        eq(r.returncode, 0, r.stderr)
        assert r.stdout.split("\n", 1)[0].count("\t") >= 4, r.stdout


def hup_and_settle(s):
    """SIGHUP to the pool master; waits until every worker was replaced."""
    before = s.pool_workers()
    os.kill(s.pool_master(), signal.SIGHUP)
    s.wait_for(lambda: len(s.pool_workers()) == len(before)
               and not set(s.pool_workers()) & set(before),
               timeout=30, what="every worker replaced")


@contextlib.contextmanager
def pool_settings(s, extra, worker=False):
    """The pool (and cairn-worker, with worker) running with extra lines
    after the configuration file's own; the context gives a function that
    replaces them.  The file and the processes are back as before after."""
    conf = s.env["CAIRN_CONF"]
    with open(conf) as f:
        original = f.read()

    def use(lines):
        with open(conf, "w") as f:
            f.write(original + "\n" + lines)
        hup_and_settle(s)
        if worker:
            s.stack("worker-restart")
    try:
        use(extra)
        yield use
    finally:
        with open(conf, "w") as f:
            f.write(original)
        hup_and_settle(s)
        if worker:
            s.stack("worker-restart")


def test_writes_after_a_database_restart_succeed_first_time(s):
    """The one-round-trip writes run with no transaction of their own, so
    a connection lost while one is in flight is a 503 (it may have
    committed).  A connection that died while idle -- every worker's,
    after a restart -- must be noticed before anything is sent: the first
    write of each worker then succeeds, with no 503 and no double count.
    Keys stay cached throughout, so no key lookup reconnects first."""
    conf = s.env["CAIRN_CONF"]
    with open(conf) as f:
        original = f.read()
    key = s.admin_key
    writes = [
        lambda i: s.request("PUT", f"/keys/fault-restart-{i}", body=b"v",
                            content_type="text/plain", key=key),
        lambda i: s.get("/update?tag=fault-restart", key=key),
        lambda i: s.post("/add_event", {"tags": ["fault-restart"]}, key=key),
        lambda i: s.post("/event/submit/", {"name": "restart", "status_code": 1},
                         key=key),
        # the compat log routes: a lost connection is retried as elsewhere,
        # never their own 503
        lambda i: s.get("/query/date/2026-11-22", key=key),
        lambda i: s.get("/query/service/local", key=key),
        lambda i: s.post("/intake", {"key": s.env["CAIRN_SERVICE_KEY"], "data": [
            {"timestamp": "2026-11-22 14:00:00", "body": f"restart {i}"}]}),
    ]
    try:
        with open(conf, "a") as f:
            f.write("\nauth.cache_ms = 60000\n")
        hup_and_settle(s)
        eq(s.get("/create?tag=fault-restart", key=key).status, 200, "create")
        workers = len(s.pool_workers())
        # every worker holds a connection to the old server and the key
        for i in range(6 * workers):
            for w in writes:
                assert w(i).status < 300
        before = int(s.scalar("SELECT count FROM tags WHERE name = 'fault-restart'"))
        s.stack("db-stop")
        s.stack("db-start")
        n = 3 * workers
        for i in range(n):
            for w in writes:
                r = w(1000 + i)
                assert r.status < 300, f"write {i} after the restart: {r}"
    finally:
        with open(conf, "w") as f:
            f.write(original)
        hup_and_settle(s)
    eq(int(s.scalar("SELECT count FROM tags WHERE name = 'fault-restart'")), before + n,
       "each /update counted once")
    eq(int(s.scalar("SELECT COUNT(*) FROM tag_history h JOIN tags t ON t.id = h.tag_id"
                    " WHERE t.name = 'fault-restart'")), before + n, "one history row each")


def test_compat_log_routes_retry_a_killed_connection(s):
    """A connection the server killed (KILL, wait_timeout) is reconnected
    and the request run again, on the compat log routes as on the others:
    never their own 503 while the database is up."""
    key = s.admin_key
    routes = [lambda: s.get("/query/date/2026-11-22", key=key),
              lambda: s.get("/query/service/local", key=key),
              lambda: s.get("/query/level/info", key=key),
              lambda: s.post("/intake", {"key": s.env["CAIRN_SERVICE_KEY"], "data": [
                  {"timestamp": "2026-11-22 14:00:00", "body": "after kill"}]}),
              lambda: s.get("/keys", key=key)]
    workers = len(s.pool_workers())
    for _ in range(3 * workers):
        for r in routes:
            eq(r().status, 200, "before")
    for _ in range(3):
        ids = [row[0] for row in s.mysql(
            "SELECT id FROM information_schema.processlist WHERE user = 'cairn'"
            " AND id <> CONNECTION_ID()")]
        assert ids, "cairn holds connections"
        for i in ids:
            s.mysql(f"KILL {i}")
        for _ in range(2 * workers):
            for r in routes:
                got = r()
                eq(got.status, 200, f"after KILL: {got}")


def restart_database(s, db_args=None):
    """Stops and starts the stack's MariaDB (with extra mariadbd options
    when db_args is given) and waits until cairn answers /readyz."""
    if db_args:
        os.environ["CAIRN_DB_ARGS"] = db_args
    try:
        s.stack("db-stop")
        s.stack("db-start")
    finally:
        os.environ.pop("CAIRN_DB_ARGS", None)
    s.wait_for(lambda: s.get("/readyz").status == 200, timeout=30, what="readyz")


def add_events_at_once(s, tag, n):
    """n /add_events from 16 clients at once; checks that each is stored as
    sent under the id it was answered with."""
    def one(i):
        r = s.post("/add_event", {"tags": [tag, f"{tag}-{i}"], "start_epoch": 1600000000 + i},
                   key=rw(s))
        eq(r.status, 201, f"add {i}: {r}")
        return int(r.json()["_id"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        event_ids = list(pool.map(one, range(n)))
    got = stored_events(s, event_ids)
    for i, event_id in enumerate(event_ids):
        eq(got[event_id], ((1600000000 + i) * 1_000_000, "open", [tag, f"{tag}-{i}"]),
           f"event {event_id} as sent")


def test_add_event_grouped_only_where_the_server_allows(s):
    """Grouped /add_events (sql/0008) need consecutive ids for the rows of
    one INSERT, which innodb_autoinc_lock_mode = 2 (MySQL 8's default, and
    Galera's) does not promise, and an INSERT ... SELECT from JSON_TABLE,
    which a statement-based binary log cannot replay safely.  After the
    database restarts with either, every worker's new connection sees it:
    no event is grouped, and the procedure refuses a group itself.  Back
    on the default settings, events are grouped again."""
    servers = [("--innodb-autoinc-lock-mode=2", "SELECT @@innodb_autoinc_lock_mode", "2",
                "innodb_autoinc_lock_mode 2"),
               ("--log-bin --binlog-format=STATEMENT", "SELECT @@binlog_format", "STATEMENT",
                "binlog_format STATEMENT")]
    try:
        for db_args, probe, value, refusal in servers:
            restart_database(s, db_args)
            eq(s.scalar(probe), value, f"the server runs with {db_args}")
            before = group_commit(s)
            add_events_at_once(s, uniq("alone"), 64)
            eq(group_commit(s), before, f"no event grouped with {db_args}")
            tag = uniq("refused")
            two = ('[{"s": "1", "j": "%s", "t": ["%s"]}, {"s": "2", "j": "%s", "t": ["%s"]}]'
                   % (tag, tag, tag, tag))
            try:
                s.mysql(f"CALL event_add_group('{two}')")
                raise AssertionError(f"a group was accepted with {db_args}")
            except RuntimeError as e:
                assert refusal in str(e), e
            eq(s.scalar(f"SELECT COUNT(*) FROM events WHERE tags = '{tag}'"), "0",
               "nothing written")
    finally:
        restart_database(s)
    before = group_commit(s)
    add_events_at_once(s, uniq("grouped"), 64)
    eq(group_commit(s)[1] - before[1], 64, "every event through the group commit again")

def test_writes_where_the_server_defaults_to_read_committed(s):
    """A host whose MariaDB defaults to READ COMMITTED (a common DBA
    choice) with a statement-based binary log refuses every InnoDB write
    of a session left at that level (error 1665).  cairn's sessions set
    REPEATABLE READ, the level its snapshots and locks are designed for,
    so every kind of write works there, the geo worker's too."""
    try:
        restart_database(s, "--log-bin --binlog-format=STATEMENT"
                            " --transaction-isolation=READ-COMMITTED")
        eq(s.scalar("SELECT @@GLOBAL.tx_isolation"), "READ-COMMITTED", "the server's default")
        write_each_kind(s, uniq("rc"))
    finally:
        restart_database(s)


def write_each_kind(s, tag):
    """One write of each kind, each answered 2xx: a tag created and
    counted, an event, a small (grouped) and a large value, a log record
    alone and a batch of three, and a geo task resolved by the worker."""
    key = s.admin_key
    eq(s.post("/create?tag=" + tag, key=key).status, 200, "/create")
    eq(s.get("/update?tag=" + tag, key=key).status, 200, "/update")
    eq(s.post("/add_event", {"tags": [tag]}, key=key).status, 201, "/add_event")
    eq(test_kv.put_q(s, f"{tag}=1").status // 100, 2, "PUT /keys, small")
    eq(test_kv.put(s, tag + "-large", b"v" * 10000).status // 100, 2, "PUT /keys, large")
    for n in (1, 3):
        r = s.post("/intake", {"key": s.env["CAIRN_SERVICE_KEY"], "data": [
            {"timestamp": "2026-11-22 14:00:00", "body": tag}] * n})
        eq(r.status, 200, f"/intake of {n}: {r.body!r}")
    task = test_geo.submit_ok(s, {"name": tag, "status_code": 1}, ip="45.77.3.9")
    eq(test_geo.wait_state(s, task)["state"], "done", "a geo task, resolved")


def test_writes_commit_where_the_server_defaults_to_autocommit_off(s):
    """A host may turn autocommit off for every session (a global
    autocommit = 0, or an init_connect that sets it).  cairn's sessions
    turn it on: every acknowledged write is committed, and is still there
    after the server restarts."""
    tag = uniq("ac")
    try:
        restart_database(s, "--autocommit=0")
        eq(s.scalar("SELECT @@GLOBAL.autocommit"), "0", "the server's default")
        write_each_kind(s, tag)
        restart_database(s, "--autocommit=0")
        eq(s.scalar(f"SELECT count FROM tags WHERE name = '{tag}'"), "1", "the tag, counted")
        eq(s.scalar(f"SELECT COUNT(*) FROM event_tags WHERE tag = '{tag}'"), "1", "the event")
        eq(s.scalar(f"SELECT COUNT(*) FROM kv_keys WHERE k IN ('{tag}', '{tag}-large')"), "2",
           "the values")
        eq(s.scalar(f"SELECT COUNT(*) FROM log_records WHERE body = '{tag}'"), "4", "the records")
        eq(s.scalar(f"SELECT COUNT(*) FROM geo_tasks WHERE name = '{tag}'"
                    " AND country_code IS NOT NULL"), "1", "the geo event, enriched")
    finally:
        restart_database(s)


def test_a_hosts_session_defaults_change_no_answer(s):
    """A host's global settings are every new session's defaults, cairn's
    included.  cairn sets what it relies on for its own sessions, so none
    changes an answer: sql_select_limit cut every listing short without a
    word; sql_safe_updates refused a worker giving back its job leases,
    and the geo worker resolving its claims whenever the plan scanned; max_join_size made a timeline page of a tag on
    more events than that, and the tag counts, a 500; and
    completion_type CHAIN left every write after a COMMIT uncommitted.
    Every write is still there after the server restarts."""
    tag = uniq("defaults")
    # 1,500 events with one tag, written before max_join_size binds
    first = int(s.scalar("SELECT COALESCE(MAX(id), 0) FROM events")) + 1_000_000
    s.mysql("INSERT INTO events (id, start_us, stop_us, tags, created_at)"
            f" SELECT {first} + seq, seq * 1000001, NULL, '{tag}', NOW(6) FROM seq_1_to_1500;"
            "INSERT INTO event_tags (event_id, tag, pos)"
            f" SELECT {first} + seq, '{tag}', 0 FROM seq_1_to_1500")
    try:
        s.admin_sql("SET GLOBAL sql_select_limit = 3, sql_safe_updates = 1,"
                    " max_join_size = 1000, completion_type = 'CHAIN'")
        hup_and_settle(s)
        s.stack("worker-restart")
        write_each_kind(s, tag)
        # a worker stopping gives its job leases back with an UPDATE
        # whose WHERE uses no key, which safe updates refused
        mark = s.log_mark("CAIRN_WORKER_LOG")
        s.stack("worker-restart")
        log = s.log_since(mark, "CAIRN_WORKER_LOG")
        assert "job leases" not in log, f"the leases given back: {log[-1500:]}"
        for i in range(5):
            eq(test_kv.put_q(s, f"{tag}-{i}=v").status // 100, 2, f"PUT {i}")
        items, _ = test_kv.list_all(s, f"filter={tag}-$")
        eq(test_kv.keys_of(items), [f"{tag}-{i}" for i in range(5)], "every key listed")
        name, key = test_logs.new_service(s)
        eq(test_logs.intake(s, key, [test_logs.rec(body=f"r{i}") for i in range(5)]).status,
           200, "/intake")
        r = s.get(f"/query/service/{name}", key=test_logs.reader(s))
        eq([d["body"] for d in r.json()["data"]], [f"r{i}" for i in range(5)],
           "every record queried")
        r = s.get(f"/list_events?tag={tag}", key=s.admin_key)
        eq(r.status, 200, f"a page of the tag's 1,501 events: {r}")
        eq(len(r.json()["array_events"]), 1000, "a full page")
        r = s.get("/events/tags?limit=10000", key=s.admin_key)
        eq(r.status, 200, f"the tag counts: {r}")
        eq({x["tag"]: x["count"] for x in r.json()["tags"]}.get(tag), 1501, "the tag's count")
        restart_database(s)
        eq(s.scalar(f"SELECT count FROM tags WHERE name = '{tag}'"), "1", "the tag, counted")
        eq(s.scalar(f"SELECT COUNT(*) FROM kv_keys WHERE k LIKE '{tag}%'"), "7", "the values")
        eq(s.scalar(f"SELECT COUNT(*) FROM log_records WHERE body = '{tag}'"), "4", "the records")
        # transactions read-only by default: the server is read-only
        restart_database(s, "--transaction-read-only")
        r = test_kv.put_q(s, f"{tag}=2")
        test_kv.check_error(r, 503, "unavailable")
        assert "read-only" in r.json()["error"]["message"], r
        eq(test_kv.get(s, tag).status, 200, "reads go on")
    finally:
        restart_database(s)  # the globals back to the defaults


def test_text_where_init_connect_sets_another_character_set(s):
    """A host's init_connect runs first on each of cairn's connections;
    one that sets another character set ('SET NAMES utf8', three-byte, or
    latin1) made the server refuse every emoji in a text column (1366, a
    500) or store each non-ASCII character double-encoded.  cairn's
    sessions set utf8mb4 after it: text is stored as the bytes sent."""
    try:
        for names in ("utf8", "latin1"):
            s.admin_sql(f"SET GLOBAL init_connect = 'SET NAMES {names}'")
            hup_and_settle(s)
            text = f"{uniq(names)} caf\u00e9 \U0001F600"
            name, key = test_logs.new_service(s)
            r = test_logs.intake(s, key, [test_logs.rec(body=text)])
            eq(r.status, 200, f"/intake under SET NAMES {names}: {r.body!r}")
            eq(s.scalar(f"SELECT HEX(r.body) FROM log_records r JOIN log_services v"
                        f" ON v.id = r.service_id WHERE v.name = '{name}'"),
               text.encode().hex().upper(), f"the record's bytes under SET NAMES {names}")
            task = test_geo.submit_ok(s, {"name": text, "status_code": 1})
            eq(s.scalar("SELECT HEX(name) FROM geo_tasks"
                        f" WHERE task_id = UNHEX(REPLACE('{task}', '-', ''))"),
               text.encode().hex().upper(), f"the geo event's name under SET NAMES {names}")
    finally:
        s.admin_sql("SET GLOBAL init_connect = ''")
        hup_and_settle(s)


def test_requests_over_the_servers_max_allowed_packet(s):
    """A host's server may take smaller statements (max_allowed_packet)
    than cairn's own limits allow, and drops the connection of a client
    that sends a larger one.  A value within kv.max_value but over the
    packet answers 413 (it never fits), not 503 for a lost link, and the
    worker's connection stays up; a log batch larger than the packet is
    split into statements that fit, all in one transaction, and a single
    record over the packet is the compat 413.  cairnctl status warns of
    the mismatch."""
    packet = 1 << 20
    try:
        restart_database(s, f"--max-allowed-packet={packet}")
        eq(s.scalar("SELECT @@GLOBAL.max_allowed_packet"), str(packet), "the server's packet")
        r = test_ctl.ctl(s, "status")
        eq(r.returncode, 0, f"cairnctl status: {r.stderr}")
        assert "warning: the server's max_allowed_packet (1048576 bytes)" in r.stdout, r.stdout
        tag = uniq("packet")
        mark = s.log_mark()
        # kv.max_value is 1 MiB too: the values near it cross the packet
        fitted, refused = [], []
        for size in range(packet - 192, packet + 1, 8):
            value = os.urandom(size)
            r = test_kv.put(s, f"{tag}-{size}", value)
            if r.status == 413:
                test_kv.check_error(r, 413, "too_large")
                refused.append(size)
            else:
                eq(r.status, 201, f"PUT of {size} bytes: {r}")
                assert not refused, f"{size} bytes stored after {refused[0]} was refused"
                eq(test_kv.get(s, f"{tag}-{size}", "?raw=1").body, value, f"{size} bytes back")
                fitted.append(size)
        assert fitted and refused, f"the packet falls inside the sweep: {fitted} {refused}"
        print(f"# largest value stored under a {packet}-byte packet: {fitted[-1]}")
        log = s.log_since(mark)
        assert "larger than the database takes" in log, "the 413 is logged for the operator"
        assert "outcome unknown" not in log, \
            f"no statement was sent over the packet: {log[-2000:]}"

        # 40 bodies of 60000 bytes: 2.4 MB, in statements of at most 1 MiB
        name, key = test_logs.new_service(s)
        data = [test_logs.rec(body=f"{i:05d}" + "x" * 59995) for i in range(40)]
        r = test_logs.intake(s, key, data)
        eq(r.status, 200, f"/intake of 2.4 MB: {r.body[:200]!r}")
        eq(r.json()["count"], 40, "count")
        eq([row[2][:5] for row in test_logs.stored(s, name)], [f"{i:05d}" for i in range(40)],
           "every record stored")

        # one record over the packet (bodies up to 2 MB allowed): the
        # compat routes' own 413
        with pool_settings(s, "logs.max_body_bytes = 2000000\n"):
            r = test_logs.intake(s, key, [test_logs.rec(body="y" * 1100000)])
            eq((r.status, r.json()), (413, {"code": 413, "message": "Request body too large"}),
               "a record larger than the packet")
    finally:
        restart_database(s)
    r = test_ctl.ctl(s, "status")
    assert "warning" not in r.stdout, f"the default packet takes kv.max_value: {r.stdout}"


def test_status_warns_of_commits_a_crash_can_lose(s):
    """cairn acknowledges a write once it is committed, which a host's
    server may not keep through a crash of the host: with
    innodb_flush_log_at_trx_commit other than 1, or with its binary log
    on and sync_binlog other than 1.  Those are the server's own (global)
    choices, so cairnctl status says so; at the defaults it says
    nothing."""
    cases = [("--innodb-flush-log-at-trx-commit=2", "innodb_flush_log_at_trx_commit is 2"),
             ("--log-bin --sync-binlog=0", "sync_binlog is 0"),
             ("--log-bin --sync-binlog=1", None)]
    try:
        for db_args, warning in cases:
            restart_database(s, db_args)
            r = test_ctl.ctl(s, "status")
            eq(r.returncode, 0, f"cairnctl status with {db_args}: {r.stderr}")
            warnings = [l for l in r.stdout.splitlines() if l.startswith("warning:")]
            if warning is None:
                eq(warnings, [], f"no warning with {db_args}")
            else:
                assert len(warnings) == 1 and warning in warnings[0], (db_args, r.stdout)
    finally:
        restart_database(s)
    r = test_ctl.ctl(s, "status")
    assert "warning" not in r.stdout, f"the stack's settings are durable: {r.stdout}"


def make_certificates(d):
    """In d: ca.pem, a test CA; server.pem and server.key, a certificate
    it signed for 127.0.0.1; other.pem, a CA that signed nothing."""
    os.makedirs(d, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=cairn test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "san"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
            "other.pem", "-days", "2", "-subj", "/CN=another CA")


def test_tls_to_the_database(s):
    """db.tls over TCP to a server that takes only secure connections:
    verify (against db.tls_ca) and on connect; off, or verify against a
    CA that did not sign the server's certificate, is refused, and the
    pool answers 503 with the server's or TLS's reason in its log."""
    d = os.path.join(s.dir, "tls")
    make_certificates(d)
    tcp = f"db.socket =\ndb.host = 127.0.0.1\ndb.port = {s.env['CAIRN_DB_PORT']}\n"
    tag = uniq("tls")
    try:
        restart_database(s, f"--ssl-ca={d}/ca.pem --ssl-cert={d}/server.pem"
                            f" --ssl-key={d}/server.key --require-secure-transport=ON")
        with pool_settings(s, tcp) as use:
            for settings in (f"db.tls = verify\ndb.tls_ca = {d}/ca.pem\n", "db.tls = on\n"):
                use(tcp + settings)
                eq(test_kv.put_q(s, f"{tag}=1").status // 100, 2, f"a write with {settings!r}")
                eq(test_kv.get(s, tag).status, 200, f"a read with {settings!r}")
            for settings, reason in (("", "Access denied"),
                                     (f"db.tls = verify\ndb.tls_ca = {d}/other.pem\n", "TLS")):
                use(tcp + settings)
                mark = s.log_mark()
                test_kv.check_error(test_kv.get(s, tag), 503, "unavailable")
                log = s.log_since(mark)
                assert reason in log, f"{settings!r}: the reason logged: {log[-1500:]}"
    finally:
        restart_database(s)


def test_a_least_privileged_account_runs_everything(s):
    """A host's DBA may give the account cairn runs as only SELECT,
    INSERT, UPDATE, DELETE and EXECUTE on its database, migrations being
    run by another.  Every kind of write, service and key creation (the
    procedures), the listings, the geo worker, every background job and
    cairnctl's commands work with that; cairnctl migrate succeeds with
    nothing pending (it runs no DDL then) and says what it lacks when a
    file is."""
    s.admin_sql("CREATE USER cairn_least@localhost IDENTIFIED BY 'least-pw';"
                " GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE"
                f" ON {s.env['CAIRN_DB_NAME']}.* TO cairn_least@localhost")
    try:
        with pool_settings(s, "db.user = cairn_least\ndb.password = least-pw\n", worker=True):
            least_privileged_runs_everything(s)
    finally:
        s.admin_sql("DROP USER cairn_least@localhost")


def least_privileged_runs_everything(s):
    """What the least-privileged account must be able to do."""
    tag = uniq("least")
    write_each_kind(s, tag)
    items, _ = test_kv.list_all(s, f"filter={tag}*")
    eq(len(items), 2, "the values listed")
    name, _ = test_logs.new_service(s)
    eq(s.get(f"/query/service/{name}", key=test_logs.reader(s)).status, 200, "a query")
    r = test_ctl.ctl(s, "job", "list")
    eq(r.returncode, 0, r.stderr)
    jobs = [line.split("\t")[0] for line in r.stdout.splitlines()[1:]]
    assert len(jobs) >= 7, r.stdout
    r = test_ctl.ctl(s, "job", "run", *jobs)
    eq(r.returncode, 0, f"every job: {r.stdout} {r.stderr}")
    for job in jobs:
        assert f"job {job}: done" in r.stdout, f"{job}: {r.stdout}"
    for args in (["service", "list"], ["key", "list"], ["kv", "stats"], ["geo", "requeue"],
                 ["tags", "purge"], ["purge", name, "2020-01-01"], ["status"]):
        r = test_ctl.ctl(s, *args)
        eq(r.returncode, 0, f"cairnctl {' '.join(args)}: {r.stderr}")
    r = test_ctl.ctl(s, "migrate")
    eq(r.returncode, 0, f"migrate with nothing pending runs no DDL: {r.stderr}")
    pending = os.path.join(s.dir, "sql-pending")
    shutil.copytree(os.path.join(s.src, "sql"), pending, dirs_exist_ok=True)
    with open(os.path.join(pending, "9999_least_privileged.sql"), "w") as f:
        f.write("CREATE TABLE least_privileged_probe (id INT PRIMARY KEY);\n")
    r = test_ctl.ctl(s, "migrate", env={"CAIRN_PATHS_SQL": pending})
    eq(r.returncode, 1, "a pending file needs more")
    assert "denied" in r.stderr, r.stderr


def test_more_clients_than_workers_never_stall(s):
    workers = len(s.pool_workers())
    clients = 8 * workers
    results = []
    lock = threading.Lock()

    def client(i):
        for j in range(15):
            path = "/_debug/sleep?ms=2" if j % 3 == 0 else "/healthz"
            try:
                st = s.get(path, timeout=50).status
            except Exception as e:
                st = repr(e)
            with lock:
                results.append(st)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"# {clients} clients x 15 requests on {workers} workers: {time.monotonic() - t0:.2f}s")
    eq(len(results), clients * 15, "all answered")
    bad = [r for r in results if r != 200]
    eq(bad, [], "every request answered 200 (a stall would time out)")


def test_sighup_replaces_workers_gracefully(s):
    before = s.pool_workers()
    results = []

    def slow():
        results.append(s.get("/_debug/sleep?ms=1500", timeout=30).status)

    threads = [threading.Thread(target=slow) for _ in range(len(before))]
    for t in threads:
        t.start()
    time.sleep(0.3)
    os.kill(s.pool_master(), signal.SIGHUP)
    for t in threads:
        t.join()
    eq(results, [200] * len(before), "requests in hand finished")
    s.wait_for(lambda: len(s.pool_workers()) == len(before)
               and not set(s.pool_workers()) & set(before),
               timeout=30, what="every worker replaced")
    eq(s.get("/healthz").status, 200, "serving after SIGHUP")


def test_rate_limit_answers_429(s):
    os.environ["CAIRN_RATE_LIMIT"] = "2r/s"
    os.environ["CAIRN_RATE_BURST"] = "1"
    try:
        s.stack("nginx-restart")
        statuses = []
        for _ in range(20):
            r = s.get("/healthz")
            statuses.append(r.status)
            if r.status == 429:
                assert r.headers.get("retry-after"), r.headers
                assert is_envelope(r), r
        assert 429 in statuses, statuses
        assert 200 in statuses, statuses
        # TRACE goes on from nginx's 405 to cairn, throttled like the rest,
        # and its 429 is the same JSON page
        traces = [s.request("TRACE", "/healthz") for _ in range(10)]
        assert {r.status for r in traces} <= {405, 429}, traces
        assert 429 in {r.status for r in traces}, traces
        for r in traces:
            assert is_envelope(r), r
            if r.status == 429:
                assert r.headers.get("retry-after"), r.headers
    finally:
        del os.environ["CAIRN_RATE_LIMIT"]
        del os.environ["CAIRN_RATE_BURST"]
        s.stack("nginx-restart")
    eq([s.get("/healthz").status for _ in range(20)], [200] * 20, "throttling off again")


def test_sighup_reloads_configuration(s):
    conf = s.env["CAIRN_CONF"]
    with open(conf) as f:
        original = f.read()
    body = {"name": "x" * 3000, "scopes": ["kv:read"]}

    try:
        with open(conf, "a") as f:
            f.write("\nlimits.max_body = 2048\n")
        hup_and_settle(s)
        r = s.post("/admin/api-keys", body, key=s.admin_key)
        eq(r.status, 413, "the new limit is in force")
        with open(conf, "a") as f:
            f.write("no.such.setting = 1\n")
        hup_and_settle(s)
        assert any("configuration not reloaded" in l for l in s.log_tail(40)), "logged"
        r = s.post("/admin/api-keys", body, key=s.admin_key)
        eq(r.status, 413, "a bad file keeps the settings in force")
    finally:
        with open(conf, "w") as f:
            f.write(original)
        hup_and_settle(s)
    r = s.post("/admin/api-keys", body, key=s.admin_key)
    eq(r.status, 400, "back to the default limit (and the name is too long)")


def test_sighup_reopens_the_pool_log(s):
    """logrotate moves the log away and sends SIGHUP: the master reopens
    log.file, and the workers it starts then write to the new file."""
    log = s.env["CAIRN_LOG"]
    os.rename(log, log + ".1")
    hup_and_settle(s)
    name = "rotated-%d" % os.getpid()
    r = s.post("/services", {"name": name}, key=s.admin_key)
    eq(r.status, 201, f"service created: {r}")
    s.wait_for(lambda: os.path.exists(log) and f"service {name} created" in open(log).read(),
               timeout=30, what="a worker's line in the new log file")
    assert "SIGHUP: configuration reloaded" in open(log).read(), "the master's line too"


def test_worker_sighup_reloads_and_keeps_running(s):
    """SIGHUP makes cairn-worker re-read its configuration and reopen its
    log file (for logrotate); it used to kill the worker."""
    with open(s.env["CAIRN_WORKER_PIDFILE"]) as f:
        pid = int(f.read())
    log = os.path.join(s.dir, "worker.log")
    os.rename(log, log + ".1")
    os.kill(pid, signal.SIGHUP)
    s.wait_for(lambda: os.path.exists(log) and "SIGHUP: configuration reloaded"
               in open(log).read(), timeout=30, what="a new log file with the reload")
    os.kill(pid, 0)  # still running
    # and still working: a key that expires is swept
    r = s.request("PUT", "/keys/sighup-expiring?expire_in=1", b"v",
                  content_type="text/plain", key=s.admin_key)
    assert r.status in (200, 201), r
    s.wait_for(lambda: s.scalar("SELECT COUNT(*) FROM kv_keys WHERE k = 'sighup-expiring'")
               == "0", timeout=30, what="the expired key swept after SIGHUP")
