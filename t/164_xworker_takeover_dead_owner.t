#!/usr/bin/python3
# 164: a takeover whose previous owner cannot answer.  A persistent
# subscriber's session lives on worker 1.  Worker 1 is stopped (SIGSTOP):
# the client connects again through worker 0, which takes the session over
# and must wait for worker 1 to hand over what it still routes.  Messages
# published meanwhile go partly to worker 1's rings (its route bits are
# still set) and partly to worker 0.  Then worker 1 is killed (SIGKILL);
# its replacement finds the takeover waiting in its rings, forwards the
# messages routed to the dead worker and hands over.  The subscriber, now
# on worker 0, gets every QoS 1 message (repeats allowed) and every QoS 2
# message exactly once [MQTT-4.3.3-2], in publication order per topic
# [MQTT-4.6.0-6], and the session was present [MQTT-3.2.2-2].  A second
# case does the same with the owner only stopped, then resumed (a slow
# previous owner).
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import (Broker, check_numbered, comqtt_only,  # noqa: E402
                    wait_until)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "stops and kills a worker process")
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
N = 50


def case(name, cid, finish):
    kw = dict(client_id=cid, clean=False, timeout=10)
    sub = b.client(port=P1, **kw)
    sub.subscribe([("do/%s/1" % name, 1), ("do/%s/2" % name, 2)])
    b.check_worker(sub, 1, "%s: the subscriber" % name)
    pub = b.client(port=P0, client_id="pub164-" + name, timeout=20)
    got = {1: [], 2: []}
    # Half the messages while worker 1 owns the session and runs.
    for i in range(N // 2):
        for q in (1, 2):
            pub.publish("do/%s/%d" % (name, q), b"%d" % i, qos=q)
    for p in sub.collect(N, 10):
        got[p.qos].append(int(p.payload))
    w1 = b.worker_pid(1)
    os.kill(w1, signal.SIGSTOP)
    try:
        new = b.client(port=P0, **kw)
        new.qos2_received = sub.qos2_received
        t.ok(new.connack.session_present, "%s: taken over on worker 0 "
             "while worker 1 is stopped: session present [MQTT-3.2.2-2]"
             % name)
        # The other half while the previous owner cannot answer.
        for i in range(N // 2, N):
            for q in (1, 2):
                pub.publish("do/%s/%d" % (name, q), b"%d" % i, qos=q)
    finally:
        finish(w1)
    sub.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
            len(set(got[1])) >= N and len(got[2]) >= N):
        p = new.recv_publish(0.2)
        if p is not None:
            got[p.qos].append(int(p.payload))
    got[1] += [int(p.payload) for p in new.drain_acks(0.5) if p.qos == 1]
    t.diag("%s: received %d QoS 1, %d QoS 2" % (name, len(got[1]),
                                                 len(got[2])))
    check_numbered(t, got, N)
    pub.publish("do/%s/1" % name, b"after", qos=1)
    t.is_([p.payload for p in new.collect(1, 5)], [b"after"],
          "%s: the session goes on on worker 0" % name)
    new.disconnect()


def resume(pid):
    time.sleep(0.5)
    os.kill(pid, signal.SIGCONT)


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    t.ok(wait_until(lambda: b.worker_pid(1, 0.0) not in (None, pid), 15),
         "worker 1 was replaced")


case("slow", "slow164", resume)
case("dead", "dead164", kill)
t.ok(b.wait_log(r"worker 1 \(pid \d+\) killed by signal 9", 5),
     "the master logged the death of worker 1")
t.done()
