"""Key-value store (API.md §5, docs/kv.md): every route of the table, expiry
before and after the sweep, TTL rules, wildcard filters, binary values,
compare-and-set races, limits, pagination, scopes, metrics, the admin view,
and raw paths that must never reach delete-all."""
import re
import threading
from urllib.parse import quote

from cairn import eq, is_envelope

_keys = {}


def key_for(s, *scopes):
    """An API key holding exactly these scopes (cached per scope set)."""
    name = " ".join(sorted(scopes))
    if name not in _keys:
        _keys[name] = s.new_key(scopes, name="kv " + name)[1]
    return _keys[name]


def rw(s):
    return key_for(s, "kv:read", "kv:write")


def kp(key):
    """The path of a key (str or bytes), every byte outside the unreserved
    set percent-encoded."""
    return "/keys/" + quote(key, safe="")


def put_q(s, query, key=None):
    return s.request("PUT", "/keys?" + query, key=key or rw(s))


def put(s, k, body, key=None, content_type="application/octet-stream", headers=None,
        query=""):
    return s.request("PUT", kp(k) + query, body=body, key=key or rw(s),
                     content_type=content_type, headers=headers)


def get(s, k, query="", key=None, headers=None):
    return s.request("GET", kp(k) + query, key=key or rw(s), headers=headers)


def head(s, k, key=None):
    return s.request("HEAD", kp(k), key=key or rw(s))


def delete(s, k, key=None, headers=None):
    return s.request("DELETE", kp(k), key=key or rw(s), headers=headers)


def listing(s, query="", key=None):
    return s.request("GET", "/keys" + ("?" + query if query else ""), key=key or rw(s))


def list_all(s, query=""):
    """Follows Link rel="next" to the end; returns (items, pages)."""
    items, pages = [], 0
    path = "/keys" + ("?" + query if query else "")
    while path:
        r = s.request("GET", path, key=rw(s))
        eq(r.status, 200, f"status of {path}: {r!r}")
        items += r.json()
        pages += 1
        path = next_link(r)
    return items, pages


def next_link(r):
    link = r.headers.get("link")
    if not link:
        return None
    m = re.fullmatch(r'<([^>]*)>; rel="next"', link)
    assert m, f"malformed Link: {link!r}"
    return m.group(1)


def keys_of(items):
    out = []
    for it in items:
        assert isinstance(it, dict) and len(it) == 1, it
        out += list(it.keys())
    return out


def check_error(r, status, code=None):
    eq(r.status, status, f"status of {r!r}")
    assert is_envelope(r), f"not an envelope: {r!r}"
    if code is not None:
        eq(r.error_code(), code, "error code")


def db_rows(s, key):
    return int(s.scalar("SELECT COUNT(*) FROM kv_keys WHERE k = X'%s'"
                        % (key.encode() if isinstance(key, str) else key).hex()))


def pause_sweep(s):
    """Holds the kv-expiry job's lease so cairn-worker cannot sweep."""
    s.mysql("INSERT IGNORE INTO job_leases (name, next_run_at) VALUES ('kv-expiry', NOW(6))")

    def take():
        s.mysql("UPDATE job_leases SET holder = 'test_kv', lease_until = NOW(6) + INTERVAL 300 SECOND"
                " WHERE name = 'kv-expiry' AND (holder IS NULL OR holder = 'test_kv'"
                " OR lease_until < NOW(6))")
        return s.scalar("SELECT holder FROM job_leases WHERE name = 'kv-expiry'") == "test_kv"
    s.wait_for(take, timeout=60, interval=0.2, what="the kv-expiry lease")


def resume_sweep(s):
    s.mysql("UPDATE job_leases SET holder = NULL, lease_until = NULL, next_run_at = NOW(6)"
            " WHERE name = 'kv-expiry' AND holder = 'test_kv'")


def kv_metric(s, name):
    """A kv metric (the database-held ones are read at scrape time)."""
    return s.metrics().get(name, 0)


# ------------------------------------------------------------- the table rows

def test_put_compat_200(s):
    r = put_q(s, "row1=hello")
    eq(r.status, 200, "status")
    eq(r.json(), {"row1": "hello"}, "body")
    r = put_q(s, "row1=hello+again%21")
    eq(r.status, 200, "replace status")
    eq(r.json(), {"row1": "hello again!"}, "body")
    eq(get(s, "row1").json(), {"row1": "hello again!"}, "stored")
    # a key with bytes that need escaping, and an empty value
    eq(put_q(s, "a%2Fb%3Dc%20d=").json(), {"a/b=c d": ""}, "escaped key")
    eq(get(s, "a/b=c d").json(), {"a/b=c d": ""}, "read back via %2F")


def test_put_compat_exactly_one_pair(s):
    for q in ("", "expire_in=5", "a=1&b=2", "a=1&a=2", "a=1&b=2&expire_in=5"):
        check_error(put_q(s, q), 400)
    check_error(put_q(s, "a=1&expire_in=5&expire_in=6"), 400)
    eq(db_rows(s, "b"), 0, "nothing stored")


