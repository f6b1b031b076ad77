#!/usr/bin/python3
# 406: chaining real backends (ledger, then redis: the first definitive
# answer wins, "don't know" passes on), and authd's own life: killed with
# SIGKILL mid-request (the connection drops, the stale socket does not
# stop the next authd, whose policy serial differs), and SIGTERM while a
# request is still in a backend (it finishes before authd exits 0).
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import (Authd, Redis, hash_password, skip_unless_installed,  # noqa
                   wait_for)
from tap import T  # noqa: E402

t = T()
skip_unless_installed(t, *Redis.BINARIES)
rd = Redis(t)
rd.cmd("HSET", "comqtt-auth:bob", "password", "builder")
rd.cmd("HSET", "comqtt-auth:mallory", "password", "evil")
rd.cmd("HSET", "comqtt-acl:bob", "bob/#", "3")
bcrypt = hash_password(1, "slowpw")
LEDGER = """users:
  alice: {password: wonderland, acl: {"alice/#": 3}}
  slow: {password: '%s'}
auth:
  - {username: mallory, allow: false}
""" % bcrypt
CONF = """backends: [ledger, redis]
ledger:
  file: ledger.yml
redis:
  address: "127.0.0.1:%d"
""" % rd.port
a = Authd(t, auth=CONF, files={"ledger.yml": LEDGER})
c = a.client()

t.ok(c.auth("c", "alice", "wonderland").ok, "ledger knows alice")
t.ok(c.auth("c", "bob", "builder").ok, "ledger passes bob on; redis knows "
     "him")
t.is_(c.auth("c", "bob", "wrong").code, "bad_credentials",
      "redis refuses bob's wrong password")
t.is_(c.auth("c", "mallory", "evil").code, "not_authorized",
      "the ledger's refusal is definitive: redis is not asked")
t.ok(c.acl("c", "bob", "bob/x", "w").ok, "ACL: ledger passes, redis allows")
t.ok(c.acl("c", "alice", "alice/x", "w").ok, "ACL: the ledger allows")
t.is_(c.acl("c", "alice", "bob/x", "w").code, "not_authorized",
      "ACL: nobody allows: acl_no_match deny")
serial = c.invalidate.split("\t")[1]

# SIGKILL while a (bcrypt, slow) request runs: the connection drops.
rid = c.request("AUTH", client="k", user="slow", addr="1.1.1.1:1",
                listener="tcp", **{"pass": "c2xvd3B3"})
a.kill()
t.ok(c.at_eof(), "authd killed: the connection drops")
t.ok(os.path.exists(a.socket), "a killed authd leaves its socket file")
a.start()
t.ok("authd ready" in a.log_text(), "a new authd starts over the stale "
     "socket")
c2 = a.client()
t.ok(c2.invalidate.split("\t")[1] != serial,
     "the new authd has another policy serial (clients drop their cache)")
t.ok(c2.auth("c", "alice", "wonderland").ok, "and answers")

# SIGTERM with a request inside a backend: answered, then a clean exit.
rid = c2.request("AUTH", client="k", user="slow", addr="1.1.1.1:1",
                 listener="tcp", **{"pass": "c2xvd3B3"})
t.ok(wait_for(lambda: "authd connection" in a.log_text(), 5), "sent")
a.signal(signal.SIGTERM)
rc = a.proc.wait(30)
t.is_(rc, 0, "SIGTERM with a request in flight: exit 0")
t.ok("authd stopped" in a.log_text() and "still in backends" not in
     a.log_text(), "the request finished inside the drain")
t.ok(not os.path.exists(a.socket), "the socket is gone")
a.proc = None
a._logf.close()
t.done()
