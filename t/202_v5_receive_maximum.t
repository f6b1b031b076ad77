#!/usr/bin/python3
# 202: MQTT 5 flow control (4.9), both ways.
#   towards the client: [MQTT-3.3.4-9] never more unacknowledged QoS 1/2
#     PUBLISHes than its Receive Maximum; a QoS 2 one counts until its
#     PUBCOMP, or until a PUBREC with a failure code; the rest follow in
#     order as acknowledgements come [MQTT-4.6.0-6]
#   [MQTT-3.3.4-10] other packets are not held back by a full window
#     (SUBACK, PINGRESP); QoS 0 messages still flow
#   towards the broker: its Receive Maximum (mqtt.receive_maximum) is
#     announced, and a client that goes past it with QoS 2 PUBLISHes not
#     yet completed gets DISCONNECT 0x93 (3.3.4, 4.9)
#   across a reconnect of the session the window's messages are re-sent
#     first, with DUP, then the rest in order (4.4, [MQTT-4.6.0-6])
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2, mqtt={"receive_maximum": 3})
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
pub = b.client(port=P0, proto=m.V5, client_id="pub202")
t.is_(pub.connack.props.get("receive_maximum"), 3, "CONNACK announces the "
      "broker's Receive Maximum (3.2.2.3.3)")

# -- towards the client -----------------------------------------------------
KW = dict(proto=m.V5, client_id="rm202", clean=False, timeout=10,
          props={"receive_maximum": 2, "session_expiry_interval": 60})
c = b.client(port=P1, **KW)
c.subscribe([("rm/#", 2)])
N = 8
for i in range(N):
    pub.publish("rm/%d" % (i % 2 + 1), b"%d" % i, qos=i % 2 + 1)
first = c.collect(N, 1.0, ack=False)
t.is_([p.payload for p in first], [b"0", b"1"], "Receive Maximum 2: two "
      "unacknowledged PUBLISHes, no more [MQTT-3.3.4-9]")

# Other packets and QoS 0 are not held back.
a = c.subscribe([("other/q0", 0)])
t.is_(a.codes, [0], "SUBACK comes while the window is full "
      "[MQTT-3.3.4-10]")
c.ping()
t.ok(True, "PINGRESP comes while the window is full [MQTT-3.3.4-10]")
pub.publish("other/q0", b"q0", qos=0)
p = c.recv_packet(5)
t.ok(p is not None and p.type == m.PUBLISH and p.payload == b"q0",
     "a QoS 0 message is delivered while the window is full")

# QoS 1 PUBACK frees one place.
c.send(m.puback(first[0].pid, proto=m.V5))
p = c.recv_publish(5, ack=False)
t.is_(p.payload if p else None, b"2", "PUBACK frees one place: the next "
      "message, in order")
t.is_(c.collect(1, 0.5, ack=False), [], "and only one")
# QoS 2: PUBREC is not enough, PUBCOMP frees the place.
q2 = first[1]
c.send(m.pubrec(q2.pid, proto=m.V5))
rel = c.expect(m.PUBREL, timeout=5)
t.is_(c.collect(1, 0.5, ack=False), [], "after PUBREC the QoS 2 message "
      "still counts (its PUBREL is out)")
c.send(m.pubcomp(rel.pid, proto=m.V5))
p2 = c.recv_publish(5, ack=False)
t.is_(p2.payload if p2 else None, b"3", "PUBCOMP frees its place")
# A failed PUBREC frees it at once.
c.send(m.pubrec(p2.pid, rc=0x80, proto=m.V5))
p3 = c.recv_publish(5, ack=False)
t.is_(p3.payload if p3 else None, b"4", "PUBREC 0x80 frees its place too "
      "(4.9)")
c.close()

# -- across a reconnect -----------------------------------------------------
c = b.client(port=P0, **KW)
t.ok(c.connack.session_present, "the session is resumed on another worker")
seen = []
for _ in range(20):
    p = c.recv_publish(3)
    if p is None:
        break
    seen.append((p.payload, p.dup))
    if len(seen) == N - 3:
        break
t.is_([x[0] for x in seen], [b"2", b"4", b"5", b"6", b"7"],
      "the rest arrives in order, the window's messages first "
      "[MQTT-4.6.0-6]; the one refused with PUBREC 0x80 is done")
t.is_([x[1] for x in seen[:2]], [True, True], "the unacknowledged ones "
      "are re-sent with DUP (4.4)")
c.disconnect(props={"session_expiry_interval": 0})

# -- towards the broker -------------------------------------------------------
c = b.client(port=P1, proto=m.V5, client_id="flood202")
for pid in (1, 2, 3):
    c.send(m.publish("f/x", b"x", qos=2, pid=pid, proto=m.V5))
recs = [c.expect(m.PUBREC, timeout=5).pid for _ in range(3)]
t.is_(sorted(recs), [1, 2, 3], "three QoS 2 PUBLISHes in flight: PUBREC each")
c.send(m.publish("f/x", b"x", qos=2, pid=4, proto=m.V5))
t.ok(c.closed_by_disconnect(0x93),
     "a fourth beyond Receive Maximum 3: DISCONNECT 0x93 (%r)" % c.last_close)
c = b.client(port=P1, proto=m.V5, client_id="ok202")
for i in range(10):
    c.publish("f/x", b"x", qos=2)
t.ok(True, "completed QoS 2 flows do not count: ten in a row pass")
t.done()
