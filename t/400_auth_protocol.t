#!/usr/bin/python3
# 400: the comqtt-authd line protocol from outside (comqtt-authd(8)):
# greeting, pipelining with out-of-order replies, escaping, malformed and
# oversize lines closing only their own connection, invalid requests
# answered with FAIL, the in-flight cap, the version check, INVALIDATE on
# reload, the socket's mode, -t and --hash.
import os
import signal
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Authd, AuthClient, b64, refusal_logged  # noqa: E402
from cqtest import binary, run  # noqa: E402
from tap import T  # noqa: E402

LEDGER = """
users:
  alice: {password: secret, acl: {"alice/#": 3}}
auth:
  - {client: "slow*", password: "*", allow: true}
acl:
  - {username: "*", filters: {"public/#": 1}}
"""

t = T()
a = Authd(t, auth="backends: [ledger]\nmax_inflight: 8\nledger:\n"
          "  file: ledger.yml", files={"ledger.yml": LEDGER})

st = os.stat(a.socket)
t.ok(stat.S_ISSOCK(st.st_mode), "authd listens on its Unix socket")
t.is_(stat.S_IMODE(st.st_mode), 0o600, "the socket has mode 0600")

c = a.client()
t.is_(c.version, "VERSION\t1\t0", "authd greets with VERSION 1 0")
t.ok(c.invalidate.startswith("INVALIDATE\t"), "then INVALIDATE <serial>")
serial = c.invalidate.split("\t")[1]

r = c.auth("c1", "alice", "secret")
t.ok(r.ok, "AUTH alice with the right password: OK")
t.is_(r.kv.get("ttl"), "60", "OK carries ttl (auth.cache_ttl)")
r = c.auth("c1", "alice", "wrong")
t.is_((r.cmd, r.code), ("FAIL", "bad_credentials"), "wrong password: FAIL "
      "code=bad_credentials")
t.ok(r.kv.get("ttl") == "5", "a refusal carries ttl (auth.deny_ttl)")
t.ok(refusal_logged(a, "c1", "bad_credentials"),
     "the refusal is one log line with the client id and the code")

# Pipelining: many requests before reading; replies matched by id.
ids = []
for i in range(8):
    ids.append(c.request("ACL", client="c%d" % i, user="alice",
                         topic="alice/%d" % i if i % 2 else "secret/%d" % i,
                         access="w"))
got = {rid: c.reply(rid) for rid in reversed(ids)}
t.ok(all(got[ids[i]].ok == bool(i % 2) for i in range(8)),
     "8 pipelined ACL requests, each answered under its own id")

# Values are escaped: a tab and a backslash in a client id round-trip.
r = c.acl("we\tird\\id", "alice", "alice/x", "r")
t.ok(r.ok, "escaped TAB and backslash in a value are understood")

# Invalid requests: FAIL invalid_request, the connection stays.
c.send_raw("ACL\t900\tclient=x\ttopic=a/+\taccess=w\n")
r = c.reply(900)
t.is_(r.code, "invalid_request", "a wildcard topic for access w: "
      "invalid_request")
c.send_raw("AUTH\t901\tuser=x\taddr=1.2.3.4:5\tlistener=l\n")
t.is_(c.reply(901).code, "invalid_request", "AUTH without client=: "
      "invalid_request")
c.send_raw("AUTH\t902\tclient=a\tpass=%%%%\taddr=1.2.3.4:5\tlistener=l\n")
t.is_(c.reply(902).code, "invalid_request", "pass= not base64: "
      "invalid_request")
c.send_raw("ACL\t903\tclient=a\tclient=b\ttopic=t\taccess=r\n")
t.is_(c.reply(903).code, "invalid_request", "a key twice: invalid_request")
t.ok(c.acl("c", "alice", "alice/y", "w").ok,
     "the connection still serves after invalid requests")

# Shared subscriptions are judged by their filter.
t.ok(c.acl("c", "bob", "$share/g/public/x", "s").ok,
     "$share/g/public/x is judged as public/x")
t.is_(c.acl("c", "bob", "public/#", "w").code, "invalid_request",
      "a filter is not a topic to publish to")
t.ok(c.acl("c", "bob", "public/+/x", "s").ok,
     "subscribe public/+/x under a public/# read rule")

# A malformed line closes only its own connection, after ERROR.
other = a.client()
bad = a.client()
bad.send_raw("HELLO\tworld\n")
line = bad.read_line()
t.ok(line is not None and line.startswith("ERROR\t"),
     "an unknown command gets ERROR <text>")
t.ok(bad.at_eof(), "... and that connection is closed")
t.ok(other.auth("c2", "alice", "secret").ok,
     "another connection is unaffected")
