#!/usr/bin/python3
# 181: the $SYS counters follow the traffic.  Against a baseline:
# four more clients raise clients/connected by 4; a persistent client
# that leaves lowers clients/connected but stays in clients/total (mosquitto:
# "active and inactive clients"); five subscriptions raise
# subscriptions/count by 5; three retained topics raise "retained
# messages/count" by 3 and clearing them lowers it again; ten 1000-byte
# PUBLISHes delivered to two subscribers raise messages/received by 10,
# messages/sent by 20, bytes/received and bytes/sent by at least 10000
# and 20000.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, SysTopics  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, sys_interval=1)
sys_ = SysTopics(b)
COUNTERS = ["clients/connected", "clients/total", "subscriptions/count",
            "retained messages/count", "messages/received", "messages/sent",
            "bytes/received", "bytes/sent"]
# A baseline that already counts the watcher (values at subscription time
# may be old).
sys_.wait("clients/connected", lambda v: v >= 1, 5)
sys_.wait("subscriptions/count", lambda v: v >= 1, 5)
base = {n: sys_.number(n) for n in COUNTERS}
t.ok(all(v is not None for v in base.values()), "baseline: %r" % base)
base = {n: v or 0 for n, v in base.items()}


def rise_all(wants):
    """Wait (once, bounded) until every counter rose by its amount."""
    def all_up():
        return all((sys_.number(n) or 0) >= base[n] + by
                   for n, (by, _) in wants.items())
    deadline = time.monotonic() + 8
    while not all_up() and time.monotonic() < deadline:
        sys_.refresh(0.5)
    for n, (by, what) in wants.items():
        t.cmp_ok(sys_.number(n), ">=", base[n] + by, "%s: %s rises by %d "
                 "or more (from %d)" % (what, n, by, base[n]))


subs = [b.client(port=b.ports[i % 2], client_id="c181-%d" % i)
        for i in range(2)]
keeper = b.client(client_id="keep181", clean=False)
for i, c in enumerate(subs):
    c.subscribe([("cnt/#", 1), ("cnt/x%d" % i, 0)])
keeper.subscribe([("cnt/keep", 1)])
pub = b.client(client_id="p181")
for i in range(10):
    pub.publish("cnt/%d" % i, b"x" * 1000, qos=1, retain=i < 3)
for c in subs:
    t.is_(len(c.collect(10, 5)), 10, "a subscriber got the 10 messages")
rise_all({
    "clients/connected": (4, "four clients connect"),
    "subscriptions/count": (5, "five subscriptions"),
    "retained messages/count": (3, "three retained topics"),
    "messages/received": (10, "ten PUBLISHes in"),
    "messages/sent": (20, "twenty deliveries out"),
    "bytes/received": (10000, "10 x 1000 bytes in"),
    "bytes/sent": (20000, "20 x 1000 bytes out")})

# A persistent client leaves and the retained topics are cleared.
connected = sys_.number("clients/connected")
total = sys_.number("clients/total")
retained = sys_.number("retained messages/count")
keeper.disconnect()
for i in range(3):
    pub.publish("cnt/%d" % i, b"", qos=1, retain=True)
deadline = time.monotonic() + 8
while time.monotonic() < deadline and not (
        sys_.number("clients/connected") == connected - 1 and
        sys_.number("retained messages/count") == retained - 3):
    sys_.refresh(0.5)
t.is_(sys_.number("clients/connected"), connected - 1,
      "a persistent client leaves: clients/connected falls by one")
t.cmp_ok(sys_.number("clients/total"), ">=", total,
         "its session still counts in clients/total")
t.is_(sys_.number("retained messages/count"), retained - 3,
      "clearing the three retained topics lowers retained messages/count "
      "by 3")
t.done()
