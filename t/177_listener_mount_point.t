#!/usr/bin/python3
# 177: listeners[].mount_point (comqtt.yml(5)).  Clients of a listener with
# mount point "tenant/" live under tenant/: what they publish lands on
# tenant/<topic>, what they subscribe to is tenant/<filter>, and they see
# topics without the prefix.  Clients of a plain listener see the full
# topics.  Shared subscriptions are mounted after their $share/<group>/.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's listeners[].mount_point")
b = Broker(t, workers=2, start=False)
with open(b.conf, "w") as f:
    f.write("""workers: 2
log: {file: %s, level: info}
listeners:
  - {name: plain, type: tcp, address: "127.0.0.1:%d", accept: handoff,
     worker: 0}
  - {name: tenant, type: tcp, address: "127.0.0.1:%d", accept: handoff,
     worker: 1, mount_point: "tenant/"}
""" % (b.log, b.ports[0], b.ports[1]))
b.start()
PLAIN, TENANT = b.ports

inside = b.client(port=TENANT, client_id="in177")
inside.subscribe([("x/#", 1)])
outside = b.client(port=PLAIN, client_id="out177")
outside.subscribe([("tenant/#", 1), ("x/#", 1)])

pub_in = b.client(port=TENANT, client_id="pubin177")
pub_in.publish("x/1", b"from inside", qos=1)
got = inside.collect(1, 5)
t.is_([(p.topic, p.payload) for p in got], [("x/1", b"from inside")],
      "a tenant client sees its own topic without the mount point")
got = outside.collect(1, 5) + outside.collect(1, 0.3)
t.is_([(p.topic, p.payload) for p in got],
      [("tenant/x/1", b"from inside")],
      "a plain client sees it under tenant/ (and not on x/#)")

pub_out = b.client(port=PLAIN, client_id="pubout177")
pub_out.publish("tenant/x/2", b"from outside", qos=1)
pub_out.publish("x/3", b"not for the tenant", qos=1)
got = inside.collect(1, 5) + inside.collect(1, 0.3)
t.is_([(p.topic, p.payload) for p in got], [("x/2", b"from outside")],
      "a tenant client gets tenant/x/2 as x/2 and nothing outside tenant/")
outside.collect(2, 2)

sh = b.client(port=TENANT, client_id="sh177")
sh.subscribe([("$share/g/y", 1)])
pub_out.publish("tenant/y", b"shared", qos=1)
t.is_([(p.topic, p.payload) for p in sh.collect(1, 5)], [("y", b"shared")],
      "a mounted shared subscription gets tenant/y as y")
t.done()
