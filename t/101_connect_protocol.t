#!/usr/bin/python3
# 101: CONNECT's protocol name and level, and the reserved flag.
#   [MQTT-3.1.2-1] a wrong protocol name: the broker does not go on as MQTT
#   [MQTT-3.1.2-2] an unsupported level: CONNACK 0x01, then disconnect
#   [MQTT-3.1.2-3] the reserved connect flag must be 0, else disconnect
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

# Every supported version connects, and CONNACK has its version's layout.
for proto, name in ((m.V31, "MQIsdp"), (m.V311, "MQTT"), (m.V5, "MQTT")):
    c = b.client(proto=proto)
    ack = c.connect("ok101-%d" % proto)
    t.is_(ack.rc, 0, "%s level %d accepted" % (name, proto))
    if proto == m.V5:
        t.ok(ack.raw[1] >= 3, "v5 CONNACK carries a property length")
    else:
        t.is_(ack.raw, bytes([0x20, 2, 0, 0]),
              "%s level %d: CONNACK is 20 02 00 00" % (name, proto))
    c.disconnect()

# An unsupported level with the right name: CONNACK 0x01 and close.
for level in (2, 6, 7, 0x7F):
    c = b.client()
    c.send(m.connect("lvl%d" % level, proto=level, proto_name="MQTT"))
    closed, got = c.expect_closed(5)
    acks = [p for p in got if p.type == m.CONNACK]
    t.ok(closed, "level %d: connection closed [MQTT-3.1.2-2]" % level)
    t.is_([p.rc for p in acks], [0x01],
          "level %d: CONNACK 0x01 unacceptable protocol level "
          "[MQTT-3.1.2-2]" % level)

# Name and level that do not belong together, or an unknown name: refused.
for name, level in (("MQIsdp", 4), ("MQTT", 3), ("MQTX", 4), ("mqtt", 4),
                    ("", 4)):
    c = b.client()
    c.send(m.connect("bad", proto=level, proto_name=name))
    refused, got = m.wait_closed_or_refused(c)
    t.ok(refused, "protocol name %r level %d: not accepted, connection "
         "closed [MQTT-3.1.2-1] (got %r)" % (name, level, got))

# The reserved flag (bit 0 of the connect flags) set: disconnect.
for proto in (m.V311, m.V5):
    c = b.client(proto=proto)
    c.send(m.connect("rsv", proto=proto, flags=0x03))
    refused, got = m.wait_closed_or_refused(c)
    t.ok(refused, "v%d: reserved flag set: disconnected without CONNACK 0 "
         "[MQTT-3.1.2-3]" % proto)

c = b.client(client_id="alive101")
t.is_(c.connack.rc, 0, "the broker still serves")
t.done()
