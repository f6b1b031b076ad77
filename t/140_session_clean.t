#!/usr/bin/python3
# 140: clean sessions.
#   [MQTT-3.1.2-6] clean session 1: any previous session is discarded, and
#     this session's state is not reused after it ends
#   [MQTT-3.2.2-1] clean session 1: CONNACK session present 0
#   (5.0) [MQTT-3.1.2-4] clean start 1 discards the session; a session
#     expiry interval of 0 (the default) ends the session with the
#     connection, and one of 1 s ends it a second after
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="p140")


def gets(c, topic):
    """Publish to topic (QoS 1) and report whether c receives it."""
    pub.publish(topic, b"probe", qos=1)
    return bool(c.collect(1, 0.5))


# 3.1.1: persistent, then clean, then persistent again.
c = b.client(client_id="cs140", clean=False)
c.subscribe([("cs/x", 1)])
c.disconnect()
pub.publish("cs/x", b"queued while away", qos=1)
c = b.client(port=b.ports[1], client_id="cs140", clean=True)
t.ok(not c.connack.session_present, "clean session: session present 0 "
     "[MQTT-3.2.2-1]")
t.is_(c.collect(1, 0.5), [], "the old session's queued message is gone "
      "[MQTT-3.1.2-6]")
t.ok(not gets(c, "cs/x"), "the old session's subscription is gone "
     "[MQTT-3.1.2-6]")
c.subscribe([("cs/y", 1)])
t.ok(gets(c, "cs/y"), "the clean session subscribes normally")
c.disconnect()
pub.publish("cs/y", b"sent while away", qos=1)
c = b.client(client_id="cs140", clean=False)
t.ok(not c.connack.session_present, "after a clean session ends, a "
     "persistent reconnect starts a new session [MQTT-3.1.2-6]")
t.is_(c.collect(1, 0.5), [], "nothing was queued for the clean session")
t.ok(not gets(c, "cs/y"), "its subscription did not survive")
c.disconnect()

# 5.0: clean start and session expiry.
v5 = dict(proto=m.V5, client_id="cs140v5")
c = b.client(clean=False, props={"session_expiry_interval": 300}, **v5)
c.subscribe([("cs5/x", 1)])
c.disconnect()
c = b.client(clean=True, props={"session_expiry_interval": 300}, **v5)
t.ok(not c.connack.session_present, "5.0 clean start 1: session present 0 "
     "[MQTT-3.1.2-4]")
t.ok(not gets(c, "cs5/x"), "5.0 clean start 1: subscriptions discarded")
c.subscribe([("cs5/x", 1)])
c.disconnect()
c = b.client(clean=False, **v5)
t.ok(c.connack.session_present, "5.0: a session with expiry 300 s "
     "survives the disconnect")
c.disconnect()  # this connection's expiry interval is 0: session ends
c = b.client(clean=False, **v5)
t.ok(not c.connack.session_present, "5.0: session expiry 0 ends the "
     "session with the connection")
c.subscribe([("cs5/e", 1)])
c.send(m.disconnect(0, {"session_expiry_interval": 1}, proto=m.V5))
c.close()
time.sleep(2.5)
c = b.client(clean=False, **v5)
t.ok(not c.connack.session_present, "5.0: session expiry 1 s: gone 2.5 s "
     "after the disconnect")
t.ok(not gets(c, "cs5/e"), "5.0: with its subscriptions")
t.done()
