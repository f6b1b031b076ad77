#!/usr/bin/python3
# 161: session takeover across workers.  A client id connected through
# worker 0 connects again through worker 1:
#   [MQTT-3.1.4-2] the old connection is closed (5.0: DISCONNECT 0x8E
#     "session taken over", if anything is sent)
#   [MQTT-3.2.2-2] the new one resumes the session: session present 1
#   the subscriptions follow (messages published on either worker reach
#   the new connection only), an unacknowledged delivery is re-sent on the
#   new connection with DUP=1 [MQTT-4.4.0-1], and messages queued while
#   offline are delivered on whichever worker the client comes back to.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
pub0 = b.client(port=P0, client_id="pub161-0")
pub1 = b.client(port=P1, client_id="pub161-1")

for proto in (m.V311, m.V5):
    kw = dict(proto=proto, client_id="tk161-%d" % proto, clean=False,
              props={"session_expiry_interval": 600}
              if proto == m.V5 else None)
    pre = "tk%d" % proto
    old = b.client(port=P0, **kw)
    b.check_worker(old, 0, "v%d: the first connection" % proto)
    old.subscribe([(pre + "/#", 1)])
    pub1.publish(pre + "/a", b"before", qos=1)
    d = old.recv_publish(5, ack=False)
    t.ok(d is not None and d.payload == b"before", "v%d: delivered on "
         "worker 0, left unacknowledged" % proto)

    new = b.client(port=P1, **kw)
    b.check_worker(new, 1, "v%d: the second connection" % proto)
    t.ok(new.connack.session_present, "v%d: takeover on worker 1: session "
         "present 1 [MQTT-3.2.2-2]" % proto)
    closed, got = old.expect_closed(5)
    t.ok(closed, "v%d: the old connection is closed [MQTT-3.1.4-2]" % proto)
    if proto == m.V5:
        t.ok(all(p.type == m.DISCONNECT and p.rc == 0x8E for p in got),
             "v5: with DISCONNECT 0x8E, if anything (%r)" % got)
    r = new.recv_publish(5, ack=False)
    t.ok(r is not None and (r.payload, r.dup, r.pid) ==
         (b"before", True, d.pid), "v%d: the unacknowledged delivery is "
         "re-sent on the new connection, DUP=1, same id [MQTT-4.4.0-1] (%r)"
         % (proto, r))
    if r is not None:
        new.ack(r)
    for i, p in enumerate((pub0, pub1)):
        p.publish(pre + "/b", b"after%d" % i, qos=1)
    got = new.collect(2, 5)
    t.is_(sorted(x.payload for x in got), [b"after0", b"after1"],
          "v%d: the subscription followed: messages from both workers "
          "reach the new connection" % proto)
    new.disconnect()
    pub0.publish_many([(pre + "/q", b"%d" % i) for i in range(5)], qos=1)
    back = b.client(port=P0, **kw)
    t.ok(back.connack.session_present, "v%d: back on worker 0: session "
         "present 1" % proto)
    got = back.collect(5, 5) + back.collect(1, 0.3)
    t.is_([int(x.payload) for x in got], list(range(5)), "v%d: the 5 "
          "messages queued while offline, in order" % proto)
    back.disconnect()

# Takeover of a clean session: the new connection starts afresh, the old
# one is still closed.
old = b.client(port=P0, client_id="clean161")
old.subscribe([("cl/#", 1)])
new = b.client(port=P1, client_id="clean161")
t.ok(old.expect_closed(5)[0], "clean session taken over: old connection "
     "closed [MQTT-3.1.4-2]")
t.ok(not new.connack.session_present, "clean session: session present 0")
pub0.publish("cl/x", b"x", qos=1)
t.is_(new.collect(1, 0.5), [], "clean session: the old subscription is gone "
      "[MQTT-3.1.2-6]")
t.done()
