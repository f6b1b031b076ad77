#!/usr/bin/python3
# 411: PUBLISH and SUBSCRIBE through the broker with auth enabled: the
# ledger's ACL allows and refuses; an MQTT 5 refused subscription gets
# SUBACK 0x87 (3.1.1: 0x80), a refused QoS 1 publish PUBACK 0x87 and is
# not delivered; an allowed one is.  Skips while comqttd lacks auth
# support (t/lib/authd.py broker_has_auth()).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import AuthBroker, Mqtt, broker_has_auth  # noqa: E402
from tap import T  # noqa: E402

LEDGER = """users:
  reader: {password: r, acl: {"feeds/#": 1}}
  writer: {password: w, acl: {"feeds/+/data": 2}}
"""

t = T()
if not broker_has_auth():
    t.skip_all("comqttd does not ask comqtt-authd yet (worker wiring)")
b = AuthBroker(t, LEDGER)
for v in (4, 5):
    sub = Mqtt(b.port, v)
    t.is_(sub.connect("sub%d" % v, "reader", "r"), 0, "reader connects")
    t.is_(sub.subscribe("feeds/#", 1), 1, "v%d: reader subscribes feeds/# "
          "(granted QoS 1)" % v)
    t.is_(sub.subscribe("private/#", 1, pid=3), 0x87 if v == 5 else 0x80,
          "v%d: a subscription the ACL refuses" % v)
    pub = Mqtt(b.port, v)
    t.is_(pub.connect("pub%d" % v, "writer", "w"), 0, "writer connects")
    t.is_(pub.publish("feeds/x/data", b"ok%d" % v), 0,
          "v%d: an allowed publish is acknowledged" % v)
    t.is_(sub.message(), ("feeds/x/data", b"ok%d" % v),
          "v%d: ... and delivered" % v)
    rc = pub.publish("feeds/x/cmd", b"no", pid=4)
    if v == 5:
        t.is_(rc, 0x87, "v5: a refused publish gets PUBACK 0x87")
    else:
        t.ok(rc in (0, None), "v3: a refused publish is acknowledged or "
             "the client disconnected")
    t.is_(sub.message(1.0), None, "v%d: ... and not delivered" % v)
    sub.close()
    pub.close()
b.stop()
t.done()
