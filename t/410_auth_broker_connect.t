#!/usr/bin/python3
# 410: CONNECT through the broker with auth enabled (comqttd forks
# comqtt-authd, the workers ask it): allowed credentials get CONNACK 0;
# a wrong password 0x86 (MQTT 5 §3.2.2.2; 3.1.1: return code 4); a
# disallowed user 0x87 (3.1.1: 5); every refusal is logged with the
# client id.  Skips while comqttd lacks auth support (see
# t/lib/authd.py broker_has_auth()).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import AuthBroker, Mqtt, broker_has_auth, wait_for  # noqa: E402
from tap import T  # noqa: E402

LEDGER = """users:
  alice: {password: secret}
  mallory: {password: evil, disallow: true}
"""

t = T()
if not broker_has_auth():
    t.skip_all("comqttd does not ask comqtt-authd yet (worker wiring)")
b = AuthBroker(t, LEDGER)
for v, name in ((4, "3.1.1"), (5, "5")):
    m = Mqtt(b.port, v)
    t.is_(m.connect("ok-%d" % v, "alice", "secret"), 0,
          "MQTT %s: alice with her password: CONNACK 0" % name)
    m.close()
    m = Mqtt(b.port, v)
    t.is_(m.connect("bad-%d" % v, "alice", "wrong"), 0x86 if v == 5 else 4,
          "MQTT %s: a wrong password: Bad user name or password" % name)
    m.close()
    m = Mqtt(b.port, v)
    t.is_(m.connect("no-%d" % v, "mallory", "evil"), 0x87 if v == 5 else 5,
          "MQTT %s: a disallowed user: Not authorized" % name)
    m.close()
    m = Mqtt(b.port, v)
    t.is_(m.connect("anon-%d" % v), 0x86 if v == 5 else 4,
          "MQTT %s: no credentials, no rule: refused" % name)
    m.close()
t.ok(wait_for(lambda: 'client "bad-4"' in b.log_text(), 5),
     "the refusal is logged with its client id")
b.stop()
t.done()
