#!/usr/bin/python3
# 404: the redis backend against a real Redis started by the test on
# 127.0.0.1: user hashes (password, allow) and ACL hashes (filter ->
# access) under Go comqtt's prefixes, wildcards, hostile user names (the
# key is a binary-safe argument, never command text), AUTH to a protected
# server, SELECT, and Redis restarted mid-test.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import (Authd, Redis, hash_password, refusal_logged,  # noqa
                   skip_unless_installed, wait_for)
from tap import T  # noqa: E402

t = T()
skip_unless_installed(t, *Redis.BINARIES)
rd = Redis(t)
sha = hash_password(4, "secret")


def fill():
    rd.cmd("HSET", "comqtt-auth:alice", "password", sha, "allow", "1")
    rd.cmd("HSET", "comqtt-auth:bob", "password", sha)
    rd.cmd("HSET", "comqtt-auth:carol", "password", sha, "allow", "0")
    rd.cmd("HSET", "comqtt-acl:alice", "alice/#", "3", "alice/private/#",
           "0", "news/+", "1", "junk", "not-a-level")
    rd.cmd("HSET", "comqtt-acl:bob", "sensors/+/data", "2")


fill()
CONF = """backends: [redis]
backend_timeout_ms: 1500
redis:
  address: "127.0.0.1:%d"
  password_hash: 4
""" % rd.port
a = Authd(t, auth=CONF)
c = a.client()

t.ok(c.auth("c1", "alice", "secret").ok, "AUTH alice: OK")
t.ok(c.auth("c1", "bob", "secret").ok, "AUTH bob (no allow field): OK")
t.is_(c.auth("c1", "alice", "nope").code, "bad_credentials",
      "a wrong password: bad_credentials")
t.is_(c.auth("c1", "carol", "secret").code, "not_authorized",
      "allow 0: not_authorized")
t.is_(c.auth("c1", "nobody", "secret").code, "bad_credentials",
      "no such hash: bad_credentials")
t.ok(refusal_logged(a, "c1", "not_authorized"), "refusals are logged")

t.ok(c.acl("c1", "alice", "alice/x", "w").ok, "alice/# grants write")
t.is_(c.acl("c1", "alice", "alice/private/x", "r").code, "not_authorized",
      "a deny entry wins")
t.ok(c.acl("c1", "alice", "news/today", "r").ok, "news/+ readable")
t.is_(c.acl("c1", "alice", "news/today", "w").code, "not_authorized",
      "news/+ not writable")
t.ok(c.acl("c1", "alice", "alice/+/b", "s").ok, "subscribe alice/+/b")
t.ok(c.acl("c1", "bob", "sensors/1/data", "w").ok,
     "bob writes sensors/+/data")
t.is_(c.acl("c1", "bob", "other", "w").code, "not_authorized",
      "no entry applies: acl_no_match deny")

keys = rd.cmd("DBSIZE").strip()
for user in ("alice\r\nFLUSHALL\r\n", "*", "comqtt-auth:alice",
             "alice password", "\\x00"):
    t.is_(c.auth("inj", user, "secret").code, "bad_credentials",
          "a hostile user name %r is just a key" % user)
t.is_(rd.cmd("DBSIZE").strip(), keys, "nothing was changed in Redis")

# A protected server: without the password authd gets NOAUTH, which is a
# fault (unavailable), never an allow; with it, answers again.
rd.cmd("CONFIG", "SET", "requirepass", "r3dis")
t.ok(a.reload(CONF), "reload (new connection, no password)")
c.read_line()
t.is_(c.auth("c", "alice", "secret").code, "unavailable",
      "NOAUTH: unavailable")
t.ok(a.reload(CONF + "  password: r3dis\n"), "reload with redis.password")
c.read_line()
t.ok(c.auth("c", "alice", "secret").ok, "AUTH with the password: OK")
t.ok(a.reload(CONF + "  password: r3dis\n  db: 2\n"), "reload with db: 2")
c.read_line()
t.is_(c.auth("c", "alice", "secret").code, "bad_credentials",
      "database 2 has no users")
rd.cmd("-a", "r3dis", "CONFIG", "SET", "requirepass", "")
t.ok(a.reload(CONF), "back to the first configuration")
c.read_line()

# Redis restarts (empty: no persistence) mid-test.
rd.stop()
t.is_(c.auth("c", "alice", "secret").code, "unavailable",
      "Redis down: AUTH fails closed")
t.is_(c.acl("c", "alice", "alice/x", "w").code, "unavailable",
      "Redis down: ACL fails closed")
rd.start()
fill()
t.ok(wait_for(lambda: c.auth("c", "alice", "secret").ok, 20, 0.2),
     "after the restart authd reconnects")
t.ok("redis 127.0.0.1: connected again" in a.log_text(),
     "the reconnection is logged")
t.ok(c.acl("c", "alice", "alice/x", "w").ok, "ACL works again")
c.close()
a.stop()
t.done()
