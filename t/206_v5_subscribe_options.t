#!/usr/bin/python3
# 206: MQTT 5 subscription options (3.8.3.1) and subscription identifiers.
#   [MQTT-3.8.3-3] No Local: the subscriber's own messages are not sent
#     back to it (other subscribers of the topic still get them)
#   [MQTT-3.3.1-12] Retain As Published 0: live deliveries carry RETAIN=0
#   [MQTT-3.3.1-13] Retain As Published 1: RETAIN as published
#   [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0/1/2
#   retained messages sent at subscribe time carry RETAIN=1 (3.3.1.3)
#     even when they wait behind the client's Receive Maximum and when
#     they are re-sent with DUP after a reconnect
#   [MQTT-3.3.4-3] one Subscription Identifier per matching subscription
#     on a delivery, none when the subscription has none, and
#     [MQTT-3.8.4-3] a SUBSCRIBE that changes the identifier replaces it
#   [MQTT-3.8.3-4] No Local on a shared subscription: protocol error
#   capabilities off (3.2.2.3.11-13): SUBACK 0xA2 (wildcards), 0x9E
#     (shared subscriptions), DISCONNECT 0xA1 (subscription identifiers)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

NL, RAP = 0x04, 0x08


def rh(n):
    return n << 4


t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
pub = b.client(port=P0, proto=m.V5, client_id="pub206")

# -- No Local ---------------------------------------------------------------
me = b.client(port=P0, proto=m.V5, client_id="nl206")
me.subscribe([("nl/#", 1 | NL)])
other = b.client(port=P1, proto=m.V5, client_id="nlo206")
other.subscribe([("nl/#", 1)])
me.publish("nl/a", b"mine", qos=1)
t.is_([p.payload for p in other.collect(1, 5)], [b"mine"],
      "another subscriber gets the message")
t.is_(me.collect(1, 0.5), [], "No Local: not sent back to its publisher "
      "[MQTT-3.8.3-3]")
pub.publish("nl/a", b"theirs", qos=1)
t.is_([p.payload for p in me.collect(1, 5)], [b"theirs"],
      "No Local: messages of other clients still arrive")
other.collect(1, 2)

# -- Retain As Published ---------------------------------------------------
s0 = b.client(port=P1, proto=m.V5, client_id="rap0-206")
s0.subscribe([("rap/#", 1)])
s1 = b.client(port=P1, proto=m.V5, client_id="rap1-206")
s1.subscribe([("rap/#", 1 | RAP)])
pub.publish("rap/x", b"r", qos=1, retain=True)
pub.publish("rap/y", b"n", qos=1, retain=False)
g0 = [(p.payload, p.retain) for p in s0.collect(2, 5)]
g1 = [(p.payload, p.retain) for p in s1.collect(2, 5)]
t.is_(g0, [(b"r", False), (b"n", False)], "Retain As Published 0: RETAIN=0 "
      "on live deliveries [MQTT-3.3.1-12]")
t.is_(g1, [(b"r", True), (b"n", False)], "Retain As Published 1: RETAIN "
      "as published [MQTT-3.3.1-13]")

# -- Retain Handling --------------------------------------------------------
c = b.client(port=P1, proto=m.V5, client_id="rh206")
c.subscribe([("rap/x", 1 | rh(0))])
g = c.collect(1, 5)
t.is_([(p.payload, p.retain) for p in g], [(b"r", True)],
      "Retain Handling 0: the retained message at subscribe, RETAIN=1 "
      "[MQTT-3.3.1-9]")
c.subscribe([("rap/x", 1 | rh(0))])
t.is_(len(c.collect(1, 5)), 1, "Retain Handling 0: again when the "
      "subscription is replaced [MQTT-3.3.1-9]")
c.subscribe([("rap/x", 1 | rh(1))])
t.is_(c.collect(1, 0.5), [], "Retain Handling 1: not for an existing "
      "subscription [MQTT-3.3.1-10]")
c.subscribe([("rap/+", 1 | rh(1))])
t.is_(len(c.collect(1, 5)), 1, "Retain Handling 1: sent for a new "
      "subscription [MQTT-3.3.1-10]")
c.subscribe([("rap/#", 1 | rh(2))])
t.is_(c.collect(1, 0.5), [], "Retain Handling 2: not sent "
      "[MQTT-3.3.1-11]")

# -- RETAIN=1 on retained messages that wait, and on their re-sends -------
for i in range(4):
    pub.publish("wait/%d" % i, b"w%d" % i, qos=1, retain=True)
KW = dict(proto=m.V5, client_id="wait206", clean=False,
          props={"session_expiry_interval": 60, "receive_maximum": 1})
