#!/usr/bin/python3
# 141: persistent sessions.
#   [MQTT-3.2.2-3] a new persistent session: session present 0
#   [MQTT-3.2.2-2] resuming one: session present 1
#   [MQTT-3.1.2-4] [MQTT-3.1.2-5] the session keeps the subscriptions and
#     the QoS 1 and 2 messages published while the client was away, which
#     are delivered on reconnect, in order per topic [MQTT-4.6.0-6], at
#     the subscription's QoS, DUP=0 (never sent before)
#   QoS 0 messages are not queued for an offline session (optional in
#     MQTT-3.1.2-5; neither comqtt by default nor mosquitto queue them)
#   the session resumes on the other listener (another comqtt worker)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="p141")

for proto in (m.V311, m.V5):
    kw = dict(proto=proto, client_id="ps141-%d" % proto, clean=False,
              props={"session_expiry_interval": 600}
              if proto == m.V5 else None)
    pre = "ps%d" % proto
    c = b.client(**kw)
    t.ok(not c.connack.session_present, "v%d: new session: session present "
         "0 [MQTT-3.2.2-3]" % proto)
    c.subscribe([(pre + "/0", 0), (pre + "/1", 1), (pre + "/2", 2),
                 (pre + "/down", 1)])
    c.disconnect()
    for i in range(5):
        for q in (0, 1, 2):
            pub.publish("%s/%d" % (pre, q), b"%d" % i, qos=q)
        pub.publish(pre + "/down", b"%d" % i, qos=2)
    c = b.client(port=b.ports[1], **kw)
    t.ok(c.connack.session_present, "v%d: resumed on the other listener: "
         "session present 1 [MQTT-3.2.2-2]" % proto)
    got = c.collect(15, 10) + c.collect(1, 0.5)
    by = {}
    for p in got:
        by.setdefault(p.topic, []).append((int(p.payload), p.qos, p.dup))
    for q in (1, 2):
        t.is_(by.get("%s/%d" % (pre, q)), [(i, q, False) for i in range(5)],
              "v%d: the 5 QoS %d messages queued while away, in order, "
              "DUP=0 [MQTT-3.1.2-5] [MQTT-4.6.0-6]" % (proto, q))
    t.is_(by.get(pre + "/down"), [(i, 1, False) for i in range(5)],
          "v%d: QoS 2 messages to a QoS 1 subscription queued at QoS 1"
          % proto)
    t.ok(pre + "/0" not in by, "v%d: QoS 0 messages were not queued"
         % proto)
    pub.publish(pre + "/1", b"live", qos=1)
    got = c.collect(1, 5)
    t.is_([p.payload for p in got], [b"live"], "v%d: the subscriptions "
          "live on [MQTT-3.1.2-4]" % proto)
    c.disconnect()
    c = b.client(**kw)
    t.ok(c.connack.session_present, "v%d: session present again" % proto)
    t.is_(c.collect(1, 0.5), [], "v%d: nothing delivered twice" % proto)
    c.disconnect()
t.done()
