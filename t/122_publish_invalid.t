#!/usr/bin/python3
# 122: PUBLISH packets the broker must refuse by closing the connection,
# without delivering anything to subscribers.
#   [MQTT-3.3.2-2] a topic name with wildcard characters
#   [MQTT-4.7.3-1] an empty topic name (3.1.1; 5.0 needs a topic alias)
#   [MQTT-3.3.1-4] QoS bits 11
#   [MQTT-2.3.1-1] QoS 1 or 2 with packet id 0
#   [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-4.7.3-2] ill-formed UTF-8, U+0000
#   a remaining length shorter than the topic it announces
#   (5.0) [MQTT-3.3.2-8] topic alias 0, or above the broker's maximum
#   [MQTT-3.6.1-1] PUBREL whose flags are not 0010
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
sub = b.client(port=b.ports[1], client_id="sub122")
sub.subscribe([("#", 2)])


def raw_publish(topic_bytes, payload=b"x", qos=0, pid=1):
    body = m.u16(len(topic_bytes)) + topic_bytes
    if qos:
        body += m.u16(pid)
    return m.packet(m.PUBLISH, qos << 1, body + payload)


BAD = [
    ("topic with '+' [MQTT-3.3.2-2]", m.publish("bad/+", b"x")),
    ("topic '+' [MQTT-3.3.2-2]", m.publish("+", b"x")),
    ("topic with '#' [MQTT-3.3.2-2]", m.publish("bad/#", b"x", qos=1)),
    ("topic '#' [MQTT-3.3.2-2]", m.publish("#", b"x", qos=2)),
    ("empty topic [MQTT-4.7.3-1]", m.publish("", b"x")),
    ("QoS 3 [MQTT-3.3.1-4]", m.packet(m.PUBLISH, 0x06, m.utf8("bad/q3") +
                                      m.u16(1) + b"x")),
    ("QoS 1 with packet id 0 [MQTT-2.3.1-1]",
     m.publish("bad/p0", b"x", qos=1, pid=0)),
    ("QoS 2 with packet id 0 [MQTT-2.3.1-1]",
     m.publish("bad/p0", b"x", qos=2, pid=0)),
    ("ill-formed UTF-8 topic [MQTT-1.5.3-1]",
     raw_publish(b"bad/\xc3\x28")),
    ("UTF-16 surrogate in the topic [MQTT-1.5.3-1]",
     raw_publish(b"bad/\xed\xa0\x80")),
    ("U+0000 in the topic [MQTT-1.5.3-2] [MQTT-4.7.3-2]",
     raw_publish(b"bad/a\x00b")),
    ("topic length beyond the packet",
     m.packet(m.PUBLISH, 0, m.u16(50) + b"bad/short")),
    ("PUBREL with flags 0000 [MQTT-3.6.1-1]",
     m.packet(m.PUBREL, 0, m.u16(1))),
]
for name, pkt in BAD:
    c = b.client(client_id="bad122")
    c.send(pkt)
    closed, got = c.expect_closed(5)
    t.ok(closed, "PUBLISH %s: connection closed" % name)
    t.ok(not any(p.type in (m.PUBACK, m.PUBREC) for p in got),
         "PUBLISH %s: not acknowledged" % name)

# 5.0 topic aliases out of range.
c = b.client(proto=m.V5, client_id="alias122")
amax = c.connack.props.get("topic_alias_maximum", 0)
for alias in (0, amax + 1):
    c = b.client(proto=m.V5, client_id="alias122")
    c.send(m.publish("bad/alias", b"x", props={"topic_alias": alias},
                     proto=m.V5))
    closed, got = c.expect_closed(5)
    what = "5.0: topic alias %d (maximum %d)" % (alias, amax)
    t.ok(closed and all(p.type == m.DISCONNECT and p.rc >= 0x80
                        for p in got),
         "%s: closed [MQTT-3.3.2-8] [MQTT-3.3.2-9] (%r)" % (what, got))
    if alias != 0 or unless_mosquitto(t, "2.0.11 answers topic alias 0 with "
                                      "DISCONNECT 0x81, not 0x94 (5.0 "
                                      "3.3.2.3.4)"):
        t.ok(all(p.rc == 0x94 for p in got),
             "%s: DISCONNECT 0x94 'topic alias invalid', if any" % what)
# 5.0 empty topic without an alias.
c = b.client(proto=m.V5, client_id="alias122")
c.send(m.publish("", b"x", proto=m.V5))
t.ok(c.expect_closed(5)[0], "5.0: empty topic without a topic alias: "
     "closed [MQTT-3.3.2-8]")

good = b.client(client_id="good122")
good.publish("good/end", b"end", qos=1)
got = sub.collect(1, 5) + sub.collect(5, 0.2)
t.is_([(p.topic, p.payload) for p in got], [("good/end", b"end")],
      "none of the refused PUBLISHes reached a '#' subscriber")
t.done()
