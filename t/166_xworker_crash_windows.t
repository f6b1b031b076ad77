#!/usr/bin/python3
# 166: a worker killed at the two most awkward instants of QoS 2, chosen
# with crash points (CQ_CRASHPOINTS, comqttd(8)) rather than by luck.
#
# A. The publisher's worker dies after routing a QoS 2 PUBLISH and before
#    recording its packet id.  The publisher never got PUBREC, so after
#    reconnecting it sends the PUBLISH again with DUP=1 and the same id
#    [MQTT-4.4.0-1]; the broker must route it (the id is unknown), so the
#    message is not lost.  It may reach the subscriber twice: the one
#    duplicate a crash can cost (recording first would lose it instead).
# B. The subscriber's worker dies while moving a queued QoS 2 message from
#    the offline queue to the inflight window (entry stored, queue head
#    not yet moved).  The master's reaper repairs the session, the
#    replacement re-sends the window with DUP=1 [MQTT-4.4.0-1] and then
#    the queue: every message exactly once [MQTT-4.3.3-2] (the receiver
#    de-duplicates re-sends by packet id, as a receiver must), first
#    arrivals in publication order [MQTT-4.6.0-6], session present after
#    the respawn [MQTT-3.2.2-2]; comqtt-storage agrees (nothing comes
#    back after a restart).
# C. The subscriber's worker dies after handling a batch of ring records
#    (QoS 2 messages queued for its offline session) and before consuming
#    them.  Its replacement handles the batch again and must not queue a
#    message twice: every message exactly once [MQTT-4.3.3-2], in order
#    [MQTT-4.6.0-6].
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "arms crash points in a worker")


def armed_broker(spec, slot):
    os.environ["CQ_CRASHPOINTS"] = spec
    os.environ["CQ_CRASHPOINTS_SLOT"] = str(slot)
    try:
        return Broker(t, workers=2)
    finally:
        del os.environ["CQ_CRASHPOINTS"]
        del os.environ["CQ_CRASHPOINTS_SLOT"]