c = b.client(port=P1, **KW)
c.subscribe([("wait/#", 1)])   # Retain As Published 0
seen = []
for i in range(4):
    p = c.recv_publish(5, ack=False)
    if p is None:
        break
    t.is_(c.collect(1, 0.3, ack=False), [], "Receive Maximum 1: one "
          "retained message at a time")
    seen.append((p.payload, p.retain))
    c.ack(p)
t.is_(sorted(seen), [(b"w%d" % i, True) for i in range(4)],
      "retained messages that waited for the window still carry RETAIN=1 "
      "(3.3.1.3, [MQTT-3.3.1-9])")
c.disconnect()
pub.publish("again/x", b"a", qos=1, retain=True)
c = b.client(port=P0, **KW)
c.subscribe([("again/x", 1)])
p = c.recv_publish(5, ack=False)
t.ok(p is not None and p.retain, "a retained message sent at subscribe")
c.close()
c = b.client(port=P1, **KW)
p = c.recv_publish(5)
t.ok(p is not None and p.dup and p.retain and p.payload == b"a",
     "re-sent after a reconnect on another worker with DUP and RETAIN=1 "
     "(%r)" % p)
c.disconnect()
for i in range(4):
    pub.publish("wait/%d" % i, b"", qos=1, retain=True)
pub.publish("again/x", b"", qos=1, retain=True)

# -- Subscription Identifiers ---------------------------------------------
c = b.client(port=P1, proto=m.V5, client_id="sid206")
c.subscribe([("sid/+", 1)], props={"subscription_identifier": 7})
c.subscribe([("sid/#", 0)], props={"subscription_identifier": 300})
c.subscribe([("sid/x", 1)])
pub.publish("sid/x", b"1", qos=1)
p = c.recv_publish(5)
ids = sorted(p.props.get("subscription_identifier", [])) if p else None
t.is_(ids, [7, 300], "a delivery carries the identifier of each matching "
      "subscription that has one [MQTT-3.3.4-3] [MQTT-3.3.4-4]")
t.is_(p.qos if p else None, 1, "at the highest QoS of the matches")
pub.publish("sid/y/z", b"2", qos=1)
p = c.recv_publish(5)
t.is_(p.props.get("subscription_identifier") if p else None, [300],
      "only the matching subscription's identifier")
c.subscribe([("sid/+", 1)], props={"subscription_identifier": 8})
pub.publish("sid/q", b"3", qos=1)
p = c.recv_publish(5)
t.is_(sorted(p.props.get("subscription_identifier", [])) if p else None,
      [8, 300], "a SUBSCRIBE with a new identifier replaces the old one "
      "[MQTT-3.8.4-3]")
c.subscribe([("sid/+", 1)])
pub.publish("sid/q", b"4", qos=1)
p = c.recv_publish(5)
t.is_(p.props.get("subscription_identifier") if p else None, [300],
      "a SUBSCRIBE without an identifier removes it")
c.unsubscribe(["sid/#", "sid/+"])
pub.publish("sid/x", b"5", qos=1)
p = c.recv_publish(5)
t.is_(p.props.get("subscription_identifier") if p else 0, None,
      "no identifier when the subscription has none")

c = b.client(port=P0, proto=m.V5, client_id="nlshare206")
c.send(m.subscribe(3, [("$share/g/nl", 1 | NL)], proto=m.V5))
closed, got = c.expect_closed(5)
t.ok(closed and any(p.type == m.DISCONNECT and p.rc == 0x82 for p in got),
     "No Local on a shared subscription: DISCONNECT 0x82 [MQTT-3.8.3-4] "
     "(%r)" % got)

# -- capabilities switched off ---------------------------------------------
b2 = Broker(t, workers=1, nports=1, mqtt={
    "subscription_identifier_available": False,
    "wildcard_subscription_available": False,
    "shared_subscription_available": False})
c = b2.client(proto=m.V5, client_id="caps206")
props = c.connack.props
t.is_((props.get("subscription_identifier_available"),
       props.get("wildcard_subscription_available"),
       props.get("shared_subscription_available")), (0, 0, 0),
      "CONNACK says what is not available")
a = c.subscribe([("w/+", 1), ("w/#", 1), ("$share/g/w", 1), ("plain", 1)])
t.is_(a.codes, [0xA2, 0xA2, 0x9E, 1], "SUBACK 0xA2 for wildcards, 0x9E "
      "for a shared subscription, granted for a plain filter")
c.send(m.subscribe(9, [("plain2", 1)], props={"subscription_identifier": 5},
                   proto=m.V5))
closed, got = c.expect_closed(5)
t.ok(closed and any(p.type == m.DISCONNECT and p.rc == 0xA1 for p in got),
     "a Subscription Identifier when not available: DISCONNECT 0xA1 "
     "(3.2.2.3.13) (%r)" % got)
t.done()
