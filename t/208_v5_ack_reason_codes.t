#!/usr/bin/python3
# 208: MQTT 5 reason codes on every acknowledgement the broker sends, and
# Reason Strings with the failures.
#   PUBACK / PUBREC (3.4.2.1, 3.5.2.1): 0x00; 0x10 No matching subscribers;
#     0x87 Not authorized ($SYS); 0x90 Topic Name invalid (too many
#     levels); 0x99 (205)
#   PUBREL (3.6.2.1): 0x00; 0x92 Packet Identifier not found for a PUBREC
#     the broker does not expect
#   PUBCOMP (3.7.2.1): 0x00; 0x92 for a PUBREL of an unknown packet id
#   SUBACK (3.9.3): granted QoS 0/1/2 in order [MQTT-3.9.3-1]; 0x8F Topic
#     Filter invalid; 0x97 Quota exceeded (limits.max_subscriptions_per_
#     session); each refused filter alone [MQTT-3.9.3-2]
#   UNSUBACK (3.11.3): 0x00, 0x11 No subscription existed, one per filter
#     in order [MQTT-3.11.3-1]
#   with mqtt.obscure_not_authorized: 0x80 and no Reason String
#   properties on every packet a client sends are accepted (2.2.2)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's limits and reason strings")
b = Broker(t, workers=2, limits={"max_topic_levels": 4,
                                 "max_subscriptions_per_session": 3})
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
sub = b.client(port=P1, proto=m.V5, client_id="sub208")
sub.subscribe([("has/subs", 1)])
pub = b.client(port=P0, proto=m.V5, client_id="pub208")


def rc_reason(ack):
    return ack.rc, bool(ack.props.get("reason_string"))


def first_ack(c, topic, qos):
    """PUBACK, or the PUBREC of a QoS 2 flow (which is then completed)."""
    pid = c.next_pid()
    c.send(m.publish(topic, b"x", qos, pid=pid, proto=m.V5))
    a = c.expect(m.PUBACK if qos == 1 else m.PUBREC, timeout=5)
    if qos == 2 and a.rc < 0x80:
        c.send(m.pubrel(pid, proto=m.V5))
        c.expect(m.PUBCOMP, timeout=5)
    return a


for qos in (1, 2):
    name = "PUBACK" if qos == 1 else "PUBREC"
    t.is_(rc_reason(first_ack(pub, "has/subs", qos)), (0, False),
          "%s 0x00 when someone subscribes" % name)
    t.is_(rc_reason(first_ack(pub, "no/subs", qos)), (0x10, False),
          "%s 0x10 No matching subscribers (3.4.2.1)" % name)
    t.is_(rc_reason(first_ack(pub, "$SYS/x", qos)), (0x87, True),
          "%s 0x87 Not authorized, with a Reason String" % name)
    t.is_(rc_reason(first_ack(pub, "a/b/c/d/e", qos)), (0x90, True),
          "%s 0x90 Topic Name invalid (limits.max_topic_levels), with a "
          "Reason String" % name)
sub.collect(2, 2)

# PUBREL 0x92 and PUBCOMP 0x92.
pub.send(m.pubrel(4242, proto=m.V5))
p = pub.expect(m.PUBCOMP, timeout=5)
t.is_((p.pid, p.rc), (4242, 0x92), "PUBREL of an unknown packet id: "
      "PUBCOMP 0x92 (3.7.2.1)")
sub.send(m.pubrec(4343, proto=m.V5))
p = sub.expect(m.PUBREL, timeout=5)
t.is_((p.pid, p.rc), (4343, 0x92), "PUBREC the broker does not expect: "
      "PUBREL 0x92 (3.6.2.1)")
c = pub.publish("has/subs", b"q2", qos=2)
t.is_((c.type, c.rc), (m.PUBCOMP, 0), "a complete QoS 2 flow ends with "
      "PUBCOMP 0x00")
sub.collect(1, 2)

# SUBACK.
s = b.client(port=P0, proto=m.V5, client_id="s208")
a = s.subscribe([("q/0", 0), ("q/1", 1), ("q/+/bad#", 1), ("q/2", 2),
                 ("q/3", 1)])
t.is_(a.codes, [0, 1, 0x8F, 2, 0x97], "SUBACK: a code per filter in order "
      "[MQTT-3.9.3-1]; 0x8F for an invalid filter and 0x97 past "
      "limits.max_subscriptions_per_session, the others granted "
      "[MQTT-3.9.3-2]")
t.ok(a.props.get("reason_string"), "with a Reason String")

# UNSUBACK.
u = s.unsubscribe(["q/1", "never/was", "q/0"])
t.is_(u.codes, [0, 0x11, 0], "UNSUBACK: 0x00, 0x11 No subscription "
      "existed, in order [MQTT-3.11.3-1] (3.11.3)")

# Properties on every packet a client sends are accepted (2.2.2): user
# properties and reason strings on SUBSCRIBE, UNSUBSCRIBE, the four
# acknowledgements and DISCONNECT.
UP = {"user_property": [("k", "v")]}
RS = dict(UP, reason_string="why")
pc = b.client(port=P1, proto=m.V5, client_id="props208")
t.is_(pc.subscribe([("pr/#", 2)], props=UP).codes, [2],
      "SUBSCRIBE with a user property")
t.is_(pc.unsubscribe(["pr/none"], props=UP).codes, [0x11],
      "UNSUBSCRIBE with a user property")
pc.subscribe([("pr/#", 2)])
pub.publish("pr/1", b"1", qos=1)
pub.publish("pr/2", b"2", qos=2)
p1 = pc.recv_publish(5, ack=False)
p2 = pc.recv_publish(5, ack=False)
pc.send(m.puback(p1.pid, 0, RS, proto=m.V5))
pc.send(m.pubrec(p2.pid, 0, RS, proto=m.V5))
rel = pc.expect(m.PUBREL, timeout=5)
pc.send(m.pubcomp(rel.pid, 0, RS, proto=m.V5))
pc.send(m.publish("pr/3", b"3", qos=2, pid=77, proto=m.V5))
pc.expect(m.PUBREC, timeout=5, stash=True)
pc.send(m.pubrel(77, 0, RS, proto=m.V5))
t.is_(pc.expect(m.PUBCOMP, timeout=5, stash=True).rc, 0, "PUBACK, PUBREC, "
      "PUBCOMP and PUBREL with a reason string and a user property: the "
      "flows complete")
pc.send(m.disconnect(0, RS, proto=m.V5))
closed, got = pc.expect_closed(5)
t.ok(closed and not [p for p in got if p.type == m.DISCONNECT],
     "DISCONNECT with properties: closed quietly (%r)" % got)
b.stop()

# Obscured refusals.
o = Broker(t, workers=1, nports=1, mqtt={"obscure_not_authorized": True})
c = o.client(proto=m.V5, client_id="obs208")
t.is_(rc_reason(c.publish("$SYS/x", b"x", qos=1)), (0x80, False),
      "mqtt.obscure_not_authorized: PUBACK 0x80 Unspecified error, no "
      "Reason String that would tell why")
t.done()
