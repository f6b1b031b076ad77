#!/usr/bin/python3
# 165: shared subscriptions ($share/<group>/<filter>, MQTT 5 §4.8.2; comqtt
# accepts them from 3.1.1 clients too) across workers.  Four members of
# group g, two on each worker, and a plain subscriber: each message goes
# to exactly one member of the group [MQTT-4.8.2-4 in spirit: one session
# per group], every member gets some, and the plain subscriber gets every
# message.  A second group on the same filter gets its own copy.  When all
# members of a group on one worker leave, the messages go to the others.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "shared subscriptions from 3.1.1 clients (mosquitto 2.0.11 "
            "accepts them only from MQTT 5 clients)")
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
N = 40

members = []
for i in range(4):
    proto = m.V5 if i % 2 else m.V311
    c = b.client(port=(P0, P1)[i % 2], proto=proto, client_id="g165-%d" % i)
    t.is_(c.subscribe([("$share/g/sh/#", 1)]).codes, [1],
          "member %d (v%d) subscribed to $share/g/sh/#" % (i, proto))
    members.append(c)
other = b.client(port=P1, client_id="h165")
other.subscribe([("$share/h/sh/#", 1)])
plain = b.client(port=P0, client_id="plain165")
plain.subscribe([("sh/#", 1)])

pub = b.client(port=P0, client_id="pub165")
pub.publish_many([("sh/x", b"%d" % i) for i in range(N)], qos=1)

got = [[int(p.payload) for p in c.collect(N, 1)] for c in members]
everyone = sorted(x for g in got for x in g)
t.is_(everyone, list(range(N)), "group g: each of %d messages reached "
      "exactly one member" % N)
t.ok(all(got), "group g: every member got some (%r)"
     % [len(g) for g in got])
t.is_(sorted(int(p.payload) for p in other.collect(N, 5)), list(range(N)),
      "group h, one member: all %d messages" % N)
t.is_([int(p.payload) for p in plain.collect(N, 5)], list(range(N)),
      "a plain subscription gets every message, in order")

# The members on worker 1 leave: worker 0's members take everything.
for c in members[1::2]:
    c.disconnect()
pub.publish_many([("sh/y", b"%d" % i) for i in range(N)], qos=1)
got = [[int(p.payload) for p in c.collect(N, 1)] for c in members[0::2]]
t.is_(sorted(x for g in got for x in g), list(range(N)),
      "with the worker-1 members gone, worker 0's members get each message "
      "once")
t.done()
