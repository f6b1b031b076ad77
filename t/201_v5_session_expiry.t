#!/usr/bin/python3
# 201: MQTT 5 Session Expiry Interval (3.1.2.11.2) and session state.
#   [MQTT-3.1.2-23] a session with an interval > 0 is kept after the
#     connection closes, with QoS 1/2 messages queued for it, and resumed
#     (Session Present 1 [MQTT-3.2.2-3]); absent (0): it ends with the
#     connection (Session Present 0)
#   a session is gone once its interval has passed while disconnected
#   0xFFFFFFFF: it does not expire
#   [MQTT-3.1.2-4] [MQTT-3.2.2-2] Clean Start 1 discards it
#   DISCONNECT changes the interval (3.14.2.2.2): to 0 ends the session at
#     once, to a longer one keeps it longer; [MQTT-3.14.2-2] from 0 in
#     CONNECT to non-zero in DISCONNECT is a protocol error (0x82), and the
#     session still ends with the connection
#   the queued messages arrive in order on resumption [MQTT-4.6.0-6], and
#     the expiry interval of a queued message keeps running while it waits
#     (expired ones are not delivered [MQTT-3.3.2-5])
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
pub = b.client(port=P0, proto=m.V5, client_id="pub201")


def conn(name, port=P1, expiry=None, clean=False, **kw):
    props = {} if expiry is None else {"session_expiry_interval": expiry}
    return b.client(port=port, proto=m.V5, client_id="s201-" + name,
                    clean=clean, props=props, **kw)


def present(name, port=P0):
    c = conn(name, port)
    p = c.connack.session_present
    c.disconnect()
    return p


# -- absent: the session ends with the connection --------------------------
c = conn("zero", clean=True)
c.subscribe([("se/zero", 1)])
c.disconnect()
t.is_(present("zero"), False, "no Session Expiry Interval: the session "
      "ended with the connection (Session Present 0)")

# -- an interval: kept, queued for, resumed, then expired ------------------
c = conn("two", expiry=3, clean=True)
c.subscribe([("se/two", 1)])
c.disconnect()
for i in range(3):
    pub.publish("se/two", b"%d" % i, qos=1)
c = conn("two", port=P0, expiry=3)
t.is_(c.connack.session_present, True, "interval 3 s: the session is there "
      "after the connection closed [MQTT-3.1.2-23] [MQTT-3.2.2-3]")
t.is_([p.payload for p in c.collect(3, 5)], [b"0", b"1", b"2"],
      "the messages queued meanwhile arrive, in order [MQTT-4.6.0-6]")
c.disconnect()
time.sleep(5)
t.is_(present("two"), False, "the session is gone once 3 s passed "
      "disconnected")

# -- never --------------------------------------------------------------
c = conn("never", expiry=0xFFFFFFFF, clean=True)
c.subscribe([("se/never", 1)])
c.disconnect()
time.sleep(2.5)
c = conn("never", expiry=0xFFFFFFFF)
t.is_(c.connack.session_present, True, "0xFFFFFFFF: still there")
c.close()

# -- Clean Start discards ---------------------------------------------------
c = conn("never", expiry=0xFFFFFFFF, clean=True)
t.is_(c.connack.session_present, False, "Clean Start 1 discards the "
      "session: Session Present 0 [MQTT-3.1.2-4] [MQTT-3.2.2-2]")
c.send(m.disconnect(0, {"session_expiry_interval": 0}, proto=m.V5))
c.expect_closed(3)

# -- changed at DISCONNECT --------------------------------------------------
c = conn("end", expiry=600, clean=True)
c.subscribe([("se/end", 1)])
c.disconnect(props={"session_expiry_interval": 0})
t.is_(present("end"), False, "DISCONNECT with interval 0: the session "
      "ends at once (3.14.2.2.2)")
c = conn("longer", expiry=1, clean=True)
c.subscribe([("se/longer", 1)])
c.disconnect(props={"session_expiry_interval": 600})
time.sleep(3)
t.is_(present("longer"), True, "DISCONNECT with a longer interval: kept "
      "past the first one")
c = conn("bad", clean=True, will={"topic": "se/will", "payload": b"bad"})
watch = b.client(port=P0, proto=m.V5, client_id="watch201")
watch.subscribe([("se/will", 0)])
c.send(m.disconnect(0, {"session_expiry_interval": 60}, proto=m.V5))
t.ok(c.closed_by_disconnect(0x82),
     "interval 0 in CONNECT, 60 in DISCONNECT: DISCONNECT 0x82 "
     "[MQTT-3.14.2-2] (%r)" % c.last_close)
t.is_(present("bad"), False, "and the session ended with the connection")
t.is_([p.payload for p in watch.collect(1, 3)], [b"bad"],
      "the DISCONNECT was not a valid one: the will is published")

# -- message expiry while queued --------------------------------------------
c = conn("mexp", expiry=60, clean=True)
c.subscribe([("se/mexp", 1)])
c.disconnect()
pub.publish("se/mexp", b"short", qos=1,
            props={"message_expiry_interval": 1})
pub.publish("se/mexp", b"long", qos=1,
            props={"message_expiry_interval": 100})
time.sleep(2.5)
c = conn("mexp", port=P0, expiry=60)
got = c.collect(2, 3)
t.is_([p.payload for p in got], [b"long"], "a queued message whose expiry "
      "passed is not delivered [MQTT-3.3.2-5]")
left = got[0].props.get("message_expiry_interval", 0) if got else 0
t.ok(0 < left < 100, "the other carries what is left of its interval "
     "(%d s) [MQTT-3.3.2-6]" % left)
c.disconnect(props={"session_expiry_interval": 0})
t.done()
