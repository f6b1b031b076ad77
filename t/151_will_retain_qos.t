#!/usr/bin/python3
# 151: what the will message looks like when published.
#   [MQTT-3.1.2-14] [MQTT-3.1.2-9] it is published on the will topic with
#     the will payload at the will QoS (subject to the subscription's QoS,
#     [MQTT-3.8.4-6])
#   [MQTT-3.1.2-16] will retain 0: not retained
#   [MQTT-3.1.2-17] will retain 1: retained, so a later subscriber gets it
#   a QoS 1 will reaches an offline persistent subscriber on reconnect
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
watch = b.client(port=b.ports[1], client_id="watch151")
watch.subscribe([("lw/#", 2)])
low = b.client(client_id="low151")
low.subscribe([("lw/#", 0)])
off = b.client(client_id="off151", clean=False)
off.subscribe([("lw/#", 1)])
off.disconnect()

binary = bytes(range(256))
n = 0
for proto in (m.V31, m.V311, m.V5):
    for qos in (0, 1, 2):
        for retain in (False, True):
            n += 1
            topic = "lw/%d/%d/%d" % (proto, qos, retain)
            # An empty retained will would clear the topic instead.
            payload = binary if retain or proto != m.V311 else b""
            c = b.client(proto=proto, client_id="lw151-%d" % n, will={
                "topic": topic, "payload": payload, "qos": qos,
                "retain": retain})
            c.close()
            what = "v%d will QoS %d retain %d" % (proto, qos, retain)
            got = watch.collect(1, 5)
            t.ok(len(got) == 1 and (got[0].topic, got[0].payload,
                                    got[0].qos, got[0].retain) ==
                 (topic, payload, qos, False),
                 "%s: published on its topic with its payload (%d bytes) "
                 "at its QoS, RETAIN=0 live [MQTT-3.1.2-9] [MQTT-3.1.2-14] "
                 "(%r)" % (what, len(payload), got))
            got = low.collect(1, 5)
            t.is_([p.qos for p in got], [0], "%s: at QoS 0 to a QoS 0 "
                  "subscription" % what)
            late = b.client(client_id="late151")
            late.subscribe([(topic, 2)])
            got = late.collect(1, 0.3 if not retain else 5)
            if retain:
                t.ok(len(got) == 1 and got[0].retain and
                     got[0].payload == payload,
                     "%s: retained for a later subscriber "
                     "[MQTT-3.1.2-17]" % what)
            else:
                t.is_(got, [], "%s: not retained [MQTT-3.1.2-16]" % what)
            late.disconnect()

off = b.client(client_id="off151", clean=False)
got = off.collect(12, 5) + off.collect(1, 0.3)
t.is_(len([p for p in got if p.qos == 1]), 12, "the 12 wills at QoS 1 and 2 "
      "were queued for an offline persistent subscriber, at QoS 1")
t.done()
