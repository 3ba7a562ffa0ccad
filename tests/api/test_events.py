"""Event timeline (API.md §3): /add_event, /list_events, /remove_events,
/events/<id>, /events/<id>/stop, /events/tags, and `cairnctl event`."""
import concurrent.futures
import json
import os
import random
import re
import socket
import subprocess
import uuid

from cairn import eq, is_envelope

MSG_ADD = "This endpoint should create an event in db"
MSG_LIST = "This endpoint list all events in db"
MSG_REMOVE = "This endpoint should remove events in db"
MSG_PURGE = "This endpoint should remove events in db (purge all events)"

_keys = {}


def key(s, *scopes):
    """An API key with exactly these scopes (made once per scope set)."""
    k = tuple(sorted(scopes))
    if k not in _keys:
        _keys[k] = s.new_key(list(k), name="events-" + "-".join(k).replace(":", "_"))[1]
    return _keys[k]


def rw(s):
    return key(s, "events:read", "events:write")


def uniq(prefix="t"):
    """A tag no other test uses, so filters see only this test's events."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def add(s, body, k=None, **kw):
    return s.post("/add_event", body, key=k or rw(s), **kw)


def add_ok(s, tags, start=None, stop=None):
    body = {"tags": tags}
    if start is not None:
        body["start_epoch"] = start
    if stop is not None:
        body["stop_epoch"] = stop
    r = add(s, body)
    eq(r.status, 201, f"add {body}: {r}")
    return r.json()["_id"]


def add_raw(s, text, k=None):
    """Adds with exact body bytes (number spellings json.dumps would change)."""
    r = s.post("/add_event", text, key=k or rw(s), content_type="application/json")
    eq(r.status, 201, f"add {text}: {r}")
    return r.json()["_id"]


def list_events(s, query="", k=None):
    r = s.get("/list_events" + query, key=k or rw(s))
    eq(r.status, 200, f"list {query}: {r}")
    return r


def ids(r):
    return [e["_id"] for e in r.json()["array_events"]]


def remove(s, body, k=None):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return s.post("/remove_events", body, key=k or rw(s), content_type="application/json")


def event_count(s, sql_where):
    return int(s.scalar(f"SELECT COUNT(*) FROM events WHERE {sql_where}"))


def envelope(r, status, message=None, code=None):
    eq(r.status, status, f"status of {r}")
    assert is_envelope(r), f"no error envelope: {r}"
    if message is not None:
        eq(r.json()["error"]["message"], message, "message")
    if code is not None:
        eq(r.json()["error"]["code"], code, "code")


# ---------------------------------------------------------------- add_event

def test_add_compat_body(s):
    tag = uniq()
    text = '{"tags": ["%s", "b"], "start_epoch": 1650108997.592079, "stop_epoch": 1650109000}' % tag
    r = s.post("/add_event", text, key=rw(s), content_type="application/json")
    eq(r.status, 201, "status")
    j = r.json()
    eq(sorted(j), ["_id", "body", "message", "method"], "keys")
    assert isinstance(j["_id"], str) and re.fullmatch(r"[1-9][0-9]*", j["_id"]), j
    eq(j["message"], MSG_ADD, "message")
    eq(j["method"], "POST", "method")
    eq(j["body"], json.loads(text), "body echoed")
    # the echo keeps the number's spelling, not a re-formatted double
    assert b"1650108997.592079" in r.body, r.body
    rows = s.mysql(f"SELECT start_us, stop_us FROM events WHERE id = {j['_id']}")
    eq(rows, [["1650108997592079", "1650109000000000"]], "stored exactly")
    tags = s.mysql(f"SELECT tag FROM event_tags WHERE event_id = {j['_id']} ORDER BY pos")
    eq(tags, [[tag], ["b"]], "stored tags")
    eq(s.scalar(f"SELECT REPLACE(tags, CHAR(31), '|') FROM events WHERE id = {j['_id']}"),
       f"{tag}|b", "the copy listed")


def test_add_defaults(s):
    tag = uniq()
    before = int(s.scalar("SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"))
    i = add_ok(s, [tag])
    after = int(s.scalar("SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"))
    start, stop = s.mysql(f"SELECT start_us, COALESCE(stop_us, 'open') FROM events WHERE id = {i}")[0]
    # the server's clock, not a fixed value (generous: clocks of two processes)
    assert before - 5_000_000 <= int(start) <= after + 5_000_000, (before, start, after)
    eq(stop, "open", "no stop_epoch: open")
    # empty tags, null epochs
    r = add(s, {"tags": [], "start_epoch": None, "stop_epoch": None})
    eq(r.status, 201, "empty tags")
    eq(r.json()["body"], {"tags": [], "start_epoch": None, "stop_epoch": None}, "echo")


def test_add_tags_missing(s):
    for body in ['{}', '{"tags": null}', '{"start_epoch": 5}', '[]', '"tags"', '5']:
        r = s.post("/add_event", body, key=rw(s), content_type="application/json")
        envelope(r, 400, "tags Array is mandatory.")


def test_add_tags_not_array(s):
    for tags in ['"a"', '{"a": 1}', '1', 'true', '"[\\"a\\"]"']:
        r = s.post("/add_event", '{"tags": %s}' % tags, key=rw(s), content_type="application/json")
        envelope(r, 400, "tags invalid format, must be an Array.")


def test_add_bad_tag_elements(s):
    n = event_count(s, "1")
    for tags in [[1], ["a", None], ["a", ["b"]], ["a", {"b": 1}], [True], [""],
                 ["a\u0001"], ["a\nb"], ["x" * 192]]:
        r = add(s, {"tags": tags})
        envelope(r, 400)
        assert r.json()["error"]["code"] in ("invalid_tag",), r
    r = add(s, {"tags": [f"t{i}" for i in range(101)]})
    envelope(r, 400, code="too_many_tags")
    eq(event_count(s, "1"), n, "nothing stored")
    # 191 characters (multi-byte) is the longest tag
    eq(add(s, {"tags": ["é" * 191]}).status, 201, "191 characters")


def test_add_bad_epochs(s):
    for field in ("start_epoch", "stop_epoch"):
        for v in ['-1', '1e9', '1.65e9', '"now"', '"-5"', '"1e9"', 'true', '[1]', '{}',
                  '"0x10"', '"NaN"', '253402300800', '" 1"']:
            text = '{"tags": [], "%s": %s}' % (field, v)
            r = s.post("/add_event", text, key=rw(s), content_type="application/json")
            envelope(r, 400, code="invalid_epoch")
            assert field in r.json()["error"]["message"], r


def test_epochs_beyond_int64(s):
    """A JSON integer beyond int64 is valid JSON (API.md §0 lists what is
    not): an epoch spelled so is out of range like 253402300800, answered
    400 invalid_epoch naming the member, not invalid_json."""
    n = event_count(s, "1")
    for v in ["99999999999999999999", "9223372036854775808", "-9223372036854775809", "1e400"]:
        for field in ("start_epoch", "stop_epoch"):
            r = s.post("/add_event", '{"tags": [], "%s": %s}' % (field, v), key=rw(s),
                       content_type="application/json")
            envelope(r, 400, code="invalid_epoch")
            assert r.json()["error"]["message"].startswith(field + " must be"), r
        r = remove(s, '{"start_epoch_array": [1, %s]}' % v)
        envelope(r, 400, code="invalid_epoch")
        assert r.json()["error"]["message"].startswith("start_epoch_array[1] "), r
    i = add_ok(s, [uniq()], 1)
    r = s.post(f"/events/{i}/stop", '{"stop_epoch": 99999999999999999999}', key=rw(s),
               content_type="application/json")
    envelope(r, 400, code="invalid_epoch")
    eq(event_count(s, "1"), n + 1, "nothing else stored")
    eq(s.scalar(f"SELECT COALESCE(stop_us, 'open') FROM events WHERE id = {i}"), "open", "still open")
    # another member is echoed as sent
    r = s.post("/add_event", '{"tags": [], "n": 99999999999999999999}', key=rw(s),
               content_type="application/json")
    eq(r.status, 201, f"{r}")
    assert b'"n":99999999999999999999' in r.body, r.body


def test_add_stop_before_start(s):
    r = add(s, {"tags": ["a"], "start_epoch": 10, "stop_epoch": 9.999999})
    envelope(r, 400, "stop_epoch must not be before start_epoch.")
    r = add(s, {"tags": ["a"], "stop_epoch": 1})  # start = now
    envelope(r, 400, "stop_epoch must not be before start_epoch.")
    eq(add(s, {"tags": [], "start_epoch": 10, "stop_epoch": "10.000000"}).status, 201, "stop == start")


def test_add_content_type(s):
    body = '{"tags": ["a"]}'
    for ct in ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1",
               "application/jsonx"]:
        r = s.post("/add_event", body, key=rw(s), content_type=ct)
        envelope(r, 415)
    r = s.post("/add_event", body.encode(), key=rw(s))  # no Content-Type at all
    envelope(r, 415)
    for ct in ["application/json; charset=utf-8", "application/json;charset=UTF-8",
               "Application/JSON"]:
        r = s.post("/add_event", body, key=rw(s), content_type=ct)
        eq(r.status, 201, f"{ct}: {r}")


def test_add_invalid_json(s):
    for body in ['{"tags": [', '{"tags": [], "tags": []}', '{"tags": ["\\ud800"]}',
                 '\ufeff{"tags": []}', '{"tags": [NaN]}', '{"tags": []} x']:
        r = s.post("/add_event", body, key=rw(s), content_type="application/json")
        envelope(r, 400)


def test_add_idempotency(s):
    tag = uniq()
    ik = "ev-" + uuid.uuid4().hex
    body = {"tags": [tag], "start_epoch": 1650000000.5}
    r1 = add(s, body, headers={"Idempotency-Key": ik})
    r2 = add(s, body, headers={"Idempotency-Key": ik})
    eq(r1.status, 201, "first")
    eq(r2.status, 201, "replay")
    eq(r2.body, r1.body, "same answer")
    eq(s.scalar(f"SELECT COUNT(*) FROM event_tags WHERE tag = '{tag}'"), "1", "stored once")
    r3 = add(s, {"tags": [tag], "start_epoch": 1650000000.6}, headers={"Idempotency-Key": ik})
    envelope(r3, 422, code="idempotency_key_reused")


def group_commit(s):
    """(statements, rows) of the grouped /add_event writes (lib/gcommit)."""
    m = s.metrics()
    return (m.get('cairn_group_commit_statements_total{kind="events"}', 0.0),
            m.get('cairn_group_commit_rows_total{kind="events"}', 0.0))


def stored_events(s, event_ids):
    """{id: (start_us, stop_us or "open", [tags by pos])} from the tables."""
    where = ",".join(str(i) for i in event_ids)
    out = {}
    for i, start, stop, tags in s.mysql(
            f"SELECT id, start_us, COALESCE(stop_us, 'open'), HEX(tags) FROM events"
            f" WHERE id IN ({where})"):
        joined = bytes.fromhex(tags).decode()
        out[int(i)] = (int(start), stop, joined.split("\x1f") if joined else [])
    rows = {}
    for i, pos, tag in s.mysql(f"SELECT event_id, pos, HEX(tag) FROM event_tags"
                               f" WHERE event_id IN ({where}) ORDER BY event_id, pos"):
        rows.setdefault(int(i), []).append((int(pos), bytes.fromhex(tag).decode()))
    for i, (start, stop, tags) in out.items():
        eq(rows.get(i, []), list(enumerate(tags)), f"event {i}: tag rows match events.tags")
    return out


def test_concurrent_adds_each_get_their_own_id(s):
    """Events added at once by many clients are written together (lib/gcommit,
    sql/0008): each is answered 201 only once stored, with the id of its own
    event, which has its own start, stop and tags (none, non-ASCII, escapes,
    many)."""
    base = uniq("conc")
    sent = []  # (tags, start_epoch text, stop_epoch text or None, start_us, stop)
    for i in range(240):
        tags = [f"{base}-{i}", "shared", f"ü-{i % 7}", 'q"\\b', "😀"][:i % 6]  # 0 to 5
        if i % 11 == 0:
            tags += [f"{base}-many-{j}" for j in range(40)]
        stop = f"{1700000100 + i}.5" if i % 3 == 0 else None
        sent.append((tags, f"{1700000000 + i}.{i:06d}", stop,
                     (1700000000 + i) * 1_000_000 + i,
                     "open" if stop is None else str((1700000100 + i) * 1_000_000 + 500_000)))

    def one(item):
        tags, start, stop = item[:3]
        text = '{"tags": %s, "start_epoch": %s%s}' % (
            json.dumps(tags), start, f', "stop_epoch": {stop}' if stop else "")
        r = s.post("/add_event", text, key=rw(s), content_type="application/json")
        return r.status, (int(r.json()["_id"]) if r.status == 201 else r.body)

    st0, rows0 = group_commit(s)
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(one, sent))
    eq([a[0] for a in answers], [201] * len(sent), f"every event created: {answers[:3]}")
    got = stored_events(s, [a[1] for a in answers])
    eq(len(got), len(sent), "one event per answer")
    for (tags, _, _, start_us, stop), (_, i) in zip(sent, answers):
        eq(got[i], (start_us, stop, tags), f"event {i} as sent")
    st1, rows1 = group_commit(s)
    eq(rows1 - rows0, len(sent), "every event went through the group commit")
    # 16 clients on a pool of 4: some events share a call (measured: 164-177
    # calls for the 240)
    assert 1 <= st1 - st0 < len(sent), f"{st1 - st0} calls: no group formed"


def test_add_group_procedure(s):
    """event_add_group (sql/0008) called directly: consecutive ids in the
    order given, an event without tags, a stop, a start beyond 2^53 (the
    numbers travel as strings), tags joined by U+001F."""
    tag = uniq()
    arg = json.dumps([
        {"s": "9007199254740993", "j": f"{tag}\x1fü", "t": [tag, "ü"]},
        {"s": "5", "e": "7", "j": "", "t": []},
        {"s": "6", "j": tag, "t": [tag]},
    ])
    sql_literal = arg.replace("\\", "\\\\")  # the SQL string keeps JSON's escapes
    first, step = s.mysql(f"CALL event_add_group('{sql_literal}')")[0]
    first, step = int(first), int(step)
    eq(step, 1, "auto_increment_increment of the test server")
    got = stored_events(s, [first, first + 1, first + 2])
    eq(got, {first: (9007199254740993, "open", [tag, "ü"]),
             first + 1: (5, "7", []),
             first + 2: (6, "open", [tag])}, "stored as given")
    r = s.get(f"/events/{first + 1}", key=rw(s))
    eq((r.status, r.json()["tags"]), (200, []), "readable through the API")

def test_scopes(s):
    r = s.post("/add_event", {"tags": []})
    envelope(r, 401)
    r = s.get("/list_events")
    envelope(r, 401)
    ro = key(s, "events:read")
    wo = key(s, "events:write")
    envelope(add(s, {"tags": []}, k=ro), 403)
    eq(add(s, {"tags": []}, k=wo).status, 201, "write key adds")
    envelope(s.get("/list_events?limit=1", key=wo), 403)
    eq(s.get("/list_events?limit=1", key=ro).status, 200, "read key lists")
    other = key(s, "kv:read", "kv:write", "tags:read", "tags:write")
    envelope(s.get("/list_events?limit=1", key=other), 403)
    envelope(remove(s, {"start_epoch_array": []}, k=ro), 403)
    envelope(s.request("DELETE", "/events/1", key=ro), 403)
    envelope(s.post("/events/1/stop", key=ro), 403)
    envelope(s.get("/events/1", key=wo), 403)
    envelope(s.get("/events/tags", key=wo), 403)


# -------------------------------------------------------------- list_events

def test_list_compat_shape(s):
    tag = uniq()
    closed = add_ok(s, [tag, "second"], 1650000001.25, 1650000002)
    opened = add_ok(s, [tag], 1650000003)
    r = list_events(s, f"?tag={tag}")
    j = r.json()
    eq(sorted(j), ["array_events", "message", "method", "next_cursor"], "keys")
    eq(j["message"], MSG_LIST, "message")
    eq(j["method"], "GET", "method")
    eq(j["next_cursor"], None, "one page")
    assert isinstance(j["array_events"], list), "a real JSON array"
    eq(j["array_events"], [
        {"_id": closed, "start_epoch": 1650000001.25, "stop_epoch": 1650000002.0,
         "tags": [tag, "second"]},
        {"_id": opened, "start_epoch": 1650000003.0, "stop_epoch": -1, "tags": [tag]},
    ], "events")
    # six decimals always; -1 is the integer -1
    assert b'"start_epoch":1650000001.250000' in r.body, r.body
    assert b'"stop_epoch":1650000002.000000' in r.body, r.body
    assert b'"stop_epoch":-1,' in r.body, r.body
    eq(r.headers.get("content-type"), "application/json", "content type")


def test_list_tag_order_and_exactness(s):
    base = uniq()
    i1 = add_ok(s, ["z", base, "a", "z"], 1)        # duplicates kept once, order kept
    i2 = add_ok(s, [base + " "], 1)                  # a different tag (trailing space)
    i3 = add_ok(s, [base.upper()], 1)                # and another (case)
    j = list_events(s, f"?tag={base}").json()
    eq([e["_id"] for e in j["array_events"]], [i1], "exact tag only")
    eq(j["array_events"][0]["tags"], ["z", base, "a"], "order given, once each")
    eq(ids(list_events(s, f"?tag={base}+")), [i2], "trailing space tag")
    eq(ids(list_events(s, f"?tag={base.upper()}")), [i3], "upper-case tag")
    # percent-encoded UTF-8
    t = "café-" + base
    i4 = add_ok(s, [t], 1)
    eq(ids(list_events(s, "?tag=caf%C3%A9-" + base)), [i4], "UTF-8 tag")


def test_list_filters_and_or(s):
    a, b, c = uniq("a"), uniq("b"), uniq("c")
    e_ab = add_ok(s, [a, b], 100)
    e_a = add_ok(s, [a], 101)
    e_b = add_ok(s, [b], 102)
    e_abc = add_ok(s, [c, b, a], 103)
    e_c = add_ok(s, [c], 104)
    eq(ids(list_events(s, f"?tag={a}")), [e_ab, e_a, e_abc], "tag a")
    eq(ids(list_events(s, f"?tag={a}&tag={b}")), [e_ab, e_abc], "a AND b")
    eq(ids(list_events(s, f"?tag={b}&tag={a}")), [e_ab, e_abc], "b AND a")
    eq(ids(list_events(s, f"?tag={a}&tag={b}&tag={c}")), [e_abc], "a AND b AND c")
    eq(ids(list_events(s, f"?tag={a}&tag=nope-{a}")), [], "AND with an unknown tag")
    eq(ids(list_events(s, f"?any_tag={a}&any_tag={c}")), [e_ab, e_a, e_abc, e_c], "a OR c")
    eq(ids(list_events(s, f"?any_tag={a}")), [e_ab, e_a, e_abc], "OR of one")
    eq(ids(list_events(s, f"?any_tag={b}&any_tag=nope")), [e_ab, e_b, e_abc], "OR with unknown")
    eq(ids(list_events(s, f"?tag={b}&any_tag={a}&any_tag={c}")), [e_ab, e_abc], "b AND (a OR c)")
    eq(ids(list_events(s, f"?tag={b}&any_tag={c}")), [e_abc], "b AND c via any")
    # eight of each is the limit
    eight = "&".join(f"tag={a}" for _ in range(8))
    eq(ids(list_events(s, "?" + eight)), [e_ab, e_a, e_abc], "eight tag= (same tag)")
    envelope(s.get("/list_events?" + eight + f"&tag={a}", key=rw(s)), 400, code="too_many_tags")
    eight_any = "&".join(f"any_tag={x}" for x in [a, b, c, "p", "q", "r", "s", "t"])
    eq(ids(list_events(s, "?" + eight_any)), [e_ab, e_a, e_b, e_abc, e_c], "eight any_tag=")
    envelope(s.get("/list_events?" + eight_any + "&any_tag=u", key=rw(s)), 400, code="too_many_tags")
    envelope(s.get("/list_events?tag=", key=rw(s)), 400, code="invalid_tag")
    envelope(s.get("/list_events?any_tag=%01", key=rw(s)), 400, code="invalid_tag")


def test_list_overlap_edges(s):
    t = uniq()
    closed = add_ok(s, [t], 10, 20)           # [10, 20]
    opened = add_ok(s, [t], 15)               # [15, open)
    later = add_ok(s, [t], 30, 40)            # [30, 40]

    def q(extra):
        return ids(list_events(s, f"?tag={t}&{extra}"))

    # start < to (strict)
    eq(q("to=10"), [], "to at the start: no overlap")
    eq(q("to=10.000001"), [closed], "to just after the start")
    eq(q("to=15.000001"), [closed, opened], "to after both starts")
    # stop >= from (inclusive), open events always reach from
    eq(q("from=20"), [closed, opened, later], "from at the stop: overlap")
    eq(q("from=20.000001"), [opened, later], "from just after the stop")
    eq(q("from=1000000"), [opened], "only the open event reaches far")
    eq(q("from=20&to=30"), [closed, opened], "window [20, 30)")
    eq(q("from=20.5&to=30.000001"), [opened, later], "window (20, 30]")
    # RFC 3339 and SQL-style times too
    eq(q("to=1970-01-01T00:00:10.000001Z"), [closed], "to as RFC 3339")
    eq(q("from=1970-01-01+00:00:20.000001"), [opened, later], "from as SQL time")
    eq(q("to=1970-01-01T01:00:10.000001%2B01:00"), [closed], "RFC 3339 offset")
    # open / stopped
    eq(q("open=true"), [opened], "open only")
    eq(q("open=false"), [closed, later], "stopped only")
    eq(q("open=true&from=100"), [opened], "open and from")
    for bad in ["from=yesterday", "to=1e3", "from=-1", "to=", "open=yes", "open=1", "open=TRUE",
                "from=2024-13-01T00:00:00Z"]:
        envelope(s.get(f"/list_events?tag={t}&{bad}", key=rw(s)), 400)
    envelope(s.get(f"/list_events?tag={t}&from=1&from=2", key=rw(s)), 400)


def test_list_pagination(s):
    t = uniq()
    made = [add_ok(s, [t], 1000 + i) for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        q = f"?tag={t}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        j = list_events(s, q).json()
        seen += [e["_id"] for e in j["array_events"]]
        pages += 1
        cursor = j["next_cursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor
        assert pages < 10, "no end"
    eq(seen, made, "every event once, in order")
    eq(pages, 3, "pages")
    # exactly a page: no next page
    j = list_events(s, f"?tag={t}&limit=5").json()
    eq(len(j["array_events"]), 5, "all")
    eq(j["next_cursor"], None, "exact page")
    # the same pages for OR and AND filters
    j = list_events(s, f"?any_tag={t}&any_tag=zz-{t}&limit=3").json()
    eq(ids_of(j), made[:3], "OR page 1")
    j = list_events(s, f"?any_tag={t}&any_tag=zz-{t}&limit=3&cursor={j['next_cursor']}").json()
    eq(ids_of(j), made[3:], "OR page 2")
    eq(j["next_cursor"], None, "OR end")
    for bad in ["limit=0", "limit=10001", "limit=-1", "limit=abc", "limit=", "limit=1&limit=2",
                "cursor=***", "cursor=", "cursor=YWJj"]:
        envelope(s.get(f"/list_events?tag={t}&{bad}", key=rw(s)), 400)
    eq(list_events(s, f"?tag={t}&limit=10000").status, 200, "the maximum")


def ids_of(j):
    return [e["_id"] for e in j["array_events"]]


def test_list_default_limit_and_streaming(s):
    # 1,500 events with one tag, written straight to the database
    t = uniq()
    first = int(s.scalar("SELECT COALESCE(MAX(id), 0) FROM events")) + 1_000_000
    s.mysql(
        "INSERT INTO events (id, start_us, stop_us, tags, created_at) "
        f"SELECT {first} + seq, seq * 1000001, NULL, '{t}', NOW(6) FROM seq_1_to_1500;"
        "INSERT INTO event_tags (event_id, tag, pos) "
        f"SELECT {first} + seq, '{t}', 0 FROM seq_1_to_1500;")
    r = list_events(s, f"?tag={t}")
    j = r.json()
    eq(len(j["array_events"]), 1000, "default limit 1,000")
    assert j["next_cursor"], "a next page"
    r = list_events(s, f"?tag={t}&limit=10000")
    j = r.json()
    eq(len(j["array_events"]), 1500, "all of them")
    eq(j["next_cursor"], None, "end")
    eq([int(x) for x in ids_of(j)], list(range(first + 1, first + 1501)), "id order")
    # more than 64 KiB: sent as a stream (no Content-Length)
    assert len(r.body) > 65536, len(r.body)
    assert "content-length" not in r.headers, r.headers
    eq(j["array_events"][1]["start_epoch"], 2.000002, "epoch")
    s.mysql(f"DELETE FROM events WHERE id > {first}")


def test_list_duplicate_params(s):
    envelope(s.get("/list_events?limit=5&limit=5", key=rw(s)), 400)
    envelope(s.get("/list_events?open=true&open=true", key=rw(s)), 400)
    envelope(s.get("/list_events?to=5&to=6", key=rw(s)), 400)


# ----------------------------------------------------- exact epochs round trip

def test_round_trip_exact(s):
    t = uniq()
    i = add_raw(s, '{"tags": ["%s"], "start_epoch": 1650108997.592079}' % t)
    r = list_events(s, f"?tag={t}")
    assert b'"start_epoch":1650108997.592079' in r.body, r.body
    text = re.search(rb'"start_epoch":([0-9.]+)', r.body).group(1).decode()
    eq(text, "1650108997.592079", "printed")
    # a neighbour one microsecond away must survive
    j = add_raw(s, '{"tags": ["%s"], "start_epoch": 1650108997.592078}' % t)
    r = remove(s, '{"start_epoch_array": [%s]}' % text)
    eq(r.status, 200, f"remove: {r}")
    eq(r.json()["start_epoch_array_deleted"], [1650108997.592079], "deleted")
    eq(ids(list_events(s, f"?tag={t}")), [j], "only the exact start was deleted")
    # the same, sent back as a string
    k = add_raw(s, '{"tags": ["%s"], "start_epoch": "1650101244.100029"}' % t)
    r = remove(s, {"start_epoch_array": ["1650101244.100029"]})
    eq(r.json()["start_epoch_array_deleted"], ["1650101244.100029"], "string deleted")
    assert k not in ids(list_events(s, f"?tag={t}")), "gone"
    eq(s.request("DELETE", f"/events/{j}", key=rw(s)).status, 200, "cleanup")
    eq(s.get(f"/events/{i}", key=rw(s)).status, 404, "the first one is gone")


def test_round_trip_many(s):
    t = uniq()
    rnd = random.Random(5)
    values = set()
    while len(values) < 40:
        values.add(rnd.randrange(0, 253402300799999999))
    values = sorted(values)
    for v in values:
        add_raw(s, '{"tags": ["%s"], "start_epoch": %d.%06d}' % (t, v // 10**6, v % 10**6))
    r = list_events(s, f"?tag={t}&limit=100")
    printed = re.findall(rb'"start_epoch":([0-9]+\.[0-9]{6})', r.body)
    eq(sorted(int(p.replace(b".", b"")) for p in printed), values, "printed exactly")
    # send half back as numbers, half as strings, spelled as printed
    nums = [p.decode() for p in printed[:20]]
    strs = [p.decode() for p in printed[20:]]
    body = '{"start_epoch_array": [%s]}' % ", ".join(nums + ['"%s"' % x for x in strs])
    r = remove(s, body)
    eq(r.status, 200, f"remove: {r}")
    eq(len(r.json()["start_epoch_array_deleted"]), 40, "all matched")
    eq(r.json()["start_epoch_array_not_deleted"], [], "none missed")
    eq(ids(list_events(s, f"?tag={t}")), [], "all gone")


def test_seven_fraction_digits_round(s):
    t = uniq()
    # a Python client's time.time() has seven decimals: rounded half up
    add_raw(s, '{"tags": ["%s"], "start_epoch": 1650108997.5920795}' % t)
    r = list_events(s, f"?tag={t}")
    assert b'"start_epoch":1650108997.592080' in r.body, r.body
    r = remove(s, '{"start_epoch_array": [1650108997.5920795]}')
    eq(r.json()["start_epoch_array_deleted"], [1650108997.5920795], "same rounding")
    eq(ids(list_events(s, f"?tag={t}")), [], "gone")


# ------------------------------------------------------------ remove_events

def test_remove_same_start_twice(s):
    t = uniq()
    add_ok(s, [t], 1650059272.843029)
    add_ok(s, [t, "other"], 1650059272.843029)
    r = remove(s, '{"start_epoch_array": [1650059272.843029, 1650059999.5]}')
    eq(r.status, 200, "status")
    j = r.json()
    eq(sorted(j), ["body", "message", "method", "start_epoch_array_deleted",
                   "start_epoch_array_not_deleted"], "keys")
    eq(j["message"], MSG_REMOVE, "message")
    eq(j["method"], "POST", "method")
    eq(j["body"], {"start_epoch_array": [1650059272.843029, 1650059999.5]}, "body")
    eq(j["start_epoch_array_deleted"], [1650059272.843029], "reported once as deleted")
    eq(j["start_epoch_array_not_deleted"], [1650059999.5], "not deleted")
    eq(event_count(s, "start_us = 1650059272843029"), 0, "both events deleted")
    eq(s.scalar("SELECT COUNT(*) FROM event_tags t LEFT JOIN events e ON e.id = t.event_id "
                "WHERE e.id IS NULL"), "0", "no orphan tags")
    eq(ids(list_events(s, f"?tag={t}")), [], "listed no more")


def test_remove_values_as_sent(s):
    t = uniq()
    add_ok(s, [t], 1650000100.25)
    body = ('{"start_epoch_array": [1650000100.250000, "1650000100.25", 1650000100.2500001,'
            ' "00001650000100.25", 1650000777, "1650000777.000"]}')
    r = remove(s, body)
    eq(r.status, 200, f"{r}")
    # each value is reported exactly as it was sent, duplicates included
    assert (b'"start_epoch_array_deleted":[1650000100.250000,"1650000100.25",1650000100.2500001,'
            b'"00001650000100.25"]') in r.body, r.body
    assert b'"start_epoch_array_not_deleted":[1650000777,"1650000777.000"]' in r.body, r.body
    r = remove(s, '{"start_epoch_array": []}')
    eq(r.status, 200, "empty")
    eq((r.json()["start_epoch_array_deleted"], r.json()["start_epoch_array_not_deleted"]),
       ([], []), "empty lists")


def test_remove_validates_everything_first(s):
    t = uniq()
    i = add_ok(s, [t], 1650000200.5)
    for bad in ['"x"', '"1e9"', 'null', 'true', '[1]', '{}', '-3', '"-3"', '""', '" 1"', '1e3']:
        r = remove(s, '{"start_epoch_array": [1650000200.5, %s]}' % bad)
        envelope(r, 400, code="invalid_epoch")
        assert "start_epoch_array[1]" in r.json()["error"]["message"], r
    eq(ids(list_events(s, f"?tag={t}")), [i], "nothing deleted")


def test_remove_messages(s):
    for body in ['{}', '{"start_epoch_array": null}', '[]', '{"purge": false}']:
        envelope(remove(s, body), 400, "start_epoch_array must be defined.")
    for body in ['{"start_epoch_array": 5}', '{"start_epoch_array": "1,2"}',
                 '{"start_epoch_array": {"a": 1}}']:
        envelope(remove(s, body), 400, "start_epoch_array invalid format, must be an Array.")
    for body in ['{"purge": null}', '{"purge": 1}', '{"purge": "true"}', '{"purge": []}']:
        envelope(remove(s, body), 400, "purge must be true or false.")
    r = s.post("/remove_events", '{"start_epoch_array": []}', key=rw(s), content_type="text/plain")
    envelope(r, 415)


def test_remove_at_most_10000_values(s):
    t = uniq()
    add_ok(s, [t], 1750000250)
    others = ["1750000250.%06d" % i for i in range(1, 10000)]  # no event has these
    r = remove(s, {"start_epoch_array": [1750000250] + others + ["1750000251"]})
    envelope(r, 400, code="too_many_values")
    eq(len(ids(list_events(s, f"?tag={t}"))), 1, "nothing deleted")
    r = remove(s, {"start_epoch_array": [1750000250] + others})
    eq(r.status, 200, f"10,000 values: {r!r}")
    eq(r.json()["start_epoch_array_deleted"], [1750000250], "deleted")
    eq(len(r.json()["start_epoch_array_not_deleted"]), 9999, "the others")


def test_remove_purge_false_falls_through(s):
    t = uniq()
    add_ok(s, [t], 1650000300)
    r = remove(s, {"purge": False, "start_epoch_array": [1650000300]})
    eq(r.status, 200, f"{r}")
    eq(r.json()["start_epoch_array_deleted"], [1650000300], "fell through")


def test_remove_purge_needs_admin(s):
    t = uniq()
    i = add_ok(s, [t], 5)
    envelope(remove(s, {"purge": True}, k=rw(s)), 403)
    envelope(remove(s, {"purge": True}, k=key(s, "events:write", "events:read", "kv:admin")), 403)
    eq(ids(list_events(s, f"?tag={t}")), [i], "not purged")
    # an events:admin key may purge but not remove by start (no scope implies another)
    adm = key(s, "events:admin")
    envelope(remove(s, {"start_epoch_array": [5]}, k=adm), 403)
    r = s.post("/remove_events", {"purge": True})
    envelope(r, 401)


# ------------------------------------------------------------ /events/<id>

def test_get_event(s):
    t = uniq()
    i = add_ok(s, [t, "x2"], 1650000400.000001, 1650000401)
    r = s.get(f"/events/{i}", key=rw(s))
    eq(r.status, 200, f"{r}")
    j = r.json()
    eq(j["_id"], i, "id")
    eq(j["start_epoch"], 1650000400.000001, "start")
    eq(j["stop_epoch"], 1650000401.0, "stop")
    eq(j["tags"], [t, "x2"], "tags")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", j["created_at"]), j
    assert b'"start_epoch":1650000400.000001' in r.body, r.body


def test_bad_ids(s):
    for p in ["0", "-1", "01", "abc", "1.5", "%2B1", "9223372036854775808", "1e3", "%20"]:
        for method, path in [("GET", f"/events/{p}"), ("DELETE", f"/events/{p}"),
                             ("POST", f"/events/{p}/stop")]:
            r = s.request(method, path, key=rw(s))
            envelope(r, 400, code="bad_id")
    for method, path in [("GET", "/events/9223372036854775807"), ("DELETE", "/events/999999999999"),
                         ("POST", "/events/999999999999/stop")]:
        envelope(s.request(method, path, key=rw(s)), 404, code="not_found")


def test_stop_now_and_idempotent(s):
    t = uniq()
    i = add_ok(s, [t], 1650000500)
    r = s.post(f"/events/{i}/stop", key=rw(s))
    eq(r.status, 200, f"{r}")
    stop = r.json()["stop_epoch"]
    assert stop > 1650000500, stop
    stored = s.scalar(f"SELECT stop_us FROM events WHERE id = {i}")
    # again: nothing changes
    r2 = s.post(f"/events/{i}/stop", key=rw(s))
    eq(r2.status, 200, "again")
    eq(r2.json()["stop_epoch"], stop, "same stop")
    eq(s.scalar(f"SELECT stop_us FROM events WHERE id = {i}"), stored, "unchanged")
    # an explicit different stop is a conflict; the same one is fine
    envelope(s.post(f"/events/{i}/stop", {"stop_epoch": 1650000600}, key=rw(s)), 409)
    text = re.search(rb'"stop_epoch":([0-9.]+)', r.body).group(1).decode()
    r3 = s.post(f"/events/{i}/stop", '{"stop_epoch": %s}' % text, key=rw(s),
                content_type="application/json")
    eq(r3.status, 200, f"same explicit stop: {r3}")
    eq(ids(list_events(s, f"?tag={t}&open=true")), [], "not open")


def test_stop_explicit(s):
    t = uniq()
    i = add_ok(s, [t], 100.5)
    envelope(s.post(f"/events/{i}/stop", {"stop_epoch": 100.499999}, key=rw(s)), 400,
             "stop_epoch must not be before start_epoch.")
    eq(s.scalar(f"SELECT COALESCE(stop_us, 'open') FROM events WHERE id = {i}"), "open", "still open")
    r = s.post(f"/events/{i}/stop", '{"stop_epoch": "100.5"}', key=rw(s),
               content_type="application/json; charset=utf-8")
    eq(r.status, 200, f"{r}")
    eq(r.json()["stop_epoch"], 100.5, "stop == start")
    eq(s.scalar(f"SELECT stop_us FROM events WHERE id = {i}"), "100500000", "stored")
    # an event whose start is in the future cannot be stopped "now"
    j = add_ok(s, [t], 253402300000)
    envelope(s.post(f"/events/{j}/stop", key=rw(s)), 400, code="stop_before_start")
    # {} and {"stop_epoch": null} mean now
    k = add_ok(s, [t], 1)
    eq(s.post(f"/events/{k}/stop", {}, key=rw(s)).status, 200, "{}")
    k = add_ok(s, [t], 1)
    eq(s.post(f"/events/{k}/stop", {"stop_epoch": None}, key=rw(s)).status, 200, "null")


def test_stop_body_checks(s):
    i = add_ok(s, [uniq()], 1)
    envelope(s.post(f"/events/{i}/stop", '{"stop_epoch": 5}', key=rw(s), content_type="text/plain"), 415)
    envelope(s.post(f"/events/{i}/stop", '{"stop_epoch": 5}', key=rw(s)), 415)  # no type
    envelope(s.post(f"/events/{i}/stop", '{"stop_epoch": ', key=rw(s),
                    content_type="application/json"), 400, code="invalid_json")
    envelope(s.post(f"/events/{i}/stop", '[5]', key=rw(s), content_type="application/json"), 400)
    for body in ["null", " null ", "5", '"x"']:
        envelope(s.post(f"/events/{i}/stop", body, key=rw(s), content_type="application/json"),
                 400, code="invalid_body")
    envelope(s.post(f"/events/{i}/stop", {"stop_epoch": "soon"}, key=rw(s)), 400, code="invalid_epoch")
    envelope(s.post(f"/events/{i}/stop", {"stop_epoch": -2}, key=rw(s)), 400, code="invalid_epoch")
    eq(s.scalar(f"SELECT COALESCE(stop_us, 'open') FROM events WHERE id = {i}"), "open", "still open")


def test_delete_event(s):
    t = uniq()
    i = add_ok(s, [t, "y"], 7)
    r = s.request("DELETE", f"/events/{i}", key=rw(s))
    eq(r.status, 200, f"{r}")
    eq(r.json(), {"deleted": i}, "body")
    eq(s.scalar(f"SELECT COUNT(*) FROM event_tags WHERE event_id = {i}"), "0", "tags gone")
    envelope(s.request("DELETE", f"/events/{i}", key=rw(s)), 404)
    envelope(s.get(f"/events/{i}", key=rw(s)), 404)
    envelope(s.request("DELETE", "/events/", key=rw(s)), 404)


def test_event_tags_counts(s):
    a, b = uniq("cnt-a"), uniq("cnt-b")
    for tags in ([a], [a, b], [a], [b, a]):
        add_ok(s, tags, 9)
    r = s.get("/events/tags?limit=10000", key=rw(s))
    eq(r.status, 200, f"{r}")
    j = r.json()
    got = {x["tag"]: x["count"] for x in j["tags"]}
    eq(got.get(a), 4, "a")
    eq(got.get(b), 2, "b")
    tags = [x["tag"] for x in j["tags"]]
    eq(tags, sorted(tags, key=lambda x: x.encode()), "byte order")
    # pagination walks every tag once
    seen, cursor = [], None
    for _ in range(1000):
        q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        j = s.get("/events/tags" + q, key=rw(s)).json()
        seen += [x["tag"] for x in j["tags"]]
        cursor = j["next_cursor"]
        if cursor is None:
            break
    eq(seen, tags, "pages")
    envelope(s.get("/events/tags?limit=0", key=rw(s)), 400)
    envelope(s.get("/events/tags?cursor=%25", key=rw(s)), 400)


def test_methods(s):
    r = s.request("PUT", "/add_event", key=rw(s))
    envelope(r, 405)
    assert "POST" in r.headers.get("allow", ""), r.headers
    envelope(s.post("/list_events", key=rw(s)), 405)
    envelope(s.request("PUT", "/events/1", key=rw(s)), 405)
    envelope(s.get("/events/1/stop", key=rw(s)), 405)


def test_admin_view(s):
    """admin_events shows every tag whatever the reading session's
    group_concat_max_len (1,024 bytes by default on MySQL)."""
    t = uniq()
    long_tag = "\u00e9" * 191
    i = add_ok(s, [t, "b, c", long_tag], 1650108997.592079)
    rows = s.mysql("SET SESSION group_concat_max_len = 4;"
                   f" SELECT id, start_epoch, stop_epoch, start_utc, open, tags FROM admin_events "
                   f"WHERE id = {i}")
    eq(rows, [[i, "1650108997.592079", "NULL", "2022-04-16 11:36:37.592079", "1",
               f"{t}, b, c, {long_tag}"]], "admin_events")
    j = add_ok(s, [], 1650108998)
    eq(s.mysql(f"SELECT tags FROM admin_events WHERE id = {j}"), [["NULL"]], "no tags")
    rows = s.mysql(f"SELECT tag, events FROM admin_event_tags WHERE tag = '{t}'")
    eq(rows, [[t, "1"]], "admin_event_tags")


# ---------------------------------------------------------- cairnctl event

def ctl(s, *args, env_key=True, url=None):
    env = dict(os.environ)
    env.pop("CAIRN_KEY", None)
    env["CAIRN_URL"] = url or s.env["CAIRN_URL"]
    if env_key:
        env["CAIRN_KEY"] = rw(s)
    exe = os.path.join(s.env["CAIRN_BUILD_DIR"], "bin", "cairnctl")
    return subprocess.run([exe, "event", *args], capture_output=True, text=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL)


def test_cli_add_list_stop_remove(s):
    t = uniq()
    p = ctl(s, "add", "--start", "1650108997.592079", t, "second")
    eq(p.returncode, 0, f"add: {p.stderr}")
    eq(p.stderr.strip(), "HTTP 201", "status printed")
    i = json.loads(p.stdout)["_id"]
    p = ctl(s, "list", "--tag", t)
    eq(p.returncode, 0, f"list: {p.stderr}")
    assert '"start_epoch":1650108997.592079' in p.stdout, p.stdout
    eq([e["_id"] for e in json.loads(p.stdout)["array_events"]], [i], "listed")
    p = ctl(s, "list", "--tag", t, "--open", "--limit", "5")
    eq([e["_id"] for e in json.loads(p.stdout)["array_events"]], [i], "open")
    p = ctl(s, "stop", i, "--stop", "1650108998")
    eq(p.returncode, 0, f"stop: {p.stderr}")
    eq(json.loads(p.stdout)["stop_epoch"], 1650108998.0, "stopped")
    p = ctl(s, "get", i)
    eq(json.loads(p.stdout)["tags"], [t, "second"], "get")
    p = ctl(s, "remove", "1650108997.592079")
    eq(p.returncode, 0, f"remove: {p.stderr}")
    eq(json.loads(p.stdout)["start_epoch_array_deleted"], ["1650108997.592079"], "removed")
    # key and URL as options instead of the environment
    p = ctl(s, "add", "--url", s.env["CAIRN_URL"] + "/", "--key", rw(s), t, env_key=False,
            url="http://127.0.0.1:1")
    eq(p.returncode, 0, f"options: {p.stderr}")


def test_cli_errors_exit_nonzero(s):
    p = ctl(s, "stop", "999999999999")
    eq(p.returncode, 1, "404 exits 1")
    eq(p.stderr.strip(), "HTTP 404", "status")
    assert json.loads(p.stdout)["error"]["code"] == "not_found", p.stdout
    p = ctl(s, "list", env_key=False)
    eq(p.returncode, 1, "401 exits 1")
    p = ctl(s, "add", "--start", "1e9", "x")
    eq(p.returncode, 2, "usage error")
    p = ctl(s, "remove")
    eq(p.returncode, 2, "nothing to remove")
    p = ctl(s, "stop", "0")
    eq(p.returncode, 2, "bad id")
    p = ctl(s, "frobnicate")
    eq(p.returncode, 2, "unknown command")
    p = ctl(s, "list", url="http://127.0.0.1:1")
    eq(p.returncode, 3, "unreachable")
    p = ctl(s, "remove", "--purge")
    eq(p.returncode, 1, "purge without events:admin: 403")
    eq(p.stderr.strip(), "HTTP 403", "status")


def test_cli_gives_up_on_a_silent_server(s):
    """A server that accepts the connection and never answers: --timeout
    seconds without a byte, then exit 3 (the default is 75 s)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        url = "http://127.0.0.1:%d" % silent.getsockname()[1]
        p = ctl(s, "list", "--timeout", "2", url=url)
        eq(p.returncode, 3, f"silent server: {p.stderr}")
        assert p.stderr.endswith(": nothing received for 2 s (--timeout)\n"), p.stderr
    finally:
        silent.close()
    for bad in ("0", "3601", "x", "-1", "1.5"):
        p = ctl(s, "list", "--timeout", bad)
        eq(p.returncode, 2, f"--timeout {bad}")
        assert "--timeout must be 1 to 3600 seconds" in p.stderr, p.stderr
    p = ctl(s, "list", "--timeout", "30", "--limit", "1")
    eq(p.returncode, 0, f"a timeout that is not reached: {p.stderr}")


