#!/usr/bin/python3
# 176: limits change live on SIGHUP (comqttd(8), RELOAD): lowering
# limits.max_connections refuses the next client (CONNACK 0x03 on 3.1.1)
# while those connected stay, raising it admits again; lowering
# limits.max_topic_levels applies to the next SUBSCRIBE on a connection
# that already exists.
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's live reload of limits")
b = Broker(t, workers=2)
a = b.client(port=b.ports[0], client_id="a176")
c = b.client(port=b.ports[1], client_id="b176")


def reload(**limits):
    mark = b.log_offset()
    b.rewrite_config(limits=dict(b.limits, **limits))
    b.send_signal(signal.SIGHUP)
    t.ok(b.wait_log(r"reload: limits\.", 5, mark),
         "the reload of %r is logged" % limits)


def attempt(cid):
    x = b.client(port=b.ports[1])
    x.send(m.connect(cid))
    try:
        return x.expect(m.CONNACK, 5).rc
    except m.MqttError:
        return None


reload(max_connections=2)
rc = wait_until(lambda: attempt("c176") == 0x03, 5, 0.2)
t.ok(rc, "max_connections lowered to 2: a third client gets CONNACK 0x03")
t.ok(a.ping(5) and c.ping(5), "the two connected clients stay")
reload(max_connections=100)
t.ok(wait_until(lambda: attempt("d176") == 0, 5, 0.2),
     "raised again: a new client is accepted")
reload(max_topic_levels=2)
ok = wait_until(lambda: a.subscribe([("x/y/z", 1)]).codes == [0x80], 5,
                0.2)
t.ok(ok, "max_topic_levels lowered to 2: a 3-level filter is refused on "
     "an existing connection [MQTT-3.9.3-2]")
t.is_(a.subscribe([("x/y", 1)]).codes, [1], "a 2-level one is granted")
t.done()
