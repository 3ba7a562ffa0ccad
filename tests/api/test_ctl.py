"""cairnctl's command lines (lib/cli.h): --config before or after the
command, strict options on every subcommand, "--", exit statuses, output
that could not be written, and the commands whose arguments were misread."""
import contextlib
import os
import re
import signal
import subprocess
import tempfile
import uuid

from cairn import eq
from test_geo import stop_stack_worker


# ----------------------------------------------------------------- helpers

def uniq(prefix="ctl"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def ctl(s, *args, conf="before", env=None, stdout=subprocess.PIPE):
    """Runs cairnctl with no CAIRN_* variable of the caller's (they would
    override the configuration file); conf: "before" puts --config FILE
    before the command, None leaves it to args."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    e.update(env or {})
    pre = ["--config", s.env["CAIRN_CONF"]] if conf == "before" else []
    return subprocess.run([os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairnctl"), *pre,
                           *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=60, env=e, stdin=subprocess.DEVNULL)


def event_env(s, key=None, url=None):
    return {"CAIRN_URL": url or s.env["CAIRN_URL"], "CAIRN_KEY": key or s.admin_key}


def usage_error(r, what):
    eq(r.returncode, 2, f"{what}: {r.stderr}")
    assert "usage:" in r.stderr, f"{what}: no usage on stderr: {r.stderr}"


def api_key_count(s, name):
    return int(s.scalar(f"SELECT COUNT(*) FROM api_keys WHERE name = '{name}'"))


def tagged(s, tag):
    """Ids of the events carrying tag (over HTTP)."""
    r = s.get(f"/list_events?tag={tag}", key=s.admin_key)
    eq(r.status, 200, f"list {tag}")
    return [e["_id"] for e in r.json()["array_events"]]


def intake_status(s, key):
    r = s.post("/intake", {"key": key, "data": [{"timestamp": "2026-11-22 14:00:00",
                                                 "body": "ctl", "level": "info"}]})
    return r.status


# ------------------------------------------ 1. options after the command

def test_config_after_the_command(s):
    conf = s.env["CAIRN_CONF"]
    # without --config, cairnctl reads /etc/cairn/cairn.conf (absent here:
    # the defaults, no database); after the command it is this stack's
    r = ctl(s, "status", "--config", conf, conf=None)
    eq(r.returncode, 0, f"status --config: {r.stderr}")
    assert "pending migrations: 0" in r.stdout, r.stdout
    r = ctl(s, "migrate", "--config", conf, conf=None)
    eq(r.returncode, 0, f"migrate --config: {r.stderr}")
    r = ctl(s, "key", "list", "--config", conf, conf=None)
    eq(r.returncode, 0, f"key list --config: {r.stderr}")
    assert r.stdout.startswith("id\tname\t"), r.stdout
    name = uniq()
    r = ctl(s, "key", "create", "--name", name, "--config", conf, "--scopes", "kv:read",
            conf=None)
    eq(r.returncode, 0, f"key create --config: {r.stderr}")
    eq(api_key_count(s, name), 1, "created with the stack's configuration")
    r = ctl(s, "kv", "stats", "--config", conf, conf=None)
    eq(r.returncode, 0, f"kv stats --config: {r.stderr}")
    # once in all
    usage_error(ctl(s, "status", "--config", conf), "--config before and after")
    usage_error(ctl(s, "--config", conf, "--config", conf, "status", conf=None),
                "--config twice before")
    usage_error(ctl(s, "status", "--config", conf=None), "--config without a value")


def test_every_subcommand_refuses_a_bad_line(s):
    """Unknown and repeated options, missing values and extra arguments are
    usage errors (2) before anything is done: with a configuration whose
    database does not exist and a server that does not answer, a command
    that went on would fail with 1 (or 3)."""
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "nodb.conf")
        with open(bad, "w") as f:
            f.write(f"db.socket = {tmp}/no.sock\npaths.sql = {s.src}/sql\n")
        env = event_env(s, url="http://127.0.0.1:1")
        lines = [
            ["migrate", "--dry-run"], ["migrate", "now"],
            ["status", "--verbose"], ["status", "x"],
            ["config", "--all"], ["config", "x"],
            ["key", "create", "--bogus", "1", "--name", "c", "--scopes", "kv:read"],
            ["key", "create", "--name", "c", "--scopes", "kv:read", "extra"],
            ["key", "create", "--name", "a", "--name", "b", "--scopes", "kv:read"],
            ["key", "create", "--name", "c", "--scopes"],
            ["key", "list", "--all"], ["key", "list", "x"],
            ["key", "revoke", "1", "2"], ["key", "revoke", "--force", "1"], ["key", "revoke"],
            ["key", "frob"],
            ["service", "add", "n", "--bogus"], ["service", "add", "n", "m"],
            ["service", "add", "n", "--privileged", "--privileged"],
            ["service", "add", "n", "--retention-days"],
            ["service", "add", "n", "--allowed-ips", "10.%", "--allowed-ips", "11.%"],
            ["service", "add"],
            ["service", "list", "x"], ["service", "list", "--all"],
            ["service", "rotate", "a", "b"], ["service", "rotate", "--now", "a"],
            ["service", "rotate"],
            ["service", "disable", "a", "--now"], ["service", "disable", "a", "b"],
            ["service", "frob"],
            ["purge", "a", "2020-01-01", "--dry-run", "--dry-run"],
            ["purge", "a", "2020-01-01", "x"], ["purge", "a", "2020-01-01", "--bogus"],
            ["purge", "a"],
            ["event", "add", "--start"], ["event", "add", "--start", "1", "--start", "2"],
            ["event", "add", "--bogus", "x"], ["event", "add", "--purge"],
            ["event", "list", "x"], ["event", "list", "--purge"], ["event", "list", "--tag"],
            ["event", "list", "--limit", "1", "--limit", "2"],
            ["event", "remove", "--open", "1"], ["event", "remove", "--purge", "--purge"],
            ["event", "stop", "1", "2"], ["event", "stop", "1", "--stop", "1", "--stop", "2"],
            ["event", "get", "1", "--limit", "2"], ["event", "get"],
            ["event", "delete", "1", "2"], ["event", "delete", "--url"],
            ["event", "tags", "x"], ["event", "tags", "--cursor", "a", "--cursor", "b"],
            ["event", "frob"],
            ["tags", "rollup", "--now"], ["tags", "rollup", "x"], ["tags", "purge", "x"],
            ["tags", "frob"],
            ["job", "list", "x"], ["job", "list", "--all"], ["job", "run"],
            ["job", "run", "--now", "kv-count"], ["job", "frob"],
            ["kv", "stats", "x"], ["kv", "sweep", "--all"], ["kv", "frob"],
            ["geo", "requeue", "--all"], ["geo", "requeue", "x"], ["geo", "frob"],
        ]
        for line in lines:
            # --config before the command, or after it (and its subcommand)
            n = 1 if line[0] in ("migrate", "status", "config", "purge") else 2
            for args in (["--config", bad, *line], [*line[:n], "--config", bad, *line[n:]]):
                r = ctl(s, *args, conf=None, env=env)
                usage_error(r, f"cairnctl {' '.join(args)}")
    # nothing was created by the refused lines
    eq(api_key_count(s, "c"), 0, "key create --bogus created nothing")


# ------------------------------------- 2. a secret stdout did not take

def test_lost_secret_is_a_failure(s):
    # key create
    name = uniq()
    r = ctl(s, "key", "create", "--name", name, "--scopes", "kv:read",
            stdout=open("/dev/full", "w"))
    eq(r.returncode, 1, f"key create >/dev/full: {r.stderr}")
    kid = s.scalar(f"SELECT id FROM api_keys WHERE name = '{name}'")
    assert "was created" in r.stderr and f"key revoke {kid}" in r.stderr, r.stderr
    assert "create another" in r.stderr, r.stderr
    # service add: created, and the way to a key is a rotation
    svc = uniq()
    r = ctl(s, "service", "add", svc, stdout=open("/dev/full", "w"))
    eq(r.returncode, 1, f"service add >/dev/full: {r.stderr}")
    assert "was created" in r.stderr and f"service rotate {svc}" in r.stderr, r.stderr
    eq(s.scalar(f"SELECT COUNT(*) FROM log_services WHERE name = '{svc}'"), "1", "created")
    # service rotate: the old key is gone, so rotate again
    r = ctl(s, "service", "rotate", svc)
    eq(r.returncode, 0, r.stderr)
    old = r.stdout.strip().splitlines()[-1]
    eq(intake_status(s, old), 200, "the shown key works")
    r = ctl(s, "service", "rotate", svc, stdout=open("/dev/full", "w"))
    eq(r.returncode, 1, f"service rotate >/dev/full: {r.stderr}")
    assert "was rotated" in r.stderr and "rotate it again" in r.stderr, r.stderr
    eq(intake_status(s, old), 403, "the rotation was made")
    # any command's output is checked, not only secrets
    for line in (["key", "list"], ["service", "list"], ["status"], ["config"],
                 ["kv", "stats"]):
        r = ctl(s, *line, stdout=open("/dev/full", "w"))
        eq(r.returncode, 1, f"{line} >/dev/full: {r.stderr}")
        assert "cannot write" in r.stderr, r.stderr
    r = ctl(s, "event", "tags", env=event_env(s), stdout=open("/dev/full", "w"))
    eq(r.returncode, 1, f"event tags >/dev/full: {r.stderr}")


# --------------------------------------- 3. event remove EPOCH... --purge

def test_event_remove_with_epochs_and_purge_deletes_nothing(s):
    tag = uniq("rm")
    r = s.post("/add_event", {"tags": [tag], "start_epoch": 1650108997.5}, key=s.admin_key)
    eq(r.status, 201, "add")
    for line in (["remove", "1650108997.5", "--purge"], ["remove", "--purge", "5"],
                 ["remove", "--purge", "1650108997.5"]):
        r = ctl(s, "event", *line, env=event_env(s))
        eq(r.returncode, 2, f"{line}: {r.stderr}")
        eq(r.stdout, "", f"{line}: nothing sent")
    eq(len(tagged(s, tag)), 1, "nothing deleted")


# ------------------------------------------------ 4. event's arguments

def test_event_epochs_are_sent_canonical(s):
    tag = uniq("ep")
    # an epoch is read as the server reads it and sent in its canonical form
    r = ctl(s, "event", "add", "--start", "0100", "--stop", "0200.50", tag, env=event_env(s))
    eq(r.returncode, 0, f"--start 0100: {r.stdout} {r.stderr}")
    [i] = tagged(s, tag)
    got = s.get(f"/events/{i}", key=s.admin_key).json()
    eq((got["start_epoch"], got["stop_epoch"]), (100.0, 200.5), "epochs")
    r = ctl(s, "event", "add", "--start", "0100", tag + "-open", env=event_env(s))
    eq(r.returncode, 0, f"--start 0100: {r.stdout} {r.stderr}")
    [i] = tagged(s, tag + "-open")
    r = ctl(s, "event", "stop", i, "--stop", "0300", env=event_env(s))
    eq(r.returncode, 0, f"stop --stop 0300: {r.stdout} {r.stderr}")
    eq(s.get(f"/events/{i}", key=s.admin_key).json()["stop_epoch"], 300.0, "stopped")
    for bad in ("1e9", "-5", "5.", "0x10", ""):
        r = ctl(s, "event", "add", "--start", bad, "--", tag, env=event_env(s))
        eq(r.returncode, 2, f"--start {bad!r}: {r.stderr}")


def test_event_header_values_are_checked(s):
    tag = uniq("idem")
    # Idempotency-Key: the server's rule, checked before anything is sent
    for bad in ("k1\r\nX-Injected: yes", "with space", "k" * 129, "", "caf\u00e9"):
        r = ctl(s, "event", "add", "--idempotency-key", bad, tag, env=event_env(s))
        eq(r.returncode, 2, f"--idempotency-key {bad!r}: {r.stderr}")
    eq(tagged(s, tag), [], "nothing added with a bad key")
    good = (uniq("idem") + "k" * 128)[:128]
    a = ctl(s, "event", "add", "--idempotency-key", good, tag, env=event_env(s))
    b = ctl(s, "event", "add", "--idempotency-key", good, tag, env=event_env(s))
    eq((a.returncode, b.returncode), (0, 0), f"{a.stderr} {b.stderr}")
    eq(len(tagged(s, tag)), 1, "replayed, not added twice")
    # the API key goes into a header too
    r = ctl(s, "event", "list", "--tag", tag,
            env=event_env(s, key=s.admin_key + "\r\nX-Injected: yes"))
    eq(r.returncode, 2, f"key with CRLF: {r.stderr}")


def test_event_key_option_not_in_the_process_list(s):
    """A key given with --key must not stay readable in ps and
    /proc/PID/cmdline while the request runs (the server here accepts the
    connection and never answers, holding cairnctl in its request)."""
    import socket
    secret = "f" * 64
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(20)
    url = f"http://127.0.0.1:{srv.getsockname()[1]}"
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    p = subprocess.Popen([os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairnctl"),
                          "--config", s.env["CAIRN_CONF"], "event", "list", "--url", url,
                          "--key", secret], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=e)
    conn = None
    try:
        conn, _ = srv.accept()
        conn.settimeout(20)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            assert chunk, "cairnctl closed the connection"
            request += chunk
        assert f"Bearer {secret}".encode() in request, "the key is still sent"
        with open(f"/proc/{p.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        assert b"--key" in cmdline, cmdline
        assert secret.encode() not in cmdline, f"the key in the process list: {cmdline!r}"
    finally:
        if conn is not None:
            conn.close()
        srv.close()
        p.kill()
        p.communicate(timeout=20)


def test_event_list_open_and_stopped_conflict(s):
    r = ctl(s, "event", "list", "--open", "--stopped", env=event_env(s))
    eq(r.returncode, 2, f"--open --stopped: {r.stderr}")
    eq(r.stdout, "", "nothing sent")


# ---------------------------------------------------------- 5. exit codes

def test_exit_codes_usage_2_runtime_1(s):
    # bad values, refused before anything is done: 2, as in service add / purge
    for scopes, name in (("kv:nope", uniq()), ("kv:read", ""), ("logs:write", uniq()),
                         ("", uniq())):
        r = ctl(s, "key", "create", "--name", name, "--scopes", scopes)
        eq(r.returncode, 2, f"key create {name!r} {scopes!r}: {r.stderr}")
    eq(ctl(s, "service", "add", "bad name").returncode, 2, "service add bad name")
    for cmd in (("service", "rotate"), ("service", "disable"), ("purge",)):
        args = (*cmd, "bad name!") + (("2007-07-08",) if cmd == ("purge",) else ())
        r = ctl(s, *args)
        eq(r.returncode, 2, f"{' '.join(cmd)} bad name: {r.stderr}")
        assert "must be 1 to 64" in r.stderr, r.stderr
    eq(ctl(s, "purge", "x", "07/08/2007").returncode, 2, "purge bad date")
    eq(ctl(s, "key", "revoke", "0").returncode, 2, "key revoke bad id")
    # failures at run time: 1
    eq(ctl(s, "key", "revoke", "999999999").returncode, 1, "no such key")
    eq(ctl(s, "purge", uniq("nope"), "2007-07-08").returncode, 1, "no such service")
    eq(ctl(s, "service", "rotate", uniq("nope")).returncode, 1, "no such service")
    eq(ctl(s, "key", "list", env={"CAIRN_DB_SOCKET": "/nonexistent.sock"}).returncode, 1,
       "database down")
    # --help anywhere a command or subcommand is expected: usage on stdout, 0
    for args in (("key", "--help"), ("service", "-h"), ("tags", "--help"), ("geo", "--help"),
                 ("kv", "--help"), ("event", "--help"), ("key", "create", "--help"),
                 ("purge", "--help"), ("migrate", "--help"), ("service", "add", "x", "-h")):
        r = ctl(s, *args)
        eq(r.returncode, 0, f"{args}: {r.stderr}")
        assert "usage" in r.stdout.lower() and r.stderr == "", (args, r.stdout, r.stderr)
    # the contract is in the usage text
    r = ctl(s, "--help")
    eq(r.returncode, 0, r.stderr)
    assert "1 failure at run time" in r.stdout and "2 usage error" in r.stdout, r.stdout


# ----------------------------------------------------- 6. status read-only

@contextlib.contextmanager
def fresh_database(s, charset="utf8mb4"):
    """A new, empty database the stack's account may use, dropped after:
    yields its name and a function that runs SQL as the admin user."""
    db = "ctl_" + uuid.uuid4().hex[:8]
    admin = s.admin_argv("-e")

    def sql(text):
        return subprocess.run(admin + [text], check=True, capture_output=True, text=True,
                              timeout=60).stdout
    sql(f"CREATE DATABASE {db} CHARACTER SET {charset};"
        f" GRANT ALL ON {db}.* TO '{s.env['CAIRN_DB_USER']}'@'localhost'")
    try:
        yield db, sql
    finally:
        subprocess.run(admin + [f"DROP DATABASE IF EXISTS {db}"], capture_output=True,
                       timeout=60)


def migration_files(s):
    return len([f for f in os.listdir(os.path.join(s.src, "sql"))
                if f.endswith(".sql") and f[:4].isdigit()])


def test_status_creates_nothing(s):
    with fresh_database(s) as (db, sql):
        r = ctl(s, "status", env={"CAIRN_DB_NAME": db})
        eq(r.returncode, 1, f"pending: {r.stdout} {r.stderr}")
        assert f"pending migrations: {migration_files(s)}" in r.stdout, r.stdout
        eq(sql(f"SHOW TABLES FROM {db}"), "", "status created nothing")


def test_migrations_into_a_latin1_database(s):
    """An existing host's database is often latin1 (MariaDB's built-in
    default before 11.6).  Every text column and routine parameter the
    migrations make carries its own character set, so none takes the
    database's: text is utf8mb4 (content types ASCII) whatever it was
    created with."""
    with fresh_database(s, "latin1") as (db, sql):
        r = ctl(s, "migrate", env={"CAIRN_DB_NAME": db})
        eq(r.returncode, 0, f"migrate: {r.stdout} {r.stderr}")
        columns = sql("SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME"
                      " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s'"
                      " AND CHARACTER_SET_NAME IS NOT NULL" % db).splitlines()[1:]
        assert len(columns) > 10, columns
        odd = [c for c in columns if c.split("\t")[2] != "utf8mb4"
               and c.split("\t")[1:] != ["content_type", "ascii"]]
        eq(odd, [], "columns in another character set")
        params = sql("SELECT SPECIFIC_NAME, PARAMETER_NAME, CHARACTER_SET_NAME"
                     " FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = '%s'"
                     " AND CHARACTER_SET_NAME IS NOT NULL" % db).splitlines()[1:]
        assert params, "the procedures take text"
        eq([p for p in params if not p.endswith("\tutf8mb4")], [],
           "parameters in another character set")


def test_concurrent_migrates_take_turns(s):
    """Three cairnctl migrate at once on a new database (hosts deploying
    together): one applies, the others wait for its lease and find nothing
    left; all succeed, each migration is applied once, the lease is free."""
    concurrent_migrates(s, [s.env["CAIRN_DB_SOCKET"]] * 3)


def concurrent_migrates(s, sockets):
    """test_concurrent_migrates_take_turns with one run per socket given
    (the servers of one cluster, or the same server)."""
    with fresh_database(s) as (db, sql):
        e = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
        e["CAIRN_DB_NAME"] = db
        runs = [subprocess.Popen([os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairnctl"),
                                  "--config", s.env["CAIRN_CONF"], "migrate"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(e, CAIRN_DB_SOCKET=socket), stdin=subprocess.DEVNULL)
                for socket in sockets]
        outs = [r.communicate(timeout=300) for r in runs]
        eq([r.returncode for r in runs], [0] * len(runs), f"every run succeeds: {outs}")
        files = migration_files(s)
        got = sql(f"SELECT COUNT(*), COUNT(DISTINCT version) FROM {db}.schema_migrations;"
                  f" SELECT COALESCE(holder, 'free') FROM {db}.schema_migrate_lock")
        eq(got.split(), [str(files), str(files), "free"], "applied once each, lease free")
        applied = sum(o.count("applied  ") for o, _ in outs)
        eq(applied, files, f"the files were applied by one run between them: {outs}")


# ------------------------------------------------ 7. too many allowed_ips

def test_too_many_allowed_ips(s):
    masks = ",".join(f"10.0.0.{i}" for i in range(1, 102))
    r = ctl(s, "service", "add", uniq(), "--allowed-ips", masks)
    eq(r.returncode, 2, r.stderr)
    assert "must list 1 to 100 masks" in r.stderr and "bad mask" not in r.stderr, r.stderr
    # the HTTP API's wording for the same limit
    h = s.post("/services", {"name": uniq(), "allowed_ips": masks.split(",")},
               key=s.admin_key)
    eq(h.status, 400, "HTTP")
    assert "must list 1 to 100 masks" in h.json()["error"]["message"], h
    name = uniq()
    r = ctl(s, "service", "add", name, "--allowed-ips",
            ",".join(f"10.0.0.{i}" for i in range(1, 101)))
    eq(r.returncode, 0, f"100 masks: {r.stderr}")


# ------------------------------------------------------- 8. "--" and names

def test_double_dash_before_a_name_starting_with_dash(s):
    name = "-" + uniq()
    eq(ctl(s, "service", "add", name).returncode, 2, "an option, without --")
    r = ctl(s, "service", "add", "--privileged", "--", name)
    eq(r.returncode, 0, f"service add -- {name}: {r.stderr}")
    key = r.stdout.strip().splitlines()[-1]
    eq(intake_status(s, key), 200, "its key works")
    r = ctl(s, "purge", "--dry-run", "--", name, "2030-01-01")
    eq(r.returncode, 0, f"purge -- {name}: {r.stderr}")
    eq(r.stdout.split()[:3], ["would", "delete", "1"], r.stdout)
    r = ctl(s, "service", "rotate", "--", name)
    eq(r.returncode, 0, f"rotate -- {name}: {r.stderr}")
    eq(intake_status(s, key), 403, "rotated")
    r = ctl(s, "service", "disable", "--", name)
    eq(r.returncode, 0, f"disable -- {name}: {r.stderr}")
    # one created over HTTP too, and a tag
    other = "-" + uniq()
    eq(s.post("/services", {"name": other}, key=s.admin_key).status, 201, "HTTP")
    eq(ctl(s, "purge", other, "2030-01-01").returncode, 2, "an option, without --")
    r = ctl(s, "purge", "--", other, "2030-01-01")
    eq(r.returncode, 0, f"purge -- {other}: {r.stderr}")
    tag = "-" + uniq("tag")
    r = ctl(s, "event", "add", "--", tag, env=event_env(s))
    eq(r.returncode, 0, f"event add -- {tag}: {r.stderr}")
    eq(len(tagged(s, tag)), 1, "tagged")


# ------------------------------------------------- 8. cairnctl job list|run

JOBS = ("idempotency-expiry", "logs-retention", "tags-rollup", "tags-purge",
        "geo-cache-expiry", "kv-expiry", "kv-count")


def job_row(s, name):
    return s.mysql("SELECT runs, failures, holder IS NULL, next_run_at > NOW(6)"
                   f" FROM job_leases WHERE name = '{name}'")[0]


def test_job_list_shows_every_job(s):
    r = ctl(s, "job", "list")
    eq(r.returncode, 0, r.stderr)
    lines = r.stdout.splitlines()
    eq(lines[0].split("\t")[:5], ["name", "every", "next_run_at", "last_run_at", "runs"],
       "header")
    eq(tuple(line.split("\t")[0] for line in lines[1:]), JOBS, "one line a job")
    assert all(len(line.split("\t")) == 8 for line in lines), lines


def old_records(s, n):
    """A new service with retention_days 1 and n records from 2020 plus one
    from now; the worker's own retention run is put off for an hour so the
    test's run is the one that deletes.  Returns the service's id."""
    name = uniq()
    r = ctl(s, "service", "add", name, "--retention-days", "1")
    eq(r.returncode, 0, r.stderr)
    s.mysql("UPDATE job_leases SET next_run_at = NOW(6) + INTERVAL 1 HOUR"
            " WHERE name = 'logs-retention'")
    sid = s.scalar(f"SELECT id FROM log_services WHERE name = '{name}'")
    s.mysql("INSERT INTO log_records (service_id, level, ts, received_at, body)"
            f" SELECT {sid}, 1, '2020-01-01' + INTERVAL seq SECOND, NOW(6), 'old'"
            f" FROM seq_1_to_{n};"
            " INSERT INTO log_records (service_id, level, ts, received_at, body)"
            f" VALUES ({sid}, 1, NOW(6), NOW(6), 'new')")
    return sid


def test_job_run_retention_now(s):
    """Log retention, which no other command runs, deletes a service's old
    records at once, and the run is counted as a worker's would be."""
    sid = old_records(s, 2500)
    runs = int(job_row(s, "logs-retention")[0])
    r = ctl(s, "job", "run", "logs-retention", "idempotency-expiry")
    eq(r.returncode, 0, r.stderr)
    m = re.match(r"job logs-retention: done, (\d+) steps in ", r.stdout)
    assert m and int(m.group(1)) >= 3, f"2,500 records in chunks of 1,000: {r.stdout}"
    assert "job idempotency-expiry: done, " in r.stdout, r.stdout
    eq(s.mysql(f"SELECT body FROM log_records WHERE service_id = {sid}"), [["new"]],
       "old records deleted, the new one kept")
    row = job_row(s, "logs-retention")
    eq(int(row[0]), runs + 1, "the run is counted")
    eq(row[2], "1", "released")
    eq(s.scalar("SELECT next_run_at BETWEEN NOW(6) AND NOW(6) + INTERVAL 61 SECOND"
                " FROM job_leases WHERE name = 'logs-retention'"), "1",
       "due again after its interval (not the hour the test set)")


