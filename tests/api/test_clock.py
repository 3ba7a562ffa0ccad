"""Clocks: cairn-worker on hosts whose clocks disagree and jump.

DESIGN runs one cairn-worker per host, any number of hosts, against one
database.  Every decision that two workers must agree on (a geo task's
lease and its takeover, its next attempt, the GCRA call budget and the
breaker, a job's lease and next run) compares times on the database clock
(NOW(6)); the worker's own timers (when to claim, to ask for a permit, to
send a call, where its leases end) are CLOCK_BOOTTIME deadlines derived
from database time differences.  So a host whose wall clock is minutes
off, or steps while the worker runs, must change nothing, and a host
that was suspended must not act on leases that ended meanwhile.

The wall-clock tests run extra workers under libfaketime
(scripts/install-deps installs it) with DONT_FAKE_MONOTONIC=1: the wall
clock (CLOCK_REALTIME, gettimeofday, time) is off or steps, the monotonic
clocks are the host's own, as on a real host after an NTP step.  (Without
DONT_FAKE_MONOTONIC, libfaketime 0.9.10 makes CLOCK_MONOTONIC and
CLOCK_BOOTTIME read the faked wall clock, so a step in its file steps
them backwards, which no kernel does.)  Each checks first from the
worker's log (its timestamps are the host's wall clock) that the skew is
in force.  The suspend test uses tests/tools/clockshift.c instead, which
holds CLOCK_MONOTONIC back alone."""
import datetime
import glob
import os
import random
import signal
import subprocess
import time
import uuid

from cairn import eq
from test_geo import (RATE, WAIT, end_workers, standin, standin_defaults, start_worker,
                      stop_stack_worker, stop_worker, submit_many, wait_all_resolved)

SKEW = 300  # seconds a skewed worker's wall clock is off


def clockshift(s):
    """tests/tools/clockshift.c built into the stack's directory."""
    so = os.path.join(s.dir, "clockshift.so")
    if not os.path.exists(so):
        subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-o", so,
                        os.path.join(s.src, "tests/tools/clockshift.c")], check=True, timeout=120)
    return so


def preload_env(lib, extra=None):
    """LD_PRELOAD=lib; a sanitizer build's runtime then no longer comes
    first, which ASan refuses unless told not to check."""
    env = {"LD_PRELOAD": lib,
           "ASAN_OPTIONS": ":".join(x for x in (os.environ.get("ASAN_OPTIONS", ""),
                                                "verify_asan_link_order=0") if x)}
    env.update(extra or {})
    return env


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    assert found, "libfaketime is not installed (scripts/install-deps installs faketime)"
    return found[0]


def faketime_env(offset=None, offset_file=None):
    """The environment that runs a worker with its wall clock offset by
    `offset` seconds, or by what offset_file says ("+300s", read at every
    clock reading), its monotonic clock untouched."""
    if offset_file is not None:
        return preload_env(libfaketime(), {"DONT_FAKE_MONOTONIC": "1",
                                           "FAKETIME_TIMESTAMP_FILE": offset_file,
                                           "FAKETIME_NO_CACHE": "1"})
    return preload_env(libfaketime(), {"DONT_FAKE_MONOTONIC": "1", "FAKETIME": "%+ds" % offset})


def set_offset(path, seconds):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%+ds\n" % seconds)
    os.replace(tmp, path)


def log_path(s, tag):
    return os.path.join(s.dir, f"worker-{tag}.log")


