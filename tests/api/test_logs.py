"""Logs (API.md §1): /intake and /insert, the compat queries, /logs,
/purge, services over HTTP, cairnctl and the mysql client, retention."""
import concurrent.futures
import datetime
import json
import os
import subprocess
import time
import uuid

from cairn import eq, is_envelope

UNAUTHORIZED = {"code": 403, "message": "Unauthorized"}
NOT_JSON = {"code": 400, "message": "Invalid request, must be in JSON format"}


# ----------------------------------------------------------------- helpers

def uniq(prefix="svc"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_service(s, **fields):
    """Creates a service over HTTP; returns (name, key)."""
    name = fields.pop("name", None) or uniq()
    body = {"name": name, **fields}
    r = s.post("/services", body, key=s.admin_key)
    assert r.status == 201, r
    return name, r.json()["key"]


def rec(ts="2026-11-22 14:00:00", body="text", level="info"):
    out = {"timestamp": ts, "body": body}
    if level is not None:
        out["level"] = level
    return out


def intake(s, key, data, path="/intake", field="data", headers=None):
    body = {field: data}
    if key is not None:
        body["key"] = key
    return s.post(path, body, headers=headers)


def stored(s, name, extra=""):
    """Rows of the service as [level, ts, body], oldest first."""
    return s.mysql(
        "SELECT r.level, r.ts, r.body FROM log_records r JOIN log_services v"
        f" ON v.id = r.service_id WHERE v.name = '{name}' {extra} ORDER BY r.ts, r.id")


def count(s, name):
    return int(s.scalar(
        "SELECT COUNT(*) FROM log_records r JOIN log_services v ON v.id = r.service_id"
        f" WHERE v.name = '{name}'"))


def reader(s):
    return s.new_key(["logs:read"], name="logs-reader")[1]


def ctl(s, *args):
    return subprocess.run(
        [os.path.join(s.env["CAIRN_BUILD_DIR"], "bin/cairnctl"), "--config",
         s.env["CAIRN_CONF"], *args], capture_output=True, text=True, timeout=60)


def cache_ms(s):
    """The stack's auth.cache_ms (its cairn.conf; the last setting wins)."""
    ms = 1000
    with open(s.env["CAIRN_CONF"]) as f:
        for line in f:
            k, sep, v = line.partition("=")
            if sep and k.strip() == "auth.cache_ms":
                ms = int(v.strip())
    return ms


def key_stops(s, key, what):
    """Waits for /intake to refuse a service key rotated or disabled outside
    the HTTP API (cairnctl, SQL): a worker may trust its cached lookups of
    the key and of the service for auth.cache_ms (README, "Keys and
    scopes"), so the deadline is a generous 3 x that, not a promise of
    speed.  Polls with an empty batch, which a working key gets 400 for, so
    nothing is stored meanwhile."""
    deadline = time.monotonic() + 3 * cache_ms(s) / 1000
    while True:
        r = intake(s, key, [])
        if r.status == 403:
            eq(r.json(), UNAUTHORIZED, what)
            return
        eq(r.status, 400, f"{what}: the key still works meanwhile")
        assert time.monotonic() < deadline, f"{what}: still accepted after 3 x auth.cache_ms"
        time.sleep(0.05)


# ------------------------------------------------------------------ intake

def test_intake_stores_a_batch(s):
    name, key = new_service(s)
    r = intake(s, key, [rec(body="one"), rec("2026-11-22T14:00:01.5Z", "two", "error"),
                        rec("2026-11-22T16:00:02.123456+02:00", "three", "debug")])
    eq(r.status, 200, "status")
    eq(r.json(), {"code": 200, "message": "Success", "count": 3}, "body")
    eq(stored(s, name), [["2", "2026-11-22 14:00:00.000000", "one"],
                         ["4", "2026-11-22 14:00:01.500000", "two"],
                         ["1", "2026-11-22 14:00:02.123456", "three"]], "rows")


def test_insert_alias_and_messages(s):
    name, key = new_service(s)
    eq(intake(s, key, [rec()], path="/insert").status, 200, "/insert")
    eq(intake(s, key, [rec()], field="messages").status, 200, "messages")
    eq(intake(s, key, [rec()], path="/insert", field="messages").json()["count"], 1, "both")
    eq(count(s, name), 3, "rows")
    r = s.get("/intake")
    eq(r.status, 405, "GET /intake")
    assert "POST" in r.headers.get("allow", ""), r.headers


def test_key_in_headers(s):
    name, key = new_service(s)
    eq(intake(s, None, [rec()], headers={"Authorization": "Bearer " + key}).status, 200,
       "Authorization")
    eq(intake(s, None, [rec()], headers={"X-API-Key": key}).status, 200, "X-API-Key")
    eq(intake(s, key, [rec()], headers={"Authorization": "Bearer " + key}).status, 200,
       "same key twice")
    eq(count(s, name), 3, "rows")


def test_unauthorized_cases(s):
    name, key = new_service(s)
    _, other = new_service(s)
    cases = {
        "no key": intake(s, None, [rec()]),
        "unknown key": intake(s, "0" * 64, [rec()]),
        "empty key": intake(s, "", [rec()]),
        "key not a string": s.post("/intake", {"key": 5, "data": [rec()]}),
        "body and header differ": intake(s, key, [rec()],
                                         headers={"Authorization": "Bearer " + other}),
        "headers differ": intake(s, None, [rec()], headers={
            "Authorization": "Bearer " + key, "X-API-Key": other}),
        "not Bearer": intake(s, None, [rec()], headers={"Authorization": "Basic " + key}),
        "an API key, even admin": intake(s, s.admin_key, [rec()]),
    }
    for what, r in cases.items():
        eq(r.status, 403, what)
        eq(r.json(), UNAUTHORIZED, what)
    eq(count(s, name), 0, "rows")
    # a disabled service
    eq(s.request("DELETE", f"/services/{name}", key=s.admin_key).status, 200, "disable")
    r = intake(s, key, [rec()])
    eq((r.status, r.json()), (403, UNAUTHORIZED), "disabled service")
    eq(count(s, name), 0, "rows after")


def test_unauthorized_before_validation(s):
    r = intake(s, "0" * 64, [{"nonsense": True}])
    eq((r.status, r.json()), (403, UNAUTHORIZED), "bad key and bad data")


def test_ip_masks(s):
    wild, wkey = new_service(s, allowed_ips="192.168.%")
    r = intake(s, wkey, [rec()])
    eq((r.status, r.json()), (403, UNAUTHORIZED), "127.0.0.1 outside 192.168.%")
    eq(intake(s, wkey, [rec()], headers={"X-Real-IP": "192.168.7.9"}).status, 200,
       "inside 192.168.%")
    r = intake(s, wkey, [rec()], headers={"X-Real-IP": "192.169.0.1"})
    eq(r.json(), UNAUTHORIZED, "192.169.0.1")
    cidr, ckey = new_service(s, allowed_ips=["10.0.0.0/8", "::1/128"])
    eq(intake(s, ckey, [rec()], headers={"X-Real-IP": "10.200.0.1"}).status, 200, "10/8")
    eq(intake(s, ckey, [rec()], headers={"X-Real-IP": "::1"}).status, 200, "::1")
    eq(intake(s, ckey, [rec()], headers={"X-Real-IP": "11.0.0.1"}).status, 403, "11.0.0.1")
    eq(intake(s, ckey, [rec()], headers={"X-Real-IP": "::2"}).status, 403, "::2")
    eq(intake(s, ckey, [rec()]).status, 403, "127.0.0.1")
    eq(count(s, wild), 1, "rows of the wildcard service")
    eq(count(s, cidr), 2, "rows of the CIDR service")


def test_not_json(s):
    _, key = new_service(s)
    body = json.dumps({"key": key, "data": [rec()]})
    for ct in ("text/plain", "application/x-www-form-urlencoded",
               "application/json; charset=latin1", None):
        r = s.post("/intake", body, content_type=ct)
        eq((r.status, r.json()), (400, NOT_JSON), f"content type {ct}")
    for bad in ("{", "", "nope", '{"key": "a", "key": "b"}', "\ufeff{}"):
        r = s.post("/intake", bad, content_type="application/json")
        eq((r.status, r.json()), (400, NOT_JSON), f"body {bad!r}")
    r = s.post("/intake", body, content_type="application/json; charset=utf-8")
    eq(r.status, 200, "charset=utf-8")


def test_malformed_data(s):
    _, key = new_service(s)
    cases = [
        ({"key": key}, "Invalid request, malformed data: missing 'data' element"),
        ({"key": key, "data": {}}, "Invalid request, malformed data: 'data' must be an array"),
        ({"key": key, "data": []}, "Invalid request, malformed data: 'data' is empty"),
        ({"key": key, "data": [rec(ts="2026-11-22 25:00:00")]},
         "Invalid request, record 0: bad timestamp '2026-11-22 25:00:00'"),
        ({"key": key, "data": [rec(), {"body": "x"}]},
         "Invalid request, record 1: missing timestamp"),
        ({"key": key, "data": [rec(), rec(), {"timestamp": "2026-11-22 14:00:00"}]},
         "Invalid request, record 2: missing body"),
        ({"key": key, "data": [rec(), {"timestamp": "2026-11-22 14:00:00", "body": 1}]},
         "Invalid request, record 1: body must be a string"),
        ({"key": key, "data": ["x"]}, "Invalid request, record 0: not an object"),
    ]
    for body, msg in cases:
        r = s.post("/intake", body)
        eq(r.status, 400, msg)
        eq(r.json(), {"code": 400, "message": msg}, "body")


def test_one_bad_record_among_1000_stores_nothing(s):
    name, key = new_service(s)
    data = [rec(body=f"r{i}") for i in range(1000)]
    data[637] = rec(ts="2026-11-22 14:00:00 UTC")
    r = intake(s, key, data)
    eq(r.status, 400, "status")
    eq(r.json(), {"code": 400, "message":
                  "Invalid request, record 637: bad timestamp '2026-11-22 14:00:00 UTC'"}, "body")
    eq(count(s, name), 0, "nothing stored")


def test_levels_any_case_and_not_set(s):
    name, key = new_service(s)
    levels = ["INFO", "Warning", "error", "DeBuG", "critical", "bogus", "", None, 7, "warn"]
    data = [rec(ts=f"2026-11-22 14:00:{i:02d}", level=lv) for i, lv in enumerate(levels)]
    eq(intake(s, key, data).status, 200, "intake")
    got = [row[0] for row in stored(s, name)]
    eq(got, ["2", "3", "4", "1", "5", "0", "0", "0", "0", "0"], "stored levels")
    r = s.get(f"/query/service/{name}", key=reader(s))
    eq([d["level"] for d in r.json()["data"]],
       ["info", "warning", "error", "debug", "critical"] + ["not_set"] * 5, "levels read back")


def test_body_size_limit(s):
    name, key = new_service(s)
    eq(intake(s, key, [rec(body="x" * 65536)]).status, 200, "64 KiB")
    r = intake(s, key, [rec(), rec(body="é" * 32768 + "x")])
    eq(r.status, 400, "over 64 KiB")
    eq(r.json()["message"], "Invalid request, record 1: body longer than 65536 bytes", "message")
    eq(count(s, name), 1, "rows")


def test_request_too_large(s):
    name, key = new_service(s)
    body = json.dumps({"key": key, "data": [rec(body="x" * 60000)] * 150})
    assert len(body) > 8 * 1024 * 1024
    r = s.post("/intake", body, content_type="application/json")
    eq(r.status, 413, "status")
    eq(r.json(), {"code": 413, "message": "Request body too large"}, "compat body")
    # limits.max_body (8 MiB) exactly is accepted, one byte more is not
    # (trailing whitespace pads a valid body)
    small = json.dumps({"key": key, "data": [rec()]}).encode()
    limit = 8 * 1024 * 1024
    r = s.post("/intake", small + b" " * (limit - len(small)), content_type="application/json")
    eq((r.status, r.json()["count"]), (200, 1), "exactly 8 MiB")
    r = s.post("/intake", small + b" " * (limit + 1 - len(small)),
               content_type="application/json")
    eq((r.status, r.json()), (413, {"code": 413, "message": "Request body too large"}),
       "8 MiB + 1")
    eq(count(s, name), 1, "rows")


def test_batch_of_10000_accepted_10001_rejected(s):
    name, key = new_service(s)
    data = [rec(ts=f"2026-11-22 14:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i:06d}",
                body=f"record {i} " + "x" * 80) for i in range(10000)]
    r = intake(s, key, data)
    eq(r.status, 200, "10,000")
    eq(r.json(), {"code": 200, "message": "Success", "count": 10000}, "body")
    eq(count(s, name), 10000, "rows")
    r = intake(s, key, data + [rec()])
    eq(r.status, 400, "10,001")
    eq(r.json(), {"code": 400, "message": "Invalid request, too many records (max 10000)"},
       "body")
    eq(count(s, name), 10000, "rows after")
    # without limit, a page is 1,000 records (API.md §1)
    rk = reader(s)
    j = s.get(f"/query/service/{name}", key=rk).json()
    eq((j["count"], len(j["data"]), j["next_cursor"] is not None), (1000, 1000, True),
       "default page of /query")
    j = s.get(f"/logs?service={name}", key=rk).json()
    eq((len(j["records"]), j["next_cursor"] is not None), (1000, True), "default page of /logs")


def test_idempotent_replay(s):
    name, key = new_service(s)
    hdr = {"Idempotency-Key": "batch-" + uuid.uuid4().hex}
    data = [rec(body="a"), rec(body="b")]
    r1 = intake(s, key, data, headers=hdr)
    r2 = intake(s, key, data, headers=hdr)
    eq((r1.status, r1.json()), (200, {"code": 200, "message": "Success", "count": 2}), "first")
    eq((r2.status, r2.body), (r1.status, r1.body), "replay")
    eq(count(s, name), 2, "stored once")
    r3 = intake(s, key, [rec(body="c")], headers=hdr)
    eq(r3.status, 422, "same key, other batch")
    eq(r3.error_code(), "idempotency_key_reused", "code")
    # /insert is another name of /intake, one route: the same batch under
    # the same key there is a different request (its path), not stored
    r4 = intake(s, key, data, path="/insert", headers=hdr)
    eq((r4.status, r4.error_code()), (422, "idempotency_key_reused"), "/insert, same key")
    eq(count(s, name), 2, "nothing stored through the alias")
    # keys are per service: another service may use the same key
    other, okey = new_service(s)
    eq(intake(s, okey, data, headers=hdr).status, 200, "other service")
    eq(count(s, other), 2, "other service rows")
    eq(count(s, name), 2, "first service rows")


def group_commit(s, kind):
    """(statements, rows) of the grouped single-row writes of a kind."""
    m = s.metrics()
    return (m.get(f'cairn_group_commit_statements_total{{kind="{kind}"}}', 0.0),
            m.get(f'cairn_group_commit_rows_total{{kind="{kind}"}}', 0.0))


def test_concurrent_single_records_each_stored_once(s):
    """One-record batches sent at once by many clients are written together
    (lib/gcommit): each is answered 200 only once stored, and each is
    stored exactly once, with its own level, time and body."""
    name, key = new_service(s)
    st0, rows0 = group_commit(s, "logs")
    sent = [(i % 5, f"2026-11-22 14:00:{i % 60:02d}.{i:06d}", f"concurrent-{i}")
            for i in range(400)]
    levels = ["debug", "info", "warning", "error", "critical"]

    def one(item):
        lv, ts, body = item
        return intake(s, key, [rec(ts, body, levels[lv])]).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, sent))
    eq(statuses, [200] * len(sent), "every record acknowledged")
    got = sorted((r[2], r[0], r[1]) for r in stored(s, name))
    want = sorted((body, str(lv + 1), ts) for lv, ts, body in sent)
    eq(got, want, "each record stored once, as sent")
    st1, rows1 = group_commit(s, "logs")
    eq(rows1 - rows0, len(sent), "every record went through the group commit")
    assert 1 <= st1 - st0 <= len(sent), (st0, st1)


