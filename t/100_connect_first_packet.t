#!/usr/bin/python3
# 100: the first packet of a connection must be CONNECT, and a second
# CONNECT is a protocol violation [MQTT-3.1.0-1] [MQTT-3.1.0-2].
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

# A packet other than CONNECT first: closed, nothing answered.
for name, pkt in [("PINGREQ", m.pingreq()),
                  ("PUBLISH", m.publish("a/b", b"x")),
                  ("SUBSCRIBE", m.subscribe(1, [("a/#", 0)])),
                  ("CONNACK", m.connack(0))]:
    c = b.client()
    c.send(pkt)
    closed, got = c.expect_closed(5)
    t.ok(closed, "%s as the first packet: connection closed [MQTT-3.1.0-1]"
         % name)
    t.is_(got, [], "%s as the first packet: nothing sent back" % name)

# A subscriber sees that a PUBLISH sent before CONNECT was not processed.
sub = b.client(client_id="sub100")
sub.subscribe([("first/#", 0)])
c = b.client()
c.send(m.publish("first/x", b"never"))
c.expect_closed(5)
pub = b.client(client_id="pub100")
pub.publish("first/y", b"sentinel")
got = sub.collect(1, 5)
t.is_([p.payload for p in got], [b"sentinel"],
      "a PUBLISH before CONNECT is not delivered [MQTT-3.1.0-1]")

# A second CONNECT on a connected session: the broker closes it.
for proto in (m.V311, m.V5):
    c = b.client(proto=proto, client_id="twice%d" % proto)
    t.is_(c.connack.rc, 0, "v%d: first CONNECT accepted" % proto)
    c.send(m.connect("twice%d" % proto, proto=proto))
    closed, got = c.expect_closed(5)
    t.ok(closed, "v%d: a second CONNECT closes the connection "
         "[MQTT-3.1.0-2]" % proto)
    t.ok(not any(p.type == m.CONNACK for p in got),
         "v%d: no second CONNACK" % proto)

# The broker still serves.
c = b.client(client_id="after100")
t.is_(c.connack.rc, 0, "the broker still accepts connections")
t.done()
