#!/usr/bin/python3
# 102: MQTT 3.1 ("MQIsdp", level 3) clients: raw, paho MQTTv31 and
# mosquitto_pub/mosquitto_sub -V mqttv31, talking to each other and to
# 3.1.1 and 5.0 clients; the 3.1 client identifier rules (1 to 23
# characters, else CONNACK 0x02 "identifier rejected", MQTT 3.1 §3.1).
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from clients import MosquittoSub, Paho, mosquitto_pub  # noqa: E402
from cqtest import Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

# Client identifier length rules of 3.1.
c = b.client(proto=m.V31)
t.is_(c.connect("x" * 23).rc, 0, "3.1: a 23-character client id accepted")
c = b.client(proto=m.V31)
c.send(m.connect("", proto=m.V31))
closed, got = c.expect_closed(5)
t.is_([p.rc for p in got if p.type == m.CONNACK], [0x02],
      "3.1: an empty client id gets CONNACK 0x02 (3.1 §3.1)")
t.ok(closed, "3.1: and the connection is closed")
c = b.client(proto=m.V31)
c.send(m.connect("y" * 24, proto=m.V31))
ack = c.expect(m.CONNACK)
if unless_mosquitto(t, "2.0.11 accepts 3.1 client ids longer than 23 "
                    "characters (deviation from MQTT 3.1 §3.1)", 2):
    t.is_(ack.rc, 0x02,
          "3.1: a 24-character client id gets CONNACK 0x02 (3.1 §3.1)")
    t.ok(c.expect_closed(5)[0], "3.1: and the connection is closed")

# paho MQTTv31 both ways, every QoS, against 3.1.1 and 5.0 peers.
sub31 = Paho(t, b.port, "sub31", proto=3)
sub31.connect()
t.is_(sub31.subscribe("v31/#", 2), [2], "paho 3.1: SUBACK grants QoS 2")
sub5 = Paho(t, b.ports[1], "sub5", proto=5)
sub5.connect()
sub5.subscribe("v31/#", 2)
pub31 = Paho(t, b.ports[1], "pub31", proto=3)
pub31.connect()
pub311 = Paho(t, b.port, "pub311", proto=4)
pub311.connect()
for q in (0, 1, 2):
    pub31.publish("v31/from31/%d" % q, b"31-%d" % q, qos=q)
    pub311.publish("v31/from311/%d" % q, b"311-%d" % q, qos=q)
want = sorted([(b"31-%d" % q, q) for q in range(3)] +
              [(b"311-%d" % q, q) for q in range(3)])
for sub, name in ((sub31, "3.1"), (sub5, "5.0")):
    got = sub.wait_messages(6, 5)
    t.is_(sorted((g.payload, g.qos) for g in got), want,
          "a %s subscriber gets 3.1 and 3.1.1 messages at their QoS" % name)

# mosquitto_pub -V mqttv31 to the 3.1 subscriber.
n0 = len(sub31.messages)
r = mosquitto_pub(b.port, "v31/cli", "from-cli", version=3, qos=1)
t.is_(r.returncode, 0, "mosquitto_pub -V mqttv31 exits 0")
got = sub31.wait_messages(n0 + 1, 5)[n0:]
t.is_([(g.topic, g.payload) for g in got], [("v31/cli", b"from-cli")],
      "mosquitto_pub -V mqttv31's message reaches a paho 3.1 subscriber")

# mosquitto_sub -V mqttv31: a retained message, then a live one.
pub31.publish("v31/ret", b"kept", qos=1, retain=True)
ms = MosquittoSub(t, b.ports[1], "v31/ret", version=3, qos=1, count=2)
deadline = time.monotonic() + 5
while time.monotonic() < deadline and ms.proc.poll() is None:
    # mosquitto_sub has no "subscribed" signal: publish until it has two
    # messages (the retained one and a live one) or the deadline passes.
    pub31.publish("v31/ret", b"live", qos=1)
    time.sleep(0.2)
rc, lines = ms.wait(5)
t.is_(rc, 0, "mosquitto_sub -V mqttv31 got its two messages")
t.is_(lines[:2], ["v31/ret kept", "v31/ret live"],
      "mosquitto_sub -V mqttv31: retained message first, then live")
t.done()