def test_idempotent_single_record_joins_its_transaction(s):
    """With an Idempotency-Key a one-record batch is written inside the
    key's transaction, not grouped with other requests."""
    name, key = new_service(s)
    before = group_commit(s, "logs")
    hdr = {"Idempotency-Key": "one-" + uuid.uuid4().hex}
    eq(intake(s, key, [rec(body="keyed")], headers=hdr).status, 200, "first")
    eq(intake(s, key, [rec(body="keyed")], headers=hdr).status, 200, "replay")
    eq(count(s, name), 1, "stored once")
    eq(group_commit(s, "logs"), before, "not grouped")
    eq(intake(s, key, [rec(body="plain")]).status, 200, "without a key")
    eq(group_commit(s, "logs")[1], before[1] + 1, "grouped (a group of one)")



# ------------------------------------------------------------ compat queries

def test_query_service(s):
    name, key = new_service(s)
    intake(s, key, [rec("2026-03-02 10:00:00.250000", "late", "error"),
                    rec("2026-03-01 09:00:00", "early", "info"),
                    rec("2026-03-03 00:00:00", "next day", "debug")])
    rk = reader(s)
    r = s.get(f"/query/service/{name}", key=rk)
    eq(r.status, 200, "status")
    j = r.json()
    eq(set(j), {"code", "count", "data", "message", "next_cursor"}, "keys")
    eq((j["code"], j["count"], j["message"], j["next_cursor"]), (200, 3, "Success", None), "head")
    eq(j["data"][0], {"service": name, "level": "info", "timestamp": "2026-03-01 09:00:00",
                      "body": "early"}, "first row")
    eq([d["body"] for d in j["data"]], ["early", "late", "next day"], "oldest first")
    r = s.get(f"/query/service/{name}/2026-03-02", key=rk)
    eq([d["body"] for d in r.json()["data"]], ["late"], "one day")
    eq(r.json()["data"][0]["timestamp"], "2026-03-02 10:00:00", "seconds only")
    # a trailing slash is the same route (API.md §0), with or without the date
    for path in (f"/query/service/{name}/", f"/query/service/{name}/2026-03-02/"):
        r2 = s.get(path, key=rk)
        eq(r2.status, 200, path)
        eq(r2.json()["data"], s.get(path.rstrip("/"), key=rk).json()["data"], path)
    eq(s.get(f"/query/service/{name}//", key=rk).status, 404, "two slashes")
    r = s.get("/query/service/no-such-service", key=rk)
    eq((r.status, r.json()), (404, {"code": 404, "message":
                                    "Invalid request: bad service no-such-service"}), "unknown")
    r = s.get(f"/query/service/{name}/2026-3-2", key=rk)
    eq((r.status, r.json()), (400, {"code": 400, "message":
                                    "Invalid request: bad date format 2026-3-2"}), "bad date")


