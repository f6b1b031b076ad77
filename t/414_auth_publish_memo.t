#!/usr/bin/python3
# 414: the worker remembers a connection's last PUBLISH topic the cache
# allowed (workers/authwait.h), so a publisher repeating its topic is not
# asked about again -- but a policy change forgets it at once: after the
# ledger takes the right away and comqttd reloads (authd re-reads it and
# the cache's epoch moves), the very next PUBLISH to the same topic on
# the same connection is refused (MQTT 5 PUBACK 0x87 [MQTT-3.4.2-1]) and
# not delivered.
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import AuthBroker, Mqtt, wait_for  # noqa: E402
from tap import T  # noqa: E402

ALLOW = """users:
  reader: {password: r, acl: {"memo/#": 1}}
  writer: {password: w, acl: {"memo/a": 2}}
"""
DENY = """users:
  reader: {password: r, acl: {"memo/#": 1}}
  writer: {password: w, acl: {"memo/b": 2}}
"""

t = T()
b = AuthBroker(t, ALLOW)
sub = Mqtt(b.port, 5)
t.is_(sub.connect("sub414", "reader", "r"), 0, "reader connects")
t.is_(sub.subscribe("memo/#", 1), 1, "and subscribes memo/#")
pub = Mqtt(b.port, 5)
t.is_(pub.connect("pub414", "writer", "w"), 0, "writer connects")
codes = [pub.publish("memo/a", b"%d" % i, pid=i + 1) for i in range(20)]
t.is_(codes, [0] * 20, "twenty publishes to its allowed topic are "
      "acknowledged")
got = [sub.message() for _ in range(20)]
t.is_(got, [("memo/a", b"%d" % i) for i in range(20)], "and delivered")

with open(b.ledger, "w") as f:
    f.write(DENY)
before = b.log_text().count("policy changed")
os.kill(b.proc.pid, signal.SIGHUP)
t.ok(wait_for(lambda: b.log_text().count("policy changed") > before, 20),
     "the reload reaches authd and the workers drop cached answers")
# Both workers must have seen the new epoch: the cache is shared, so one
# log line means the epoch moved for everyone.
t.is_(pub.publish("memo/a", b"late", pid=100), 0x87,
      "the next publish to the same topic is refused at once (0x87)")
t.is_(sub.message(timeout=1.0), None, "and not delivered")
t.is_(pub.publish("memo/b", b"new", pid=101), 0,
      "the newly allowed topic is accepted")
t.is_(sub.message(), ("memo/b", b"new"), "and delivered")
t.done()
