#!/usr/bin/python3
# 413: packets that wait for comqtt-authd.  A question the cache cannot
# answer parks the packet until authd replies, and the packet is then
# handled again from the start (workers/authwait.h).  Checks that this is
# invisible to clients:
#  - a SUBSCRIBE with several filters, none cached, gets one SUBACK code
#    per filter in order [MQTT-3.9.3-1] and each allowed filter's retained
#    message exactly once (nothing is subscribed twice by the replay);
#  - 300 QoS 1 PUBLISHes to 300 distinct topics (each an uncached ACL
#    question) pipelined on one connection are delivered in order
#    [MQTT-4.6.0-2] with one PUBACK each [MQTT-4.3.2-2], and refused ones
#    among them get PUBACK 0x87 and are not delivered (MQTT 5).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import AuthBroker, broker_has_auth  # noqa: E402
from mqttraw import PUBACK, V5, Client, publish  # noqa: E402
from tap import T  # noqa: E402

LEDGER = """users:
  u: {password: p, acl: {"ok/#": 3}}
"""
N = 300

t = T()
if not broker_has_auth():
    t.skip_all("comqttd does not ask comqtt-authd yet")
b = AuthBroker(t, LEDGER)

pub = Client(b.port, proto=V5)
pub.connect("pub", username="u", password=b"p")
for topic in ("ok/r/a", "ok/r/b"):
    # 0x10: no subscriber yet, still a success (MQTT 5 3.4.2.1).
    t.ok(pub.publish(topic, b"kept " + topic.encode(), qos=1,
                     retain=True).rc in (0, 0x10),
         "retained %s stored" % topic)

sub = Client(b.port, proto=V5)
sub.connect("sub", username="u", password=b"p")
ack = sub.subscribe([("ok/r/a", 1), ("deny/x", 1), ("ok/r/b", 1)])
t.is_(ack.codes, [1, 0x87, 1],
      "three uncached filters in one SUBSCRIBE: a code each, in order")
got = sorted(p.topic for p in sub.collect(3, timeout=1.5))
t.is_(got, ["ok/r/a", "ok/r/b"],
      "each allowed filter's retained message exactly once")

t.is_(sub.subscribe([("ok/seq/#", 1)]).codes, [1], "subscribed ok/seq/#")
# Every tenth topic is outside the ACL; all topics are new to the cache.
want, acks = [], {}
for i in range(N):
    topic = ("deny/%d" if i % 10 == 9 else "ok/seq/%d") % i
    pid = pub.next_pid()
    pub.send(publish(topic, b"%d" % i, 1, pid=pid, proto=V5))
    acks[pid] = topic
    if topic.startswith("ok/"):
        want.append(b"%d" % i)
codes = {}
while len(codes) < N:
    p = pub.expect(PUBACK, timeout=10)
    codes[p.pid] = p.rc
refused = sorted(acks[pid] for pid, rc in codes.items() if rc == 0x87)
t.is_(len(codes), N, "one PUBACK per PUBLISH")
t.is_(refused, sorted(tp for tp in acks.values() if tp.startswith("deny/")),
      "exactly the refused topics got PUBACK 0x87")
payloads = [p.payload for p in sub.collect(len(want), timeout=10)]
t.is_(payloads, want, "the allowed messages arrived in publishing order")
t.is_(sub.collect(1, timeout=0.5), [], "none twice, none refused")
pub.close()
sub.close()
b.stop()
t.done()