def test_query_level_and_date(s):
    name, key = new_service(s)
    intake(s, key, [rec("1999-07-01 12:00:00", f"lvl-{name}", "CRITICAL")])
    rk = reader(s)
    for lv in ("critical", "CRITICAL"):
        r = s.get("/query/level/" + lv + "/1999-07-01", key=rk)
        eq(r.status, 200, lv)
        assert any(d["body"] == f"lvl-{name}" for d in r.json()["data"]), r
    r = s.get("/query/level/not_set/1999-07-01", key=rk)
    assert all(d["body"] != f"lvl-{name}" for d in r.json()["data"]), r
    r = s.get("/query/level/critical/", key=rk)
    eq(r.status, 200, "trailing slash")
    assert any(d["body"] == f"lvl-{name}" for d in r.json()["data"]), r
    r = s.get("/query/level/fatal", key=rk)
    eq((r.status, r.json()), (400, {"code": 400, "message":
                                    "Invalid request: bad log level fatal"}), "bad level")
    r = s.get("/query/date/1999-07-01", key=rk)
    assert any(d["body"] == f"lvl-{name}" for d in r.json()["data"]), r
    r = s.get("/query/date/1999-02-29", key=rk)
    eq((r.status, r.json()), (400, {"code": 400, "message":
                                    "Invalid request: bad date format 1999-02-29"}), "bad date")


