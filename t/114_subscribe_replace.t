#!/usr/bin/python3
# 114: subscribing again to an identical filter [MQTT-3.8.4-3]: the new
# subscription replaces the old one (its QoS too), retained messages
# matching it are sent again, and the flow of publications is not
# interrupted.
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="pub114")

for proto in (m.V311, m.V5):
    pre = "r%d" % proto
    s = b.client(port=b.ports[1], proto=proto, client_id="re114-%d" % proto)
    pub.publish(pre + "/kept", b"retained", qos=1, retain=True)
    t.is_(s.subscribe([(pre + "/+", 2)]).codes, [2],
          "v%d: subscribed at QoS 2" % proto)
    got = s.collect(1, 5)
    t.is_([(p.payload, p.retain, p.qos) for p in got],
          [(b"retained", True, 1)], "v%d: the retained message" % proto)
    t.is_(s.subscribe([(pre + "/+", 0)]).codes, [0],
          "v%d: the same filter again at QoS 0: granted 0" % proto)
    got = s.collect(1, 5)
    t.is_([(p.payload, p.retain, p.qos) for p in got],
          [(b"retained", True, 0)], "v%d: the retained message is sent "
          "again, at the new QoS [MQTT-3.8.4-3]" % proto)
    pub.publish(pre + "/live", b"q2", qos=2)
    got = s.collect(1, 5) + s.collect(1, 0.2)
    t.is_([(p.payload, p.qos) for p in got], [(b"q2", 0)],
          "v%d: one delivery, at the replacing QoS 0 [MQTT-3.8.4-3]" % proto)
    s.subscribe([(pre + "/+", 1)])
    s.collect(1, 5)  # the retained message once more
    pub.publish(pre + "/live", b"q2", qos=2)
    got = s.collect(1, 5) + s.collect(1, 0.2)
    t.is_([(p.payload, p.qos) for p in got], [(b"q2", 1)],
          "v%d: replaced again: QoS 1" % proto)
    pub.publish(pre + "/kept", b"", qos=1, retain=True)
    s.collect(1, 5)

# The flow is not interrupted: re-subscribe while 300 messages stream in.
N = 300
s = b.client(port=b.ports[1], client_id="flow114")
s.subscribe([("flow/#", 1)])
msgs = [("flow/x", b"%d" % i) for i in range(N)]
th = threading.Thread(target=pub.publish_many, args=(msgs, 1, 20),
                      daemon=True)
th.start()
got, acks, resubscribed = [], [], False
deadline = time.monotonic() + 20
while len(got) < N and time.monotonic() < deadline:
    p = s.recv_packet(deadline - time.monotonic())
    if p is None:
        break
    if p.type == m.SUBACK:
        acks.append(p)
        continue
    s.ack(p)
    got.append(int(p.payload))
    if len(got) == 50 and not resubscribed:
        s.send(m.subscribe(99, [("flow/#", 1)]))
        resubscribed = True
th.join(10)
if not acks:
    acks.append(s.expect(m.SUBACK, 5))
t.is_([(a.pid, a.codes) for a in acks], [(99, [1])],
      "the re-subscribe was acknowledged mid-stream")
t.is_(got, list(range(N)), "all %d messages arrived, in order, across the "
      "re-subscribe [MQTT-3.8.4-3]" % N)
t.done()
