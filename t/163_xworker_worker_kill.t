#!/usr/bin/python3
# 163: a worker dies in the middle of QoS 1 and QoS 2 traffic.  A
# publisher on worker 0 sends 500 QoS 1 and 500 QoS 2 messages to a
# persistent subscriber on worker 1; after 150 deliveries worker 1 is
# killed with SIGKILL.  The master logs the death with the signal and
# starts a replacement in slot 1; the subscriber reconnects through the
# same listener, its session is present [MQTT-3.2.2-2], and in the end
# no message is lost (QoS 1 may repeat), QoS 2 messages arrive exactly
# once [MQTT-4.3.3-2], and first arrivals keep publication order
# [MQTT-4.6.0-6].  The publisher's connection on worker 0 never notices.
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import (Broker, NumberedPublisher, check_numbered,  # noqa
                    comqtt_only, wait_until)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "kills a worker process")
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
N = 500
KW = dict(client_id="victim163", clean=False, timeout=10)

sub = b.client(port=P1, **KW)
sub.subscribe([("wk/1", 1), ("wk/2", 2)])
b.check_worker(sub, 1, "the subscriber")
pub = b.client(port=P0, client_id="pub163", timeout=30)
def reconnect(old, timeout=30.0):
    """Connect again through P1 until the respawned worker answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = b.client(port=P1, **KW)
        except (m.MqttError, OSError):
            time.sleep(0.2)
            continue
        c.qos2_received = old.qos2_received
        return c
    return None


got = {1: [], 2: []}
killed = None
present = None
# Stay at most AHEAD messages ahead of the subscriber, so that the kill
# happens in the middle of the stream however fast the broker delivers.
AHEAD = 20
th = NumberedPublisher(pub, [("wk/1", 1), ("wk/2", 2)], N, gate=lambda i:
                       wait_until(lambda: len(set(got[2])) >= i - AHEAD,
                                  5, 0.002))
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    if not th.alive() and len(set(got[1])) >= N and len(got[2]) >= N:
        break
    try:
        p = sub.recv_publish(0.1)
    except (m.Closed, OSError):
        new = reconnect(sub)
        if new is None:
            break
        present = new.connack.session_present
        sub.close()
        sub = new
        continue
    if p is not None:
        got[p.qos].append(int(p.payload))
    if killed is None and len(got[1]) + len(got[2]) >= 150:
        killed = b.kill_worker(1)
th.join(30)
got[1] += [int(p.payload) for p in sub.drain_acks(0.5) if p.qos == 1]

t.is_(th.errors, [], "the publisher on worker 0 finished without error")
old_pid, new_pid = killed or (0, None)
t.ok(new_pid, "worker 1 was killed (pid %d) and replaced (pid %s)"
     % (old_pid, new_pid))
t.ok(b.wait_log(r"worker 1 \(pid %d\) killed by signal 9" % old_pid, 5),
     "the master logs the death with the signal")
t.ok(re.search(r"started worker 1 \(pid %d\)" % (new_pid or 0),
               b.log_text()), "and the start of the replacement")
t.ok(present, "the subscriber reconnected: session present "
     "[MQTT-3.2.2-2]")
b.check_worker(sub, 1, "the reconnected subscriber")
check_numbered(t, got, N)
pub.publish("wk/1", b"after", qos=1)
t.is_([p.payload for p in sub.collect(1, 5)], [b"after"],
      "the session goes on after the respawn")
t.done()
