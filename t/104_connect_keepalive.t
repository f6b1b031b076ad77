#!/usr/bin/python3
# 104: keep alive.  A client that sends nothing for one and a half times
# its keep-alive is disconnected [MQTT-3.1.2-24] (3.1.1 numbering); any
# control packet, PINGREQ included, keeps it alive [MQTT-3.1.2-23] and a
# PINGREQ is answered with PINGRESP [MQTT-3.12.4-1]; keep alive 0 turns
# the mechanism off.
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import MOSQUITTO, Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

# How long a silent keep-alive-1 client may stay: 1.5 s plus slack for a
# broker that checks keep-alive on a housekeeping tick.
LIMIT = 3.5


def watch(c, res, key):
    t0 = time.monotonic()
    closed, _ = c.expect_closed(12)
    res[key] = (closed, time.monotonic() - t0)


res = {}
threads = []
idle = b.client(client_id="idle104", keepalive=1)
half = b.client(client_id="half104", keepalive=1)
half.send(b"\x30")  # the first byte of a PUBLISH, then silence
for c, key in ((idle, "idle"), (half, "half")):
    th = threading.Thread(target=watch, args=(c, res, key), daemon=True)
    th.start()
    threads.append(th)

zero = b.client(client_id="zero104", keepalive=0)
ping = b.client(client_id="ping104", keepalive=1)
pub = b.client(client_id="pub104", keepalive=1)

# Mosquitto 2.0.11 only notices a keep-alive timeout after about six
# seconds, so with it the busy phase must last longer to mean anything.
busy = 8.0 if MOSQUITTO else 4.0
pongs = 0
end = time.monotonic() + busy
while time.monotonic() < end:
    if ping.ping(2).type == m.PINGRESP:
        pongs += 1
    pub.publish("ka104/x", b"tick")
    time.sleep(0.4)
for th in threads:
    th.join(15)

for key, what in (("idle", "a silent client"),
                  ("half", "a client stuck half-way through a packet")):
    closed, elapsed = res.get(key, (False, None))
    t.ok(closed, "%s with keep alive 1 is disconnected [MQTT-3.1.2-24]"
         % what)
    t.cmp_ok(elapsed, ">=", 1.3, "%s: not before 1.5 x keep alive" % what)
    if unless_mosquitto(t, "2.0.11 enforces keep-alive only after ~6 s "
                        "(deviation from MQTT-3.1.2-24)"):
        t.cmp_ok(elapsed, "<=", LIMIT, "%s: disconnected within %.1f s "
                 "[MQTT-3.1.2-24]" % (what, LIMIT))

t.ok(pongs >= busy / 0.5, "every PINGREQ answered with PINGRESP "
     "[MQTT-3.12.4-1] (%d)" % pongs)
t.ok(not ping.closed and ping.ping(2) is not None,
     "PINGREQ every 0.4 s keeps a keep-alive-1 client connected "
     "[MQTT-3.1.2-23]")
t.ok(not pub.closed and pub.ping(2) is not None,
     "PUBLISH every 0.4 s keeps a keep-alive-1 client connected "
     "[MQTT-3.1.2-23]")
t.ok(not zero.closed and zero.ping(2) is not None,
     "keep alive 0: never disconnected for silence")
t.done()
