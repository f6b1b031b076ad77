#!/usr/bin/python3
# 134: message ordering.  1000 messages from one publisher on one topic,
# at each QoS, reach every subscriber in the order they were published
# [MQTT-4.6.0-5] [MQTT-4.6.0-6] (every topic is an ordered topic), for a
# subscriber on the publisher's listener and one on the other listener
# (another worker in comqtt), and none is lost or duplicated.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
N = 1000
subs = []
for port in b.ports:
    for proto in (m.V311, m.V5):
        s = b.client(port=port, proto=proto, client_id="o134-%d-%d"
                     % (port, proto), timeout=30)
        s.subscribe([("ord/#", 2)])
        subs.append(("listener %d v%d" % (b.ports.index(port), proto), s))
pub = b.client(client_id="p134", timeout=30)

for qos in (0, 1, 2):
    topic = "ord/%d" % qos
    msgs = [(topic, b"%d" % i) for i in range(N)]
    if qos == 0:
        # QoS 0 has no acknowledgement: pace in batches of 100, each
        # confirmed by a PINGREQ round trip, so the publisher cannot run
        # ahead of the broker.
        for i in range(0, N, 100):
            pub.publish_many(msgs[i:i + 100], qos=0)
            pub.ping(10)
    else:
        pub.publish_many(msgs, qos=qos, window=100)
    for name, s in subs:
        got = [int(p.payload) for p in s.collect(N, 30)]
        t.is_(got == list(range(N)), True,
              "QoS %d, %s: all %d messages in order [MQTT-4.6.0-6]"
              % (qos, name, N))
        if got != list(range(N)):
            t.diag("got %d messages; first out of place: %r" % (
                len(got), next((i, g) for i, g in enumerate(got + [None])
                               if g != i)))
t.done()