def test_job_run_interrupted_leaves_the_job_due(s):
    """SIGINT ends a run between two steps: the lease is given back, due at
    once, and cairnctl says so and exits 1.  The first step is held on a
    table lock until cairnctl has the signal, so the run has work left.
    The stack's cairn-worker is stopped meanwhile: it would take the job
    as soon as it is due again (at once after a worker restart), and the
    lease checked here would be its own."""
    stop_stack_worker(s)
    try:
        interrupted_run(s)
    finally:
        s.stack("worker-restart")


def interrupted_run(s):
    sid = old_records(s, 1500)
    admin = s.admin_argv("--unbuffered", s.env["CAIRN_DB_NAME"])
    lock = subprocess.Popen(admin, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lock.stdin.write("LOCK TABLES log_records WRITE; SELECT 'locked';\n")
        lock.stdin.flush()
        eq(lock.stdout.readline().strip(), "locked", "table locked")  # --unbuffered
        e = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
        job = subprocess.Popen(
            [os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairnctl"), "--config",
             s.env["CAIRN_CONF"], "job", "run", "logs-retention"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        s.wait_for(lambda: s.scalar(
            "SELECT COUNT(*) FROM information_schema.processlist"
            " WHERE state LIKE 'Waiting for table%' AND info LIKE '%log_records%'") != "0",
            timeout=30, what="cairnctl's first step waiting on the lock")
        job.send_signal(signal.SIGINT)
        lock.stdin.write("UNLOCK TABLES;\n")
        lock.stdin.close()
        out, err = job.communicate(timeout=60)
    finally:
        lock.kill()
        lock.wait()
    eq(job.returncode, 1, err)
    assert "interrupted after 1 step; it is due now" in err, err
    left = int(s.scalar(f"SELECT COUNT(*) FROM log_records WHERE service_id = {sid}"))
    assert left > 1, f"the run stopped with old records left: {left}"
    eq(s.scalar("SELECT holder IS NULL AND next_run_at <= NOW(6)"
                " FROM job_leases WHERE name = 'logs-retention'"), "1", "released, due now")
    # the next run finishes the work
    r = ctl(s, "job", "run", "logs-retention")
    eq(r.returncode, 0, r.stderr)
    eq(s.mysql(f"SELECT body FROM log_records WHERE service_id = {sid}"), [["new"]],
       "old records deleted by the next run")


def test_job_run_refuses_unknown_and_waits_for_a_holder(s):
    r = ctl(s, "job", "run", "logs-retention", "no-such-job")
    eq(r.returncode, 2, r.stderr)
    assert "no job 'no-such-job'" in r.stderr and "kv-count" in r.stderr, r.stderr
    usage_error(ctl(s, "job", "run"), "job run without a name")
    usage_error(ctl(s, "job", "list", "x"), "job list x")
    for wait in ("-1", "3601", "1.5", "x", ""):
        r = ctl(s, "job", "run", "kv-count", "--wait", wait)
        eq(r.returncode, 2, f"--wait {wait!r}: {r.stderr}")
    # another process holds the lease (for an hour): cairnctl waits (here
    # not at all), then says who holds it, and changes nothing
    s.mysql("UPDATE job_leases SET holder = 'elsewhere:42',"
            " lease_until = NOW(6) + INTERVAL 1 HOUR WHERE name = 'geo-cache-expiry'")
    try:
        runs = job_row(s, "geo-cache-expiry")[0]
        r = ctl(s, "job", "run", "geo-cache-expiry", "--wait", "0")
        eq(r.returncode, 1, r.stderr)
        assert "running in elsewhere:42" in r.stderr, r.stderr
        eq(job_row(s, "geo-cache-expiry")[0], runs, "no run")
    finally:
        s.mysql("UPDATE job_leases SET holder = NULL, lease_until = NULL"
                " WHERE name = 'geo-cache-expiry'")
