#!/usr/bin/python3
# 120: PUBLISH at QoS 0, 1 and 2, from and to clients of every protocol
# version, with the acknowledgement flows checked byte by byte.
#   [MQTT-3.3.4-1] the receiver answers per QoS: nothing / PUBACK / PUBREC
#   [MQTT-2.3.1-6] PUBACK, PUBREC, PUBREL and PUBCOMP carry the packet id
#     of the PUBLISH
#   [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010
#   [MQTT-4.3.3-1] QoS 2 to a subscriber: PUBLISH, PUBREC, PUBREL, PUBCOMP
#   [MQTT-2.3.1-2] a QoS > 0 delivery has a non-zero packet id
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

subs = {}
for proto in (m.V31, m.V311, m.V5):
    s = b.client(port=b.ports[1], proto=proto, client_id="s120-%d" % proto)
    s.subscribe([("q/#", 2)])
    subs[proto] = s

for pproto in (m.V31, m.V311, m.V5):
    p = b.client(proto=pproto, client_id="p120-%d" % pproto)
    for qos in (0, 1, 2):
        topic = "q/%d/%d" % (pproto, qos)
        payload = b"from v%d at QoS %d" % (pproto, qos)
        pid = 0x1000 + qos
        p.send(m.publish(topic, payload, qos, pid=pid, proto=pproto))
        if qos == 1:
            ack = p.expect(m.PUBACK, 5)
            t.is_(ack.pid, pid, "v%d: PUBACK with the packet id "
                  "[MQTT-3.3.4-1] [MQTT-2.3.1-6]" % pproto)
        elif qos == 2:
            rec = p.expect(m.PUBREC, 5)
            t.is_(rec.pid, pid, "v%d: PUBREC with the packet id "
                  "[MQTT-2.3.1-6]" % pproto)
            p.send(m.pubrel(pid, proto=pproto))
            comp = p.expect(m.PUBCOMP, 5)
            t.is_(comp.pid, pid, "v%d: PUBCOMP with the packet id "
                  "[MQTT-2.3.1-6]" % pproto)
        for sproto, s in subs.items():
            what = "v%d -> v%d QoS %d" % (pproto, sproto, qos)
            d = s.recv_packet(5)
            ok = d is not None and d.type == m.PUBLISH
            t.ok(ok and (d.topic, d.payload, d.qos, d.retain, d.dup) ==
                 (topic, payload, qos, False, False),
                 "%s: delivered unchanged (%r)" % (what, d))
            if not ok or qos == 0:
                continue
            t.ok(d.pid, "%s: non-zero packet id [MQTT-2.3.1-2]" % what)
            if qos == 1:
                s.send(m.puback(d.pid, proto=sproto))
                continue
            s.send(m.pubrec(d.pid, proto=sproto))
            rel = s.expect(m.PUBREL, 5)
            t.is_((rel.pid, rel.raw[0]), (d.pid, 0x62),
                  "%s: PUBREL 0x62 with the packet id [MQTT-3.6.1-1] "
                  "[MQTT-4.3.3-1]" % what)
            s.send(m.pubcomp(d.pid, proto=sproto))

# Nothing more arrives: each message was delivered once.
for sproto, s in subs.items():
    t.is_(s.expect_none(0.3), [], "v%d subscriber: no extra packets"
          % sproto)
t.done()