# ---------------------------------------------------------------- purge (last)

def test_zz_purge_in_chunks(s):
    # more events than one purge batch (1,000), with tags
    first = int(s.scalar("SELECT COALESCE(MAX(id), 0) FROM events")) + 1_000_000
    s.mysql(
        "INSERT INTO events (id, start_us, stop_us, tags, created_at) "
        f"SELECT {first} + seq, seq, NULL, 'purge-me', NOW(6) FROM seq_1_to_2500;"
        "INSERT INTO event_tags (event_id, tag, pos) "
        f"SELECT {first} + seq, 'purge-me', 0 FROM seq_1_to_2500;")
    assert event_count(s, "1") >= 2500
    adm = key(s, "events:admin")
    r = remove(s, '{"purge": true, "start_epoch_array": "ignored"}', k=adm)
    eq(r.status, 200, f"{r}")
    eq(r.json(), {"body": {"purge": True, "start_epoch_array": "ignored"}, "message": MSG_PURGE,
                  "method": "POST", "result": "all events are removed"}, "compat body")
    eq(event_count(s, "1"), 0, "no events")
    eq(s.scalar("SELECT COUNT(*) FROM event_tags"), "0", "no tags")
    eq(ids(list_events(s)), [], "empty list")
    # the admin scope purges too
    add_ok(s, ["p"], 1)
    eq(remove(s, {"purge": True}, k=s.admin_key).status, 200, "admin purges")
    eq(event_count(s, "1"), 0, "empty again")
