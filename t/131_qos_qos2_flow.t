#!/usr/bin/python3
# 131: QoS 2, both directions.
#   [MQTT-4.3.3-2] inbound: PUBREC; a re-sent PUBLISH with the same packet
#     id before PUBREL is not delivered again; after PUBCOMP the same id is
#     a new message
#   [MQTT-4.3.3-1] outbound: PUBLISH, PUBREC, PUBREL (0x62), PUBCOMP
#   [MQTT-4.4.0-1] on reconnect of a persistent session the broker re-sends
#     an unacknowledged PUBLISH (DUP=1, same id) or, after PUBREC, the
#     PUBREL -- not the PUBLISH; the client's PUBREL is honoured after
#     its reconnect
#   PUBREL for an unknown packet id gets PUBCOMP (0x92 on 5.0)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
s = b.client(port=b.ports[1], client_id="sub131")
s.subscribe([("in/#", 2)])

# Inbound duplicate before PUBREL.
p = b.client(client_id="pub131")
p.send(m.publish("in/dup", b"exactly once", qos=2, pid=7))
t.is_(p.expect(m.PUBREC, 5).pid, 7, "PUBREC for the PUBLISH")
p.send(m.publish("in/dup", b"exactly once", qos=2, pid=7, dup=True))
t.is_(p.expect(m.PUBREC, 5).pid, 7, "PUBREC again for the re-sent PUBLISH "
      "[MQTT-4.3.3-2]")
p.send(m.pubrel(7))
t.is_(p.expect(m.PUBCOMP, 5).pid, 7, "PUBCOMP for PUBREL")
got = s.collect(1, 5) + s.collect(1, 0.5)
t.is_([x.payload for x in got], [b"exactly once"], "delivered once, not "
      "twice [MQTT-4.3.3-2]")
p.send(m.publish("in/dup", b"new message", qos=2, pid=7))
p.expect(m.PUBREC, 5)
p.send(m.pubrel(7))
p.expect(m.PUBCOMP, 5)
got = s.collect(1, 5)
t.is_([x.payload for x in got], [b"new message"], "after PUBCOMP the same "
      "packet id is a new message [MQTT-4.3.3-2]")

# PUBREL for a packet id never seen.
p.send(m.pubrel(4321))
c = p.expect(m.PUBCOMP, 5)
t.is_(c.pid, 4321, "PUBREL for an unknown id: PUBCOMP")
p5 = b.client(proto=m.V5, client_id="pub131v5")
p5.send(m.pubrel(4321, proto=m.V5))
c = p5.expect(m.PUBCOMP, 5)
t.is_(c.pid, 4321, "5.0: PUBREL for an unknown id: PUBCOMP")
if unless_mosquitto(t, "2.0.11 answers 0x00 success for an unknown packet "
                    "id (5.0 3.7.2.1 has 0x92 for it)"):
    t.is_(c.rc, 0x92, "5.0: PUBCOMP 0x92 'packet identifier not found'")

# The publisher loses its connection after PUBREC; it reconnects and
# sends PUBREL: the message is delivered once.
pp = b.client(client_id="ppub131", clean=False)
pp.send(m.publish("in/recon", b"across reconnect", qos=2, pid=99))
pp.expect(m.PUBREC, 5)
pp.close()
pp = b.client(port=b.ports[1], client_id="ppub131", clean=False)
t.ok(pp.connack.session_present, "publisher: session present")
pp.send(m.publish("in/recon", b"across reconnect", qos=2, pid=99, dup=True))
t.is_(pp.expect(m.PUBREC, 5).pid, 99, "publisher re-sends its PUBLISH "
      "after reconnect: PUBREC")
pp.send(m.pubrel(99))
t.is_(pp.expect(m.PUBCOMP, 5).pid, 99, "PUBREL after reconnect: PUBCOMP "
      "[MQTT-4.4.0-1]")
got = s.collect(1, 5) + s.collect(1, 0.5)
t.is_([x.payload for x in got], [b"across reconnect"],
      "delivered exactly once across the publisher's reconnect")

# Outbound: the subscriber's side, with reconnects at each step.
for proto in (m.V311, m.V5):
    cid = "osub131-%d" % proto
    kw = dict(proto=proto, client_id=cid, clean=False,
              props={"session_expiry_interval": 300}
              if proto == m.V5 else None)
    o = b.client(**kw)
    o.subscribe([("out/%d" % proto, 2)])
    p.publish("out/%d" % proto, b"q2 out", qos=2)
    d = o.recv_publish(5, ack=False)
    t.ok(d is not None and d.qos == 2 and d.pid, "v%d: QoS 2 delivery"
         % proto)
    o.close()                      # no PUBREC: the PUBLISH is re-sent
    o = b.client(port=b.ports[1], **kw)
    r = o.recv_packet(5)
    t.ok(r is not None and r.type == m.PUBLISH and (r.pid, r.dup) ==
         (d.pid, True), "v%d: reconnect before PUBREC: PUBLISH re-sent, "
         "same id, DUP=1 [MQTT-4.4.0-1] (%r)" % (proto, r))
    o.send(m.pubrec(d.pid, proto=proto))
    rel = o.expect(m.PUBREL, 5)
    t.is_((rel.pid, rel.raw[0]), (d.pid, 0x62), "v%d: PUBREL 0x62 "
          "[MQTT-4.3.3-1]" % proto)
    o.close()                      # no PUBCOMP: the PUBREL is re-sent
    o = b.client(**kw)
    r = o.recv_packet(5)
    t.ok(r is not None and r.type == m.PUBREL and r.pid == d.pid,
         "v%d: reconnect after PUBREC: PUBREL re-sent, not the PUBLISH "
         "[MQTT-4.4.0-1] (%r)" % (proto, r))
    o.send(m.pubcomp(d.pid, proto=proto))
    o.ping()
    o.close()
    o = b.client(port=b.ports[1], **kw)
    t.is_(o.expect_none(0.5), [], "v%d: flow complete: nothing re-sent"
          % proto)
    o.disconnect()
t.done()
