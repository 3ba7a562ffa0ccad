"""/admin/api-keys and Idempotency-Key (API.md §0)."""
import json
import re
import threading

from cairn import eq, is_envelope


def test_create_shows_key_once(s):
    r = s.post("/admin/api-keys", {"name": "svc", "scopes": ["kv:write", "kv:read"]},
               key=s.admin_key)
    eq(r.status, 201, "create")
    j = r.json()
    eq(set(j), {"id", "name", "scopes", "key", "created_at"}, "fields")
    assert re.fullmatch(r"[0-9a-f]{64}", j["key"]), j["key"]
    assert re.fullmatch(r"[1-9][0-9]*", j["id"]), j["id"]
    eq(sorted(j["scopes"]), ["kv:read", "kv:write"], "scopes")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", j["created_at"]), j
    # stored only as a hash
    rows = s.mysql(f"SELECT HEX(key_hash) FROM api_keys WHERE id = {int(j['id'])}")
    assert rows[0][0].lower() != j["key"], "key stored in clear"
    # never listed
    r = s.get("/admin/api-keys?limit=1000", key=s.admin_key)
    assert j["key"] not in r.text, "key appears in the listing"
    listed = [k for k in r.json()["keys"] if k["id"] == j["id"]][0]
    eq(set(listed), {"id", "name", "scopes", "created_at", "revoked_at"}, "list fields")
    eq(listed["revoked_at"], None, "not revoked")


def test_new_key_works_with_its_scope(s):
    _, key = s.new_key(["admin"], name="second-admin")
    eq(s.get("/admin/api-keys", key=key).status, 200, "new admin key")


def test_revoke(s):
    kid, key = s.new_key(["kv:read"], name="to-revoke")
    r = s.request("DELETE", f"/admin/api-keys/{kid}", key=s.admin_key)
    eq(r.status, 200, "revoke")
    j = r.json()
    eq(j["id"], kid, "id")
    assert j["revoked_at"], j
    r2 = s.request("DELETE", f"/admin/api-keys/{kid}", key=s.admin_key)
    eq(r2.status, 200, "revoke again")
    eq(r2.json()["revoked_at"], j["revoked_at"], "first revocation time kept")
    listed = s.get("/admin/api-keys?limit=1000", key=s.admin_key).json()["keys"]
    assert any(k["id"] == kid and k["revoked_at"] for k in listed), "revoked key listed"


def test_revoke_unknown_and_bad_ids(s):
    r = s.request("DELETE", "/admin/api-keys/999999999", key=s.admin_key)
    eq(r.status, 404, "unknown")
    assert is_envelope(r)
    for bad in ("0", "-1", "01", "abc", "9223372036854775808", "1.5"):
        r = s.request("DELETE", f"/admin/api-keys/{bad}", key=s.admin_key)
        eq(r.status, 400, f"id {bad}")
        assert is_envelope(r)


def test_unknown_scope_400(s):
    r = s.post("/admin/api-keys", {"name": "x", "scopes": ["kv:reed"]}, key=s.admin_key)
    eq(r.status, 400, "unknown scope")


def test_unknown_field_400(s):
    """A member the route does not know is refused, as POST /services does,
    rather than ignored: {"expires_at": ...} must not seem to take."""
    before = s.scalar("SELECT COUNT(*) FROM api_keys")
    for extra in ({"expires_at": "2027-01-01T00:00:00Z"}, {"scope": ["kv:read"]},
                  {"Name": "y"}):
        r = s.post("/admin/api-keys", {"name": "uf", "scopes": ["kv:read"], **extra},
                   key=s.admin_key)
        eq((r.status, r.error_code()), (400, "unknown_field"), f"{extra}")
        assert f"'{next(iter(extra))}'" in r.json()["error"]["message"], r.text
    eq(s.scalar("SELECT COUNT(*) FROM api_keys"), before, "no key made")


def test_logs_write_is_not_an_api_key_scope(s):
    """logs:write is held only by log service keys (API.md §0): an API key
    with it would be refused by /intake anyway, so it is never made."""
    before = s.scalar("SELECT COUNT(*) FROM api_keys")
    for scopes in [["logs:write"], ["logs:read", "logs:write"]]:
        r = s.post("/admin/api-keys", {"name": "lw", "scopes": scopes}, key=s.admin_key)
        eq(r.status, 400, f"scopes {scopes}")
        eq(r.error_code(), "invalid_scope", "code")
        assert "service keys" in r.json()["error"]["message"], r.json()
    eq(s.scalar("SELECT COUNT(*) FROM api_keys"), before, "no key made")


