#!/usr/bin/python3
# 130: QoS 1.
#   [MQTT-4.3.2-2] the broker answers PUBLISH QoS 1 with PUBACK
#   [MQTT-4.6.0-2] PUBACKs go out in the order the PUBLISHes came in
#   [MQTT-4.3.2-1] a re-sent PUBLISH (DUP=1, same packet id) is acked again
#   [MQTT-4.4.0-1] an unacknowledged delivery is re-sent when the
#     persistent session reconnects, with the same packet id and
#     [MQTT-3.3.1-1] DUP=1; once acknowledged, never again
#   (5.0) [MQTT-4.4.0-1] no re-send on the same connection
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="pub130")

# PUBACK order for 50 pipelined PUBLISHes.
pids = list(range(500, 550))
pub.send(b"".join(m.publish("order/x", b"%d" % i, qos=1, pid=i)
                  for i in pids))
acks = [pub.expect(m.PUBACK, 5).pid for _ in pids]
t.is_(acks, pids, "50 pipelined QoS 1 PUBLISHes: PUBACKs in the same order "
      "[MQTT-4.3.2-2] [MQTT-4.6.0-2]")

for proto in (m.V311, m.V5):
    cid = "s130-%d" % proto
    s = b.client(port=b.ports[1], proto=proto, client_id=cid, clean=False,
                 props={"session_expiry_interval": 300}
                 if proto == m.V5 else None)
    s.subscribe([("q1/%d" % proto, 1)])
    pub.publish("q1/%d" % proto, b"first", qos=1)
    d = s.recv_publish(5, ack=False)
    t.ok(d is not None and d.qos == 1 and not d.dup,
         "v%d: delivered at QoS 1, DUP=0" % proto)
    if proto == m.V5:
        t.is_(s.expect_none(1.5), [], "v5: no re-send on the same "
              "connection [MQTT-4.4.0-1]")
    s.close()
    s = b.client(port=b.ports[0], proto=proto, client_id=cid, clean=False,
                 props={"session_expiry_interval": 300}
                 if proto == m.V5 else None)
    t.ok(s.connack.session_present, "v%d: session present" % proto)
    r = s.recv_publish(5, ack=False)
    t.ok(r is not None and (r.pid, r.payload, r.dup) ==
         (d.pid, b"first", True),
         "v%d: re-sent on reconnect with the same packet id and DUP=1 "
         "[MQTT-4.4.0-1] [MQTT-3.3.1-1] (%r)" % (proto, r))
    if r is not None:
        s.ack(r)
    s.ping()  # the PUBACK has been processed
    s.close()
    s = b.client(proto=proto, client_id=cid, clean=False,
                 props={"session_expiry_interval": 300}
                 if proto == m.V5 else None)
    t.is_(s.collect(1, 0.5), [], "v%d: acknowledged: not sent again"
          % proto)
    s.disconnect()

# A publisher re-sending a QoS 1 PUBLISH with DUP=1: acked each time.
s = b.client(port=b.ports[1], client_id="dupsub130")
s.subscribe([("dup/x", 1)])
pub.send(m.publish("dup/x", b"once?", qos=1, pid=77))
pub.send(m.publish("dup/x", b"once?", qos=1, pid=77, dup=True))
t.is_([pub.expect(m.PUBACK, 5).pid for _ in range(2)], [77, 77],
      "a re-sent QoS 1 PUBLISH is acknowledged again [MQTT-4.3.2-1]")
got = s.collect(2, 2)
t.ok(1 <= len(got) <= 2 and all(p.payload == b"once?" for p in got),
     "delivered at least once (QoS 1 allows a duplicate)")
t.done()
