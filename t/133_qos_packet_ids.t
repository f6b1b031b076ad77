#!/usr/bin/python3
# 133: packet identifiers and the inflight window towards a subscriber.
#   [MQTT-2.3.1-1] [MQTT-2.3.1-4] while deliveries are unacknowledged,
#     each has its own non-zero packet id
#   max_inflight: at most that many unacknowledged QoS 1/2 deliveries;
#     the rest wait and follow, in order, as acknowledgements come
#   (5.0) [MQTT-3.3.4-9] the client's Receive Maximum caps unacknowledged
#     QoS 1/2 deliveries
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
s = b.client(port=b.ports[1], client_id="ids133")
s.subscribe([("ids/1", 1), ("ids/2", 2)])
pub = b.client(client_id="p133")
pub.publish_many([("ids/1", b"%d" % i) for i in range(60)], qos=1)
pub.publish_many([("ids/2", b"%d" % i) for i in range(60)], qos=2)
got = s.collect(120, 10, ack=False)
pids = [p.pid for p in got]
t.is_(len(got), 120, "120 unacknowledged QoS 1 and 2 deliveries")
t.ok(all(pids), "every packet id is non-zero [MQTT-2.3.1-1]")
t.is_(len(set(pids)), len(pids), "no packet id used twice while in "
      "flight [MQTT-2.3.1-4]")
for p in got:
    s.ack(p)
s.drain_acks(0.5)
pub.publish_many([("ids/1", b"more%d" % i) for i in range(10)], qos=1)
more = s.collect(10, 5)
t.is_(len(more), 10, "after the acknowledgements, deliveries go on")


def window(b, sub, topic, n, limit, what):
    """Publish n QoS 1 messages; sub must hold at most `limit` unacked,
    then get all n in order as it acknowledges."""
    pub = b.client(client_id="wp133")
    pub.publish_many([(topic, b"%d" % i) for i in range(n)], qos=1)
    first = sub.collect(limit, 5, ack=False) + sub.collect(1, 0.5, ack=False)
    t.is_(len(first), limit, "%s: %d unacknowledged deliveries, no more"
          % (what, limit))
    got = list(first)
    for p in first:
        sub.ack(p)
    got += sub.collect(n - len(first), 10)
    t.is_([int(p.payload) for p in got], list(range(n)),
          "%s: all %d arrive in order as acknowledgements come" % (what, n))


b5 = Broker(t, limits={"max_inflight": 5})
s = b5.client(client_id="win133")
s.subscribe([("win", 1)])
window(b5, s, "win", 20, 5, "max_inflight 5")

s = b.client(proto=m.V5, client_id="rm133",
             props={"receive_maximum": 3})
s.subscribe([("rm", 1)])
window(b, s, "rm", 12, 3, "5.0 Receive Maximum 3 [MQTT-3.3.4-9]")
t.done()
