#!/usr/bin/python3
# 103: client identifiers.
#   [MQTT-3.1.3-5] 1 to 23 characters of [0-9a-zA-Z] are always accepted
#   [MQTT-3.1.3-6] [MQTT-3.1.3-7] an empty id with clean session: accepted,
#     the broker treats it as a unique id
#   [MQTT-3.1.3-8] an empty id without clean session: CONNACK 0x02, close
#   [MQTT-3.2.2-16] (5.0) an empty id: CONNACK carries the assigned id
#   [MQTT-3.1.4-2] a second connection with the same id closes the first
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

c = b.client()
t.is_(c.connect("abcdefghijklmnopqrstuvw").rc, 0,
      "a 23-character alphanumeric id is accepted [MQTT-3.1.3-5]")
c = b.client()
t.is_(c.connect("0123456789ABCDEFGHIJKLM").rc, 0,
      "digits and capitals too [MQTT-3.1.3-5]")
c = b.client()
t.is_(c.connect("id/with-ünïcode ☃").rc, 0, "a UTF-8 id is accepted")

# Empty id, clean session: accepted; two such clients coexist and work.
e1 = b.client()
t.is_(e1.connect("", clean=True).rc, 0,
      "3.1.1: empty id with clean session accepted [MQTT-3.1.3-6]")
e2 = b.client(port=b.ports[1])
t.is_(e2.connect("", clean=True).rc, 0,
      "a second empty-id client is accepted too [MQTT-3.1.3-7]")
e1.subscribe([("cid103/#", 1)])
e2.subscribe([("cid103/#", 1)])
e2.publish("cid103/x", b"both", qos=1)
got1, got2 = e1.collect(1, 5), e2.collect(1, 5)
t.ok(len(got1) == 1 and len(got2) == 1,
     "both empty-id clients are connected and receive: each has its own "
     "unique id [MQTT-3.1.3-6]")

# Empty id without clean session: rejected.
c = b.client()
c.send(m.connect("", clean=False))
closed, got = c.expect_closed(5)
t.is_([p.rc for p in got if p.type == m.CONNACK], [0x02],
      "3.1.1: empty id without clean session: CONNACK 0x02 [MQTT-3.1.3-8]")
t.ok(closed, "and the connection is closed [MQTT-3.1.3-9]")

# MQTT 5: the broker assigns an id and says which.
ids = []
for port in b.ports:
    c = b.client(port=port, proto=m.V5)
    ack = c.connect("")
    ids.append(ack.props.get("assigned_client_identifier"))
t.ok(all(ids), "5.0: empty id: CONNACK has an Assigned Client Identifier "
     "[MQTT-3.2.2-16] (%r)" % ids)
t.ok(len(set(ids)) == 2, "5.0: the assigned ids differ")

# The same id twice: the first connection is closed [MQTT-3.1.4-2].
for proto in (m.V311, m.V5):
    old = b.client(proto=proto, client_id="dup103-%d" % proto)
    new = b.client(proto=proto, client_id="dup103-%d" % proto)
    t.is_(new.connack.rc, 0, "v%d: the second connection is accepted"
          % proto)
    closed, got = old.expect_closed(5)
    t.ok(closed, "v%d: the first connection is closed [MQTT-3.1.4-2]"
         % proto)
    if proto == m.V5:
        t.ok(all(p.type == m.DISCONNECT and p.rc == 0x8E for p in got),
             "v5: with DISCONNECT 0x8E session taken over, if anything "
             "(%r)" % got)
    t.ok(new.ping(2) is not None, "v%d: the new connection works" % proto)
t.done()