def test_date_boundaries(s):
    name, key = new_service(s)
    intake(s, key, [rec("1998-05-04 23:59:59.999999", "before"),
                    rec("1998-05-05 00:00:00", "first"),
                    rec("1998-05-05 23:59:59.999999", "last"),
                    rec("1998-05-06 00:00:00", "after")])
    rk = reader(s)
    for path in (f"/query/service/{name}/1998-05-05", "/query/date/1998-05-05",
                 "/query/level/info/1998-05-05"):
        r = s.get(path, key=rk)
        got = [d["body"] for d in r.json()["data"] if d["service"] == name]
        eq(got, ["first", "last"], path)


def test_fraction_digits_beyond_microseconds(s):
    """RFC 3339 allows any number of fraction digits (Go, Java and .NET
    send up to nine): they are rounded half up to the microsecond."""
    name, key = new_service(s)
    r = intake(s, key, [rec("2026-01-01T00:00:00.123456789Z", "ns"),
                        rec("2026-01-01T00:00:00.1234564Z", "down"),
                        rec("2026-01-01T23:59:59.9999996Z", "carry")])
    eq(r.status, 200, f"{r}")
    eq([row[1:] for row in stored(s, name)],
       [["2026-01-01 00:00:00.123456", "down"], ["2026-01-01 00:00:00.123457", "ns"],
        ["2026-01-02 00:00:00.000000", "carry"]], "rounded")


def test_pagination_with_shared_timestamps(s):
    name, key = new_service(s)
    data = [rec("2001-01-01 00:00:00", f"a{i}") for i in range(5)]
    data += [rec("2001-01-01 00:00:01", f"b{i}") for i in range(23)]
    data += [rec("2001-01-01 00:00:02", f"c{i}") for i in range(4)]
    data.reverse()
    eq(intake(s, key, data).status, 200, "intake")
    expect = [r[2] for r in stored(s, name)]
    rk = reader(s)
    for path in (f"/query/service/{name}", f"/query/service/{name}/2001-01-01"):
        got, cursor, pages = [], None, 0
        while True:
            q = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
            j = s.get(path + q, key=rk).json()
            eq(j["count"], len(j["data"]), "count is the page's")
            assert j["count"] <= 5
            got += [d["body"] for d in j["data"]]
            pages += 1
            cursor = j["next_cursor"]
            if cursor is None:
                break
        eq(got, expect, path + ": no row skipped or repeated")
        eq(pages, 7, "pages")
    eq(s.get(f"/query/service/{name}?limit=10000", key=rk).json()["count"], 32, "limit 10,000")
    r = s.get(f"/query/service/{name}?limit=10001", key=rk)
    eq(r.status, 400, "limit over 10,000")
    eq(r.json(), {"code": 400, "message": "Invalid request: bad limit 10001"}, "compat body")
    eq(s.get(f"/query/service/{name}?limit=0", key=rk).status, 400, "limit 0")
    eq(s.get(f"/query/service/{name}?cursor=zz", key=rk).status, 400, "bad cursor")
    eq(s.get(f"/query/service/{name}?limit=1&limit=2", key=rk).status, 400, "repeated")


def test_query_needs_logs_read(s):
    name, key = new_service(s)
    r = s.get(f"/query/service/{name}")
    eq(r.status, 401, "no key")
    assert is_envelope(r), r
    r = s.get(f"/query/service/{name}", key=key)
    eq(r.status, 403, "a plain service key only writes")
    eq(s.get(f"/query/service/{name}", key=s.env["CAIRN_SERVICE_KEY"]).status, 200,
       "the stack's privileged service reads")


# ---------------------------------------------------------------- /logs

def test_search_filters(s):
    name, key = new_service(s)
    other, okey = new_service(s)
    intake(s, key, [rec("2002-02-02 10:00:00", "alpha disk full", "error"),
                    rec("2002-02-02 11:00:00", "beta Disk ok", "info"),
                    rec("2002-02-02 12:00:00", "gamma disk", "warning"),
                    rec("2002-02-03 09:00:00", "delta", "critical")])
    intake(s, okey, [rec("2002-02-02 10:30:00", "other disk", "error")])
    rk = reader(s)

    def bodies(q):
        r = s.get("/logs?" + q, key=rk)
        assert r.status == 200, r
        return [d["body"] for d in r.json()["records"]]

    eq(bodies(f"service={name}"), ["alpha disk full", "beta Disk ok", "gamma disk", "delta"],
       "service")
    eq(bodies(f"service={name}&level=ERROR"), ["alpha disk full"], "level")
    eq(bodies(f"service={name}&min_level=warning"), ["alpha disk full", "gamma disk", "delta"],
       "min_level")
    eq(bodies(f"service={name}&q=disk"), ["alpha disk full", "gamma disk"], "q is exact bytes")
    eq(bodies(f"service={name}&from=2002-02-02T11:00:00Z&to=2002-02-02+12:00:00"),
       ["beta Disk ok"], "from inclusive, to exclusive")
    eq(bodies(f"service={name}&to=1012644001"), ["alpha disk full"], "epoch seconds")
    eq(bodies(f"service={name}&order=desc"),
       ["delta", "gamma disk", "beta Disk ok", "alpha disk full"], "desc")
    eq(bodies("from=2002-02-02+00:00:00&to=2002-02-03+00:00:00&q=disk&level=error"),
       ["alpha disk full", "other disk"], "across services")
    eq(len(s.get(f"/logs?service={name}&limit=10000", key=rk).json()["records"]), 4,
       "limit 10,000")
    eq(bodies(f"service={name}&q=" + "x" * 1024), [], "q of 1,024 bytes")
    r = s.get(f"/logs?service={name}&limit=1", key=rk)
    j = r.json()
    eq(set(j["records"][0]), {"id", "service", "level", "timestamp", "received_at", "body"},
       "record keys")
    eq(j["records"][0]["timestamp"], "2002-02-02T10:00:00.000000Z", "RFC 3339")
    assert j["next_cursor"], j
    for bad, code in (("level=fatal", "bad_level"), ("min_level=x", "bad_level"),
                      ("from=yesterday", "bad_time"), ("order=up", "bad_order"),
                      ("limit=10001", "bad_limit"), ("cursor=%21", "bad_cursor"),
                      ("from=2002-02-03&to=2002-02-02", "bad_time"),
                      ("from=2002-02-03+00:00:00&to=2002-02-02+00:00:00", "bad_range"),
                      ("q=%00", "bad_q"), ("q=%ff", "bad_q"), ("q=" + "x" * 1025, "bad_q")):
        r = s.get("/logs?" + bad, key=rk)
        eq(r.status, 400, bad)
        eq(r.error_code(), code, bad)
    r = s.get("/logs?service=nope-" + name, key=rk)
    eq((r.status, r.error_code()), (404, "unknown_service"), "unknown service")


