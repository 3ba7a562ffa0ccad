"""What the API tests use to talk to the stack tests/tools/stack started.

Everything goes over real HTTP to nginx (http.client, so paths are sent
exactly as written: "/keys/%2e" is not normalised), and, for checks on
stored data, through the mysql client to the stack's MariaDB.
"""
import http.client
import json
import os
import re
import socket
import subprocess
import time


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers   # lower-case name -> last value
        self.header_list = None  # [(name, value), ...] as received
        self.body = body         # bytes

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error_code(self):
        """The code of a JSON error envelope, or None."""
        try:
            return self.json()["error"]["code"]
        except Exception:
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def is_envelope(resp):
    """True when resp carries {"error": {"code": str, "message": str}}."""
    try:
        e = resp.json()["error"]
        return isinstance(e["code"], str) and isinstance(e["message"], str)
    except Exception:
        return False


INNODB_TRX_POLL = 0.25  # seconds between reads of innodb_trx (Stack.innodb_trx)


class Stack:
    def __init__(self, env_file, src):
        self.env = {}
        with open(env_file) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    self.env[k] = v
        self.src = src
        self.dir = self.env["CAIRN_STACK_DIR"]
        self.port = int(self.env["CAIRN_PORT"])
        self.admin_key = self.env["CAIRN_ADMIN_KEY"]

    # ------------------------------------------------------------ HTTP
    def request(self, method, path, body=None, headers=None, key=None,
                content_type=None, timeout=30):
        """One request on a fresh connection. body: bytes, str, or a
        JSON-able object (then Content-Type defaults to application/json).
        headers: a dict, or a list of (name, value) pairs, which may repeat
        a name. key: an API key for Authorization: Bearer (None: no key)."""
        hdrs = list(headers.items() if isinstance(headers, dict) else headers or [])
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            content_type = content_type or "application/json"
        if isinstance(body, str):
            body = body.encode("utf-8")
        # content_type and key replace a header of the same name
        for name, value in (("Content-Type", content_type),
                            ("Authorization", None if key is None else "Bearer " + key)):
            if value is not None:
                hdrs = [(k, v) for k, v in hdrs if k != name] + [(name, value)]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in hdrs:
                conn.putheader(k, v)
            if body is not None and all(k != "Content-Length" for k, _ in hdrs):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
            resp.header_list = r.getheaders()
            return resp
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def raw(self, data, timeout=10):
        """Sends raw bytes on a socket and returns everything received."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    chunks.append(c)
            except socket.timeout:
                pass
            return b"".join(chunks)

    def new_key(self, scopes, name="test"):
        """Creates an API key with the given scopes; returns (id, key)."""
        r = self.post("/admin/api-keys", {"name": name, "scopes": list(scopes)},
                      key=self.admin_key)
        assert r.status == 201, r
        j = r.json()
        return j["id"], j["key"]

    # ---------------------------------------------------------- metrics
    def metrics(self):
        """{'name{labels}': value} from /metrics."""
        r = self.get("/metrics")
        assert r.status == 200, r
        out = {}
        for line in r.text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
        return out

    def worker_restarts(self):
        try:
            return int(self.metrics().get("cairn_worker_restarts_total", 0))
        except Exception:
            return -1

    # --------------------------------------------------------- database
    def admin_argv(self, *extra):
        """The mariadb client as the database's admin user (SUPER), over
        the stack's socket, tab-separated without headers; extra after."""
        return ["mariadb", "--no-defaults", "-S", self.env["CAIRN_DB_SOCKET"],
                "-u", self.env["CAIRN_DB_ADMIN_USER"], "-N", "-B", *extra]

    def admin_sql(self, sql):
        """Runs SQL as the admin user; returns its output, stripped."""
        out = subprocess.run(self.admin_argv("-e", sql), capture_output=True, text=True,
                             timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"mariadb failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def innodb_trx(self):
        """[(trx id, thread id, state, rows locked, query)] of the InnoDB
        transactions open on the server, the query cut to 40 characters
        ('-' when none), read as the admin user (the view needs PROCESS).
        The server refreshes the view only when it was last read more than
        0.1 s before: poll it at INNODB_TRX_POLL, or see a stale one."""
        out = self.admin_sql("SELECT trx_id, trx_mysql_thread_id, trx_state, trx_rows_locked,"
                             " COALESCE(LEFT(trx_query, 40), '-')"
                             " FROM information_schema.innodb_trx")
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def mysql(self, sql):
        """Runs SQL as the cairn user; returns rows as lists of strings."""
        out = subprocess.run(
            ["mariadb", "--no-defaults", "-S", self.env["CAIRN_DB_SOCKET"],
             "-u", self.env["CAIRN_DB_USER"], "-p" + self.env["CAIRN_DB_PASSWORD"],
             "-N", "-B", "--raw", self.env["CAIRN_DB_NAME"], "-e", sql],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"mysql failed: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines()]

    def scalar(self, sql):
        rows = self.mysql(sql)
        return rows[0][0] if rows else None

    # ----------------------------------------------------------- processes
    def stack(self, *args):
        """Runs a tests/tools/stack subcommand on this stack."""
        subprocess.run([os.path.join(self.src, "tests/tools/stack"), *args, self.dir],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)

    def pool_master(self):
        with open(self.env["CAIRN_POOL_PIDFILE"]) as f:
            return int(f.read().strip())

    def pool_workers(self):
        """PIDs of the pool master's children."""
        master = self.pool_master()
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
        return sorted(int(p) for p in out.stdout.split())

    def log_mark(self, log="CAIRN_LOG"):
        """Where a log (CAIRN_LOG, the pool's, or CAIRN_WORKER_LOG) ends
        now, for log_since."""
        return os.path.getsize(self.env[log])

    def log_since(self, mark, log="CAIRN_LOG"):
        """What the log gained after log_mark gave mark."""
        with open(self.env[log], errors="replace") as f:
            f.seek(mark)
            return f.read()

    def log_tail(self, n=20):
        try:
            with open(self.env["CAIRN_LOG"], errors="replace") as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []

    def wait_for(self, cond, timeout=10.0, interval=0.05, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def process_exited(pid):
    """Whether process pid is gone or a zombie (dead, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except OSError:
        return True


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"