for raw, what in (("AUTH\tx\tclient=a\n", "a bad id"),
                  ("AUTH\t1\tclient=a\\q\n", "a bad escape"),
                  ("AUTH\t1\tclient=a\rb\n", "a raw CR"),
                  ("AUTH\t1\tclient=a\x00\n", "a NUL byte"),
                  ("\n", "an empty line")):
    b2 = a.client()
    b2.send_raw(raw)
    line = b2.read_line()
    t.ok(line is not None and line.startswith("ERROR") and b2.at_eof(),
         "%s: ERROR and close" % what)
    b2.close()

# An oversize line (no LF within 256 KiB) is refused.
big = a.client()
big.send_raw("ACL\t1\tclient=" + "x" * (256 * 1024 + 10))
line = big.read_line()
t.ok(line == "ERROR\tline too long" and big.at_eof(),
     "a line over 256 KiB: ERROR line too long, closed")
t.ok("protocol error: line too long" in a.log_text(),
     "the protocol error is logged")

# The handshake: VERSION first, same major.


def greeted_then(first_line):
    """A connection that reads authd's greeting, then sends first_line."""
    v = a.client(handshake=False)
    v.read_line()
    v.read_line()
    v.send_raw(first_line)
    return v


v = greeted_then("VERSION\t2\t0\n")
t.ok(v.read_line().startswith("ERROR") and v.at_eof(),
     "a client of major version 2 is refused")
v = greeted_then("AUTH\t1\tclient=a\taddr=1.2.3.4:5\tlistener=l\n")
t.ok(v.read_line().startswith("ERROR") and v.at_eof(),
     "a request before VERSION is refused")
v = greeted_then("VERSION\t1\t9\n")
r = v.reply(v.request("AUTH", client="a", user="alice", **{"pass": b64("secret")},
                      addr="1.1.1.1:1", listener="l"))
t.ok(r.ok, "a newer minor version is fine")

# The in-flight cap (max_inflight: 8): the 9th request running at once
# gets busy.  bcrypt keeps them running: reload with a bcrypt ledger.
h = run([binary("comqtt-authd"), "--hash", "1"], input="pw\n")
t.is_(h.returncode, 0, "comqtt-authd --hash 1 makes a bcrypt hash")
bcrypt = h.stdout.strip()
a.dir.file("ledger.yml", "users:\n  slowuser: {password: '%s'}\n" % bcrypt)
t.ok(a.reload("backends: [ledger]\nmax_inflight: 8\nthreads: 2\n"
              "backend_timeout_ms: 60000\n"
              "ledger:\n  file: ledger.yml\n  password_hash: 1"),
     "SIGHUP reloads")
inv = c.read_line()
t.ok(inv is not None and inv.startswith("INVALIDATE\t") and
     inv.split("\t")[1] != serial,
     "after a reload every connection gets INVALIDATE with a new serial")
ids = [c.request("AUTH", client="k%d" % i, user="slowuser",
                 **{"pass": b64("pw")}, addr="1.1.1.1:1", listener="l")
       for i in range(12)]
replies = [c.reply(rid) for rid in ids]
busy = [r for r in replies if r.code == "busy"]
oks = [r for r in replies if r.ok]
t.ok(len(busy) >= 1 and len(oks) >= 8 and len(busy) + len(oks) == 12,
     "12 slow requests with max_inflight 8: %d OK, %d busy"
     % (len(oks), len(busy)))

c.close()
other.close()

# comqtt-authd -t checks the configuration and the backends' files.
r = run([binary("comqtt-authd"), "-t", "-c", a.conf])
t.is_(r.returncode, 0, "comqtt-authd -t accepts the configuration")
bad_conf = a.dir.file("bad.yml", "auth:\n  backends: [ledger, ldap]\n")
r = run([binary("comqtt-authd"), "-t", "-c", bad_conf])
t.ok(r.returncode == 1 and "unknown backend \"ldap\"" in r.stderr,
     "an unknown backend is a configuration error")
r = run([binary("comqtt-authd"), "-t", "-c", a.dir.file(
    "missing.yml", "auth:\n  ledger:\n    file: /nonexistent.yml\n")])
t.ok(r.returncode == 1 and "/nonexistent.yml" in r.stderr,
     "-t reports a missing ledger file")
r = run([binary("comqtt-authd"), "--hash", "4"], input="password\n")
t.is_(r.stdout.strip(), "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd6"
      "2a11ef721d1542d8", "--hash 4 is sha256 in hex")

# A second authd on the same socket refuses to start.
r = run([binary("comqtt-authd"), "-c", a.conf], timeout=30)
t.ok(r.returncode == 1 and "another authd is listening" in r.stdout +
     r.stderr + open(a.log).read(), "a second authd on a live socket "
     "refuses to start")
t.ok(os.path.exists(a.socket), "... and leaves the first one's socket")

rc = a.stop()
t.is_(rc, 0, "SIGTERM stops authd with status 0")
t.ok(not os.path.exists(a.socket), "the socket is removed at stop")
t.done()