def log_skew(s, tag, after=0):
    """Seconds by which the newest line of worker `tag`'s log, from byte
    `after` on, is ahead of this host's clock."""
    def newest():
        with open(log_path(s, tag)) as f:
            lines = [x for x in f.read()[after:].splitlines() if x[:4].isdigit()]
        return lines[-1] if lines else None
    line = s.wait_for(newest, timeout=30, what=f"a line in worker-{tag}.log")
    stamp = datetime.datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return (stamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def assert_skew(s, tag, seconds, after=0):
    skew = log_skew(s, tag, after)
    assert abs(skew - seconds) < 60, f"worker {tag}'s clock is {skew:+.0f} s off, not {seconds:+d}"


def log_size(s, tag):
    return os.path.getsize(log_path(s, tag))


def holder_of(s, tag):
    """The lease_holder value of worker `tag` ("host:pid:nonce"), from the
    "starting as" line of its log."""
    holder = None
    with open(log_path(s, tag)) as f:
        for line in f:
            if " starting as " in line:
                holder = line.split(" starting as ", 1)[1].strip()
    return holder


def stat(s, name):
    return int(s.scalar("SELECT COALESCE(SUM(n), 0) FROM geo_stats WHERE name = '%s'" % name))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh(n):
    """A run-unique name prefix and n public addresses no earlier run (whose
    answers the cache keeps) has used."""
    b = random.randrange(100, 200)
    c = random.randrange(0, 256 - (n + 199) // 200)
    return "clk" + uuid.uuid4().hex[:8], [f"45.{b}.{c + i // 200}.{i % 200 + 7}" for i in range(n)]


def check_calls(s, ips, what):
    """The stand-in saw each address once and never more than geo.rate
    calls in a one-second window."""
    stats = standin(s, "/stats")
    assert stats["max_in_any_second"] <= RATE, f"{what}: {stats}"
    eq(sorted(stats["per_ip"]), sorted(ips), f"{what}: the addresses called")
    assert all(n == 1 for n in stats["per_ip"].values()), f"{what}: {stats['per_ip']}"
    return stats


# ------------------------------------------------------------------ geo

def test_skewed_workers_share_leases_and_budget(s):
    """Two extra workers, one host 5 minutes ahead and one 5 minutes
    behind, beside the stack's worker: every address called once (no
    lease taken over, none lost), never more than geo.rate calls in a
    second, and the skewed workers did take part."""
    standin_defaults(s)
    standin(s, "/reset")
    lost0 = stat(s, "leases_lost")
    ahead = start_worker(s, "ahead", faketime_env(SKEW))
    behind = start_worker(s, "behind", faketime_env(-SKEW))
    try:
        assert_skew(s, "ahead", SKEW)
        assert_skew(s, "behind", -SKEW)
        prefix, ips = fresh(60)
        submit_many(s, prefix, ips, 150)
        st = wait_all_resolved(s, prefix, 150)
    finally:
        stop_worker(ahead)
        stop_worker(behind)
    eq(st, {"done": 150}, "every task done")
    check_calls(s, ips, "three workers, two of them skewed")
    eq(stat(s, "leases_lost") - lost0, 0, "no lease taken over")
    called = dict(s.mysql("SELECT lease_holder, COUNT(*) FROM geo_tasks WHERE name LIKE '%s-%%'"
                          " AND attempts > 0 GROUP BY lease_holder" % prefix))
    for tag in ("ahead", "behind"):
        assert holder_of(s, tag) in called, f"the worker {tag} made calls: {called}"
    standin_defaults(s)


def test_wall_clock_steps_while_running(s):
    """A worker alone whose wall clock steps back 10 minutes, then forward
    20, while it drains a queue: every address called once, the rate kept,
    the worker went on claiming after each step (no timer waits for the
    wall clock to come back), and it did not spin (CPU well under the
    elapsed time)."""
    stop_stack_worker(s)
    offset = os.path.join(s.dir, "clock-step.offset")
    set_offset(offset, 0)
    w = None
    try:
        standin(s, "/control?mode=ok&stall_pct=0")
        standin(s, "/reset")
        w = start_worker(s, "step", faketime_env(offset_file=offset))
        assert_skew(s, "step", 0)
        prefix, ips = fresh(45)
        t0, cpu0 = time.monotonic(), cpu_seconds(w.pid)
        submit_many(s, prefix, ips, 45)
        s.wait_for(lambda: standin(s, "/stats")["count"] >= 10, timeout=WAIT,
                   what="the first calls")
        at = log_size(s, "step")
        set_offset(offset, -2 * SKEW)
        n = standin(s, "/stats")["count"]
        s.wait_for(lambda: standin(s, "/stats")["count"] >= n + 10, timeout=WAIT,
                   what="calls after the backward step")
        assert_skew(s, "step", -2 * SKEW, after=at)
        at = log_size(s, "step")
        set_offset(offset, 2 * SKEW)
        st = wait_all_resolved(s, prefix, 45)
        assert_skew(s, "step", 2 * SKEW, after=at)
        cpu = cpu_seconds(w.pid) - cpu0
        elapsed = time.monotonic() - t0
    finally:
        if w is not None:
            stop_worker(w)
        standin_defaults(s)
        s.stack("worker-restart")
    eq(st, {"done": 45}, "every task done")
    check_calls(s, ips, "a worker whose wall clock stepped")
    assert cpu < 0.5 * elapsed, f"the worker spun: {cpu:.1f} s CPU in {elapsed:.1f} s"


# ----------------------------------------------------------------- jobs

def job_row(s, name):
    return s.mysql("SELECT holder, lease_until > UTC_TIMESTAMP(6), runs FROM job_leases"
                   " WHERE name = '%s'" % name)[0]


def hold_job(s, name, holder, lease_seconds):
    """Gives job `name` to `holder` (a process that is not there) with a
    lease ending lease_seconds from now by the database clock, due since a
    second ago.  (The test's own session is not on UTC: UTC_TIMESTAMP.)"""
    s.mysql("INSERT INTO job_leases (name, next_run_at) VALUES ('%s', UTC_TIMESTAMP(6))"
            " ON DUPLICATE KEY UPDATE name = name" % name)
    s.mysql("UPDATE job_leases SET holder = '%s',"
            " lease_until = UTC_TIMESTAMP(6) + INTERVAL %d SECOND,"
            " next_run_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE name = '%s'"
            % (holder, lease_seconds, name))


def test_job_leases_follow_the_database_clock(s):
    """Job leases are the database's: a worker 5 minutes behind takes and
    runs a job whose lease ended by the database clock, and a worker 5
    minutes ahead never takes a job whose lease is live by it."""
    stop_stack_worker(s)
    ahead = behind = None
    try:
        hold_job(s, "kv-expiry", "elsewhere:1", -1)
        hold_job(s, "kv-count", "elsewhere:2", 120)
        runs0 = int(job_row(s, "kv-expiry")[2])
        behind = start_worker(s, "jobs-behind", faketime_env(-SKEW))
        assert_skew(s, "jobs-behind", -SKEW)
        s.wait_for(lambda: int(job_row(s, "kv-expiry")[2]) > runs0, timeout=WAIT,
                   what="the worker behind to take the expired kv-expiry lease and run it")
        with open(log_path(s, "jobs-behind")) as f:
            assert "job kv-expiry: " in f.read(), "the worker behind ran kv-expiry"
        ahead = start_worker(s, "jobs-ahead", faketime_env(SKEW))
        assert_skew(s, "jobs-ahead", SKEW)
        time.sleep(6)  # a few of both workers' rechecks (every 2 s)
        eq(job_row(s, "kv-count"), ["elsewhere:2", "1", job_row(s, "kv-count")[2]],
           "the live lease is untouched")
        with open(log_path(s, "jobs-ahead")) as f:
            assert "job kv-count: " not in f.read(), "the worker ahead did not run kv-count"
    finally:
        for p in (ahead, behind):
            if p is not None:
                stop_worker(p)
        s.mysql("UPDATE job_leases SET holder = NULL, lease_until = NULL,"
                " next_run_at = UTC_TIMESTAMP(6) WHERE holder LIKE 'elsewhere:%'")
        s.stack("worker-restart")


# ------------------------------------------------------- a suspended host

def stop_outside_a_transaction(s, pid):
    """SIGSTOP pid at a moment it has no transaction open.  A worker
    stopped inside its permit transaction keeps the budget row locked
    until the server drops its connection (db.idle_transaction_timeout,
    10 s), so no other worker could call meanwhile: that is a different
    fault, tested in test_zz_stall, and not the one this test is about.
    The statement in flight when it stops gets 0.2 s to end (more than
    the 0.1 s innodb_trx may be cached for).  Returns when
    (time.monotonic()) it was stopped."""
    for _ in range(100):
        os.kill(pid, signal.SIGSTOP)
        stopped = time.monotonic()
        time.sleep(0.2)
        if not s.innodb_trx():
            return stopped
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("the worker was inside a transaction at every try")


def test_suspended_host_gives_its_tasks_up(s):
    """A worker whose host is suspended (its CLOCK_MONOTONIC stops, the
    database's clock goes on) for longer than its leases, while it holds
    tasks waiting for a permit or a slot: another worker takes them over
    and calls them; when the first resumes, it must not call them again
    (nor send a call in a slot long past), because its leases ended."""
    stop_stack_worker(s)
    lag = os.path.join(s.dir, "clockshift.lag")
    with open(lag, "w") as f:
        f.write("0\n")
    a = b = None
    try:
        standin(s, "/control?mode=ok&stall_pct=0")
        standin(s, "/reset")
        a = start_worker(s, "suspended", preload_env(clockshift(s), {"CLOCKSHIFT_FILE": lag}),
                         lease_seconds=12)
        prefix, ips = fresh(40)
        submit_many(s, prefix, ips, 40)
        s.wait_for(lambda: standin(s, "/stats")["count"] >= 2, timeout=WAIT,
                   what="the first calls")
        stopped = stop_outside_a_transaction(s, a.pid)
        held = int(s.scalar("SELECT COUNT(*) FROM geo_tasks WHERE name LIKE '%s-%%'"
                            " AND state = 'queued' AND lease_holder = '%s'"
                            " AND lease_until > UTC_TIMESTAMP(6)"
                            % (prefix, holder_of(s, "suspended"))))
        assert held >= 2, f"the worker held tasks when its host slept ({held})"
        b = start_worker(s, "awake")
        st = wait_all_resolved(s, prefix, 40)
        before = standin(s, "/stats")["per_ip"]
        with open(lag, "w") as f:
            f.write("%.3f\n" % (time.monotonic() - stopped))
        os.kill(a.pid, signal.SIGCONT)
        time.sleep(5)  # time to act on what it held (no bound is asserted)
        stop_worker(a)
        after = standin(s, "/stats")
    finally:
        end_workers(s, a, b)
    eq(st, {"done": 40}, "every task done")
    eq(after["per_ip"], before, "no call after the resume: its leases had ended")
    assert after["max_in_any_second"] <= RATE, after
