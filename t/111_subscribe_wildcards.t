#!/usr/bin/python3
# 111: topic filter matching.
#   [MQTT-4.7.1-2] '#' matches the parent level and any number of levels
#   [MQTT-4.7.1-3] '+' matches exactly one level, empty levels included
#   [MQTT-4.7.3-4] matching is case sensitive and level by level
#   [MQTT-4.7.2-1] filters starting with a wildcard do not match topic
#     names starting with '$' ($SYS/... and others)
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, sys_interval=1)

TOPICS = ["a", "a/b", "a/b/c", "a/b/c/d", "a/x/c", "/a", "a/", "a//c",
          "b/b/c", "A/b", "$app/x", "$app/a/b"]
EXPECT = {
    "a/b/c": ["a/b/c"],
    "a/+/c": ["a/b/c", "a/x/c", "a//c"],
    "a/+": ["a/b", "a/"],
    "a/#": ["a", "a/b", "a/b/c", "a/b/c/d", "a/x/c", "a/", "a//c"],
    "+": ["a"],
    "+/+": ["a/b", "/a", "a/", "A/b"],
    "/+": ["/a"],
    "+/b/#": ["a/b", "a/b/c", "a/b/c/d", "b/b/c", "A/b"],
    "+/+/+": ["a/b/c", "a/x/c", "a//c", "b/b/c"],
    "a/b/c/d/#": ["a/b/c/d"],
    "A/b": ["A/b"],
    "#": [x for x in TOPICS if not x.startswith("$")],
    "+/x": [],
    "+/a/b": [],
    "$app/#": ["$app/x", "$app/a/b"],
    "$app/+": ["$app/x"],
}
SENTINEL = "sentinel111"
subs = {}
for i, f in enumerate(sorted(EXPECT)):
    c = b.client(port=b.ports[i % 2], client_id="w111-%d" % i)
    ack = c.subscribe([(f, 1), (SENTINEL, 1)])
    t.is_(ack.codes, [1, 1], "subscribed to %r" % f)
    subs[f] = c

pub = b.client(client_id="pub111")
for topic in TOPICS:
    pub.publish(topic, topic.encode(), qos=1)
pub.publish(SENTINEL, b"end", qos=1)


def until_sentinel(c, sentinel=SENTINEL):
    got = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        p = c.recv_publish(deadline - time.monotonic())
        if p is None or p.topic == sentinel:
            return got, p is not None
        got.append(p.topic)
    return got, False


for f in sorted(EXPECT):
    got, done = until_sentinel(subs[f])
    late = subs[f].collect(1, 0.05)
    t.ok(done, "%r: the sentinel arrived" % f)
    t.is_(sorted(got + [p.topic for p in late]), sorted(EXPECT[f]),
          "filter %r gets exactly its topics [MQTT-4.7.1-2] [MQTT-4.7.1-3] "
          "[MQTT-4.7.3-4] [MQTT-4.7.2-1]" % f)

# $SYS: a periodic publication reaches '$SYS/#' but not '#', '+/#' or
# '+/broker/#'.
END = SENTINEL + "/sys"
wild = {}
for i, f in enumerate(("#", "+/#", "+/broker/#")):
    c = b.client(client_id="sysw-%d" % i)
    c.subscribe([(f, 0), (END, 0)])
    wild[f] = c
sysc = b.client(client_id="sys111")
sysc.subscribe([("$SYS/#", 0)])
live = None
deadline = time.monotonic() + 6
while time.monotonic() < deadline and live is None:
    p = sysc.recv_publish(deadline - time.monotonic())
    if p is not None and not p.retain and p.topic.startswith("$SYS/"):
        live = p
t.ok(live is not None, "'$SYS/#' receives a live $SYS publication")
pub.publish(END, b"end", qos=1)
for f, c in wild.items():
    got, done = until_sentinel(c, END)
    t.ok(done, "%r: the sentinel arrived" % f)
    t.is_([x for x in got if x.startswith("$")], [],
          "%r matches no '$SYS' topic [MQTT-4.7.2-1]" % f)
t.done()
