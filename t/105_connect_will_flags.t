#!/usr/bin/python3
# 105: the will flags of CONNECT.
#   [MQTT-3.1.2-9] will flag 1: will topic and message must be present
#   [MQTT-3.1.2-11] [MQTT-3.1.2-13] will flag 0: will QoS must be 0
#   [MQTT-3.1.2-14] will QoS 3 is invalid
#   [MQTT-3.1.2-15] will flag 0: will retain must be 0
#   [MQTT-4.7.1-1] the will topic is a topic name: no wildcards
# A CONNECT that breaks a rule is refused and the connection closed; a
# good one is accepted.  The broker keeps serving throughout.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

W = {"topic": "will/105", "payload": b"gone"}
bad = [
    ("will flag 0 with will QoS 1 [MQTT-3.1.2-13]",
     m.connect("w1", flags=0x02 | 0x08)),
    ("will flag 0 with will QoS 2 [MQTT-3.1.2-13]",
     m.connect("w2", flags=0x02 | 0x10)),
    ("will flag 0 with will retain [MQTT-3.1.2-15]",
     m.connect("w3", flags=0x02 | 0x20)),
    ("will QoS 3 [MQTT-3.1.2-14]",
     m.connect("w4", will=dict(W, qos=3))),
    ("will flag 1 without will topic and message [MQTT-3.1.2-9]",
     m.packet(m.CONNECT, 0, m.utf8("MQTT") + bytes([4, 0x06]) + m.u16(60)
              + m.utf8("w5"))),
    ("will flag 1 without will message [MQTT-3.1.2-9]",
     m.packet(m.CONNECT, 0, m.utf8("MQTT") + bytes([4, 0x06]) + m.u16(60)
              + m.utf8("w6") + m.utf8("will/105"))),
    ("a will topic with '+' [MQTT-4.7.1-1]",
     m.connect("w7", will=dict(W, topic="will/+"))),
    ("a will topic with '#' [MQTT-4.7.1-1]",
     m.connect("w8", will=dict(W, topic="will/#"))),
]
for name, pkt in bad:
    c = b.client()
    c.send(pkt)
    refused, got = m.wait_closed_or_refused(c)
    t.ok(refused, "3.1.1: %s: refused and closed (%r)" % (name, got))

# The same rules on 5.0, built with the encoder.
for name, kw in [
        ("will flag 0 with will QoS 1 [MQTT-3.1.2-11]",
         dict(flags=0x02 | 0x08)),
        ("will flag 0 with will retain [MQTT-3.1.2-13]",
         dict(flags=0x02 | 0x20)),
        ("will QoS 3 [MQTT-3.1.2-12]", dict(will=dict(W, qos=3))),
        ("a will topic with '+' [MQTT-4.7.1-1]",
         dict(will=dict(W, topic="will/+")))]:
    c = b.client(proto=m.V5)
    c.send(m.connect("w5x", proto=m.V5, **kw))
    refused, got = m.wait_closed_or_refused(c)
    t.ok(refused, "v5: %s: refused and closed (%r)" % (name, got))

# Good wills are accepted, every QoS, with and without retain.
for proto in (m.V31, m.V311, m.V5):
    for qos in (0, 1, 2):
        for retain in (False, True):
            c = b.client(proto=proto)
            ack = c.connect("good%d%d%d" % (proto, qos, retain),
                            will=dict(W, qos=qos, retain=retain))
            t.is_(ack.rc, 0, "v%d: will QoS %d retain %d accepted "
                  "[MQTT-3.1.2-9]" % (proto, qos, retain))
            c.disconnect()

c = b.client(client_id="alive105")
t.is_(c.connack.rc, 0, "the broker still serves")
t.done()
