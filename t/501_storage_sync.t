#!/usr/bin/python3
# 501: storage.persistence: sync — a PUBACK (QoS 1) or PUBREC (QoS 2) is
# sent only once the message is committed for the offline persistent
# session it was queued for, so killing every broker process right after
# the acknowledgement never loses it [MQTT-4.3.2-2] [MQTT-4.3.3-2] (the
# sender may forget a message once acknowledged).  The batch window is 10 s
# here: without sync, a kill within it would lose the message.  Bounded:
# a fixed number of kill/restart rounds.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

ROUNDS = 8
SUB = dict(proto=m.V311, client_id="sync501", clean=False)

t = T()
comqtt_only(t, "comqtt-storage")
b = Broker(t, workers=2, config="storage: {persistence: sync, "
           "batch_ms: 10000}\n")
c = b.client(port=b.ports[1], **SUB)
c.subscribe([("sync/#", 2)])
c.disconnect()
kept = []
for i in range(ROUNDS):
    qos = 1 + i % 2
    # The publisher on the other worker: the queue push happens there.
    pub = b.client(port=b.ports[0], client_id="pub501-%d" % i)
    ack = pub.publish("sync/%d" % i, b"m%d" % i, qos=qos)
    b.kill_all()
    b.start()
    c = b.client(port=b.ports[i % 2], **SUB)
    got = c.collect(1, 5)
    kept.append([(p.topic, p.payload, p.qos) for p in got] ==
                [("sync/%d" % i, b"m%d" % i, qos)])
    if not kept[-1]:
        t.diag("round %d (QoS %d, ack %r): got %r" % (i, qos, ack, got))
    c.drain_acks(0.3)
    c.disconnect()
t.is_(sum(kept), ROUNDS, "every message acknowledged right before a kill "
      "-9 of every process was there after the restart (%d rounds, QoS 1 "
      "and 2)" % ROUNDS)
c = b.client(**SUB)
t.is_(c.collect(1, 0.5), [], "and nothing came twice")
c.disconnect()
b.stop()
t.done()
