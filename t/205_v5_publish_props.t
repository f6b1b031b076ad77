#!/usr/bin/python3
# 205: MQTT 5 PUBLISH properties on the way through the broker (3.3.2.3),
# to a subscriber on the same worker and on another one.
#   [MQTT-3.3.2-4] Payload Format Indicator, [MQTT-3.3.2-20] Content Type,
#     [MQTT-3.3.2-15] Response Topic, [MQTT-3.3.2-16] Correlation Data:
#     unaltered
#   [MQTT-3.3.2-17] [MQTT-3.3.2-18] User Properties unaltered and in
#     order, repeated names included
#   [MQTT-3.3.2-6] the Message Expiry Interval sent is what is left of it;
#     [MQTT-3.3.2-5] an expired retained message is not sent to a new
#     subscriber
#   Payload Format Indicator 1 with a payload that is not UTF-8: PUBACK /
#     PUBREC 0x99 (QoS 1/2), DISCONNECT 0x99 (QoS 0), nothing delivered;
#     indicator 0 with the same bytes: delivered (3.3.2.3.2)
#   [MQTT-3.3.2-14] a Response Topic with wildcards: DISCONNECT 0x82
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
near = b.client(port=P0, proto=m.V5, client_id="near205")
far = b.client(port=P1, proto=m.V5, client_id="far205")
for s in (near, far):
    s.subscribe([("pp/#", 2)])
pub = b.client(port=P0, proto=m.V5, client_id="pub205")

PROPS = {"payload_format_indicator": 1, "content_type": "application/json",
         "response_topic": "reply/205", "correlation_data": b"\x00\xffid",
         "user_property": [("b", "2"), ("a", "1"), ("b", "3"), ("", "")]}
NAMES = (("payload_format_indicator", "[MQTT-3.3.2-4]"),
         ("content_type", "[MQTT-3.3.2-20]"),
         ("response_topic", "[MQTT-3.3.2-15]"),
         ("correlation_data", "[MQTT-3.3.2-16]"),
         ("user_property", "[MQTT-3.3.2-17] [MQTT-3.3.2-18]"))
for qos in (0, 1, 2):
    pub.publish("pp/%d" % qos, '{"q": %d}' % qos, qos=qos, props=PROPS)
    for s, where in ((near, "same worker"), (far, "other worker")):
        p = s.recv_publish(5)
        for k, ref in NAMES:
            t.is_(p.props.get(k) if p else None, PROPS[k],
                  "QoS %d, %s: %s unaltered %s" % (qos, where, k, ref))

# -- message expiry ---------------------------------------------------------
pub.publish("pp/exp", b"e", qos=1, props={"message_expiry_interval": 60})
for s in (near, far):
    p = s.recv_publish(5)
    v = p.props.get("message_expiry_interval") if p else None
    t.ok(v is not None and 0 < v <= 60, "the Message Expiry Interval is "
         "forwarded (%r) [MQTT-3.3.2-6]" % v)
pub.publish("pp/ret", b"r", qos=1, retain=True,
            props={"message_expiry_interval": 30})
time.sleep(2.2)
c = b.client(port=P1, proto=m.V5, client_id="late205")
c.subscribe([("pp/ret", 1)])
p = c.recv_publish(5)
v = p.props.get("message_expiry_interval") if p else None
t.ok(v is not None and v <= 28, "a retained message sent later carries "
     "what is left of its interval (%r) [MQTT-3.3.2-6]" % v)
pub.publish("pp/short", b"s", qos=1, retain=True,
            props={"message_expiry_interval": 1})
time.sleep(2.2)
c.subscribe([("pp/short", 1)])
t.is_(c.collect(1, 1.0), [], "an expired retained message is not sent "
      "[MQTT-3.3.2-5]")
for s in (near, far):
    s.collect(2, 1.0)

# -- payload format -------------------------------------------------------
BAD = b"\xff\xfe not utf-8"
ack = pub.publish("pp/bad", BAD, qos=1,
                  props={"payload_format_indicator": 1})
t.is_(ack.rc, 0x99, "indicator 1, not UTF-8, QoS 1: PUBACK 0x99 (3.3.2.3.2)")
rec = pub.publish("pp/bad", BAD, qos=2,
                  props={"payload_format_indicator": 1})
t.is_(rec.rc, 0x99, "QoS 2: PUBREC 0x99")
t.is_(near.collect(1, 0.5) + far.collect(1, 0.5), [], "nothing delivered")
pub.publish("pp/raw", BAD, qos=1, props={"payload_format_indicator": 0})
t.is_([p.payload for p in far.collect(1, 5)], [BAD], "indicator 0: the "
      "same bytes are delivered")
near.collect(1, 1)
pub.send(m.publish("pp/bad", BAD, qos=0,
                   props={"payload_format_indicator": 1}, proto=m.V5))
t.ok(pub.closed_by_disconnect(0x99),
     "QoS 0: DISCONNECT 0x99 (%r)" % pub.last_close)

# -- response topic with wildcards -----------------------------------------
pub = b.client(port=P0, proto=m.V5, client_id="pub205b")
pub.send(m.publish("pp/x", b"x", qos=1, pid=1,
                   props={"response_topic": "reply/+"}, proto=m.V5))
closed, got = pub.expect_closed(5)
t.ok(closed and got and got[-1].type == m.DISCONNECT and
     got[-1].rc in (0x82, 0x81), "a Response Topic with a wildcard: "
     "DISCONNECT (%r) [MQTT-3.3.2-14]" % got)
t.is_(near.collect(1, 0.5), [], "and it is not delivered")
t.done()
