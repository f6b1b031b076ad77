#!/usr/bin/python3
# 160: delivery between workers.  Listener a hands its connections to
# worker 0, listener b to worker 1, so a publisher on a and subscribers on
# b exercise the shared route trie and the worker-to-worker rings: QoS 0,
# 1 and 2 in order, retained messages set and cleared from either side,
# wildcard filters, many subscribers on both workers (one copy each), and
# unsubscribe removing the remote route.  Against mosquitto (one process)
# the same traffic runs and only the placement checks are skipped.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
pub = b.client(port=P0, client_id="pub160")
sub = b.client(port=P1, client_id="sub160")
b.check_worker(pub, 0, "the publisher")
b.check_worker(sub, 1, "the subscriber")

sub.subscribe([("xw/q/#", 2)])
N = 200
for qos in (0, 1, 2):
    msgs = [("xw/q/%d" % qos, b"%d" % i) for i in range(N)]
    if qos:
        pub.publish_many(msgs, qos=qos)
    else:
        for i in range(0, N, 50):
            pub.publish_many(msgs[i:i + 50], qos=0)
            pub.ping()
    got = sub.collect(N, 15)
    t.is_([(int(p.payload), p.qos) for p in got],
          [(i, qos) for i in range(N)],
          "worker 0 -> worker 1: %d QoS %d messages, in order, once"
          % (N, qos))

# Retained: set on worker 0, seen by a new subscriber on worker 1; cleared
# on worker 1, gone for a new subscriber on worker 0.
pub.publish("xw/ret", b"kept", qos=1, retain=True)
late = b.client(port=P1, client_id="late160")
late.subscribe([("xw/ret", 1)])
got = late.collect(1, 5)
t.ok(len(got) == 1 and got[0].retain and got[0].payload == b"kept",
     "a retained message set on worker 0 reaches a new subscriber on "
     "worker 1 [MQTT-3.3.1-6]")
late.publish("xw/ret", b"", qos=1, retain=True)
late0 = b.client(port=P0, client_id="late160b")
late0.subscribe([("xw/ret", 1)])
t.is_(late0.collect(1, 0.5), [], "cleared on worker 1: gone on worker 0 "
      "[MQTT-3.3.1-10]")

# Wildcards, and many subscribers on both workers: one copy each.
subs = []
for i in range(20):
    port = P0 if i % 2 else P1
    c = b.client(port=port, client_id="many160-%d" % i)
    c.subscribe([("xw/w/+/z" if i % 3 == 0 else "xw/w/#", 1)])
    subs.append(c)
pub.publish("xw/w/y/z", b"fan-out", qos=1)
pub.publish("xw/w/end", b"end", qos=1)
counts = []
for i, c in enumerate(subs):
    want = 1 if i % 3 == 0 else 2
    got = c.collect(want, 5) + c.collect(1, 0.1)
    counts.append(len(got) == want)
t.ok(all(counts), "20 subscribers on both workers (wildcard filters): each "
     "gets exactly its copies [MQTT-4.7.1-2] [MQTT-4.7.1-3]")

# Unsubscribing on worker 1 removes the route; subscribing restores it.
sub.unsubscribe(["xw/q/#"])
pub.publish("xw/q/9", b"after unsubscribe", qos=1)
t.is_(sub.collect(1, 0.5), [], "after UNSUBSCRIBE on worker 1 nothing is "
      "routed there [MQTT-3.10.4-2]")
sub.subscribe([("xw/q/#", 1)])
pub.publish("xw/q/9", b"again", qos=1)
t.is_([p.payload for p in sub.collect(1, 5)], [b"again"],
      "subscribing again restores the route")
# And the other direction.
back = b.client(port=P0, client_id="back160")
back.subscribe([("xw/back", 2)])
sub.publish("xw/back", b"w1 -> w0", qos=2)
t.is_([(p.payload, p.qos) for p in back.collect(1, 5)],
      [(b"w1 -> w0", 2)], "worker 1 -> worker 0 at QoS 2")
t.done()
