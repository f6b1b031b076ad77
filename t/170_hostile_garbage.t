#!/usr/bin/python3
# 170: garbage on the wire.  Random bytes, HTTP, a reserved packet type,
# a remaining length of five bytes (MQTT 1.5.5: at most four), a packet
# announced longer than what arrives before the client hangs up, and a
# remaining length far beyond max_packet_size: each connection is closed
# (or, when the client hangs up first, forgotten) while a well-behaved
# publisher and subscriber on the same broker keep exchanging messages
# without losing one.  A malformed packet closes the connection
# [MQTT-4.8.0-1] (3.1.1 4.8: "the receiver MUST close the Network
# Connection"), and the broker keeps serving everybody else.
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, GoodTraffic, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
good = GoodTraffic(b)
rnd = random.Random(170)

PRE = [  # before CONNECT
    ("4 KB of random bytes", bytes(rnd.randrange(256) for _ in range(4096))),
    ("an HTTP request", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("a TLS ClientHello", bytes.fromhex("160301002a0100002603035f") +
     bytes(40)),
    ("zero bytes (packet type 0)", bytes(64)),
    ("a 5-byte remaining length", b"\x10\xff\xff\xff\xff\x7f"),
    ("CONNECT announcing 256 MB", b"\x10\xff\xff\xff\x7f" + m.utf8("MQTT")
     + b"\x04\x02\x00\x3c"),
]
POST = [  # after a successful CONNECT
    ("packet type 0", b"\x00\x00"),
    ("AUTH on 3.1.1", b"\xf0\x00"),
    ("a 5-byte remaining length", b"\x30\x80\x80\x80\x80\x01"),
    ("DISCONNECT with flags [MQTT-2.2.2-2]", b"\xe2\x00"),
    ("DISCONNECT with a body", b"\xe0\x01\x00"),
    ("PUBACK too short", b"\x40\x01\x00"),
    ("CONNACK from a client", m.connack(0)),
]
# Violations mosquitto 2.0.11 lets pass (it answers or ignores them).
POST_STRICT = [
    ("PINGREQ with a body", b"\xc0\x01\x00"),
    ("PINGREQ with flags [MQTT-2.2.2-2]", b"\xc1\x00"),
    ("PUBACK with flags [MQTT-2.2.2-2]", b"\x41\x02\x00\x01"),
    ("SUBACK from a client", m.suback(1, [0])),
    ("PINGRESP from a client", m.pingresp()),
]
for name, data in PRE:
    c = b.client()
    c.send(data)
    closed, got = c.expect_closed(5)
    t.ok(closed and not any(p.type == m.CONNACK and p.rc == 0 for p in got),
         "before CONNECT, %s: connection closed [MQTT-4.8.0-1]" % name)
for name, data in POST + POST_STRICT:
    if (name, data) in POST_STRICT and not unless_mosquitto(
            t, "2.0.11 does not close the connection for %s "
            "(deviation from MQTT-4.8.0-1)" % name):
        continue
    c = b.client(client_id="post170")
    c.send(data)
    closed, got = c.expect_closed(5)
    t.ok(closed, "after CONNECT, %s: connection closed [MQTT-4.8.0-1]"
         % name)

# Packets announced longer than what arrives; the client hangs up.
watch = b.client(client_id="watch170")
watch.subscribe([("cut/#", 1)])
for i in range(20):
    c = b.client()
    c.send(b"\x10\xe8\x07" + m.utf8("MQTT") + b"\x04\x02")
    c.close()
    c = b.client(client_id="cut170-%d" % i)
    c.send(b"\x32\xa0\x1f" + m.utf8("cut/x") + b"\x00\x01abc")
    c.close()
t.is_(watch.collect(1, 0.5), [], "20 CONNECTs and 20 PUBLISHes cut short "
      "by a hang-up: nothing of them delivered")

# The broker still accepts, routes and answers.
c = b.client(client_id="after170")
t.is_(c.connack.rc, 0, "new connections are accepted")
good.check(t, "garbage")
t.done()
