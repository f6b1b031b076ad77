#!/usr/bin/python3
# 175: comqtt's max_topic_levels (8 here) and max_client_id_len (32).
# Within the limits everything works (checked against mosquitto too);
# beyond them (comqtt config keys, so comqtt only):
#   a filter with 9 levels gets SUBACK 0x80 [MQTT-3.9.3-2] (5.0: >= 0x80)
#   a PUBLISH to a 9-level topic is not delivered (5.0 QoS 1: a PUBACK
#     with a reason >= 0x80 or a DISCONNECT)
#   a 33-character client id gets CONNACK 0x02 and the connection closes
#     [MQTT-3.1.3-9] (5.0: 0x85 "client identifier not valid")
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, limits={"max_topic_levels": 8, "max_client_id_len": 32})
L8, L9 = "/".join("l%d" % i for i in range(8)), \
    "/".join("l%d" % i for i in range(9))
sub = b.client(port=b.ports[1], client_id="s175")
t.is_(sub.subscribe([(L8, 1), ("l0/l1/l2/l3/l4/l5/l6/#", 1),
                     ("end175", 1)]).codes, [1, 1, 1],
      "8-level filters are granted")
pub = b.client(client_id="p175")
pub.publish(L8, b"8 levels", qos=1)
got = sub.collect(1, 5)
t.is_([p.payload for p in got], [b"8 levels"], "an 8-level topic is "
      "delivered")

for proto in (m.V311, m.V5):
    c = b.client(proto=proto)
    t.is_(c.connect("c" * 32).rc, 0, "v%d: a 32-character client id is "
          "accepted" % proto)
    c.disconnect()

if unless_mosquitto(t, "max_topic_levels and max_client_id_len are comqtt "
                    "settings", 8):
    ack = sub.subscribe([(L9, 1), ("ok/175", 1)])
    t.is_(ack.codes, [0x80, 1], "3.1.1: a 9-level filter: SUBACK 0x80, the "
          "other filter granted [MQTT-3.9.3-2]")
    c5 = b.client(proto=m.V5, client_id="s175v5")
    codes = c5.subscribe([("l0/l1/l2/l3/l4/l5/l6/l7/#", 1)]).codes
    t.ok(codes and codes[0] >= 0x80, "5.0: a 9-level filter: reason >= 0x80 "
         "(%r)" % codes)
    pub.publish(L9, b"9 levels", qos=0)
    pub.publish("end175", b"end", qos=1)
    got = sub.collect(1, 5)
    t.is_([p.payload for p in got], [b"end"], "a PUBLISH to a 9-level topic "
          "is not delivered")
    p5 = b.client(proto=m.V5, client_id="p175v5")
    p5.send(m.publish(L9, b"x", qos=1, pid=5, proto=m.V5))
    try:
        ack = p5.expect(m.PUBACK, 5)
        refused = ack.rc >= 0x80
    except m.MqttError:
        refused = True
    t.ok(refused, "5.0: QoS 1 to a 9-level topic: PUBACK >= 0x80 or "
         "disconnect")
    for proto, rc in ((m.V311, 0x02), (m.V5, 0x85)):
        c = b.client(proto=proto)
        c.send(m.connect("c" * 33, proto=proto))
        closed, got = c.expect_closed(5)
        t.is_([p.rc for p in got if p.type == m.CONNACK], [rc],
              "v%d: a 33-character client id: CONNACK 0x%02x "
              "[MQTT-3.1.3-9]" % (proto, rc))
        t.ok(closed, "v%d: and the connection is closed" % proto)
t.done()
