#!/usr/bin/python3
# 189: worker_cpu_affinity.  By default worker N runs on the N-th CPU the
# broker may use (modulo their number), its reuseport sockets carry
# SO_INCOMING_CPU, and clients connecting through a reuseport listener
# are all served (CONNACK [MQTT-3.2.0-1], their messages delivered)
# whichever worker the kernel picks.  With worker_cpu_affinity: false the
# workers may run on every CPU.
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import comqtt_only  # noqa: E402
from listeners import listener_broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's workers")
allowed = sorted(os.sched_getaffinity(0))


def cpus_of(pid):
    with open("/proc/%d/status" % pid) as f:
        text = re.search(r"^Cpus_allowed_list:\s*(\S+)", f.read(), re.M)
    out = set()
    for part in text.group(1).split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return sorted(out)


REUSE = ["{name: r, type: tcp, address: 127.0.0.1:{p0}, accept: reuseport}"]

b = listener_broker(t, REUSE)
for slot in (0, 1):
    want = [allowed[slot % len(allowed)]]
    t.is_(cpus_of(b.worker_pid(slot)), want,
          "worker %d runs on CPU %d only" % (slot, want[0]))
t.is_(cpus_of(b.pid), allowed, "the master is not pinned")
sub = m.Client(b.ports[0], timeout=10)
sub.connect("sub189")
sub.subscribe([("aff/#", 1)])
clients = []
for i in range(40):
    c = m.Client(b.lp[0], timeout=10)
    c.connect("c189-%d" % i)
    clients.append(c)
t.ok(all(c.connack.rc == 0 for c in clients),
     "40 clients through the reuseport listener got CONNACK")
for i, c in enumerate(clients):
    c.publish("aff/%d" % i, b"%d" % i, qos=1)
got = sorted(int(p.payload) for p in sub.collect(40, 10))
t.is_(got, list(range(40)), "and every one's message arrives")
for c in clients + [sub]:
    c.close()
b.stop()

b = listener_broker(t, REUSE, extra="worker_cpu_affinity: false")
for slot in (0, 1):
    t.is_(cpus_of(b.worker_pid(slot)), allowed,
          "worker_cpu_affinity: false: worker %d may run on every CPU"
          % slot)
c = m.Client(b.lp[0], timeout=10)
t.is_(c.connect("c189-off").rc, 0, "and it serves")
c.close()
t.done()