def test_search_pages_both_ways(s):
    name, key = new_service(s)
    data = [rec(f"2003-03-03 03:03:0{i % 3}", f"p{i}") for i in range(17)]
    intake(s, key, data)
    rk = reader(s)
    expect = [r[2] for r in stored(s, name)]
    for order, want in (("asc", expect), ("desc", list(reversed(expect)))):
        got, cursor = [], None
        while True:
            q = f"/logs?service={name}&order={order}&limit=4"
            if cursor:
                q += "&cursor=" + cursor
            j = s.get(q, key=rk).json()
            got += [d["body"] for d in j["records"]]
            cursor = j["next_cursor"]
            if not cursor:
                break
        eq(got, want, order)


def test_search_ndjson(s):
    name, key = new_service(s)
    intake(s, key, [rec(f"2004-04-04 04:04:{i:02d}", f"n{i}") for i in range(30)])
    rk = reader(s)
    r = s.get(f"/logs?service={name}", key=rk, headers={"Accept": "application/x-ndjson"})
    eq(r.status, 200, "status")
    assert r.headers["content-type"].startswith("application/x-ndjson"), r.headers
    lines = r.text.splitlines()
    eq([json.loads(x)["body"] for x in lines], [f"n{i}" for i in range(30)], "all records")
    r = s.get(f"/logs?service={name}&limit=7&order=desc", key=rk,
              headers={"Accept": "application/x-ndjson"})
    eq([json.loads(x)["body"] for x in r.text.splitlines()],
       [f"n{i}" for i in range(29, 22, -1)], "limit and order")


# ---------------------------------------------------------------- purge

def test_purge_dry_run_then_purge(s):
    name, key = new_service(s)
    other, okey = new_service(s)
    intake(s, key, [rec("2005-05-03 10:00:00", "old"), rec("2005-05-04 23:59:59.999999", "old2"),
                    rec("2005-05-05 00:00:00", "kept"), rec("2005-05-06 00:00:00", "kept2")])
    intake(s, okey, [rec("2005-05-01 00:00:00", "other")])
    admin = s.new_key(["logs:admin"], name="logs-admin")[1]
    r = s.post(f"/purge/{name}/2005-05-05?dry_run=1", key=admin)
    eq((r.status, r.json()), (200, {"code": 200, "message": "Success", "deleted": 2}), "dry run")
    eq(count(s, name), 4, "dry run deletes nothing")
    r = s.post(f"/purge/{name}/2005-05-05", key=admin)
    eq((r.status, r.json()), (200, {"code": 200, "message": "Success", "deleted": 2}), "purge")
    eq([x[2] for x in stored(s, name)], ["kept", "kept2"], "rows left")
    eq(count(s, other), 1, "other service untouched")
    r = s.post(f"/purge/{name}/2005-05-05", key=admin)
    eq(r.json()["deleted"], 0, "again")
    r = s.post(f"/purge/nope-{name}/2005-05-05", key=admin)
    eq((r.status, r.json()["message"]), (404, f"Invalid request: bad service nope-{name}"),
       "unknown service")
    r = s.post(f"/purge/{name}/2005-13-01", key=admin)
    eq((r.status, r.json()["message"]), (400, "Invalid request: bad date format 2005-13-01"),
       "bad date")
    eq(s.post(f"/purge/{name}/2005-05-05?dry_run=maybe", key=admin).status, 400, "dry_run")
    eq(s.post(f"/purge/{name}/2005-05-05", key=reader(s)).status, 403, "logs:read only")
    eq(s.post(f"/purge/{name}/2005-05-05", key=key).status, 403, "plain service key")


def test_purge_in_chunks(s):
    # more rows than logs.purge_batch (1,000): several chunks
    name, key = new_service(s)
    data = [rec(f"2006-06-06 06:{i // 60 % 60:02d}:{i % 60:02d}", f"c{i}") for i in range(2500)]
    intake(s, key, data)
    r = s.post(f"/purge/{name}/2006-06-07", key=s.env["CAIRN_SERVICE_KEY"])
    eq(r.json()["deleted"], 2500, "deleted")
    eq(count(s, name), 0, "rows left")


# ---------------------------------------------------------------- services

def test_service_create_and_list(s):
    name = uniq()
    r = s.post("/services", {"name": name, "privileged": True, "allowed_ips": "10.0.0.0/8",
                             "retention_days": 30}, key=s.admin_key)
    eq(r.status, 201, "status")
    j = r.json()
    eq(set(j), {"name", "privileged", "allowed_ips", "retention_days", "key", "created_at"},
       "keys")
    eq((j["name"], j["privileged"], j["allowed_ips"], j["retention_days"]),
       (name, True, ["10.0.0.0/8"], 30), "fields")
    assert len(j["key"]) == 64, j
    r = s.post("/services", {"name": name}, key=s.admin_key)
    eq((r.status, r.error_code()), (409, "conflict"), "duplicate")
    plain = uniq()
    j = s.post("/services", {"name": plain}, key=s.admin_key).json()
    eq((j["privileged"], j["allowed_ips"], j["retention_days"]), (False, None, None),
       "defaults")
    # a trailing slash is the same route (API.md §0), though POST also has
    # the longer /services/<name>/rotate-key
    slash = uniq()
    r = s.post("/services/", {"name": slash}, key=s.admin_key)
    eq((r.status, r.json()["name"]), (201, slash), "POST /services/")
    seen, cursor = {}, None
    while True:
        q = "/services?limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = s.get(q, key=s.admin_key)
        eq(r.status, 200, "list")
        for sv in r.json()["services"]:
            assert "key" not in sv, sv
            seen[sv["name"]] = sv
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert name in seen and plain in seen and "local" in seen, sorted(seen)
    eq(seen[name]["disabled_at"], None, "enabled")
    eq(seen["local"]["privileged"], True, "the stack's service")


