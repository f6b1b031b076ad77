#!/usr/bin/python3
# 602: POST /api/v1/mqtt/message publishes as the broker's inline client:
# the message reaches real subscribers (paho on MQTT 3.1.1 and 5,
# mosquitto_sub) on every worker at the QoS they asked for [MQTT-3.8.4-8];
# a retained one is stored, listed, sent to later subscribers
# [MQTT-3.3.1-9] and deleted through the API (later subscribers then get
# nothing); binary payloads round-trip through payload_base64; an
# unsubscription through the API stops deliveries.
import base64
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api, q  # noqa: E402
from clients import MosquittoSub, Paho  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
b = Broker(t, admin={})
api = Api(b)

subs = []
for i, (port, proto) in enumerate(((b.ports[0], 4), (b.ports[1], 5))):
    p = Paho(t, port, "pub-sub-%d" % i, proto=proto)
    p.connect()
    t.is_(p.subscribe("inline/#", 2), [2], "paho MQTT %d subscribed at QoS "
          "2 on worker %d" % (proto, i))
    subs.append(p)
ms = MosquittoSub(t, b.ports[1], "inline/#", qos=1, count=3)
t.ok(wait_until(lambda: api.get(API + "/clients?q=mosq").json["total"] ==
                1 or len(api.get(API + "/subscriptions?topic=inline").json[
                    "items"]) == 3, 10),
     "mosquitto_sub subscribed too")

for qos in (0, 1, 2):
    r = api.post(API + "/message", {"topic_name": "inline/q%d" % qos,
                                    "payload": "m%d" % qos, "qos": qos})
    t.ok(r.status == 200, "POST /message at QoS %d: 200" % qos)
for i, p in enumerate(subs):
    got = p.wait_messages(3, 10)
    t.is_(sorted((m.topic, m.payload, m.qos) for m in got),
          [("inline/q0", b"m0", 0), ("inline/q1", b"m1", 1),
           ("inline/q2", b"m2", 2)],
          "paho %d got all three, in order of QoS granted" % i)
rc, lines = ms.wait(10)
t.is_(sorted(lines), ["inline/q0 m0", "inline/q1 m1", "inline/q2 m2"],
      "mosquitto_sub got them too")

# Retained.
r = api.post(API + "/message", {"topic_name": "inline/state",
                                "payload": "on", "retain": True, "qos": 1})
t.is_(r.status, 200, "a retained message")
t.ok(all(any(m.topic == "inline/state" and m.payload == b"on"
             for m in p.wait_messages(4, 10)) for p in subs),
     "the current subscribers got it")
late = Paho(t, b.ports[1], "late-1", proto=5)
late.connect()
late.subscribe("inline/state", 1)
got = late.wait_messages(1, 10)
t.ok(len(got) == 1 and got[0].payload == b"on" and got[0].retain,
     "a later subscriber gets it, retained")
r = api.get(API + "/retained?topic=inline")
t.ok(r.json["total"] == 1 and r.json["items"][0]["topic"] == "inline/state",
     "GET /retained lists it")
r = api.delete(API + "/retained/" + q("inline/state"))
t.is_(r.status, 200, "DELETE /retained/{topic}")
later = Paho(t, b.ports[0], "late-2", proto=4)
later.connect()
later.subscribe("inline/state", 1)
t.is_(later.wait_messages(1, 1.0), [], "a subscriber after the delete "
      "gets nothing")
t.is_(len(subs[0].wait_messages(5, 0.5)), 4, "and the delete published "
      "nothing to current subscribers")

# Binary payloads.
raw = bytes(range(256))
r = api.post(API + "/message", {"topic_name": "inline/bin", "retain": True,
                                "payload_base64":
                                    base64.b64encode(raw).decode()})
t.is_(r.status, 200, "a binary payload in payload_base64")
got = subs[1].wait_messages(5, 10)
t.ok(got[-1].topic == "inline/bin" and got[-1].payload == raw,
     "delivered byte for byte")
r = api.get(API + "/retained/inline/bin")
t.is_(base64.b64decode(r.json["payload_base64"]), raw,
      "GET /retained/{topic} gives the bytes back in payload_base64")

# Unsubscribe through the API.
r = api.delete(API + "/clients/pub-sub-0/subscriptions/" + q("inline/#"))
t.is_(r.status, 200, "the API unsubscribes pub-sub-0 from inline/#")
before = len(subs[0].messages)
api.post(API + "/message", {"topic_name": "inline/after", "payload": "x"})
t.ok(wait_until(lambda: len(subs[1].messages) >= 6, 10),
     "pub-sub-1 still receives")
t.is_(len(subs[0].wait_messages(before + 1, 0.5)), before,
      "pub-sub-0 receives nothing more")

r = api.get(API + "/stat/overall")
t.ok(r.json["messages_received"] >= 6, "inline publishes are counted as "
     "received messages (%d)" % r.json["messages_received"])
for p in subs + [late, later]:
    p.disconnect()
b.stop()
t.done()
