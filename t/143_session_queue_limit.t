#!/usr/bin/python3
# 143: the offline queue of a persistent session is bounded.  With
# max_queued_messages 10 and queue_overflow drop_oldest, 25 QoS 1 (and
# QoS 2) messages published while the client is away leave it the newest
# 10, in order; the 15 dropped are counted in
# $SYS/broker/publish/messages/dropped (mosquitto's name); other sessions
# are not affected.  (The spec leaves the limit to the server: MQTT 3.1.1
# 4.1, "a Server MAY impose limits".)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, SysTopics, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, limits={"max_queued_messages": 10,
                      "queue_overflow": "drop_oldest"})
DROPPED = "publish/messages/dropped"
sys_ = SysTopics(b)
base = sys_.wait(DROPPED, lambda v: True, 3) or 0
pub = b.client(client_id="p143")
for qos in (1, 2):
    kw = dict(client_id="ql143-%d" % qos, clean=False)
    c = b.client(**kw)
    c.subscribe([("ql/%d" % qos, qos)])
    c.disconnect()
    roomy = b.client(client_id="roomy143-%d" % qos)
    roomy.subscribe([("ql/%d" % qos, qos)])
    pub.publish_many([("ql/%d" % qos, b"%d" % i) for i in range(25)],
                     qos=qos)
    got = roomy.collect(25, 10)
    t.is_(len(got), 25, "QoS %d: an online subscriber gets all 25" % qos)
    c = b.client(port=b.ports[1], **kw)
    got = [int(p.payload) for p in c.collect(10, 5) + c.collect(1, 0.5)]
    t.is_(len(got), 10, "QoS %d: the offline session kept 10 messages "
          "(max_queued_messages)" % qos)
    t.is_(got, sorted(got), "QoS %d: in order" % qos)
    if unless_mosquitto(t, "drops the newest messages when the queue is "
                        "full (comqtt's queue_overflow: drop_oldest keeps "
                        "the newest)"):
        t.is_(got, list(range(15, 25)), "QoS %d: drop_oldest kept the "
              "newest 10" % qos)
    c.disconnect()

final = sys_.wait(DROPPED, lambda v: v >= base + 30, 6)
t.ok(final, "$SYS/broker/%s counts the 30 dropped messages (%d -> %s)"
     % (DROPPED, base, sys_.number(DROPPED)))
t.done()