def test_service_field_limits(s):
    """The largest values API.md and docs/logs.md allow are accepted."""
    name = (uniq("n") + "x" * 64)[:64]
    r = s.post("/services", {"name": name, "allowed_ips": ["10.0.0.0/8"] * 100,
                             "retention_days": 100000}, key=s.admin_key)
    eq(r.status, 201, f"64-byte name, 100 masks, 100,000 days: {r!r}")
    eq((r.json()["name"], len(r.json()["allowed_ips"]), r.json()["retention_days"]),
       (name, 100, 100000), "fields")
    for body in ({"name": uniq(), "allowed_ips": ["10.0.0.0/8"] * 101},
                 {"name": uniq(), "retention_days": 100001}):
        r = s.post("/services", body, key=s.admin_key)
        eq((r.status, r.error_code()), (400, "invalid_field"), repr(body)[:60])


def test_service_invalid_fields(s):
    for body in ({}, {"name": ""}, {"name": "a b"}, {"name": "x" * 65}, {"name": 5},
                 {"name": uniq(), "privileged": "yes"},
                 {"name": uniq(), "allowed_ips": "192.168.*"},
                 {"name": uniq(), "allowed_ips": []},
                 {"name": uniq(), "allowed_ips": [1]},
                 {"name": uniq(), "allowed_ips": {"a": 1}},
                 {"name": uniq(), "retention_days": 0},
                 {"name": uniq(), "retention_days": 1.5},
                 {"name": uniq(), "retention_days": "3"},
                 {"name": uniq(), "colour": "red"}, [1]):
        r = s.post("/services", body, key=s.admin_key)
        eq(r.status, 400, repr(body))
        assert is_envelope(r), r
    eq(s.post("/services", "x", content_type="text/plain", key=s.admin_key).status, 415,
       "not JSON")
    eq(s.post("/services", {"name": uniq()}, key=reader(s)).status, 403, "logs:read")
    logs_admin = s.new_key(["logs:admin"], name="logs-admin")[1]
    eq(s.post("/services", {"name": uniq()}, key=logs_admin).status, 201, "logs:admin")


def test_service_rotate_and_disable(s):
    name, key = new_service(s)
    r = s.post(f"/services/{name}/rotate-key", key=s.admin_key)
    eq(r.status, 200, "rotate")
    eq(set(r.json()), {"name", "key"}, "keys")
    new = r.json()["key"]
    assert new != key
    eq(intake(s, key, [rec()]).json(), UNAUTHORIZED, "old key stops at once")
    eq(intake(s, new, [rec()]).status, 200, "new key")
    eq(s.post(f"/services/nope-{name}/rotate-key", key=s.admin_key).status, 404, "unknown")
    r = s.request("DELETE", f"/services/{name}", key=s.admin_key)
    eq(r.status, 200, "disable")
    eq(r.json()["name"], name, "name")
    assert r.json()["disabled_at"].endswith("Z"), r
    again = s.request("DELETE", f"/services/{name}", key=s.admin_key)
    eq(again.json(), r.json(), "disabling twice keeps the first time")
    eq(intake(s, new, [rec()]).json(), UNAUTHORIZED, "disabled")
    eq(count(s, name), 1, "records stay")
    eq(s.get(f"/query/service/{name}", key=reader(s)).json()["count"], 1, "still queryable")
    eq(s.post(f"/services/{name}/rotate-key", key=s.admin_key).status, 409, "rotate disabled")
    eq(s.post("/services", {"name": name}, key=s.admin_key).status, 409, "name kept")
    eq(s.request("DELETE", f"/services/nope-{name}", key=s.admin_key).status, 404, "unknown")
    eq(s.request("DELETE", "/services/", key=s.admin_key).status, 404, "no name")


# ------------------------------------------------------- cairnctl and mysql

def test_cairnctl_service_and_purge(s):
    name = uniq("ctl")
    r = ctl(s, "service", "add", name, "--allowed-ips", "127.0.0.1,10.0.0.0/8",
            "--retention-days", "7")
    eq(r.returncode, 0, r.stderr)
    key = r.stdout.strip().splitlines()[-1]
    # a record inside the 7 days, or cairn-worker's retention job (every
    # 60 s) may delete it before the purge below counts it
    today = datetime.datetime.now(datetime.timezone.utc).date()
    stamp = f"{today - datetime.timedelta(days=1)} 07:07:07"
    before = str(today + datetime.timedelta(days=1))
    eq(intake(s, key, [rec(stamp, "from ctl")]).status, 200, "key works")
    eq(ctl(s, "service", "add", name).returncode, 1, "duplicate")
    eq(ctl(s, "service", "add", "bad name").returncode, 2, "bad name")
    eq(ctl(s, "service", "add", uniq(), "--allowed-ips", "1.2.3.*").returncode, 2, "bad mask")
    r = ctl(s, "service", "list")
    eq(r.returncode, 0, r.stderr)
    line = [x for x in r.stdout.splitlines() if x.startswith(name + "\t")]
    eq(len(line), 1, r.stdout)
    assert '["127.0.0.1","10.0.0.0/8"]' in line[0] and "\t7\t" in line[0], line
    r = ctl(s, "service", "rotate", name)
    eq(r.returncode, 0, r.stderr)
    new = r.stdout.strip().splitlines()[-1]
    key_stops(s, key, "old key")
    r = ctl(s, "purge", name, before, "--dry-run")
    eq((r.returncode, r.stdout.split()[:3]), (0, ["would", "delete", "1"]), r.stdout)
    r = ctl(s, "purge", name, before)
    eq((r.returncode, r.stdout.split()[:2]), (0, ["deleted", "1"]), r.stdout)
    eq(count(s, name), 0, "purged")
    eq(ctl(s, "purge", name, "07/08/2007").returncode, 2, "bad date")
    eq(ctl(s, "purge", "nope-" + name, "2007-07-08").returncode, 1, "unknown")
    eq(ctl(s, "service", "disable", name).returncode, 0, "disable")
    key_stops(s, new, "disabled")
    eq(ctl(s, "service", "disable", "nope-" + name).returncode, 1, "unknown")


