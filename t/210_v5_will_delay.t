#!/usr/bin/python3
# 210: MQTT 5 Will Delay Interval (3.1.3.2.2) and will properties.
#   [MQTT-3.1.3-9] a new connection for the session within the delay
#     cancels the will: on the same worker, on another worker, and after
#     the worker that served the old connection was killed
#   the will goes out once the delay has passed (and not before), or when
#     the session ends first (session expiry shorter than the delay, or 0)
#   the deadline survives a respawn of the owning worker: it runs from the
#     death of the connection, not from the replacement's start
#   the will's properties reach the subscriber unchanged: payload format
#     [MQTT-3.3.2-4], content type [MQTT-3.3.2-20], response topic
#     [MQTT-3.3.2-15], correlation data [MQTT-3.3.2-16], user properties
#     in order [MQTT-3.3.2-17] [MQTT-3.3.2-18]
#   its Message Expiry Interval runs from its publication (3.1.3.2.3): a
#     will delayed longer than its expiry interval is still delivered
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
watch = b.client(port=P0, proto=m.V5, client_id="watch210", timeout=15)
watch.subscribe([("will210/#", 1)])


def v5(name, delay, expiry=300, port=P0, props=None, clean=True):
    will_props = {"will_delay_interval": delay}
    will_props.update(props or {})
    return b.client(port=port, proto=m.V5, client_id="w210-" + name,
                    clean=clean, props={"session_expiry_interval": expiry},
                    will={"topic": "will210/" + name, "payload": name,
                          "qos": 1, "props": will_props})


def resume(name, port):
    """The same session again, without a will."""
    return b.client(port=port, proto=m.V5, client_id="w210-" + name,
                    clean=False, props={"session_expiry_interval": 300})


def wills(timeout):
    return [p.payload.decode() for p in watch.collect(100, timeout)]


# -- cancelled by a new connection ------------------------------------------
c = v5("same", 2)
c.close()
c2 = resume("same", P0)
c = v5("other", 2)
c.close()
c3 = resume("other", P1)
got = wills(3.5)
t.ok("same" not in got, "reconnect on the same worker within the delay: "
     "no will [MQTT-3.1.3-9]")
t.ok("other" not in got, "reconnect on another worker within the delay: "
     "no will [MQTT-3.1.3-9]")
c2.disconnect()
c3.disconnect()

# -- published after the delay, not before ---------------------------------
c = v5("delayed", 3)
closed = time.monotonic()
c.close()
early = wills(1.5)
t.ok("delayed" not in early, "no will before the delay has passed")
p = watch.recv_publish(10)
t.ok(p is not None and p.payload == b"delayed",
     "the will is published once the delay has passed")
t.diag("will after %.1f s (delay 3 s)" % (time.monotonic() - closed))

# -- the session ends first ---------------------------------------------------
for expiry, what in ((0, "session expiry 0: the will goes when the "
                       "session ends at the close, before its delay"),
                     (1, "session expiry 1 s, will delay 600 s: the will "
                      "goes when the session expires")):
    c = v5("expiry%d" % expiry, 600, expiry=expiry)
    c.close()
    p = watch.recv_publish(8)
    t.ok(p is not None and p.payload == b"expiry%d" % expiry, what)

# -- will properties --------------------------------------------------------
props = {"payload_format_indicator": 1, "content_type": "text/plain",
         "response_topic": "reply/210", "correlation_data": b"\x00\x01cd",
         "user_property": [("k", "1"), ("a", "2"), ("k", "3")],
         "message_expiry_interval": 300}
c = v5("props", 0, props=props)
c.close()
p = watch.recv_publish(5)
t.ok(p is not None and p.payload == b"props", "will with properties "
     "published")
if p is not None:
    for k, ref in (("payload_format_indicator", "[MQTT-3.3.2-4]"),
                   ("content_type", "[MQTT-3.3.2-20]"),
                   ("response_topic", "[MQTT-3.3.2-15]"),
                   ("correlation_data", "[MQTT-3.3.2-16]"),
                   ("user_property", "[MQTT-3.3.2-17] [MQTT-3.3.2-18]")):
        t.is_(p.props.get(k), props[k], "will property %s unchanged %s"
              % (k, ref))
    t.ok("will_delay_interval" not in p.props,
         "the Will Delay Interval is not forwarded")
    mei = p.props.get("message_expiry_interval", 0)
    t.ok(0 < mei <= 300, "its message expiry interval is sent "
         "[MQTT-3.3.2-6] (%d)" % mei)

c = v5("exp", 2, props={"message_expiry_interval": 1})
c.close()
p = watch.recv_publish(8)
t.ok(p is not None and p.payload == b"exp" and
     0 < p.props.get("message_expiry_interval", 0) <= 1,
     "will delay 2 s, message expiry 1 s: delivered after the delay with "
     "its interval counted from then (3.1.3.2.3) (%r)" % p)

# -- across a worker's death ------------------------------------------------
if unless_mosquitto(t, "one process, no worker to kill", 5):
    dying = v5("dying", 3, port=P1)
    saved = v5("saved", 3, port=P1)
    old, new = b.kill_worker(1)
    killed = time.monotonic()
    t.ok(new, "worker 1 killed and replaced")
    back = resume("saved", P0)
    early = wills(1.0)
    t.ok("dying" not in early and "saved" not in early,
         "no will right after the worker died: the delay runs")
    got = []
    deadline = time.monotonic() + 10
    while "dying" not in got and time.monotonic() < deadline:
        got += wills(0.5)
    t.ok("dying" in got, "the will is published after the delay, by the "
         "respawned worker (%.1f s after the kill)"
         % (time.monotonic() - killed))
    got += wills(1.0)
    t.ok("saved" not in got, "a session resumed on another worker within "
         "the delay after its worker died: no will [MQTT-3.1.3-9]")
    t.is_(got.count("dying"), 1, "the will is published once")
    back.disconnect()
t.done()
