#!/usr/bin/python3
# 132: the QoS of a delivery is the minimum of the published QoS and the
# QoS granted to the subscription [MQTT-3.8.4-6] (3.1.1; 5.0: MQTT-3.8.4-8
# in spirit); a broker with maximum_qos 1 grants at most 1
# [MQTT-3.8.4-6] [MQTT-3.9.3-2], says so in a 5.0 CONNACK
# [MQTT-3.2.2-9], and a 5.0 client publishing QoS 2 to it is disconnected
# [MQTT-3.2.2-11] (0x9B QoS not supported).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
subs = {}
for sq in (0, 1, 2):
    s = b.client(port=b.ports[sq % 2], client_id="dg132-%d" % sq)
    t.is_(s.subscribe([("dg/#", sq)]).codes, [sq], "granted QoS %d" % sq)
    subs[sq] = s
pub = b.client(client_id="p132")
for pq in (0, 1, 2):
    pub.publish("dg/%d" % pq, b"x", qos=pq)
    for sq, s in subs.items():
        got = s.collect(1, 5)
        t.is_([p.qos for p in got], [min(pq, sq)],
              "published at QoS %d, subscribed at %d: delivered at %d "
              "[MQTT-3.8.4-6]" % (pq, sq, min(pq, sq)))

# A broker whose maximum QoS is 1.
b1 = Broker(t, mqtt={"maximum_qos": 1})
c = b1.client(client_id="mq1")
t.is_(c.subscribe([("a", 2), ("b", 1), ("c", 0)]).codes, [1, 1, 0],
      "maximum_qos 1: a QoS 2 request is granted 1 [MQTT-3.8.4-6]")
c5 = b1.client(proto=m.V5, client_id="mq1v5")
t.is_(c5.connack.props.get("maximum_qos"), 1,
      "5.0: CONNACK says Maximum QoS 1 [MQTT-3.2.2-9]")
t.is_(c5.subscribe([("a", 2)]).codes, [1], "5.0: granted 1")
p = b1.client(client_id="mq1pub")
p.publish("a", b"q1", qos=1)
got = c.collect(1, 5)
t.is_([(x.payload, x.qos) for x in got], [(b"q1", 1)],
      "maximum_qos 1: QoS 1 still flows end to end")
c5.collect(1, 5)
c5.send(m.publish("a", b"q2", qos=2, pid=3, proto=m.V5))
closed, got = c5.expect_closed(5)
t.ok(closed and all(x.type == m.DISCONNECT and x.rc == 0x9B for x in got),
     "5.0: PUBLISH at QoS 2 above the maximum: disconnected (0x9B if any) "
     "[MQTT-3.2.2-11] (%r)" % got)
t.done()
