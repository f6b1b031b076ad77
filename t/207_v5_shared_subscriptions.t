#!/usr/bin/python3
# 207: MQTT 5 shared subscriptions ($share/<group>/<filter>, 4.8.2) with
# v5 clients, on one worker and across workers:
#   each message goes to one member of each group (4.8.2: "each message
#     is sent to only one of the subscribing sessions")
#   no retained messages at subscribe time for a shared subscription
#     (3.3.1.3, 4.8.2)
#   QoS 1 and QoS 2 messages a member had in flight when it lost its
#     connection go to another member of the group (4.8.2: "MAY attempt to
#     send the message to another Client as soon as it loses its
#     connection"), on the same worker and on another worker
#   a member that is offline is passed over while another is online
#   [MQTT-3.8.3-4] No Local on a shared subscription: protocol error (206)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "mosquitto 2.0.11 keeps a departed member's messages")
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
pub = b.client(port=P0, proto=m.V5, client_id="pub207")
n = [0]


def member(port, group, filt, qos=1, **kw):
    n[0] += 1
    c = b.client(port=port, proto=m.V5, client_id="m207-%d" % n[0],
                 timeout=10, **kw)
    c.subscribe([("$share/%s/%s" % (group, filt), qos)])
    return c


# -- one member per message; no retained message at subscribe --------------
pub.publish("rs/x", b"kept", qos=1, retain=True)
a, c = member(P0, "g1", "rs/#"), member(P1, "g1", "rs/#")
t.is_(a.collect(1, 0.5) + c.collect(1, 0.5), [], "a shared subscription "
      "gets no retained message when it is made (4.8.2)")
for i in range(20):
    pub.publish("rs/x", b"%d" % i, qos=1)
got_a = [p.payload for p in a.collect(20, 2)]
got_c = [p.payload for p in c.collect(20, 2)]
t.is_(sorted(got_a + got_c, key=int), [b"%d" % i for i in range(20)],
      "each message to exactly one member of the group (4.8.2)")
t.ok(got_a and got_c, "both members got some (%d, %d)"
     % (len(got_a), len(got_c)))
pub.publish("rs/x", b"", qos=1, retain=True)


# -- a member leaves with messages in flight -------------------------------
def leave_with_inflight(qos, port_a, port_b, what):
    grp = "q%d%s" % (qos, what[:4])
    a = member(port_a, grp, "lv/%s" % grp, qos)
    bb = member(port_b, grp, "lv/%s" % grp, qos)
    N = 10
    for i in range(N):
        pub.publish("lv/%s" % grp, b"%d" % i, qos=qos)
    held = a.collect(N, 2, ack=False)     # never acknowledged
    first = bb.collect(N, 2)
    t.ok(held, "%s QoS %d: the first member holds %d unacknowledged"
         % (what, qos, len(held)))
    a.close()
    rest = bb.collect(len(held), 10)
    got = sorted([int(p.payload) for p in first + rest])
    t.is_(got, list(range(N)), "%s QoS %d: what the member that left had "
          "in flight went to the other member (4.8.2)" % (what, qos))
    t.is_(bb.collect(1, 0.5), [], "%s QoS %d: nothing twice" % (what, qos))


leave_with_inflight(1, P0, P0, "same worker")
leave_with_inflight(1, P0, P1, "other worker")
leave_with_inflight(2, P1, P1, "same worker")
leave_with_inflight(2, P1, P0, "other worker")

# A QoS 2 message whose PUBREC came is the member's: not given away.
a = member(P0, "rec", "rec/x", 2)
bb = member(P0, "rec", "rec/x", 2)
for i in range(4):
    pub.publish("rec/x", b"%d" % i, qos=2)
mine = a.collect(4, 2, ack=False)
for p in mine:
    a.send(m.pubrec(p.pid, proto=m.V5))
if mine:
    a.expect(m.PUBREL, timeout=5, stash=True)
theirs = bb.collect(4, 2)
a.close()
t.is_(bb.collect(1, 1.0), [], "QoS 2 past PUBREC: the member keeps it, "
      "nothing goes to the other")
t.is_(len(mine) + len(theirs), 4, "4 messages, one each")

# -- an offline member is passed over ---------------------------------------
a = member(P1, "off", "off/x", 1, clean=False,
           props={"session_expiry_interval": 300})
bb = member(P1, "off", "off/x", 1)
a.disconnect()
for i in range(6):
    pub.publish("off/x", b"%d" % i, qos=1)
got = [int(p.payload) for p in bb.collect(6, 5)]
t.is_(sorted(got), list(range(6)), "while a member is offline, its online "
      "partner on the same worker gets every message")
t.done()
