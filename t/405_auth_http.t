#!/usr/bin/python3
# 405: the http backend against an HTTP auth service the test runs
# (Python's standard library): the fields sent (JSON, form, GET query),
# what decides (status code, JSON "result" with ttl and reason, Go
# comqtt's "1"/"0" and filter-map answers), faults failing closed (5xx,
# garbage, a slow service past backend_timeout_ms, the service down), and
# connections kept alive and reused.
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Authd, HttpAuthServer, refusal_logged  # noqa: E402
from tap import T  # noqa: E402

AUTH_ANSWERS = {
    "alice": (200, json.dumps({"result": "allow", "ttl": 30})),
    "bob": (200, "1"),
    "carol": (200, "0"),
    "dave": (403, ""),
    "erin": (200, json.dumps({"result": "deny", "reason": "banned"})),
    "frank": (200, json.dumps({"result": "ignore"})),
    "grace": (500, "oops"),
    "heidi": (200, "<html>not json</html>"),
    "ivan": (204, ""),
    "judy": (200, json.dumps({"result": True})),
}


def handler(path, f):
    if path == "/auth":
        if f.get("user") == "slow":
            time.sleep(2.5)
            return 200, "1"
        if f.get("user") == "alice" and f.get("password") != "secret":
            return 200, json.dumps({"result": "deny"})
        return AUTH_ANSWERS.get(f.get("user"), (401, ""))
    if path == "/acl":
        if f.get("user") == "gomap":  # Go comqtt's answer shape
            return 200, json.dumps({"maps/#": 3, "maps/secret": 0,
                                    "ro/+": 1})
        allowed = f.get("topic", "").startswith(f.get("user", "") + "/")
        return 200, json.dumps({"result": "allow" if allowed else "deny"})
    return 404, ""


t = T()
web = HttpAuthServer(t, handler)
CONF = """backends: [http]
backend_timeout_ms: 1000
http:
  auth_url: %s
  acl_url: %s
  connections: 4
""" % (web.url("/auth"), web.url("/acl"))
a = Authd(t, auth=CONF)
c = a.client()

r = c.auth("c1", "alice", "secret", addr="127.0.0.1:4242", cert="CN=x")
t.ok(r.ok, "JSON result allow: OK")
t.is_(r.kv.get("ttl"), "30", "the service's ttl is passed on")
method, path, f, ctype = web.requests[-1]
t.is_((method, path, ctype), ("POST", "/auth", "application/json"),
      "POST with a JSON body")
t.is_((f.get("client"), f.get("user"), f.get("password"), f.get("addr"),
       f.get("listener"), f.get("cert")),
      ("c1", "alice", "secret", "127.0.0.1:4242", "tcp", "CN=x"),
      "every AUTH field is sent")
t.is_(c.auth("c1", "alice", "wrong").code, "bad_credentials",
      "JSON result deny: bad_credentials")
t.ok(c.auth("c1", "bob", "x").ok, "Go's answer 1: OK")
t.is_(c.auth("c1", "carol", "x").code, "bad_credentials", "Go's 0: refused")
t.is_(c.auth("c1", "dave", "x").code, "bad_credentials", "403: refused")
r = c.auth("c1", "erin", "x")
t.ok(r.code == "bad_credentials" and "banned" in r.kv.get("reason", ""),
     "the service's reason is passed on")
t.is_(c.auth("c1", "frank", "x").code, "bad_credentials",
      "ignore: the next backend (none) -- refused")
t.is_(c.auth("c1", "grace", "x").code, "unavailable", "500: unavailable")
t.is_(c.auth("c1", "heidi", "x").code, "unavailable",
      "an answer that is not JSON: unavailable")
t.ok(c.auth("c1", "ivan", "x").ok, "204 with no body: OK")
t.ok(c.auth("c1", "judy", "x").ok, "result true: OK")
r = c.auth("c1", "slow", "x")
t.is_(r.code, "unavailable", "a service slower than backend_timeout_ms: "
      "unavailable")
t.ok(refusal_logged(a, "c1", "unavailable"), "faults are logged")

t.ok(c.acl("c1", "alice", "alice/x", "w").ok, "ACL result allow")
t.is_(c.acl("c1", "alice", "bob/x", "w").code, "not_authorized",
      "ACL result deny")
method, path, f, ctype = web.requests[-1]
t.is_((f.get("client"), f.get("user"), f.get("topic"), f.get("access")),
      ("c1", "alice", "bob/x", "w"), "every ACL field is sent")
t.ok(c.acl("c", "gomap", "maps/a", "w").ok, "Go's filter map: maps/# 3")
t.is_(c.acl("c", "gomap", "maps/secret", "r").code, "not_authorized",
      "Go's filter map: a deny entry wins")
t.is_(c.acl("c", "gomap", "ro/1", "w").code, "not_authorized",
      "Go's filter map: read only")

# Many questions at once: answered over a few kept-alive connections.
ids = [c.request("ACL", client="c", user="u%d" % (i % 5),
                 topic="u%d/t" % (i % 5), access="w") for i in range(60)]
t.ok(all(c.reply(rid).ok for rid in ids), "60 pipelined ACL questions")
t.ok(len(web.peer_ports) <= 4 + 2,
     "over at most http.connections connections (%d used)"
     % len(web.peer_ports))

# A form body, then GET with the fields in the query string.
t.ok(a.reload(CONF + "  content_type: form\n"), "reload: content_type form")
c.read_line()
t.ok(c.auth("c2", "alice", "secret").ok, "form body: OK")
method, path, f, ctype = web.requests[-1]
t.ok(method == "POST" and ctype.startswith(
    "application/x-www-form-urlencoded") and f.get("password") == "secret",
    "POST application/x-www-form-urlencoded")
t.ok(a.reload(CONF + "  method: get\n"), "reload: method get")
c.read_line()
t.ok(c.auth("c3", "alice", "secret").ok, "GET: OK")
method, path, f, ctype = web.requests[-1]
t.ok(method == "GET" and f.get("user") == "alice" and f.get("client") ==
     "c3", "GET carries the fields in the query string")
t.ok(c.auth("c3", "bob", "p&w=1 +%").ok,
     "a password with & = + % survives the query string")
t.is_(web.requests[-1][2].get("password"), "p&w=1 +%",
      "... byte for byte")

# The service goes away: fail closed.
web.stop()
t.is_(c.auth("c4", "alice", "secret").code, "unavailable",
      "service down: unavailable")
t.is_(c.acl("c4", "alice", "alice/x", "w").code, "unavailable",
      "service down: ACL unavailable")
c.close()
a.stop()
t.done()