def test_mysql_client_procedures_and_views(s):
    name = uniq("sql")
    rows = s.mysql(f"CALL log_service_create('{name}', FALSE, '[\"127.0.0.%\"]', NULL)")
    eq(rows[0][0], name, "name")
    key = rows[0][1]
    assert len(key) == 64 and all(c in "0123456789abcdef" for c in key), key
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    eq(intake(s, key, [rec(now, "via sql", "ERROR")]).status, 200, "the key works")
    got = s.mysql(f"SELECT service, level, body FROM admin_recent_logs WHERE service = '{name}'")
    eq(got, [[name, "error", "via sql"]], "admin_recent_logs")
    got = s.mysql(f"SELECT level, records FROM admin_log_levels_24h WHERE service = '{name}'")
    eq(got, [["error", "1"]], "admin_log_levels_24h")
    got = s.mysql(f"SELECT privileged, allowed_ips FROM admin_log_services WHERE name = '{name}'")
    eq(got, [["0", '["127.0.0.%"]']], "admin_log_services")
    new = s.mysql(f"CALL log_service_rotate_key('{name}')")[0][1]
    key_stops(s, key, "old key")
    eq(intake(s, new, [rec()]).status, 200, "rotated key")
    s.mysql(f"UPDATE log_services SET disabled_at = UTC_TIMESTAMP(6) WHERE name = '{name}'")
    key_stops(s, new, "disabled by hand")
    for bad in (f"CALL log_service_create('{name}', FALSE, NULL, NULL)",
                "CALL log_service_create('bad name', FALSE, NULL, NULL)",
                f"CALL log_service_create('{uniq()}', FALSE, 'not json', NULL)",
                f"CALL log_service_create('{uniq()}', FALSE, NULL, 0)",
                "CALL log_service_rotate_key('no-such-service-x')",
                f"CALL log_service_rotate_key('{name}')"):
        try:
            s.mysql(bad)
        except RuntimeError:
            continue
        raise AssertionError(f"accepted: {bad}")


def sql_refused(s, sql, message):
    """sql must fail with SQLSTATE 45000 and a message holding message."""
    try:
        rows = s.mysql(sql)
    except RuntimeError as e:
        assert "(45000)" in str(e) and message in str(e), f"{sql}: {e}"
        return
    raise AssertionError(f"accepted: {sql} -> {rows}")


def services_named(s, name_sql):
    return int(s.scalar(f"SELECT COUNT(*) FROM log_services WHERE name = {name_sql}"))


NAME_RULE = "name must be 1 to 64 of A-Z a-z 0-9 _ . -"


def test_mysql_create_names_byte_exact(s):
    # a final newline ('$' matched before it), U+017F and the Kelvin sign
    # U+212A (s and k under a _ci collation), given as bytes so that the
    # client's character set cannot change them
    for hostile in (f"'{uniq('nl')}\\n'", f"CONCAT('{uniq('nl')}', CHAR(10))",
                    "CONVERT(X'C5BF' USING utf8mb4)", "CONVERT(X'E284AA' USING utf8mb4)",
                    f"CONCAT('{uniq('long')}', CONVERT(X'C5BF' USING utf8mb4))",
                    f"CONCAT('{uniq('kelvin')}', CONVERT(X'E284AA' USING utf8mb4))",
                    "REPEAT('a', 65)", "''", "NULL", "'a b'", "'tab\\there'"):
        sql_refused(s, f"CALL log_service_create({hostile}, FALSE, NULL, NULL)", NAME_RULE)
        if hostile != "NULL":
            eq(services_named(s, hostile), 0, f"nothing stored for {hostile}")
    # a non-strict client cut a long name to the parameter's 64 characters
    sql_refused(s, "SET sql_mode = ''; CALL log_service_create(REPEAT('c', 65), FALSE, NULL, NULL)",
                NAME_RULE)
    eq(services_named(s, "REPEAT('c', 64)"), 0, "no truncated name")
    long = ("x" + uniq("sixty-four")) * 5
    long = long[:64]
    rows = s.mysql(f"CALL log_service_create('{long}', FALSE, NULL, NULL)")
    eq(rows[0][0], long, "64 characters")
    eq(s.post("/services", {"name": long + "y"}, key=s.admin_key).status, 400, "65 over HTTP")


def test_mysql_create_checks_fields_like_http(s):
    ips = "allowed_ips must be NULL or a JSON array of 1 to 100 masks"
    mask = "is neither a wildcard mask like 192.168.% nor a CIDR"
    bad = [
        ("FALSE", "'[\"bogus\", 1, {\"a\":2}]'", "NULL", "allowed_ips[0] " + mask),
        ("FALSE", "'[\"10.0.0.0/8\", 1]'", "NULL", "allowed_ips[1] must be a string"),
        ("FALSE", "'[{\"a\":2}]'", "NULL", "allowed_ips[0] must be a string"),
        ("FALSE", "'[null]'", "NULL", "allowed_ips[0] must be a string"),
        ("FALSE", "CONCAT('[\"', REPEAT('1', 300), '\"]')", "NULL", "allowed_ips[0] " + mask),
        ("FALSE", "'[\"1.2.3.*\"]'", "NULL", mask),
        ("FALSE", "'[\"10.0.0.0/8\\\\n\"]'", "NULL", mask),
        ("FALSE", "'[\"192.168.%\", \"\"]'", "NULL", "allowed_ips[1] " + mask),
        ("FALSE", "'[]'", "NULL", ips),
        ("FALSE", "'{\"a\": \"10.0.0.0/8\"}'", "NULL", ips),
        ("FALSE", "'\"10.0.0.0/8\"'", "NULL", ips),
        ("FALSE", "'not json'", "NULL", ips),
        ("FALSE", "CONCAT('[', REPEAT('\"10.0.0.0/8\",', 100), '\"::1\"]')", "NULL", ips),
        ("FALSE", "NULL", "1.5", "retention_days must be NULL or a whole number from 1 to 100000"),
        ("FALSE", "NULL", "0.5", "retention_days"),
        ("FALSE", "NULL", "0", "retention_days"),
        ("FALSE", "NULL", "-1", "retention_days"),
        ("FALSE", "NULL", "100001", "retention_days"),
        ("5", "NULL", "NULL", "privileged must be NULL, FALSE (0) or TRUE (1)"),
        ("2", "NULL", "NULL", "privileged"),
        ("-1", "NULL", "NULL", "privileged"),
        ("0.5", "NULL", "NULL", "privileged"),
    ]
    for priv, allowed, days, message in bad:
        name = uniq("sqlbad")
        sql_refused(s, f"CALL log_service_create('{name}', {priv}, {allowed}, {days})", message)
        eq(services_named(s, f"'{name}'"), 0, f"nothing stored for {priv}, {allowed}, {days}")
    good = [("TRUE", "1", "1"), ("FALSE", "0", "100000"), ("NULL", "0", "NULL"),
            ("1", "1", "30.0"), ("0", "0", "'7'")]
    for priv, stored_priv, days in good:
        name = uniq("sqlgood")
        s.mysql(f"CALL log_service_create('{name}', {priv}, NULL, {days})")
        want = {"NULL": "NULL", "30.0": "30", "'7'": "7"}.get(days, days)
        eq(s.mysql(f"SELECT privileged, retention_days FROM log_services WHERE name = '{name}'"),
           [[stored_priv, want]], f"{priv}, {days}")
    name = uniq("sql100")
    s.mysql(f"CALL log_service_create('{name}', FALSE,"
            " CONCAT('[', REPEAT('\"10.0.0.0/8\",', 99), '\"::1\"]'), NULL)")
    eq(s.scalar(f"SELECT JSON_LENGTH(allowed_ips) FROM log_services WHERE name = '{name}'"),
       "100", "100 masks")


