#!/usr/bin/python3
# 212: MQTT 3.1, 3.1.1 and 5.0 clients interoperate through the broker, on
# the same worker and across workers.
#   a v3.x subscriber gets a v5 publisher's message without any MQTT 5
#     property: the payload is exactly the published one (a 3.x PUBLISH
#     has no property field), the topic resolved when the publisher used
#     a topic alias, at the granted QoS
#   a v5 subscriber gets a v3.x publisher's message with no property but
#     its own subscription identifier
#   a v5 will reaches a v3.1.1 subscriber, a v3.1.1 will a v5 subscriber
#   retained messages cross versions both ways with RETAIN=1
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
VERS = ((m.V31, "3.1"), (m.V311, "3.1.1"), (m.V5, "5.0"))

subs = {}
for port, where in ((P0, "same"), (P1, "other")):
    for proto, name in VERS:
        c = b.client(port=port, proto=proto,
                     client_id="s212-%s-%d" % (where, proto))
        props = {"subscription_identifier": 9} if proto == m.V5 else None
        c.subscribe([("io/#", 2)], props=props)
        subs[(where, proto)] = c

PROPS = {"content_type": "x/y", "user_property": [("k", "v")],
         "response_topic": "r/t", "correlation_data": b"cd",
         "payload_format_indicator": 1, "message_expiry_interval": 100}
for pproto, pname in VERS:
    pub = b.client(port=P0, proto=pproto, client_id="p212-%d" % pproto)
    payload = b"from %s" % pname.encode()
    if pproto == m.V5:
        pub.publish("io/x", payload, qos=2, props=dict(
            PROPS, topic_alias=3))
        pub.publish("", payload + b" (alias)", qos=1,
                    props={"topic_alias": 3})
    else:
        pub.publish("io/x", payload, qos=2)
        pub.publish("io/x", payload + b" (alias)", qos=1)
    for (where, sproto), s in sorted(subs.items()):
        got = s.collect(2, 5)
        what = "%s publisher -> %s subscriber (%s worker)" % (
            pname, dict(VERS)[sproto], where)
        t.is_([(p.topic, p.payload, p.qos) for p in got],
              [("io/x", payload, 2), ("io/x", payload + b" (alias)", 1)],
              what + ": topic, payload and QoS as published")
        if sproto == m.V5:
            want = dict(PROPS, subscription_identifier=[9]) \
                if pproto == m.V5 else {"subscription_identifier": [9]}
            have = dict(got[0].props) if got else {}
            if "message_expiry_interval" in have:
                have["message_expiry_interval"] = 100 if \
                    0 < have["message_expiry_interval"] <= 100 else -1
            t.is_(have, want, what + ": the publisher's properties (none "
                  "from 3.x) and the subscription identifier")
    pub.disconnect()

# Wills across versions.
watch3 = subs[("other", m.V311)]
watch5 = subs[("other", m.V5)]
w5 = b.client(port=P0, proto=m.V5, client_id="w212v5",
              will={"topic": "io/will5", "payload": b"w5", "qos": 1,
                    "props": {"content_type": "c"}})
w3 = b.client(port=P0, client_id="w212v3",
              will={"topic": "io/will3", "payload": b"w3", "qos": 1})
w5.close()
w3.close()
g3 = sorted((p.topic, p.payload) for p in watch3.collect(2, 5))
g5 = sorted((p.topic, p.payload) for p in watch5.collect(2, 5))
t.is_(g3, [("io/will3", b"w3"), ("io/will5", b"w5")], "a v5 will reaches "
      "a 3.1.1 subscriber (payload exact: no properties)")
t.is_(g5, [("io/will3", b"w3"), ("io/will5", b"w5")], "a 3.1.1 will "
      "reaches a v5 subscriber")
for s in subs.values():
    s.collect(2, 0.5)

# Retained messages across versions.
for pproto, sproto in ((m.V5, m.V311), (m.V311, m.V5)):
    pub = b.client(port=P0, proto=pproto, client_id="rp212")
    pub.publish("ior/x", b"kept", qos=1, retain=True,
                props={"user_property": [("a", "b")]}
                if pproto == m.V5 else None)
    s = b.client(port=P1, proto=sproto, client_id="rs212")
    s.subscribe([("ior/x", 1)])
    got = s.collect(1, 5)
    t.is_([(p.payload, p.retain) for p in got], [(b"kept", True)],
          "a retained message from %s to %s: RETAIN=1, payload exact"
          % (dict(VERS)[pproto], dict(VERS)[sproto]))
    pub.publish("ior/x", b"", qos=1, retain=True)
    s.disconnect()
    pub.disconnect()
t.done()