def test_get_200_with_etag_404_absent(s):
    put_q(s, "row2=v")
    r = get(s, "row2")
    eq(r.status, 200, "status")
    eq(r.json(), {"row2": "v"}, "body")
    assert re.fullmatch(r'"[0-9a-f]{16}"', r.headers.get("etag", "")), r.headers
    assert "x-expires-at" not in r.headers, "no expiry, no X-Expires-At"
    check_error(get(s, "no-such-key"), 404, "not_found")


def test_get_x_expires_at(s):
    r = put_q(s, "row3=v&expire_in=3600")
    eq(r.status, 200, "status")
    r = get(s, "row3")
    exp = r.headers.get("x-expires-at", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", exp), r.headers
    secs = float(s.scalar("SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), expires_at) / 1e6"
                          " FROM kv_keys WHERE k = 'row3'"))
    assert 3000 < secs <= 3600, secs


def test_head_key(s):
    put_q(s, "row4=value")
    r = head(s, "row4")
    eq(r.status, 200, "status")
    eq(r.body, b"", "no body")
    assert r.headers.get("etag") == get(s, "row4").headers["etag"], r.headers
    r = head(s, "row4-absent")
    eq(r.status, 404, "absent")
    eq(r.body, b"", "no body")


def test_head_keys_200(s):
    r = s.request("HEAD", "/keys", key=rw(s))
    eq(r.status, 200, "status")
    eq(r.body, b"", "no body")
    r = s.request("HEAD", "/keys?filter=a*", key=rw(s))
    eq(r.status, 200, "with a filter")
    # the same Link as GET, so HEAD can walk the pages
    for i in range(3):
        put_q(s, f"headpage{i}=v")
    for q in ["filter=headpage*&limit=2", "filter=headpage*&limit=3"]:
        g = s.get("/keys?" + q, key=rw(s))
        h = s.request("HEAD", "/keys?" + q, key=rw(s))
        eq((h.status, h.body), (200, b""), q)
        eq(h.headers.get("link"), g.headers.get("link"), f"Link for {q}")
    assert s.request("HEAD", "/keys?filter=headpage*&limit=2", key=rw(s)).headers.get("link")


def test_delete_key(s):
    put_q(s, "row5=v")
    r = delete(s, "row5")
    eq(r.status, 200, "status")
    eq(r.json(), {"deleted": "row5"}, "body")
    check_error(get(s, "row5"), 404)
    check_error(delete(s, "row5"), 404, "not_found")


def test_put_key_body_201_200(s):
    r = put(s, "row6", b"first", content_type="text/x-test")
    eq(r.status, 201, "created")
    j = r.json()
    eq(set(j), {"key", "etag", "expires_at"}, "fields")
    eq(j["key"], "row6", "key")
    eq(j["etag"], r.headers["etag"], "etag field = ETag header")
    eq(j["expires_at"], None, "no expiry")
    eq(r.headers.get("location"), "/keys/row6", "Location")
    r2 = put(s, "row6", b"second", content_type="text/x-other")
    eq(r2.status, 200, "replaced")
    assert r2.json()["etag"] != j["etag"], "a new version"
    g = get(s, "row6")
    eq(g.json(), {"row6": "second"}, "value")
    eq(g.headers["etag"], r2.json()["etag"], "GET shows the PUT's ETag")
    g = get(s, "row6", "?raw=1")
    eq(g.body, b"second", "raw body")
    eq(g.headers["content-type"], "text/x-other", "content type kept")
    r3 = put(s, "row7", b"x", query="?expire_in=60")
    eq(r3.status, 201, "created with TTL")
    exp = r3.json()["expires_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", exp), exp
    eq(r3.headers.get("x-expires-at"), exp, "X-Expires-At on PUT")
    eq(get(s, "row7").headers.get("x-expires-at"), exp, "same expiry on GET")


def test_put_without_content_type(s):
    r = s.request("PUT", kp("row8"), body=b"\x01\x02", key=rw(s))
    eq(r.status, 201, "created")
    eq(get(s, "row8", "?raw=1").headers["content-type"], "application/octet-stream", "default")
    eq(get(s, "row8", "?raw=true").body, b"\x01\x02", "raw=true")
    check_error(get(s, "row8", "?raw=yes"), 400)
    eq(put_q(s, "row8c=text").status, 200, "compat")
    eq(get(s, "row8c", "?raw=1").headers["content-type"], "text/plain; charset=utf-8", "compat type")


def test_raw_value_is_never_an_active_page(s):
    """A value stored as text/html (any kv:write key may choose the type)
    comes back raw with its type, but nosniff and a sandboxing CSP keep a
    browser from running it as a page of cairn's origin."""
    page = b"<script>alert(document.domain)</script>"
    assert put(s, "rawhtml", page, content_type="text/html").status in (200, 201), "stored"
    for q in ("?raw=1", "?raw=true"):
        g = get(s, "rawhtml", q)
        eq(g.status, 200, q)
        eq(g.body, page, "the value as stored")
        eq(g.headers["content-type"], "text/html", "its content type")
        eq(g.headers.get("x-content-type-options"), "nosniff", "nosniff " + q)
        csp = g.headers.get("content-security-policy") or ""
        assert "sandbox" in csp and "default-src 'none'" in csp, f"CSP {q}: {csp!r}"


# ------------------------------------------------------------------- expiry

def _expiry_scenario(s, k, create):
    r = create()
    assert r.status in (200, 201), r
    r = get(s, k)
    if r.status == 404:  # a very slow machine: the second already passed
        eq(s.scalar("SELECT expires_at <= NOW(6) FROM kv_keys WHERE k = '%s'" % k), "1",
           "404 only once expired")
    else:
        eq(r.status, 200, "live at first")
        assert "x-expires-at" in r.headers, r.headers
    s.wait_for(lambda: get(s, k).status == 404, timeout=30, interval=0.1,
               what=f"{k} to expire")
    check_error(get(s, k), 404, "not_found")
    eq(head(s, k).status, 404, "HEAD after expiry")
    check_error(get(s, k, "?raw=1"), 404)
    assert k not in keys_of(listing(s, "filter=" + k).json()), "listing after expiry"
    assert k not in keys_of(list_all(s)[0]), "full listing after expiry"
    check_error(delete(s, k), 404)


def test_expiry_before_and_after_sweep(s):
    before = kv_metric(s, "cairn_kv_expired_total")
    pause_sweep(s)
    try:
        _expiry_scenario(s, "exp-compat", lambda: put_q(s, "exp-compat=v&expire_in=1"))
        _expiry_scenario(s, "exp-body", lambda: put(s, "exp-body", b"v", query="?expire_in=1"))
        # before the sweep: the rows are still stored, yet invisible
        eq(db_rows(s, "exp-compat"), 1, "row kept until the sweep")
        eq(db_rows(s, "exp-body"), 1, "row kept until the sweep")
        eq(s.scalar("SELECT COUNT(*) FROM admin_kv_keys WHERE `key` LIKE 'exp-%'"), "0",
           "the admin view hides expired keys")
    finally:
        resume_sweep(s)
    s.wait_for(lambda: db_rows(s, "exp-compat") + db_rows(s, "exp-body") == 0, timeout=60,
               interval=0.2, what="the sweep")
    for k in ("exp-compat", "exp-body"):
        check_error(get(s, k), 404)
        eq(head(s, k).status, 404, "HEAD after the sweep")
        assert k not in keys_of(listing(s, "filter=exp-*").json())
    s.wait_for(lambda: kv_metric(s, "cairn_kv_expired_total") >= before + 2, timeout=30,
               interval=0.5, what="cairn_kv_expired_total to count the sweep")


def test_expired_key_is_recreated(s):
    pause_sweep(s)
    try:
        put_q(s, "exp-again=old&expire_in=1")
        s.wait_for(lambda: get(s, "exp-again").status == 404, timeout=30, interval=0.1,
                   what="expiry")
        # PUT over the expired, unswept row is a creation; If-None-Match
        # succeeds; the old value never shows
        r = put(s, "exp-again", b"new", headers={"If-None-Match": "*"})
        eq(r.status, 201, f"created over an expired row: {r!r}")
        eq(get(s, "exp-again").json(), {"exp-again": "new"}, "new value")
        assert "x-expires-at" not in get(s, "exp-again").headers
        put_q(s, "exp-again2=old&expire_in=1")
        s.wait_for(lambda: get(s, "exp-again2").status == 404, timeout=30, interval=0.1,
                   what="expiry")
        eq(put(s, "exp-again2", b"x").status, 201, "plain PUT over an expired row")
        check_error(put(s, "exp-gone", b"x", headers={"If-Match": "*"}), 412)
    finally:
        resume_sweep(s)


def test_ttl_cleared_by_put_without_expire_in(s):
    put_q(s, "ttl1=a&expire_in=100")
    assert "x-expires-at" in get(s, "ttl1").headers
    eq(put_q(s, "ttl1=b").status, 200, "replace")
    r = get(s, "ttl1")
    assert "x-expires-at" not in r.headers, r.headers
    eq(s.scalar("SELECT expires_at IS NULL FROM kv_keys WHERE k = 'ttl1'"), "1", "stored NULL")
    put(s, "ttl2", b"a", query="?expire_in=100")
    r = put(s, "ttl2", b"b")
    eq(r.json()["expires_at"], None, "PUT /keys/<key> clears it too")
    assert "x-expires-at" not in get(s, "ttl2").headers
    # and a TTL can be set on a key that had none
    r = put(s, "ttl2", b"c", query="?expire_in=50")
    assert r.json()["expires_at"] is not None


def test_bad_ttl_parameter(s):
    bad = ["0", "-1", "abc", "", "1.5", "1e3", "315360001", "+5", "%205", "0x10",
           "99999999999999999999"]
    for v in bad:
        r = put_q(s, "badttl=v&expire_in=" + v)
        check_error(r, 400, "bad_ttl")
        eq(r.json()["error"]["message"], "Bad TTL Parameter", f"message for {v!r}")
        r = put(s, "badttl", b"v", query="?expire_in=" + v)
        check_error(r, 400, "bad_ttl")
        eq(r.json()["error"]["message"], "Bad TTL Parameter", f"message for {v!r}")
    eq(db_rows(s, "badttl"), 0, "nothing stored")
    eq(put_q(s, "okttl=v&expire_in=315360000").status, 200, "the maximum")
    eq(put_q(s, "okttl=v&expire_in=1").status, 200, "the minimum")


# ---------------------------------------------------------------- wildcards

WILD = ["w/a", "w/ab", "w/abc", "w/b", "w/a%c", "w/a_c", "w/axc", "w/a\\c", "w/a$c",
        "w/a*c", "w/a!c", "w/aéc", "w/a😀c", "w/", "w/a c", "w/A"]


# every key of three characters after "w/", all starting with "a"
A3 = ["w/abc", "w/a%c", "w/a_c", "w/axc", "w/a\\c", "w/a$c", "w/a*c", "w/a!c", "w/aéc",
      "w/a😀c", "w/a c"]


def _setup_wild(s):
    for k in WILD:
        r = put(s, k, k.encode())
        assert r.status in (200, 201), r


def _filter(s, pattern):
    r = listing(s, "filter=" + quote(pattern, safe=""))
    eq(r.status, 200, f"filter {pattern!r}: {r!r}")
    return keys_of(r.json())


def test_wildcards(s):
    _setup_wild(s)
    cases = {
        "w/*": sorted(WILD, key=lambda k: k.encode()),
        "w/a": ["w/a"],
        "w/a*": sorted([k for k in WILD if k.startswith("w/a")], key=lambda k: k.encode()),
        "w/a$": ["w/ab"],
        "w/$": ["w/A", "w/a", "w/b"],
        "w/a$c": A3,
        "w/a%c": ["w/a%c"],          # % is literal
        "w/a_c": ["w/a_c"],          # _ is literal
        "w/a\\c": ["w/a\\c"],        # \ is literal
        "w/a!c": ["w/a!c"],          # the LIKE escape character is literal
        "w/a%*": ["w/a%c"],
        "w/*\\*": ["w/a\\c"],
        "w/*c": sorted([k for k in WILD if k.endswith("c")], key=lambda k: k.encode()),
        "w/a$$": A3,
        "w/a*c*": sorted([k for k in WILD if k.startswith("w/a") and "c" in k[3:]],
                         key=lambda k: k.encode()),
        "w/$$$": A3,
        "w/a😀$": ["w/a😀c"],
        "w/a😀$$": [],
        "w/a😀c": ["w/a😀c"],
        "w/ab ": [],                 # no trailing-space padding
        "W/*": [],                   # no case folding
        "x*": [],
    }
    for pattern, expected in cases.items():
        expected = sorted(expected, key=lambda k: k.encode())
        eq(_filter(s, pattern), expected, f"filter {pattern!r}")


def test_wildcard_keys_holding_wildcards(s):
    _setup_wild(s)
    # a key holding $ or * is matched by the wildcards themselves
    got = _filter(s, "w/a$c")
    assert "w/a$c" in got and "w/a*c" in got, got
    eq(_filter(s, "w/a*c"), sorted([k for k in WILD if k.startswith("w/a") and k.endswith("c")],
                                   key=lambda k: k.encode()), "star")


def test_listing_sorted_by_key_bytes(s):
    _setup_wild(s)
    got = _filter(s, "w/*")
    eq(got, sorted(got, key=lambda k: k.encode()), "byte order")
    items = listing(s, "filter=w/a*").json()
    for it in items:
        (k, v), = it.items()
        eq(v, k, "value next to its key")


def test_bad_filter_400(s):
    check_error(listing(s, "filter=%FF"), 400, "bad_filter")
    check_error(listing(s, "filter=a%0Ab"), 400, "bad_filter")
    check_error(listing(s, "filter=" + "a" * 1025), 400, "bad_filter")
    check_error(listing(s, "filter=a&filter=b"), 400)
    eq(listing(s, "filter=").status, 200, "an empty filter is no filter")


def test_prefix_filter_uses_primary_key(s):
    """The listing statement with a literal head ranges over the primary key."""
    rows = s.mysql(
        "PREPARE q FROM 'EXPLAIN SELECT k, v FROM kv_keys WHERE k >= ? AND k < ?"
        " AND k LIKE ? ESCAPE ''!'' AND (expires_at IS NULL OR expires_at > NOW(6))"
        " ORDER BY k'; SET @a = '', @b = x'ff', @p = 'w/a%';"
        " EXECUTE q USING @a, @b, @p")
    assert rows, rows
    # id select_type table type possible_keys key ...
    eq(rows[0][3], "range", f"access type in {rows}")
    eq(rows[0][5], "PRIMARY", f"index in {rows}")


# -------------------------------------------------------------- binary values

def test_binary_value_with_nul(s):
    blob = bytes(range(256)) + b"\x00\x00tail\xff"
    r = put(s, "bin1", blob, content_type="application/x-blob")
    eq(r.status, 201, "created")
    g = get(s, "bin1", "?raw=1")
    eq(g.status, 200, "raw")
    eq(g.body, blob, "bytes intact")
    eq(g.headers["content-type"], "application/x-blob", "type")
    eq(g.headers["etag"], r.headers["etag"], "ETag on raw")
    eq(int(s.scalar("SELECT LENGTH(v) FROM kv_keys WHERE k = 'bin1'")), len(blob), "stored length")
    # JSON cannot carry these bytes: 409 pointing to ?raw=1
    r = get(s, "bin1")
    check_error(r, 409, "binary_value")
    assert "raw=1" in r.json()["error"]["message"], r
    # listings show null for such a value
    eq(listing(s, "filter=bin1").json(), [{"bin1": None}], "listing")
    r = head(s, "bin1")
    eq(r.status, 200, "HEAD answers 200 for any existing key")
    eq(r.headers.get("etag"), g.headers["etag"], "HEAD's ETag")


def test_utf8_value_with_nul_in_json(s):
    r = put(s, "bin2", b"a\x00b\xc3\xa9", content_type="text/plain")
    eq(r.status, 201, "created")
    g = get(s, "bin2")
    eq(g.status, 200, "JSON form")
    assert b"\\u0000" in g.body, g.body
    eq(g.json(), {"bin2": "a\x00bé"}, "value")
    eq(get(s, "bin2", "?raw=1").body, b"a\x00b\xc3\xa9", "raw")
    r = put(s, "bin3", b"")
    eq(r.status, 201, "empty value")
    eq(get(s, "bin3").json(), {"bin3": ""}, "empty")


def test_query_values_must_be_utf8(s):
    check_error(put_q(s, "q1=%FF"), 400, "bad_value")
    check_error(put_q(s, "%FF=1"), 400, "bad_key")
    check_error(put_q(s, "a%00b=1"), 400, "bad_key")
    check_error(put_q(s, "a%0Ab=1"), 400, "bad_key")
    eq(put_q(s, "q2=line%0Abreak").status, 200, "controls are fine in values")
    eq(get(s, "q2").json(), {"q2": "line\nbreak"}, "value")


# ------------------------------------------------------------ compare-and-set

def test_if_match(s):
    r = put(s, "cas1", b"v1")
    etag = r.headers["etag"]
    r = put(s, "cas1", b"v2", headers={"If-Match": etag})
    eq(r.status, 200, f"matching If-Match: {r!r}")
    etag2 = r.headers["etag"]
    check_error(put(s, "cas1", b"v3", headers={"If-Match": etag}), 412, "precondition_failed")
    eq(get(s, "cas1").json(), {"cas1": "v2"}, "unchanged by the failed CAS")
    check_error(put(s, "cas1", b"v3", headers={"If-Match": "W/" + etag2}), 412)
    check_error(put(s, "cas1", b"v3", headers={"If-Match": '"foreign"'}), 412)
    check_error(put(s, "cas1", b"v3", headers={"If-Match": "garbage"}), 400, "bad_precondition")
    eq(put(s, "cas1", b"v4", headers={"If-Match": "*"}).status, 200, "If-Match: *")
    check_error(put(s, "cas-absent", b"x", headers={"If-Match": "*"}), 412)
    check_error(put(s, "cas-absent", b"x", headers={"If-Match": etag}), 412)
    eq(db_rows(s, "cas-absent"), 0, "If-Match never creates")


def test_if_none_match(s):
    r = put(s, "cas2", b"first", headers={"If-None-Match": "*"})
    eq(r.status, 201, "created")
    check_error(put(s, "cas2", b"second", headers={"If-None-Match": "*"}), 412,
                "precondition_failed")
    eq(get(s, "cas2").json(), {"cas2": "first"}, "unchanged")
    check_error(put(s, "cas2", b"x", headers={"If-None-Match": r.headers["etag"]}), 400)
    check_error(put(s, "cas2", b"x", headers={"If-None-Match": "*",
                                               "If-Match": r.headers["etag"]}), 400)


def test_compat_put_honours_conditions(s):
    """PUT /keys?<key>=<value> takes the same If-Match / If-None-Match as
    PUT /keys/<key>: a condition a client sends is never ignored."""
    def cput(query, **headers):
        return s.request("PUT", "/keys?" + query, key=rw(s), headers=headers)
    eq(cput("ccas=1", **{"If-None-Match": "*"}).status, 200, "created under If-None-Match: *")
    check_error(cput("ccas=2", **{"If-None-Match": "*"}), 412, "precondition_failed")
    check_error(cput("ccas=3", **{"If-Match": '"foreign"'}), 412, "precondition_failed")
    check_error(cput("ccas=4", **{"If-Match": "garbage"}), 400, "bad_precondition")
    eq(get(s, "ccas").json(), {"ccas": "1"}, "unchanged by the failed conditions")
    etag = get(s, "ccas").headers["etag"]
    r = cput("ccas=5", **{"If-Match": etag})
    eq((r.status, r.json()), (200, {"ccas": "5"}), "matching If-Match, compat body")
    check_error(cput("ccas-absent=x", **{"If-Match": "*"}), 412, "precondition_failed")
    eq(db_rows(s, "ccas-absent"), 0, "If-Match never creates")


def test_get_if_none_match_304(s):
    r = put(s, "cas3", b"v")
    g = get(s, "cas3", headers={"If-None-Match": r.headers["etag"]})
    eq(g.status, 304, "not modified")
    eq(g.body, b"", "no body")
    eq(g.headers.get("etag"), r.headers["etag"], "ETag on 304")
    eq(get(s, "cas3", headers={"If-None-Match": '"0000000000000000"'}).status, 200, "other")


def test_delete_if_match(s):
    r = put(s, "cas4", b"v")
    check_error(delete(s, "cas4", headers={"If-Match": '"0000000000000001"'}), 412)
    eq(delete(s, "cas4", headers={"If-Match": r.headers["etag"]}).status, 200, "matching")
    check_error(delete(s, "cas4", headers={"If-Match": r.headers["etag"]}), 412)


def test_if_match_version_zero_never_matches(s):
    """An ETag of all zeros names no version (versions start at 1): it
    failed no condition, so PUT replaced and DELETE deleted the key (the
    store reads version 0 as "unconditional")."""
    zero = {"If-Match": '"0000000000000000"'}
    put(s, "cas0", b"v")
    check_error(put(s, "cas0", b"w", headers=zero), 412, "precondition_failed")
    check_error(s.request("PUT", "/keys?cas0=w", key=rw(s), headers=zero), 412,
                "precondition_failed")
    check_error(delete(s, "cas0", headers=zero), 412, "precondition_failed")
    eq(get(s, "cas0").json(), {"cas0": "v"}, "neither replaced nor deleted")


def _race(s, n, make_request):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = make_request(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_cas_race_exactly_one_wins(s):
    for rnd in range(12):
        k = f"race-{rnd}"
        etag = put(s, k, b"base").headers["etag"]
        n = 2 + rnd % 4
        res = _race(s, n, lambda i: put(s, k, f"writer {i}".encode(),
                                        headers={"If-Match": etag}))
        statuses = sorted(r.status for r in res)
        eq(statuses, [200] + [412] * (n - 1), f"round {rnd}")
        winner = [i for i, r in enumerate(res) if r.status == 200][0]
        eq(get(s, k).json(), {k: f"writer {winner}"}, "the winner's value is stored")
        eq(get(s, k).headers["etag"], res[winner].headers["etag"], "the winner's ETag")


def test_create_race_exactly_one_wins(s):
    for rnd in range(8):
        k = f"race-new-{rnd}"
        res = _race(s, 4, lambda i: put(s, k, f"creator {i}".encode(),
                                        headers={"If-None-Match": "*"}))
        eq(sorted(r.status for r in res), [201, 412, 412, 412], f"round {rnd}")


def test_plain_put_race_counts_one_creation(s):
    res = _race(s, 4, lambda i: put(s, "race-plain", f"p{i}".encode()))
    eq(sorted(r.status for r in res), [200, 200, 200, 201], "one 201, the rest 200")
    etags = {r.headers["etag"] for r in res}
    eq(len(etags), 4, "every write a new version")


# --------------------------------------------------------------- limits, keys

def test_key_length_255_ok_256_400(s):
    k255 = "k" * 255
    eq(put(s, k255, b"v").status, 201, "255 bytes via the path")
    eq(get(s, k255).json(), {k255: "v"}, "read back")
    check_error(put(s, "k" * 256, b"v"), 400, "bad_key")
    check_error(get(s, "k" * 256), 400, "bad_key")
    eq(put_q(s, "q" * 255 + "=v").status, 200, "255 bytes via the query")
    check_error(put_q(s, "q" * 256 + "=v"), 400, "bad_key")
    e = "é" * 127  # 254 bytes
    eq(put(s, e + "x", b"v").status, 201, "255 bytes of UTF-8")
    check_error(put(s, e + "é", b"v"), 400, "bad_key")  # 256 bytes, 128 characters


def test_value_over_limit_413(s):
    limit = 1024 * 1024
    eq(put(s, "big1", b"x" * limit).status, 201, "exactly kv.max_value")
    eq(len(get(s, "big1", "?raw=1").body), limit, "read back")
    r = put(s, "big2", b"x" * (limit + 1))
    check_error(r, 413, "too_large")
    eq(db_rows(s, "big2"), 0, "nothing stored")


def test_dot_keys_400(s):
    for path in ("/keys/%2e", "/keys/%2E", "/keys/.", "/keys/%2e%2e", "/keys/..",
                 "/keys/.%2e"):
        for method in ("GET", "PUT", "DELETE"):
            r = s.request(method, path, key=rw(s), body=b"x" if method == "PUT" else None)
            check_error(r, 400, "bad_key")
    check_error(put_q(s, ".=v"), 400, "bad_key")
    check_error(put_q(s, "..=v"), 400, "bad_key")
    eq(put(s, "...", b"v").status, 201, "three dots are a key")


def test_raw_paths_never_reach_delete_all(s):
    admin = key_for(s, "kv:admin", "kv:read", "kv:write")
    put_q(s, "survivor=1")
    for path in ("/keys/", "/keys//", "/keys/%2e", "/keys/%2E%2E", "/keys/.", "/keys/..",
                 "/keys/./", "/keys/.%2e/", "/keys%2F", "/keys/?", "/keys/%00", "/keys/%2F"):
        r = s.request("DELETE", path, key=admin)
        assert r.status in (400, 404), f"DELETE {path}: {r!r}"
        assert is_envelope(r), f"DELETE {path}: {r!r}"
    check_error(s.request("DELETE", "/keys/", key=admin), 404, "not_found")
    check_error(s.request("DELETE", "/keys/%2e", key=admin), 400, "bad_key")
    # nor do the other methods fall back from the item route to /keys
    check_error(s.request("GET", "/keys/", key=admin), 404, "not_found")
    check_error(s.request("PUT", "/keys/", key=admin, body=b"x"), 404, "not_found")
    eq(get(s, "survivor").json(), {"survivor": "1"}, "nothing was deleted")


# ------------------------------------------------------------------- listing

def test_pagination_link(s):
    for i in range(25):
        put_q(s, f"page/{i:03d}=v{i}")
    r = listing(s, "filter=page/*&limit=10")
    eq(len(r.json()), 10, "first page")
    link = next_link(r)
    assert link and link.startswith("/keys?"), r.headers
    assert "limit=10" in link and "filter=page%2F%2A" in link, link
    items, pages = list_all(s, "filter=page/*&limit=10")
    eq(keys_of(items), [f"page/{i:03d}" for i in range(25)], "no skips, no repeats")
    eq(pages, 3, "pages")
    items, pages = list_all(s, "filter=page/*&limit=5")
    eq(pages, 5, "exact multiple: no empty last page")
    eq(len(items), 25, "all")
    r = listing(s, "filter=page/*")
    eq(len(r.json()), 25, "default limit covers it")
    assert "link" not in r.headers, r.headers


def test_pagination_whole_store(s):
    items, pages = list_all(s, "limit=7")
    k = keys_of(items)
    eq(k, sorted(k, key=lambda x: x.encode()), "sorted")
    eq(len(k), len(set(k)), "no duplicates")
    live = int(s.scalar("SELECT COUNT(*) FROM admin_kv_keys"))
    assert abs(len(k) - live) <= 2, (len(k), live)  # a TTL key may expire meanwhile


def test_bad_limit_and_cursor(s):
    for q in ("limit=0", "limit=10001", "limit=-1", "limit=abc", "limit=", "limit=01"):
        check_error(listing(s, q), 400, "bad_limit")
    eq(listing(s, "limit=10000").status, 200, "the maximum")
    for q in ("cursor=", "cursor=!!!", "cursor=Lg", "cursor=" + "A" * 2000):
        check_error(listing(s, q), 400, "bad_cursor")
    check_error(listing(s, "limit=1&limit=2"), 400)


def test_methods_405_with_allow(s):
    for method, path, allowed in [("POST", "/keys", {"GET", "HEAD", "PUT", "DELETE"}),
                                  ("PATCH", "/keys", {"GET", "HEAD", "PUT", "DELETE"}),
                                  ("POST", "/keys/m405", {"GET", "HEAD", "PUT", "DELETE"}),
                                  ("PATCH", "/keys/m405", {"GET", "HEAD", "PUT", "DELETE"})]:
        r = s.request(method, path, key=rw(s))
        check_error(r, 405, "method_not_allowed")
        eq({m.strip() for m in r.headers.get("allow", "").split(",")}, allowed, f"Allow of {path}")


# --------------------------------------------------------------------- scopes

def test_scopes(s):
    reader = key_for(s, "kv:read")
    writer = key_for(s, "kv:write")
    put_q(s, "scoped=v")
    eq(get(s, "scoped", key=reader).status, 200, "read with kv:read")
    eq(listing(s, key=reader).status, 200, "list with kv:read")
    check_error(put(s, "scoped", b"x", key=reader), 403, "forbidden")
    check_error(put_q(s, "scoped=x", key=reader), 403)
    check_error(delete(s, "scoped", key=reader), 403)
    check_error(get(s, "scoped", key=writer), 403)
    eq(put(s, "scoped2", b"x", key=writer).status, 201, "write with kv:write")
    eq(delete(s, "scoped2", key=writer).status, 200, "delete one with kv:write")
    check_error(s.request("DELETE", "/keys", key=writer), 403)
    check_error(s.request("DELETE", "/keys", key=rw(s)), 403)
    check_error(s.get("/keys/scoped"), 401, "unauthorized")
    check_error(s.request("PUT", "/keys?a=b"), 401)


# ------------------------------------------------------- admin view, metrics

def test_admin_view(s):
    put_q(s, "view1=hello&expire_in=1000")
    put_q(s, "view2=world")
    rows = s.mysql("SELECT `key`, bytes, ttl_seconds IS NULL, preview FROM admin_kv_keys"
                   " WHERE `key` IN ('view1', 'view2') ORDER BY `key`")
    eq([r[0] for r in rows], ["view1", "view2"], "keys")
    eq(rows[0][1], "5", "bytes")
    eq(rows[0][2], "0", "view1 has a TTL")
    eq(rows[1][2], "1", "view2 none")
    eq(rows[1][3], "world", "preview")
    ttl = float(s.scalar("SELECT ttl_seconds FROM admin_kv_keys WHERE `key` = 'view1'"))
    assert 900 < ttl <= 1000, ttl


def test_admin_view_ignores_the_session_time_zone(s):
    # expires_at is UTC; a mysql client in another time zone sees the same
    # keys and TTLs (the view compared it with the session's NOW(6))
    put_q(s, "tzview-live=x&expire_in=1000")
    pause_sweep(s)
    try:
        put_q(s, "tzview-gone=x&expire_in=1")
        s.wait_for(lambda: get(s, "tzview-gone").status == 404, timeout=30, interval=0.1,
                   what="expiry")
        eq(db_rows(s, "tzview-gone"), 1, "expired, not swept")
        for tz in ("-05:00", "+05:00", "+00:00", "SYSTEM"):
            rows = s.mysql(f"SET time_zone = '{tz}'; SELECT `key`, ttl_seconds FROM admin_kv_keys"
                           " WHERE `key` LIKE 'tzview-%'")
            eq([r[0] for r in rows], ["tzview-live"], f"live keys under {tz}")
            ttl = float(rows[0][1])
            assert 900 < ttl <= 1000, (tz, ttl)
    finally:
        resume_sweep(s)


def test_ops_metrics(s):
    m0 = s.metrics()
    name = 'cairn_kv_ops_total{op="%s",result="%s"}'
    put(s, "met1", b"v")
    put(s, "met1", b"w")
    get(s, "met1")
    get(s, "met-absent")
    head(s, "met1")
    delete(s, "met1")
    put(s, "met2", b"v", headers={"If-None-Match": "*"})
    put(s, "met2", b"v", headers={"If-None-Match": "*"})
    m1 = s.metrics()
    for op, result, n in (("put", "created", 2), ("put", "replaced", 1), ("get", "hit", 1),
                          ("get", "miss", 1), ("head", "hit", 1), ("delete", "deleted", 1),
                          ("put", "precondition_failed", 1)):
        key = name % (op, result)
        assert m1.get(key, 0) - m0.get(key, 0) >= n, (key, m0.get(key), m1.get(key))


def test_keys_gauge(s):
    put_q(s, "gauge=v")

    def settled():
        live = int(s.scalar("SELECT COUNT(*) FROM admin_kv_keys"))
        return kv_metric(s, "cairn_kv_keys") == live and live > 0
    s.wait_for(settled, timeout=90, interval=1, what="cairn_kv_keys to equal the live keys")


def test_keys_gauge_counts_in_chunks(s):
    """The kv-count job walks the keys 50,000 at a time; more than two
    chunks of keys, some expired, still give the exact live count."""
    cols = "(k, v, content_type, version, expires_at, created_at, updated_at)"
    s.mysql(f"INSERT INTO kv_keys {cols} SELECT CONCAT('chunk-', seq), 'v', 'text/plain', 1,"
            " IF(seq % 10 = 0, UTC_TIMESTAMP(6) - INTERVAL 1 SECOND, NULL),"
            " UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_120001")
    try:
        def settled():
            live = int(s.scalar("SELECT COUNT(*) FROM admin_kv_keys"))
            return kv_metric(s, "cairn_kv_keys") == live and live > 108000
        s.wait_for(settled, timeout=120, interval=1,
                   what="cairn_kv_keys to equal the live keys over three chunks")
    finally:
        s.mysql("DELETE FROM kv_keys WHERE k LIKE 'chunk-%'")


def test_cairnctl_kv(s):
    import subprocess
    import os
    ctl = os.path.join(s.env["CAIRN_BUILD_DIR"], "bin/cairnctl")
    out = subprocess.run([ctl, "--config", s.env["CAIRN_CONF"], "kv", "stats"],
                         capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, out.stderr)
    assert "live keys" in out.stdout, out.stdout
    out = subprocess.run([ctl, "--config", s.env["CAIRN_CONF"], "kv", "bogus"],
                         capture_output=True, text=True, timeout=60)
    eq(out.returncode, 2, "usage error")


# -------------------------------------------------- delete-all (keep it last)

def test_delete_all(s):
    admin = key_for(s, "kv:admin")
    for i in range(30):
        put_q(s, f"del/{i}=v")
    live = int(s.scalar("SELECT COUNT(*) FROM admin_kv_keys"))
    # a parameter (a filter, say) is a mistake, not a request to delete all
    for q in ["filter=del/1*", "filter=", "limit=1", "x"]:
        check_error(s.request("DELETE", "/keys?" + q, key=admin), 400, "bad_parameter")
    eq(s.scalar("SELECT COUNT(*) FROM admin_kv_keys"), str(live), "nothing deleted")
    r = s.request("DELETE", "/keys", key=admin)
    eq(r.status, 200, "status")
    n = r.json()["deleted"]
    assert isinstance(n, int) and abs(n - live) <= 2 and n >= 30, (n, live)
    eq(list_all(s)[0], [], "empty")
    eq(s.scalar("SELECT COUNT(*) FROM admin_kv_keys"), "0", "nothing live")
    r = s.request("DELETE", "/keys", key=admin)
    eq(r.json(), {"deleted": 0}, "again: nothing")
