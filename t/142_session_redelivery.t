#!/usr/bin/python3
# 142: redelivery when a persistent session resumes.
#   [MQTT-4.4.0-1] unacknowledged QoS 1/2 deliveries are re-sent with their
#     original packet ids, [MQTT-3.3.1-1] with DUP=1
#   [MQTT-4.6.0-1] in the order they were first sent, and before the
#     messages queued while the client was away (which go out DUP=0)
#   this holds when the connection simply breaks (no DISCONNECT) and when
#   the session moves to the other listener (another comqtt worker)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="p142")
# The will of a broken connection tells when the broker has noticed the
# break: publishing after it reaches an offline session, not a dying one.
watch = b.client(client_id="w142")
watch.subscribe([("gone/#", 0)])

for proto in (m.V311, m.V5):
    for qos in (1, 2):
        kw = dict(proto=proto, client_id="rd142-%d-%d" % (proto, qos),
                  clean=False, props={"session_expiry_interval": 600}
                  if proto == m.V5 else None,
                  will={"topic": "gone/%d/%d" % (proto, qos)})
        what = "v%d QoS %d" % (proto, qos)
        topic = "rd/%d/%d" % (proto, qos)
        c = b.client(port=b.ports[0], **kw)
        c.subscribe([(topic, qos)])
        pub.publish_many([(topic, b"%d" % i) for i in range(5)], qos=qos)
        first = c.collect(5, 5, ack=False)
        t.is_([(int(p.payload), p.dup) for p in first],
              [(i, False) for i in range(5)], "%s: 5 deliveries, DUP=0, "
              "left unacknowledged" % what)
        c.close()  # the connection breaks
        t.is_(len(watch.collect(1, 10)), 1, "%s: the broker noticed the "
              "break (will published)" % what)
        pub.publish_many([(topic, b"%d" % i) for i in range(5, 8)], qos=qos)
        c = b.client(port=b.ports[1], **kw)
        t.ok(c.connack.session_present, "%s: session present" % what)
        again = c.collect(8, 10, ack=False)
        t.is_([(int(p.payload), p.dup) for p in again],
              [(i, i < 5) for i in range(8)],
              "%s: the 5 re-sent with DUP=1 first, in order, then the 3 "
              "queued with DUP=0 [MQTT-4.4.0-1] [MQTT-4.6.0-1]" % what)
        t.is_([p.pid for p in again[:5]], [p.pid for p in first],
              "%s: with their original packet ids [MQTT-4.4.0-1]" % what)
        ids = [p.pid for p in again]
        t.is_(len(set(ids)), len(ids), "%s: no packet id shared with a "
              "queued message" % what)
        for p in again:
            c.ack(p)
        c.drain_acks(0.3)
        c.disconnect()
        c = b.client(**kw)
        t.is_(c.collect(1, 0.5), [], "%s: all acknowledged: nothing more"
              % what)
        c.disconnect()
t.done()
