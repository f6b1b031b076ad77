#!/usr/bin/python3
# 180: the $SYS/broker/ topics (mosquitto's names, which comqtt keeps):
# version, uptime, clients/connected, clients/total, messages/received,
# messages/sent, bytes/received, bytes/sent, subscriptions/count and
# "retained messages/count" are all published, the counters as decimal
# numbers, and they are published again every sys_interval (1 s here):
# uptime advances.  (The spec reserves $-topics for the server, 4.7.2.)
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, SysTopics, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, sys_interval=1)
NAMES = ["version", "uptime", "clients/connected", "clients/total",
         "messages/received", "messages/sent", "bytes/received",
         "bytes/sent", "subscriptions/count", "retained messages/count"]
sys_ = SysTopics(b)
start = time.monotonic()
deadline = start + 5
while time.monotonic() < deadline and not all(
        "$SYS/broker/" + n in sys_.values for n in NAMES):
    sys_.refresh(0.25)
for n in NAMES:
    t.ok("$SYS/broker/" + n in sys_.values, "$SYS/broker/%s is published "
         "(%r)" % (n, sys_.values.get("$SYS/broker/" + n)))
version = sys_.values.get("$SYS/broker/version", "")
t.ok(re.search(r"\d+\.\d+", version), "the version has a version number")
if unless_mosquitto(t, "its version string is its own"):
    t.ok(version.startswith("comqtt"), "and names comqtt (%r)" % version)
t.ok(re.fullmatch(r"\d+( seconds)?", sys_.values.get(
    "$SYS/broker/uptime", "")), "uptime is a number of seconds")
for n in NAMES[2:]:
    t.ok(re.fullmatch(r"\d+", sys_.values.get("$SYS/broker/" + n, "x")),
         "%s is a decimal number" % n)
# Values present at subscription time may be old (retained): wait for
# ones that count the watcher itself.
t.ok(sys_.wait("clients/connected", lambda v: v >= 1, 4),
     "clients/connected comes to count the watcher")
t.ok(sys_.wait("subscriptions/count", lambda v: v >= 1, 4),
     "subscriptions/count comes to count the watcher's subscription")

# Published every sys_interval: the uptime advances, more than once.
first = sys_.number("uptime")
sys_.updates.clear()


def uptimes():
    return [int(re.match(r"\d+", v).group(0)) for _, topic, v, _ in
            sys_.updates if topic == "$SYS/broker/uptime"]


deadline = time.monotonic() + 5
while time.monotonic() < deadline and len(uptimes()) < 2:
    sys_.refresh(0.25)
vals = uptimes()
t.cmp_ok(len(vals), ">=", 2, "uptime is published again every interval "
         "(twice in %.1f s)" % (time.monotonic() - start))
t.ok(vals == sorted(vals) and vals and vals[-1] > first,
     "uptime only grows (%r -> %r)" % (first, vals))
times = [ts for ts, topic, _, _ in sys_.updates
         if topic == "$SYS/broker/uptime"]
if unless_mosquitto(t, "2.0.11 publishes every sys_interval + 1 s (its "
                    "test is 'now - interval > last')"):
    t.cmp_ok(times[1] - times[0] if len(times) > 1 else None, "<=", 1.6,
             "the interval between two publications is about sys_interval "
             "(1 s)")
t.done()
