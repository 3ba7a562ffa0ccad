"""Usage tags (API.md §2): the compat routes, exact counting, history,
bucketed series, rollups, listing and deletion.

Every test makes its own tags (unique names), so tests do not depend on
each other or on the order they run in.
"""
import base64
import datetime
import json
import os
import re
import subprocess
import threading
import urllib.parse
import uuid

from cairn import eq, is_envelope

TEXT = "text/plain; charset=utf-8"
_keys = {}


def key(s, *scopes):
    """A cached API key holding exactly the given scopes."""
    scopes = tuple(sorted(scopes or ("tags:read", "tags:write")))
    if scopes not in _keys:
        _keys[scopes] = s.new_key(list(scopes), name="tags " + " ".join(scopes))[1]
    return _keys[scopes]


def fresh(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def q(tag):
    return urllib.parse.quote(tag, safe="")


def call(s, route, tag=None, method="GET", extra="", k=None, headers=None):
    """method /route?tag=<tag>&extra with a read+write key."""
    parts = []
    if tag is not None:
        parts.append("tag=" + q(tag))
    if extra:
        parts.append(extra)
    path = route + ("?" + "&".join(parts) if parts else "")
    return s.request(method, path, key=k or key(s), headers=headers)


def text_is(r, status, body):
    eq(r.status, status, f"status of {r!r}")
    eq(r.headers.get("content-type"), TEXT, "content type")
    eq(r.body, body.encode(), "body")


def create(s, tag):
    text_is(call(s, "/create", tag), 200, "Tag Created Successfully")


def sql_str(b):
    """A MariaDB string literal for bytes (hex, so any byte is safe)."""
    return "X'" + b.hex() + "'" if b else "''"


def tag_id(s, tag):
    return s.scalar(f"SELECT id FROM tags WHERE name = {sql_str(tag.encode())}")


def history_rows(s, tag):
    return int(s.scalar("SELECT COUNT(*) FROM tag_history h JOIN tags t ON t.id = h.tag_id"
                        f" WHERE t.name = {sql_str(tag.encode())}"))


def ctl(s, *args, env=None):
    """Runs cairnctl on the stack's configuration."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    e.update(env or {})
    out = subprocess.run([os.path.join(s.env["CAIRN_BUILD_DIR"], "bin/cairnctl"),
                          "--config", s.env["CAIRN_CONF"], *args],
                         capture_output=True, text=True, timeout=300, env=e)
    assert out.returncode == 0, f"cairnctl {args}: {out.returncode} {out.stderr}"
    return out.stdout


# ------------------------------------------------------------------ /create

def test_create_outcomes(s):
    tag = fresh()
    for method in ("GET", "POST"):
        t = tag + method
        text_is(call(s, "/create", t, method), 200, "Tag Created Successfully")
        text_is(call(s, "/create", t, method), 409, "Tag already exists!")
        text_is(call(s, "/get", t, method), 200, "0")
        text_is(call(s, "/create", None, method), 412, "Invalid Data")
        text_is(call(s, "/create", "", method), 412, "Invalid Data")
    # a body is ignored: parameters come from the query string only
    r = s.post("/create", "tag=" + fresh(), key=key(s),
               content_type="application/x-www-form-urlencoded")
    text_is(r, 412, "Invalid Data")


def test_names_are_exact(s):
    base = fresh("Exact")
    names = [base, base.lower(), base + " ", " " + base, base + "\u00e9",
             base + "e\u0301"]
    for n in names:
        create(s, n)
    for i, n in enumerate(names):
        for _ in range(i + 1):
            text_is(call(s, "/update", n), 200, str(_ + 1))
    for i, n in enumerate(names):
        text_is(call(s, "/get", n), 200, str(i + 1))
    # '+' in a query string is a space
    r = s.get("/get?tag=%20" + base, key=key(s))
    text_is(r, 200, str(names.index(" " + base) + 1))
    r = s.get("/get?tag=+" + base, key=key(s))
    text_is(r, 200, str(names.index(" " + base) + 1))


def test_name_lengths(s):
    ok = [fresh("l") + "x" * 177, "\u00e9" * 191, "\U0001F600" * 191]
    assert len(ok[0]) == 191
    for n in ok:
        create(s, n)
        text_is(call(s, "/update", n), 200, "1")
        text_is(call(s, "/get", n), 200, "1")
    for n in ["x" * 192, "\u00e9" * 192, "\U0001F600" * 192]:
        text_is(call(s, "/create", n), 412, "Invalid Data")
        text_is(call(s, "/update", n), 412, "Invalid Data")
        text_is(call(s, "/get", n), 412, "Invalid Data")
        text_is(call(s, "/history", n), 412, "Invalid Data")


def test_bad_names(s):
    for raw in ["a%00b", "a%01", "%7F", "%0A", "%FF", "%C3", "%ED%A0%80", "%C0%AF",
                "a%C2%85b", "%C2%80", "%C2%9F"]:   # the last three: C1 controls
        for route in ("/create", "/update", "/get", "/history"):
            r = s.get(f"{route}?tag={raw}", key=key(s))
            text_is(r, 412, "Invalid Data")


def test_repeated_tag_is_400(s):
    r = s.get("/get?tag=a&tag=b", key=key(s))
    eq(r.status, 400, "status")
    assert is_envelope(r), r
    # a malformed escape spoils the whole query string (docs/tags.md)
    r = s.get("/get?tag=%zz", key=key(s))
    eq((r.status, r.error_code()), (400, "bad_query"), "malformed escape")


# ------------------------------------------------------------------ /update

def test_update_outcomes(s):
    tag = fresh()
    create(s, tag)
    text_is(call(s, "/update", tag), 200, "1")
    text_is(call(s, "/update", tag, "POST"), 200, "2")
    text_is(call(s, "/update", tag, extra="n=5"), 200, "7")
    text_is(call(s, "/update", fresh()), 404, "Tag does not exist!")
    text_is(call(s, "/update", fresh(), "POST"), 404, "Tag does not exist!")
    text_is(call(s, "/update", None), 412, "Invalid Data")
    text_is(call(s, "/update", ""), 412, "Invalid Data")
    eq(history_rows(s, tag), 3, "history rows")
    amounts = s.mysql(f"SELECT amount FROM tag_history WHERE tag_id = {tag_id(s, tag)} ORDER BY id")
    eq([a[0] for a in amounts], ["1", "1", "5"], "amounts")


def test_update_n_bounds(s):
    tag = fresh()
    create(s, tag)
    text_is(call(s, "/update", tag, extra="n=1"), 200, "1")
    text_is(call(s, "/update", tag, extra="n=1000000000"), 200, "1000000001")
    for bad in ["0", "1000000001", "-1", "abc", "", "01", "1.5", "1e3", "+1", "%2B1", "%201",
                "1%20", "0x10", "99999999999999999999999", "%00"]:
        r = call(s, "/update", tag, extra="n=" + bad)
        text_is(r, 412, "Invalid Data")
    r = call(s, "/update", tag, extra="n=1&n=2")
    eq(r.status, 400, "repeated n")
    # nothing of the rejected calls was counted or recorded
    text_is(call(s, "/get", tag), 200, "1000000001")
    eq(history_rows(s, tag), 2, "history rows")
    # a bad n on an unknown tag is still 412 (the request is invalid)
    text_is(call(s, "/update", fresh(), extra="n=0"), 412, "Invalid Data")


def test_update_overflow_is_412(s):
    tag = fresh()
    create(s, tag)
    s.mysql(f"UPDATE tags SET count = 18446744073709551615 - 3 WHERE name = '{tag}'")
    text_is(call(s, "/update", tag, extra="n=3"), 200, "18446744073709551615")
    text_is(call(s, "/update", tag), 412, "Invalid Data")
    text_is(call(s, "/get", tag), 200, "18446744073709551615")
    eq(history_rows(s, tag), 1, "history rows")


def test_concurrent_updates_are_exact(s):
    tag = fresh("hot")
    create(s, tag)
    k = key(s)
    answers, errors = [], []
    lock = threading.Lock()

    def client():
        for _ in range(20):
            try:
                r = s.get("/update?tag=" + q(tag), key=k, timeout=120)
                with lock:
                    if r.status == 200:
                        answers.append(int(r.text))
                    else:
                        errors.append(r)
            except Exception as e:  # noqa: BLE001 - report every failure
                with lock:
                    errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(errors, [], "failed requests")
    text_is(call(s, "/get", tag), 200, "1000")
    eq(history_rows(s, tag), 1000, "history rows")
    # every caller saw its own increment: the answers are 1..1000, each once
    eq(sorted(answers), list(range(1, 1001)), "the counts returned")


def test_idempotent_replay(s):
    tag = fresh()
    create(s, tag)
    hk = {"Idempotency-Key": "idem-" + uuid.uuid4().hex}
    r1 = call(s, "/update", tag, extra="n=4", headers=hk)
    text_is(r1, 200, "4")
    r2 = call(s, "/update", tag, extra="n=4", headers=hk)
    text_is(r2, 200, "4")
    eq(r2.headers.get("idempotent-replayed"), "true", "replay header")
    text_is(call(s, "/get", tag), 200, "4")
    eq(history_rows(s, tag), 1, "history rows after the replay")
    # the same key for another request
    r3 = call(s, "/update", tag, extra="n=5", headers=hk)
    eq(r3.status, 422, "status")
    eq(r3.error_code(), "idempotency_key_reused", "code")
    # a 404 stores nothing: the key stays free for the real request
    other = fresh()
    hk2 = {"Idempotency-Key": "idem-" + uuid.uuid4().hex}
    text_is(call(s, "/update", other, headers=hk2), 404, "Tag does not exist!")
    create(s, other)
    text_is(call(s, "/update", other, headers=hk2), 200, "1")
    text_is(call(s, "/update", other, headers=hk2), 200, "1")
    text_is(call(s, "/get", other), 200, "1")
    # without the key every call counts
    text_is(call(s, "/update", tag, extra="n=4"), 200, "8")
    # GET and POST /update are one route (API.md §0: scoped per route; a
    # different method is a different request): the key is not free for
    # the other method, which would count a retried ping twice
    hk3 = {"Idempotency-Key": "idem-" + uuid.uuid4().hex}
    text_is(call(s, "/update", tag, headers=hk3), 200, "9")
    r4 = call(s, "/update", tag, method="POST", headers=hk3)
    eq((r4.status, r4.error_code()), (422, "idempotency_key_reused"), "POST after GET")
    text_is(call(s, "/get", tag), 200, "9")


def test_concurrent_idempotent_duplicates_count_once(s):
    tag = fresh()
    create(s, tag)
    hk = {"Idempotency-Key": "dup-" + uuid.uuid4().hex}
    out = []

    def client():
        out.append(call(s, "/update", tag, headers=hk))

    threads = [threading.Thread(target=client) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in out:
        text_is(r, 200, "1")
    text_is(call(s, "/get", tag), 200, "1")
    eq(history_rows(s, tag), 1, "history rows")


# --------------------------------------------------------------------- /get

def test_get_outcomes(s):
    tag = fresh()
    create(s, tag)
    call(s, "/update", tag, extra="n=41")
    call(s, "/update", tag)
    for method in ("GET", "POST"):
        text_is(call(s, "/get", tag, method), 200, "42")
        text_is(call(s, "/get", fresh(), method), 404, "Tag does not exist!")
        text_is(call(s, "/get", None, method), 412, "Invalid Data")
        text_is(call(s, "/get", "", method), 412, "Invalid Data")


def test_methods(s):
    for route in ("/create", "/update", "/get", "/history"):
        r = s.request("PUT", route + "?tag=x", key=key(s))
        eq(r.status, 405, route)
        assert is_envelope(r), r
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        assert {"GET", "POST"} <= allow, (route, allow)


def test_scopes(s):
    tag = fresh()
    create(s, tag)
    # no key (the test stack grants anonymous callers nothing)
    r = s.get("/get?tag=" + tag)
    eq(r.status, 401, "no key")
    ro = key(s, "tags:read")
    wo = key(s, "tags:write")
    eq(s.get("/create?tag=" + fresh(), key=ro).status, 403, "create with tags:read")
    eq(s.get("/update?tag=" + tag, key=ro).status, 403, "update with tags:read")
    eq(s.get("/get?tag=" + tag, key=wo).status, 403, "get with tags:write")
    eq(s.get("/history?tag=" + tag, key=wo).status, 403, "history with tags:write")
    eq(s.get("/tags", key=wo).status, 403, "list with tags:write")
    text_is(s.get("/get?tag=" + tag, key=ro), 200, "0")
    text_is(s.get("/update?tag=" + tag, key=wo), 200, "1")
    eq(s.request("DELETE", "/tags/" + tag, key=key(s)).status, 403, "delete without admin")
    eq(s.get("/get?tag=" + tag, key=s.admin_key).status, 200, "admin holds all")


# ----------------------------------------------------------- /history compat

HIST_KEY = re.compile(rb'"(\d+)":\{"date":"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})","amount":(\d+)\}')


def test_history_compat(s):
    tag = fresh()
    text_is(call(s, "/history", tag), 404, "No Data Found!")          # unknown tag
    create(s, tag)
    text_is(call(s, "/history", tag), 404, "No Data Found!")          # no history yet
    text_is(call(s, "/history", None), 412, "Invalid Data")
    text_is(call(s, "/history", ""), 412, "Invalid Data")
    amounts = [1, 3, 1, 7, 2]
    for n in amounts:
        call(s, "/update", tag, extra=f"n={n}")
    for method in ("GET", "POST"):
        r = call(s, "/history", tag, method)
        eq(r.status, 200, "status")
        assert r.headers["content-type"].startswith("application/json"), r.headers
        assert "link" not in r.headers, r.headers
        # the exact shape: {"1":{"date":"...","amount":1},"2":...}
        inner = r.body[1:-1]
        items = HIST_KEY.findall(inner)
        eq(b",".join(b'"%s":{"date":"%s","amount":%s}' % it for it in items), inner, "body shape")
        j = r.json()
        eq(list(j.keys()), [str(i) for i in range(1, 6)], "numbering")
        eq([j[str(i)]["amount"] for i in range(1, 6)], amounts, "oldest first")
        dates = [j[str(i)]["date"] for i in range(1, 6)]
        eq(dates, sorted(dates), "dates ascending")


def test_history_pages(s):
    tag = fresh()
    create(s, tag)
    for n in range(1, 12):
        call(s, "/update", tag, extra=f"n={n}")
    full = call(s, "/history", tag).json()
    eq(len(full), 11, "rows")
    seen = {}
    path = "/history?tag=" + q(tag) + "&limit=4"
    pages = 0
    while path:
        r = s.get(path, key=key(s))
        eq(r.status, 200, f"page {pages}")
        page = r.json()
        assert 1 <= len(page) <= 4, page
        for k, v in page.items():
            assert k not in seen, k
            seen[k] = v
        pages += 1
        link = r.headers.get("link")
        if link:
            m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
            assert m, link
            path = m.group(1)
        else:
            path = None
    eq(pages, 3, "pages")
    eq(seen, full, "pages joined equal the whole history")
    # a full last page has no Link
    r = s.get("/history?tag=" + q(tag) + "&limit=11", key=key(s))
    assert "link" not in r.headers, r.headers
    eq(len(r.json()), 11, "one page")
    r = s.get("/history?tag=" + q(tag) + "&limit=10", key=key(s))
    assert "link" in r.headers, r.headers
    # the page after the last row is empty, not missing; a cursor alone
    # gives a page of the default size
    cursor = re.search(r"cursor=([^&>]+)", r.headers["link"]).group(1)
    r = s.get("/history?tag=" + q(tag) + "&cursor=" + cursor, key=key(s))
    eq(r.status, 200, "cursor without limit")
    eq(list(r.json().keys()), ["11"], "the last row")
    assert "link" not in r.headers, r.headers
    # a cursor after the last row (the format is cairn's own: base64url of
    # time, id and row number joined by 0x1f)
    at, rid = s.mysql(f"SELECT at, id FROM tag_history WHERE tag_id = {tag_id(s, tag)}"
                      " ORDER BY at DESC, id DESC LIMIT 1")[0]
    raw = "\x1f".join([at, rid, "11"]).encode()
    end = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    r = s.get("/history?tag=" + q(tag) + "&limit=5&cursor=" + end, key=key(s))
    eq(r.status, 200, "page after the end")
    eq(r.json(), {}, "empty page")


def test_history_page_errors(s):
    tag = fresh()
    create(s, tag)
    call(s, "/update", tag)
    for extra in ["limit=0", "limit=10001", "limit=-1", "limit=abc", "limit=",
                  "cursor=%%%", "cursor=abc", "cursor=", "limit=1&limit=2",
                  "from=2020-01-01T00:00:00Z", "to=2020-01-01T00:00:00Z"]:
        r = call(s, "/history", tag, extra=extra)
        eq(r.status, 400, extra)
        assert is_envelope(r), (extra, r)
    r = call(s, "/history", tag, extra="limit=10000")
    eq(r.status, 200, "limit at the maximum")
    # a forged cursor whose row number a page would overflow from
    call(s, "/update", tag)
    for seq in ["9223372036854775807", "9223372036854775000", "4611686018427387904"]:
        raw = "\x1f".join(["1000-01-01 00:00:00.000000", "1", seq]).encode()
        forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        for limit in ["1", "10000"]:
            r = call(s, "/history", tag, extra=f"limit={limit}&cursor={forged}")
            eq(r.status, 400, f"row number {seq}, limit {limit}")
            eq(r.error_code(), "bad_cursor", f"code for row number {seq}")


def test_history_link_encodes_the_tag(s):
    tag = fresh("a b&c=d/é+")
    create(s, tag)
    for _ in range(3):
        call(s, "/update", tag)
    r = call(s, "/history", tag, extra="limit=2")
    m = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers["link"])
    r2 = s.get(m.group(1), key=key(s))
    eq(r2.status, 200, "next page")
    eq(list(r2.json().keys()), ["3"], "the rest")


# ------------------------------------------------------------ bucketed series

def utc(y, mo, d, h=0, mi=0, sec=0, us=0):
    return datetime.datetime(y, mo, d, h, mi, sec, us, tzinfo=datetime.timezone.utc)


def sqltime(t):
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def rfc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_rows(s, tag, rows):
    """Inserts history rows [(datetime, amount)] directly, and the counter."""
    tid = tag_id(s, tag)
    values = ",".join(f"({tid}, '{sqltime(t)}', {a})" for t, a in rows)
    s.mysql(f"INSERT INTO tag_history (tag_id, at, amount) VALUES {values};"
            f" UPDATE tags SET count = count + {sum(a for _, a in rows)} WHERE id = {tid}")


def series(s, tag, **params):
    qs = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in params.items())
    return s.get("/history?tag=" + q(tag) + ("&" + qs if qs else ""), key=key(s))


def expected_series(rows, first, step, n):
    out = []
    for i in range(n):
        b = first + i * step
        out.append({"t": rfc(b), "count": sum(a for t, a in rows if b <= t < b + step)})
    return out


def recent_midnight():
    """UTC midnight two days ago: recent enough never to be rolled up."""
    now = datetime.datetime.now(datetime.timezone.utc)
    d = (now - datetime.timedelta(days=2)).date()
    return utc(d.year, d.month, d.day)


def test_series_across_day_boundary(s):
    tag = fresh()
    create(s, tag)
    m = recent_midnight()
    sec = datetime.timedelta(seconds=1)
    rows = [(m - 90 * sec, 1), (m - 30 * sec, 2), (m - datetime.timedelta(microseconds=1), 4),
            (m, 8), (m + 59 * sec, 16), (m + 60 * sec, 32), (m + 3600 * sec, 64),
            (m - 3600 * sec, 128)]
    add_rows(s, tag, rows)
    minute, hour, day = (datetime.timedelta(minutes=1), datetime.timedelta(hours=1),
                         datetime.timedelta(days=1))
    # minute buckets 23:58 .. 00:01
    r = series(s, tag, bucket="minute", **{"from": rfc(m - 90 * sec), "to": rfc(m + 61 * sec)})
    eq(r.status, 200, "status")
    j = r.json()
    eq(list(j.keys()), ["tag", "bucket", "series"], "keys")
    eq(j["tag"], tag, "tag")
    eq(j["bucket"], "minute", "bucket")
    eq(j["series"], expected_series(rows, m - 2 * minute, minute, 4), "minute series")
    # hour buckets, default from: 60 buckets ending with the one holding to
    to = m + 90 * minute
    j = series(s, tag, bucket="hour", to=rfc(to)).json()
    eq(len(j["series"]), 60, "default bucket count")
    eq(j["series"], expected_series(rows, m + hour - 59 * hour, hour, 60), "hour series")
    # day buckets with epoch seconds
    j = series(s, tag, bucket="day", **{"from": str(int((m - day).timestamp())),
                                        "to": str(int((m + day).timestamp()) - 1)}).json()
    eq(j["series"], expected_series(rows, m - day, day, 2), "day series")
    # to on a boundary belongs to the new bucket
    j = series(s, tag, bucket="day", **{"from": sqltime(m), "to": sqltime(m)}).json()
    eq(j["series"], [{"t": rfc(m), "count": 8 + 16 + 32 + 64}], "one day")


def test_series_defaults_and_zero_fill(s):
    tag = fresh()
    create(s, tag)
    for bucket, step in (("minute", 60), ("hour", 3600), ("day", 86400)):
        before = datetime.datetime.now(datetime.timezone.utc).timestamp()
        r = series(s, tag, bucket=bucket)
        after = datetime.datetime.now(datetime.timezone.utc).timestamp()
        eq(r.status, 200, bucket)
        pts = r.json()["series"]
        eq(len(pts), 60, bucket)
        assert all(p["count"] == 0 for p in pts), pts
        ts = [datetime.datetime.strptime(p["t"], "%Y-%m-%dT%H:%M:%S.%fZ")
              .replace(tzinfo=datetime.timezone.utc).timestamp() for p in pts]
        eq([b - a for a, b in zip(ts, ts[1:])], [step] * 59, "steps")
        assert before // step * step <= ts[-1] <= after // step * step, (bucket, ts[-1])
    # a fresh update lands in the last bucket
    call(s, "/update", tag, extra="n=9")
    pts = series(s, tag, bucket="day").json()["series"]
    eq(sum(p["count"] for p in pts), 9, "total")


def test_series_limits_and_errors(s):
    tag = fresh()
    create(s, tag)
    t0 = utc(2026, 1, 1)
    ok = series(s, tag, bucket="minute", **{"from": rfc(t0),
                                            "to": rfc(t0 + datetime.timedelta(minutes=9999))})
    eq(ok.status, 200, "10000 buckets")
    eq(len(ok.json()["series"]), 10000, "10000 buckets")
    cases = [
        ({"bucket": "minute", "from": rfc(t0), "to": rfc(t0 + datetime.timedelta(minutes=10000))},
         "too_many_buckets"),
        ({"bucket": "day", "from": "2000-01-01", "to": "2030-01-01"}, "bad_time"),
        ({"bucket": "day", "from": "2000-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
         "too_many_buckets"),
        ({"bucket": "week"}, "bad_bucket"),
        ({"bucket": ""}, "bad_bucket"),
        ({"bucket": "Hour"}, "bad_bucket"),
        ({"bucket": "hour", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
         "bad_range"),
        ({"bucket": "hour", "from": "yesterday"}, "bad_time"),
        ({"bucket": "hour", "to": "2026-13-01T00:00:00Z"}, "bad_time"),
        ({"bucket": "hour", "to": "2026-01-01T00:00:00+25:00"}, "bad_time"),
        ({"bucket": "hour", "to": "1e9"}, "bad_time"),
        ({"bucket": "hour", "to": "-5"}, "bad_time"),
        ({"bucket": "hour", "to": ""}, "bad_time"),
        ({"bucket": "day", "to": "1000-01-10T00:00:00Z"}, "bad_range"),
        ({"bucket": "hour", "to": "1000-01-01T00:30:00+01:00"}, "bad_time"),
    ]
    for params, code in cases:
        r = series(s, tag, **params)
        eq(r.status, 400, params)
        eq(r.error_code(), code, params)
    r = s.get("/history?tag=" + q(tag) + "&bucket=hour&bucket=day", key=key(s))
    eq(r.status, 400, "repeated bucket")
    r = series(s, fresh(), bucket="hour")
    eq(r.status, 404, "unknown tag")
    assert is_envelope(r), r
    r = s.get("/history?tag=&bucket=hour", key=key(s))
    eq(r.status, 412, "empty tag")
    eq(r.error_code(), "invalid_data", "code")
    r = s.get("/history?bucket=hour", key=key(s))
    eq(r.status, 412, "no tag")


# ------------------------------------------------------------------- rollups

def test_rollup_keeps_every_count(s):
    tag = fresh("roll")
    create(s, tag)
    now = datetime.datetime.now(datetime.timezone.utc)
    base = utc(now.year, now.month, now.day) - datetime.timedelta(days=45)
    rows = []
    for i in range(300):
        # spread over ~3 days around midnights, minutes and hours
        t = base + datetime.timedelta(minutes=17 * i, seconds=i % 60, microseconds=i)
        rows.append((t, 1 + i % 7))
    add_rows(s, tag, rows)
    for n in (2, 3):
        call(s, "/update", tag, extra=f"n={n}")   # recent raw rows stay raw
    total = sum(a for _, a in rows) + 5
    day_params = {"bucket": "day", "from": rfc(base - datetime.timedelta(days=1))}
    hour_params = {"bucket": "hour", "from": rfc(base),
                   "to": rfc(base + datetime.timedelta(hours=120))}
    before_day = series(s, tag, **day_params).json()["series"]
    before_hour = series(s, tag, **hour_params).json()["series"]
    eq(sum(p["count"] for p in before_day), total, "day total before")
    eq(before_hour, expected_series(rows, base, datetime.timedelta(hours=1), 121), "hours before")
    usage_before = s.mysql("SELECT day, uses, updates FROM admin_tag_usage_daily"
                           f" WHERE tag = '{tag}' ORDER BY day")

    # two rollups at once, in small batches: each row is folded exactly once
    outs = []

    def run():
        outs.append(ctl(s, "tags", "rollup", env={"CAIRN_TAGS_ROLLUP_BATCH": "37"}))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(len(outs), 2, "both rollups finished")

    tid = tag_id(s, tag)
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}"), "2", "raw rows left")
    eq(s.scalar(f"SELECT SUM(amount) FROM tag_history_hourly WHERE tag_id = {tid}"),
       str(total - 5), "hourly amounts")
    eq(s.scalar(f"SELECT SUM(updates) FROM tag_history_hourly WHERE tag_id = {tid}"),
       "300", "hourly updates")
    after_day = series(s, tag, **day_params).json()["series"]
    after_hour = series(s, tag, **hour_params).json()["series"]
    eq(after_day, before_day, "day series after the rollup")
    eq(after_hour, before_hour, "hour series after the rollup")
    # minute buckets: a rolled-up hour's total lands in its first minute
    mfrom = base
    mins = series(s, tag, bucket="minute", **{"from": rfc(mfrom),
                  "to": rfc(mfrom + datetime.timedelta(minutes=9999))}).json()["series"]
    exp_hours = expected_series(rows, base, datetime.timedelta(hours=1), 10000 // 60 + 1)
    for p in mins:
        t = datetime.datetime.strptime(p["t"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if t.minute != 0:
            eq(p["count"], 0, p["t"])
    eq({p["t"]: p["count"] for p in mins if p["count"]},
       {h["t"]: h["count"] for h in exp_hours if h["count"] and h["t"] <= mins[-1]["t"]},
       "minute series after the rollup")
    eq(s.mysql("SELECT day, uses, updates FROM admin_tag_usage_daily"
               f" WHERE tag = '{tag}' ORDER BY day"), usage_before, "admin view")
    # the compat history shows the raw rows still kept
    j = call(s, "/history", tag).json()
    eq([v["amount"] for v in j.values()], [2, 3], "raw history after the rollup")
    text_is(call(s, "/get", tag), 200, str(total))
    # a second run finds nothing to do
    assert "folded 0 " in ctl(s, "tags", "rollup"), "second rollup"


def test_rollup_boundary(s):
    """Rows older than tags.history_days, counted from the start of the
    hour, are rolled up; newer ones stay raw."""
    tag = fresh()
    create(s, tag)
    tid = tag_id(s, tag)
    s.mysql("INSERT INTO tag_history (tag_id, at, amount) VALUES"
            f" ({tid}, NOW(6) - INTERVAL 30 DAY - INTERVAL 2 HOUR, 1),"
            f" ({tid}, NOW(6) - INTERVAL 29 DAY, 2)")
    ctl(s, "tags", "rollup")
    eq(s.mysql(f"SELECT amount FROM tag_history WHERE tag_id = {tid}"), [["2"]], "raw left")
    eq(s.mysql(f"SELECT amount FROM tag_history_hourly WHERE tag_id = {tid}"), [["1"]], "rolled")


def test_rollup_by_the_worker(s):
    """The tags-rollup job of cairn-worker folds old rows when it is due
    (made due at once here through its lease row)."""
    tag = fresh()
    create(s, tag)
    tid = tag_id(s, tag)
    s.mysql("INSERT INTO tag_history (tag_id, at, amount) VALUES"
            f" ({tid}, NOW(6) - INTERVAL 40 DAY, 5), ({tid}, NOW(6) - INTERVAL 50 DAY, 6)")
    s.mysql("UPDATE job_leases SET next_run_at = NOW(6) WHERE name = 'tags-rollup'")
    s.wait_for(lambda: s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}") == "0",
               timeout=120, interval=0.2, what="the worker's rollup")
    eq(s.scalar(f"SELECT SUM(amount) FROM tag_history_hourly WHERE tag_id = {tid}"), "11",
       "rolled up")
    eq(s.scalar("SELECT failures FROM job_leases WHERE name = 'tags-rollup'"), "0", "failures")


# ---------------------------------------------------------------- GET /tags

def test_list_tags(s):
    prefix = fresh("L")
    names = [prefix + x for x in ("B", "a", "b", "\u00e9", "A ", "A")]
    for i, n in enumerate(names):
        create(s, n)
        for _ in range(i):
            call(s, "/update", n)
    expected = sorted(names, key=lambda n: n.encode())
    got, cursor, pages = [], None, 0
    # walk the whole list two at a time and keep ours
    while True:
        path = "/tags?limit=2" + ("&cursor=" + cursor if cursor else "")
        r = s.get(path, key=key(s))
        eq(r.status, 200, "status")
        j = r.json()
        eq(set(j.keys()), {"tags", "next_cursor"}, "keys")
        assert len(j["tags"]) <= 2, j
        for t in j["tags"]:
            eq(set(t.keys()), {"tag", "count", "created_at", "last_used_at"}, "item keys")
            if t["tag"].startswith(prefix):
                got.append(t)
        pages += 1
        cursor = j["next_cursor"]
        if cursor is None:
            break
    eq([t["tag"] for t in got], expected, "binary order")
    for t in got:
        i = names.index(t["tag"])
        eq(t["count"], i, t["tag"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", t["created_at"]), t
        if i == 0:
            eq(t["last_used_at"], None, "never used")
        else:
            assert t["last_used_at"] >= t["created_at"], t
    for bad in ["limit=0", "limit=1001", "limit=x", "cursor=zz", "cursor=!", "limit=1&limit=1"]:
        r = s.get("/tags?" + bad, key=key(s))
        eq(r.status, 400, bad)
        assert is_envelope(r), r
    eq(s.get("/tags?limit=1000", key=key(s)).status, 200, "limit max")


def test_list_tags_exact_name_lengths(s):
    """Names of every byte length near the database layer's buffer sizes
    come back whole from GET /tags."""
    prefix = fresh("N")
    names = [prefix + "x" * (n - len(prefix)) for n in (62, 63, 64, 65, 66, 127, 128, 129)]
    names += [prefix + "\u00e9" * 177, prefix + "\U0001F600" * (191 - len(prefix))]
    for n in names:
        create(s, n)
    found, cursor = set(), None
    while True:
        r = s.get("/tags?limit=1000" + ("&cursor=" + cursor if cursor else ""), key=key(s))
        eq(r.status, 200, "status")
        j = r.json()
        found.update(t["tag"] for t in j["tags"])
        cursor = j["next_cursor"]
        if cursor is None:
            break
    for n in names:
        assert n in found, (len(n.encode()), n)


# --------------------------------------------------------- DELETE /tags/<T>

def test_delete(s):
    admin = key(s, "tags:admin", "tags:read", "tags:write")
    tag = fresh("del/é x")
    create(s, tag)
    call(s, "/update", tag, extra="n=3")
    add_rows(s, tag, [(utc(2020, 1, 1, 5), 4)])
    ctl(s, "tags", "rollup")
    tid = tag_id(s, tag)
    r = s.request("DELETE", "/tags/" + q(tag), key=admin)
    eq(r.status, 200, "status")
    eq(r.json(), {"deleted": tag, "count": 7}, "body")
    text_is(call(s, "/get", tag), 404, "Tag does not exist!")
    text_is(call(s, "/history", tag), 404, "No Data Found!")
    eq(series(s, tag, bucket="hour").status, 404, "series")
    r = s.request("DELETE", "/tags/" + q(tag), key=admin)
    eq(r.status, 404, "again")
    assert is_envelope(r), r
    # pool workers that cached the tag's id must not write for it any more
    raw_rows = s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}")
    for _ in range(12):
        text_is(call(s, "/update", tag), 404, "Tag does not exist!")
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}"), raw_rows,
       "no history written for a deleted tag")
    # its history goes away in the background (or now, with cairnctl)
    ctl(s, "tags", "purge")
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}"), "0", "raw rows")
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_history_hourly WHERE tag_id = {tid}"), "0", "hourly")
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_purges WHERE tag_id = {tid}"), "0", "queue")
    # the name can be used again, with nothing of the old tag
    create(s, tag)
    text_is(call(s, "/get", tag), 200, "0")
    text_is(call(s, "/history", tag), 404, "No Data Found!")
    # and increments reach the new tag, whatever a pool worker cached
    for i in range(1, 13):
        text_is(call(s, "/update", tag), 200, str(i))
    eq(history_rows(s, tag), 12, "history of the new tag")
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}"), "0", "old id")


def test_delete_and_recreate_while_cached(s):
    """Every pool worker caches the tag's id; after a delete and a new
    /create the next increments must count on the new tag."""
    admin = key(s, "tags:admin")
    tag = fresh()
    for round_ in range(3):
        create(s, tag)
        for i in range(1, 17):
            text_is(call(s, "/update", tag), 200, str(i))
        eq(s.request("DELETE", "/tags/" + tag, key=admin).status, 200, f"delete {round_}")
    # bad names
    eq(s.request("DELETE", "/tags/" + "x" * 192, key=admin).status, 412, "too long")
    eq(s.request("DELETE", "/tags/", key=admin).status, 404, "no name")
    eq(s.request("DELETE", "/tags/%01", key=admin).status, 400, "control character")


def test_delete_purges_large_history(s):
    admin = key(s, "tags:admin")
    tag = fresh()
    create(s, tag)
    tid = tag_id(s, tag)
    s.mysql("INSERT INTO tag_history (tag_id, at, amount)"
            f" SELECT {tid}, NOW(6) - INTERVAL seq SECOND, 1 FROM seq_1_to_12000")
    eq(s.request("DELETE", "/tags/" + tag, key=admin).status, 200, "delete")
    out = ctl(s, "tags", "purge")
    # (the worker's own tags-purge run may have done part of it already)
    assert re.match(r"deleted \d+ history rows of deleted tags", out), out
    eq(s.scalar(f"SELECT COUNT(*) FROM tag_history WHERE tag_id = {tid}"), "0", "raw rows")


def test_metrics(s):
    tag = fresh()
    before = s.metrics().get("cairn_tags_updates_total", 0)
    create(s, tag)
    call(s, "/update", tag)
    assert s.metrics().get("cairn_tags_updates_total", 0) >= before + 1
    assert "cairn_tags_created_total" in s.metrics()
