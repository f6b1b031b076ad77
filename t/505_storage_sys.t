#!/usr/bin/python3
# 505: mqtt.restore_sys_info_on_restart: the $SYS counters continue from
# what comqtt-storage kept when the broker stopped; without it they start
# from zero.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

TOPIC = "$SYS/broker/publish/messages/received"


def received(b):
    """The counter once it has been published after now: the retained
    value comes first, the next period's (1 s) after it."""
    c = b.client(client_id="sys505")
    c.subscribe([(TOPIC, 0)])
    got = c.collect(2, 5)
    c.disconnect()
    return int(got[-1].payload) if got else None


def run(t, restore):
    b = Broker(t, workers=1, nports=1, sys_interval=1,
               mqtt={"restore_sys_info_on_restart": restore})
    pub = b.client(client_id="pub505")
    for i in range(40):
        pub.publish("x/y", b"%d" % i, qos=1)
    pub.disconnect()
    before = received(b)
    t.ok(before is not None and before >= 40, "restore %s: %s messages "
         "received before the stop" % (restore, before))
    b.stop()
    b.start()
    after = received(b)
    if restore:
        t.ok(after is not None and after >= before, "restored: the counter "
             "continues (%s -> %s)" % (before, after))
    else:
        t.ok(after is not None and after < 40, "not restored: it starts "
             "again (%s)" % after)
    b.stop()


t = T()
comqtt_only(t, "comqtt-storage")
run(t, True)
run(t, False)
t.done()