def test_mysql_create_stores_allowed_ips_as_http_does(s):
    # whitespace, newlines and escapes are not kept: the array is written
    # back as HTTP writes it, so `cairnctl service list` stays one line each
    masks = ["10.0.0.0/8", "127.0.0.%", "::ffff:1.2.3.4/128", "fe80::_"]
    # (SQL text: \\ is one backslash for JSON's escapes, \n a real newline)
    written = ('[ "1\\\\u0030.0.0.0\\\\/8" ,\\n\\t"127.0.0.%",\\r\\n'
               ' "::ffff:1.2.3.4/128", "fe80::_" ]')
    sql = uniq("sqlws")
    s.mysql(f"CALL log_service_create('{sql}', FALSE, '{written}', NULL)")
    http, _ = new_service(s, allowed_ips=masks)
    got = dict(s.mysql("SELECT name, allowed_ips FROM log_services"
                       f" WHERE name IN ('{sql}', '{http}')"))
    eq(got[sql], '["10.0.0.0/8","127.0.0.%","::ffff:1.2.3.4/128","fe80::_"]', "stored compacted")
    eq(got[sql], got[http], "as HTTP stores it")
    r = ctl(s, "service", "list")
    eq(r.returncode, 0, r.stderr)
    line = [x for x in r.stdout.splitlines() if x.startswith(sql + "\t")]
    eq(len(line), 1, r.stdout)
    eq(line[0].split("\t")[2], got[http], "one TSV field")


def test_mysql_create_masks_agree_with_http(s):
    """Each mask is accepted by log_service_create exactly when POST
    /services accepts it (lib/logs_parse.c is the authority)."""
    masks = [
        "10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.4/33", "1.2.3.4/01", "1.2.3.4/",
        "1.2.3.4/8/8", "/8", "127.0.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4",
        "1.2.3", "1.2.3.4.5", "1.2.3.4.", "192.168.%", "192.168._.1", "%", "_", "1.2.3.*",
        "g%", "192.168.% ", " 192.168.%", "10.0.0.0/8 ",
        "::1", "::", "::/0", "::1/128", "::1/129", "::1/012", "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8::", "1::8", "1:::8", ":::", ":1", "1:", "12345::1", "ABCD::ef01",
        "fe80::1%eth0", "fe80::%", "::ffff:1.2.3.4", "::ffff:1.2.3.4/96", "::1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:01.2.3.4", "::1.2.3.4:5",
        "1.2.3.4::1", "1:2:3:4:5:6::1.2.3.4", "::a.b.c.d",
        "0000:0000:0000:0000:0000:0000:255.255.255.255",
        "0000:0000:0000:0000:0000:00000:255.255.255.255",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
        "1" * 64, "%" * 64, "%" * 65, "\u017f%", "\u212a%",
    ]
    for m in masks:
        http = s.post("/services", {"name": uniq("agree"), "allowed_ips": [m]},
                      key=s.admin_key).status
        assert http in (201, 400), (m, http)
        literal = json.dumps([m]).replace("\\", "\\\\").replace("'", "\\'")
        try:
            s.mysql(f"CALL log_service_create('{uniq('agree')}', FALSE, '{literal}', NULL)")
            sql = 201
        except RuntimeError as e:
            assert "(45000)" in str(e), e
            sql = 400
        eq(sql, http, f"mask {m!r}")


def test_mysql_rotate_matches_names_exactly(s):
    name, key = new_service(s)
    before = s.scalar(f"SELECT HEX(key_hash) FROM log_services WHERE name = '{name}'")
    for other in (f"'{name} '", f"'{name}  '", f"CONCAT('{name}', CHAR(10))",
                  f"CONCAT('{name}', CHAR(9))", f"UPPER('{name}')"):
        try:
            s.mysql(f"CALL log_service_rotate_key({other})")
        except RuntimeError as e:
            assert "(45000)" in str(e), e
        else:
            raise AssertionError(f"rotated {other}")
    sql_refused(s, f"CALL log_service_rotate_key('{name} ')", NAME_RULE)
    sql_refused(s, "CALL log_service_rotate_key(CONVERT(X'C5BF' USING utf8mb4))", NAME_RULE)
    eq(s.scalar(f"SELECT HEX(key_hash) FROM log_services WHERE name = '{name}'"), before,
       "the key is unchanged")
    eq(intake(s, key, [rec()]).status, 200, "the key still works")


# ---------------------------------------------------------------- retention

def test_retention_job(s):
    name, key = new_service(s, retention_days=2)
    keep_name, keep_key = new_service(s)
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3))
    fresh = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    data = [rec(old.strftime("%Y-%m-%d %H:%M:%S"), f"old{i}") for i in range(1500)]
    data.append(rec(fresh.strftime("%Y-%m-%d %H:%M:%S"), "fresh"))
    eq(intake(s, key, data).status, 200, "intake")
    eq(intake(s, keep_key, data[:3]).status, 200, "intake, no retention")
    s.mysql("UPDATE job_leases SET next_run_at = UTC_TIMESTAMP(6) WHERE name = 'logs-retention'")
    s.wait_for(lambda: count(s, name) == 1, timeout=60, what="the retention job")
    eq([x[2] for x in stored(s, name)], ["fresh"], "fresh record kept")
    eq(count(s, keep_name), 3, "a service without retention keeps everything")