def reconnect(b, port, timeout=30.0, **kw):
    """Connect again until the respawned worker answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return b.client(port=port, **kw)
        except (m.MqttError, OSError):
            time.sleep(0.2)
    return None


def died(b, slot):
    return b.wait_log(r"worker %d \(pid \d+\) killed by signal 9" % slot, 10)


def no_check_errors(b, what):
    bad = re.findall(r"shm check: [1-9]\d* errors.*", b.log_text())
    t.is_(bad, [], "%s: the master's shm check after the reap found no "
          "error" % what)


def collect_until_closed(c, n, timeout):
    """Messages until n arrived, the broker closed, or timeout."""
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            p = c.recv_publish(deadline - time.monotonic())
            if p is not None:
                got.append(p)
    except (m.Closed, OSError):
        return got, True
    return got, False


def offline_subscriber(spec, name, topic):
    """A broker armed with spec in worker 1, a persistent QoS 2 subscriber
    of topic on worker 1 gone offline, a publisher on worker 0."""
    br = armed_broker(spec, 1)
    p0, p1 = br.port_for_worker(0), br.port_for_worker(1)
    kw = dict(client_id="sub166" + name, clean=False, timeout=10)
    s = br.client(port=p1, **kw)
    s.subscribe([(topic, 2)])
    s.disconnect()
    return br, p1, kw, br.client(port=p0, client_id="pub166" + name,
                                 timeout=10)


def payloads(msgs):
    return [int(p.payload) for p in msgs]


# -- A: killed between routing and recording the packet id ---------------
N = 10
CRASH = 5
b = armed_broker("publish.routed:%d" % CRASH, 0)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
SUB = dict(client_id="sub166a", clean=False, timeout=10)
sub = b.client(port=P1, **SUB)
sub.subscribe([("cw/a", 2)])
pub = b.client(port=P0, client_id="pub166a", clean=False, timeout=10)
for i in range(1, CRASH):
    pub.publish("cw/a", b"%d" % i, qos=2, pid=i)
pub.send(m.publish("cw/a", b"%d" % CRASH, 2, pid=CRASH, proto=pub.proto))
t.ok(pub.expect_closed(10)[0], "A: the publisher's worker died before "
     "PUBREC of message %d" % CRASH)
t.ok(died(b, 0), "A: the master logs worker 0 killed by signal 9")
pub.close()
pub = reconnect(b, P0, client_id="pub166a", clean=False, timeout=10)
t.ok(pub is not None and pub.connack.session_present,
     "A: the publisher reconnects to the respawned worker, session "
     "present [MQTT-3.2.2-2]")
if pub is None:
    t.done()
    sys.exit(0)
rec = pub.publish("cw/a", b"%d" % CRASH, qos=2, dup=True, pid=CRASH)
t.is_(rec.type, m.PUBCOMP, "A: the re-sent PUBLISH (DUP=1, same packet id "
      "[MQTT-4.4.0-1]) completes its flow")
for i in range(CRASH + 1, N + 1):
    pub.publish("cw/a", b"%d" % i, qos=2, pid=i)
got = payloads(sub.collect(N + 1, 10))
got += payloads(sub.drain_acks(0.5))
t.is_(sorted(set(got)), list(range(1, N + 1)),
      "A: every message reached the subscriber: none lost")
t.is_([x for x in got if x != CRASH], [x for x in range(1, N + 1)
                                       if x != CRASH],
      "A: the others exactly once, in order [MQTT-4.3.3-2]")
t.ok(1 <= got.count(CRASH) <= 2,
     "A: message %d at least once, at most twice (%d): the crash costs at "
     "worst a duplicate" % (CRASH, got.count(CRASH)))
no_check_errors(b, "A")
b.stop()

# -- B: killed while a queued message moves to the inflight window -------
N = 12
b, P1, SUB, pub = offline_subscriber("session.queue_to_window:3", "b",
                                     "cw/b")
for i in range(1, N + 1):
    pub.publish("cw/b", b"%d" % i, qos=2)
got = []
qos2_ids = set()
try:
    # The worker may die before its CONNACK is out: the pump runs as
    # the session resumes.
    sub = b.client(port=P1, **SUB)
    qos2_ids = sub.qos2_received
    first, closed = collect_until_closed(sub, N, 10)
except (m.Closed, OSError):
    first, closed = [], True
got += payloads(first)
t.ok(closed, "B: the subscriber's worker died while pumping the queue "
     "(after %d message(s))" % len(first))
t.ok(died(b, 1), "B: the master logs worker 1 killed by signal 9")
sub = reconnect(b, P1, **SUB)
t.ok(sub is not None and sub.connack.session_present,
     "B: the subscriber reconnects, session present [MQTT-3.2.2-2]")
if sub is None:
    t.done()
    sys.exit(0)
sub.qos2_received = qos2_ids
got += payloads(sub.collect(N, 10))
got += payloads(sub.drain_acks(0.5))
t.is_(got, list(range(1, N + 1)),
      "B: all %d messages exactly once and in order [MQTT-4.3.3-2] "
      "[MQTT-4.6.0-6]" % N)
pub.publish("cw/b", b"after", qos=2)
t.is_([p.payload for p in sub.collect(1, 5)], [b"after"],
      "B: the session goes on after the respawn")
no_check_errors(b, "B")
# comqtt-storage heard of the repaired pop: after a restart nothing of
# the completed flows comes back.
sub.disconnect()
b.stop()
b.start()
sub = b.client(port=P1, **SUB)
t.ok(sub.connack.session_present, "B: after a restart the session is "
     "there (stored)")
t.is_(payloads(sub.collect(N, 1.5)), [], "B: and nothing is delivered "
      "again: storage agrees with the repaired queue")
b.stop()

# -- C: killed between handling ring records and consuming them ----------
N = 20
b, P1, SUBC, pub = offline_subscriber("deliver.handled:1", "c", "cw/c")
pub.publish_many([("cw/c", b"%d" % i) for i in range(1, N + 1)], 2,
                 window=N)
t.ok(died(b, 1), "C: worker 1 died after handling ring records, before "
     "consuming them")
subc = reconnect(b, P1, **SUBC)
t.ok(subc is not None and subc.connack.session_present,
     "C: the subscriber reconnects, session present [MQTT-3.2.2-2]")
if subc is None:
    t.done()
    sys.exit(0)
gotc = payloads(subc.collect(N + 5, 5))
t.is_(gotc, list(range(1, N + 1)), "C: the replayed batch was not queued "
      "twice: all %d exactly once, in order [MQTT-4.3.3-2]" % N)
no_check_errors(b, "C")
b.stop()
t.done()
