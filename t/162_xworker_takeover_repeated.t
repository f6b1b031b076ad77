#!/usr/bin/python3
# 162: repeated takeovers back and forth between the workers while
# messages flow.  A publisher on worker 0 sends numbered QoS 1 and QoS 2
# messages without pause; the subscriber's session jumps between worker 1
# and worker 0 twenty times, each time by connecting again while the old
# connection is still up (a takeover, [MQTT-3.1.4-2]).  In the end no
# message is lost, QoS 2 ones arrive exactly once (the subscriber
# de-duplicates re-sent PUBLISHes by packet id as MQTT 4.3.3 allows, so
# any QoS 2 message seen twice was sent twice under a new id), and each
# topic's messages first arrive in publication order [MQTT-4.6.0-6].
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import (Broker, NumberedPublisher, check_numbered,  # noqa
                    wait_until)
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
N = 300          # per QoS
BOUNCES = 20
KW = dict(client_id="bounce162", clean=False, timeout=10)

sub = b.client(port=P1, **KW)
sub.subscribe([("rb/1", 1), ("rb/2", 2)])
pub = b.client(port=P0, client_id="pub162", timeout=20)
got = {1: [], 2: []}
# Stay at most AHEAD messages ahead of the subscriber, so that the stream
# lasts through all the takeovers however fast the broker delivers.
AHEAD = 20
th = NumberedPublisher(pub, [("rb/1", 1), ("rb/2", 2)], N, gate=lambda i:
                       wait_until(lambda: len(set(got[2])) >= i - AHEAD,
                                  5, 0.002))


def take(p):
    got[p.qos].append(int(p.payload))


bounces, closed_ok, present = 0, 0, 0
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    done = not th.alive() and len(set(got[1])) >= N and \
        len(got[2]) >= N
    if done:
        break
    p = sub.recv_publish(0.05)
    if p is not None:
        take(p)
    # Spread the takeovers over the whole stream.
    if bounces < BOUNCES and sum(map(len, got.values())) >= \
            (bounces + 1) * 2 * N // (BOUNCES + 1):
        bounces += 1
        new = b.client(port=P0 if bounces % 2 else P1, **KW)
        new.qos2_received = sub.qos2_received
        present += new.connack.session_present
        # Whatever the old connection still has buffered was sent to it:
        # take it (it cannot be acknowledged any more) until it closes.
        try:
            while True:
                p = sub.recv_publish(5)
                if p is None:
                    break
                take(p)
        except (m.Closed, OSError):
            closed_ok += 1
        sub.close()
        sub = new
th.join(20)
got[1] += [int(p.payload) for p in sub.drain_acks(0.5) if p.qos == 1]

t.is_(th.errors, [], "the publisher finished without error")
t.is_(bounces, BOUNCES, "%d takeovers happened" % BOUNCES)
t.is_(closed_ok, BOUNCES, "each time the old connection was closed "
      "[MQTT-3.1.4-2]")
t.is_(present, BOUNCES, "each time the session was present [MQTT-3.2.2-2]")
check_numbered(t, got, N)
t.done()
