#!/usr/bin/python3
# 121: retained messages.
#   [MQTT-3.3.1-5] a RETAIN=1 message is stored for future subscribers
#   [MQTT-3.3.1-6] [MQTT-3.3.1-8] a new subscription gets the retained
#     message with RETAIN=1
#   [MQTT-3.3.1-7] a new retained message replaces the old (QoS 0 too)
#   [MQTT-3.3.1-9] live forwarding to existing subscribers: RETAIN=0
#   [MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained message clears the
#     topic and is not stored itself
#   [MQTT-3.3.1-12] RETAIN=0 neither stores nor replaces
#   [MQTT-3.8.4-3] ... [MQTT-3.3.5-1] the retained message goes out at the
#     lower of its QoS and the subscription's
#   5.0 retain handling 0/1/2 and retain as published (3.8.3.1)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="pub121")
n = [0]


def fresh(filters, expect, proto=m.V311):
    """A new subscriber; returns (client, retained deliveries): the
    `expect` ones the test waits for, and any extra within 0.2 s."""
    n[0] += 1
    c = b.client(port=b.ports[n[0] % 2], proto=proto,
                 client_id="s121-%d" % n[0])
    c.subscribe(filters)
    got = c.collect(expect, 5) + c.collect(1, 0.2)
    return c, [(p.topic, p.payload, p.retain, p.qos) for p in got]


live, _ = fresh([("r/#", 2)], 0)
pub.publish("r/a", b"v1", qos=1, retain=True)
c, got = fresh([("r/a", 2)], 1)
t.is_(got, [("r/a", b"v1", True, 1)], "a new subscriber gets the retained "
      "message with RETAIN=1 at its QoS [MQTT-3.3.1-5] [MQTT-3.3.1-8]")
d = live.collect(1, 5)
t.is_([(p.payload, p.retain) for p in d], [(b"v1", False)],
      "an existing subscriber got it live with RETAIN=0 [MQTT-3.3.1-9]")

pub.publish("r/a", b"v2", qos=0, retain=True)
# QoS 0 has no acknowledgement: the live subscriber's copy shows the
# broker handled it (the store is updated before routing), so the next
# subscriber, maybe on the other worker, cannot overtake it.
live.collect(1, 5)
c, got = fresh([("r/a", 2)], 1)
t.is_(got, [("r/a", b"v2", True, 0)], "a QoS 0 retained message replaces "
      "the old one [MQTT-3.3.1-7]")
c, got = fresh([("r/a", 0)], 1)
t.is_(got, [("r/a", b"v2", True, 0)], "and a QoS 0 subscription gets it")

pub.publish("r/a", b"v3", qos=2, retain=True)
c, got = fresh([("r/a", 1)], 1)
t.is_(got, [("r/a", b"v3", True, 1)], "a QoS 2 retained message to a QoS "
      "1 subscription: QoS 1 [MQTT-3.3.5-1]")

pub.publish("r/a", b"not kept", qos=1, retain=False)
c, got = fresh([("r/a", 1)], 1)
t.is_(got, [("r/a", b"v3", True, 1)], "RETAIN=0 does not replace the "
      "retained message [MQTT-3.3.1-12]")

pub.publish("r/b/c", b"deep", qos=1, retain=True)
pub.publish("r/b/d", b"deep2", qos=1, retain=True)
pub.publish("other/x", b"elsewhere", qos=1, retain=True)
c, got = fresh([("r/#", 2)], 3)
t.is_(sorted(got), [("r/a", b"v3", True, 2), ("r/b/c", b"deep", True, 1),
                    ("r/b/d", b"deep2", True, 1)],
      "'r/#' gets every retained message below r [MQTT-3.3.1-6]")
c, got = fresh([("+/b/+", 2)], 2)
t.is_(sorted(got), [("r/b/c", b"deep", True, 1),
                    ("r/b/d", b"deep2", True, 1)],
      "'+/b/+' gets the matching retained messages")
c, got = fresh([("#", 0)], 4)
t.ok({"r/a", "r/b/c", "r/b/d", "other/x"} <= {g[0] for g in got},
     "'#' gets all of them")

live.collect(20, 0.3)
pub.publish("r/a", b"", qos=1, retain=True)
d = live.collect(1, 5)
t.is_([(p.topic, p.payload, p.retain) for p in d], [("r/a", b"", False)],
      "an empty retained message is forwarded to existing subscribers")
c, got = fresh([("r/a", 2)], 0)
t.is_(got, [], "and it cleared the topic [MQTT-3.3.1-10]")
c, got = fresh([("r/#", 2)], 2)
t.is_(sorted(g[0] for g in got), ["r/b/c", "r/b/d"],
      "the empty message itself is not retained [MQTT-3.3.1-11]")
pub.publish("r/b/c", b"", qos=0, retain=True)
pub.publish("r/b/d", b"", qos=2, retain=True)
c, got = fresh([("r/#", 2)], 0)
t.is_(got, [], "QoS 0 and QoS 2 empty retained messages clear too")

# 5.0 subscription options: retain handling and retain-as-published.
pub.publish("rh/x", b"kept", qos=1, retain=True)
c, got = fresh([("rh/x", 1 | 0 << 4)], 1, proto=m.V5)
t.is_(len(got), 1, "5.0 retain handling 0: sent at subscribe")
c.subscribe([("rh/x", 1 | 1 << 4)])
t.is_(c.collect(1, 0.5), [], "5.0 retain handling 1: not sent again for "
      "an existing subscription")
c, got = fresh([("rh/x", 1 | 1 << 4)], 1, proto=m.V5)
t.is_(len(got), 1, "5.0 retain handling 1: sent for a new subscription")
c, got = fresh([("rh/x", 1 | 2 << 4)], 0, proto=m.V5)
t.is_(got, [], "5.0 retain handling 2: not sent")
rap, _ = fresh([("rap/#", 1 | 0x08)], 0, proto=m.V5)
pub.publish("rap/x", b"r", qos=1, retain=True)
d = rap.collect(1, 5)
t.is_([p.retain for p in d], [True], "5.0 retain as published: live "
      "delivery keeps RETAIN=1")
pub.publish("rap/x", b"", qos=1, retain=True)
pub.publish("rh/x", b"", qos=1, retain=True)
t.done()