def test_pagination_neither_skips_nor_repeats(s):
    for i in range(7):
        s.new_key(["tags:read"], name=f"page-{i}")
    seen = []
    cursor = None
    pages = 0
    while True:
        path = "/admin/api-keys?limit=3" + (f"&cursor={cursor}" if cursor else "")
        r = s.get(path, key=s.admin_key)
        eq(r.status, 200, path)
        j = r.json()
        assert len(j["keys"]) <= 3
        seen += [k["id"] for k in j["keys"]]
        cursor = j["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 100
    eq(len(seen), len(set(seen)), "no repeats")
    everything = [k["id"] for k in s.get("/admin/api-keys?limit=1000", key=s.admin_key).json()["keys"]]
    eq(seen, everything, "same rows as one big page")


def test_bad_limit_and_cursor(s):
    for q in ("limit=0", "limit=1001", "limit=-1", "limit=x", "cursor=%%%", "cursor=AAAA",
              "cursor="):
        r = s.get("/admin/api-keys?" + q, key=s.admin_key)
        eq(r.status, 400, q)
        assert is_envelope(r), r


# ------------------------------------------------------- Idempotency-Key
def idem(s, key, body, idem_key):
    return s.post("/_debug/idempotent", body, key=key,
                  headers={"Idempotency-Key": idem_key})


def rows_for(s, idem_key):
    return int(s.scalar(f"SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = '{idem_key}'"))


def test_idempotent_replay(s):
    r1 = idem(s, s.admin_key, {"n": 1}, "replay-1")
    eq(r1.status, 201, "first")
    r2 = idem(s, s.admin_key, {"n": 1}, "replay-1")
    eq(r2.status, 201, "replay status")
    eq(r2.body, r1.body, "replay body (same nonce)")
    eq(rows_for(s, "replay-1"), 1, "stored once")
    r3 = idem(s, s.admin_key, {"n": 1}, "replay-other")
    assert r3.json()["nonce"] != r1.json()["nonce"], "another key runs again"


def test_idempotency_key_reused_422(s):
    eq(idem(s, s.admin_key, {"n": 1}, "reuse-1").status, 201, "first")
    r = idem(s, s.admin_key, {"n": 2}, "reuse-1")
    eq(r.status, 422, "different body")
    eq(r.error_code(), "idempotency_key_reused", "code")
    r = s.post("/_debug/idempotent?x=1", {"n": 1}, key=s.admin_key,
               headers={"Idempotency-Key": "reuse-1"})
    eq(r.status, 422, "different query")


def test_idempotency_scoped_per_caller(s):
    _, other = s.new_key(["admin"], name="other-caller")
    r1 = idem(s, s.admin_key, {"n": 1}, "scoped-1")
    r2 = idem(s, other, {"n": 1}, "scoped-1")
    eq(r2.status, 201, "other caller")
    assert r1.json()["nonce"] != r2.json()["nonce"], "callers share a key space"


def test_bad_idempotency_key_400(s):
    for bad in ("a" * 129, "has space", "tab\tkey"):
        r = idem(s, s.admin_key, {"n": 1}, bad)
        eq(r.status, 400, repr(bad))
        eq(r.error_code(), "bad_idempotency_key", "code")
    eq(idem(s, s.admin_key, {"n": 1}, "a" * 128).status, 201, "128 chars")


def test_concurrent_same_key_runs_once(s):
    results = []

    def go():
        results.append(idem(s, s.admin_key, {"n": 9}, "race-1"))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(sorted(r.status for r in results), [201] * 8, "all succeed")
    eq(len({r.body for r in results}), 1, "all got the first answer")
    eq(rows_for(s, "race-1"), 1, "stored once")


def test_no_key_no_idempotency_row(s):
    before = int(s.scalar("SELECT COUNT(*) FROM idempotency_keys"))
    r = s.post("/_debug/idempotent", {"n": 3}, key=s.admin_key)
    eq(r.status, 201, "no header")
    eq(int(s.scalar("SELECT COUNT(*) FROM idempotency_keys")), before, "nothing stored")


def test_revocation_reaches_every_worker_cache_at_once(s):
    kid, key = s.new_key(["admin"], name="cached")
    # warm the key cache of every worker
    for _ in range(10 * len(s.pool_workers())):
        eq(s.get("/admin/api-keys?limit=1", key=key).status, 200, "warm")
    eq(s.request("DELETE", f"/admin/api-keys/{kid}", key=s.admin_key).status, 200, "revoke")
    statuses = {s.get("/admin/api-keys?limit=1", key=key).status
                for _ in range(10 * len(s.pool_workers()))}
    eq(statuses, {401}, "no worker still trusts the revoked key")
