#!/usr/bin/python3
# 401: the ledger backend through authd: Go comqtt's ledger format (users,
# auth rules, acl rules, patterns on client/username/remote), every
# password scheme 0..8, ACL read/write/deny with wildcards, the JSON form,
# reload on SIGHUP, a broken file on reload keeping the old rules, and
# chaining after the ledger (ledger -> allow).
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Authd, hash_password, refusal_logged  # noqa: E402
from tap import T  # noqa: E402

RULES = """
users:
  alice:
    password: wonderland
    acl:
      "alice/private/#": 0
      "alice/#": 3
      "news/+": 1
  mallory: {password: evil, disallow: true}
auth:
  - remote: "10.0.0.*"
    allow: false
  - client: "sensor-*"
    password: "*"
    allow: true
  - username: guest
    password: ""
    allow: true
acl:
  - client: "sensor-*"
    filters:
      "sensors/+/telemetry": 2
      "sensors/+/cmd": 1
  - username: guest
    filters:
      "public/#": 1
  - remote: "127.0.0.1:*"
    filters:
      "local/#": 3
"""

t = T()
a = Authd(t, auth="backends: [ledger]\nledger:\n  file: rules.yml",
          files={"rules.yml": RULES})
c = a.client()


def auth(client, user, pw, addr="192.168.1.2:4000"):
    return c.auth(client, user, pw, addr=addr)


t.ok(auth("c1", "alice", "wonderland").ok, "users: alice with her password")
r = auth("c1", "alice", "Wonderland")
t.is_(r.code, "bad_credentials", "users: a wrong password is refused")
r = auth("c1", "mallory", "evil")
t.is_(r.code, "not_authorized", "users: disallow: true refuses")
t.ok(auth("sensor-17", None, None).ok,
     "auth rule: client sensor-* with any password, no user name")
r = auth("sensor-17", None, None, addr="10.0.0.9:1")
t.is_(r.code, "not_authorized", "first match wins: the 10.0.0.* rule "
      "refuses before the sensor-* rule")
t.ok(auth("x", "guest", None).ok, "auth rule: guest without a password")
t.is_(auth("x", "nobody", "x").code, "bad_credentials",
      "no rule matches: refused (bad_credentials)")
t.ok(refusal_logged(a, "x", "bad_credentials"), "the refusal is logged")


def acl(client, user, topic, access, addr=None):
    return c.acl(client, user, topic, access, addr=addr)


t.ok(acl("c1", "alice", "alice/inbox", "w").ok, "alice may write alice/#")
t.ok(acl("c1", "alice", "alice/inbox", "r").ok, "... and read it")
t.is_(acl("c1", "alice", "alice/private/diary", "r").code,
      "not_authorized", "access 0 on alice/private/# denies (it comes "
      "first)")
t.ok(acl("c1", "alice", "alice/+/x", "s").ok, "subscribe alice/+/x: "
     "covered by alice/#")
t.ok(acl("c1", "alice", "news/today", "r").ok, "news/+ is readable")
t.is_(acl("c1", "alice", "news/today", "w").code, "not_authorized",
      "news/+ is read-only")
t.is_(acl("c1", "alice", "news/#", "s").code, "not_authorized",
      "subscribe news/#: not covered by news/+ (nothing else matches)")
t.ok(acl("sensor-3", None, "sensors/3/telemetry", "w").ok,
     "sensor may publish its telemetry (+ wildcard)")
t.is_(acl("sensor-3", None, "sensors/3/telemetry", "r").code,
      "not_authorized", "... but not read it (access 2)")
t.ok(acl("sensor-3", None, "sensors/3/cmd", "s").ok,
     "sensor may subscribe to its commands")
t.ok(acl("g", "guest", "public/a/b", "s").ok, "guest reads public/#")
t.is_(acl("g", "guest", "public/a/b", "w").code, "not_authorized",
      "guest may not write public/#")
t.ok(acl("any", "anyone", "local/x", "w", addr="127.0.0.1:999").ok,
     "remote 127.0.0.1:* rule applies by address")
t.is_(acl("any", "anyone", "local/x", "w", addr="127.0.0.2:999").code,
      "not_authorized", "another address: no rule; acl_no_match deny")

# Every password scheme, each by reloading with password_hash N; stored
# forms come from comqtt-authd --hash.
for scheme in range(9):
    key = "k3y" if scheme >= 6 else None
    stored = hash_password(scheme, "s3cr3t!", key)
    a.dir.file("rules.yml", "users:\n  u%d: {password: '%s'}\n"
               % (scheme, stored))
    conf = "backends: [ledger]\nledger:\n  file: rules.yml\n" \
           "  password_hash: %d\n" % scheme
    if key:
        conf += "  hash_key: %s\n" % key
    t.ok(a.reload(conf), "reload with password_hash %d" % scheme)
    c.read_line()  # INVALIDATE
    t.ok(auth("c", "u%d" % scheme, "s3cr3t!").ok,
         "scheme %d: the right password is accepted" % scheme)
    t.is_(auth("c", "u%d" % scheme, "s3cr3t?").code, "bad_credentials",
          "scheme %d: a wrong one is refused" % scheme)

# A broken rules file on reload: the old rules keep serving.
a.dir.file("rules.yml", "users: [not, a, map]\n")
a.reload("backends: [ledger]\nledger:\n  file: rules.yml")
t.ok("reload failed, keeping the running backends" in a.log_text(),
     "a broken rules file on reload is logged and not applied")
t.ok(auth("c", "u8", "s3cr3t!").ok, "the previous rules still answer")

# The JSON form of a ledger.
a.dir.file("rules.json", json.dumps({
    "users": {"bob": {"password": "builder", "acl": {"site/#": 3}}},
    "auth": [{"username": "anon*", "allow": True}],
    "acl": [{"username": "anon*", "filters": {"lobby": 1}}]}))
t.ok(a.reload("backends: [ledger]\nledger:\n  file: rules.json"),
     "reload with a JSON ledger")
c.read_line()
t.ok(auth("c", "bob", "builder").ok, "JSON: bob with his password")
t.ok(auth("c", "anon42", "whatever").ok, "JSON: anon* rule")
t.ok(acl("c", "bob", "site/a", "w").ok, "JSON: bob writes site/#")
t.is_(acl("c", "anon1", "lobby", "w").code, "not_authorized",
      "JSON: anon* only reads lobby")

# Chaining: the ledger passes what it does not know to the next backend.
t.ok(a.reload("backends: [ledger, allow]\nledger:\n  file: rules.json"),
     "reload with backends [ledger, allow]")
c.read_line()
t.ok("backend \"allow\" is in the chain" in a.log_text(),
     "allow logs a warning when it starts")
t.ok(auth("c", "stranger", "x").ok, "unknown to the ledger: allow decides")
t.is_(acl("c", "anon1", "lobby", "w").code, "not_authorized",
      "a ledger refusal is definitive: allow is not asked")
c.close()
t.done()
