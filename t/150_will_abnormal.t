#!/usr/bin/python3
# 150: when the will message is published.
#   [MQTT-3.1.2-8] on an abnormal disconnect: the socket closes without
#     DISCONNECT, the keep-alive expires, a protocol error closes it
#   [MQTT-3.1.2-10] not after DISCONNECT (the will is discarded)
#   (5.0) DISCONNECT with reason 0x04 "disconnect with will message"
#     publishes it; DISCONNECT 0x00 does not
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import MOSQUITTO, Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
watch = b.client(port=b.ports[1], client_id="watch150", timeout=15)
watch.subscribe([("will/#", 2)])


def client(name, proto=m.V311, **kw):
    return b.client(proto=proto, client_id="w150-" + name,
                    will={"topic": "will/" + name, "payload": name.encode()},
                    **kw)


# Start the keep-alive cases first: they take the longest.
ka = {}
for proto in (m.V311, m.V5):
    ka[proto] = client("keepalive%d" % proto, proto, keepalive=1)

expect = set()
for proto in (m.V311, m.V5):
    c = client("closed%d" % proto, proto)
    c.close()
    expect.add("closed%d" % proto)
    c = client("violation%d" % proto, proto)
    c.send(m.publish("bad/+", b"x", proto=proto))
    expect.add("violation%d" % proto)
    c = client("disconnect%d" % proto, proto)
    c.disconnect()
    c = client("shutwr%d" % proto, proto)
    c.sock.shutdown(socket.SHUT_RDWR)  # no DISCONNECT
    expect.add("shutwr%d" % proto)
c = client("rc04", m.V5)
c.send(m.disconnect(0x04, proto=m.V5))
expect.add("rc04")
c = client("rc00", m.V5)
c.send(m.disconnect(0x00, proto=m.V5))
for proto in (m.V311, m.V5):
    expect.add("keepalive%d" % proto)

# Mosquitto 2.0.11 notices an expired keep-alive after about six seconds.
deadline = time.monotonic() + (12 if MOSQUITTO else 8)
got = []
while time.monotonic() < deadline and not expect <= {p.payload.decode()
                                                     for p in got}:
    p = watch.recv_publish(deadline - time.monotonic())
    if p is not None:
        got.append(p)
got += watch.collect(10, 0.5)
names = [p.payload.decode() for p in got]
for proto in (m.V311, m.V5):
    for case, why in (("closed", "socket closed without DISCONNECT"),
                      ("shutwr", "socket shut down without DISCONNECT"),
                      ("keepalive", "keep-alive expired"),
                      ("violation", "closed for a protocol error")):
        t.is_(names.count("%s%d" % (case, proto)), 1,
              "v%d: %s: the will is published once [MQTT-3.1.2-8]"
              % (proto, why))
    t.is_(names.count("disconnect%d" % proto), 0,
          "v%d: DISCONNECT: no will [MQTT-3.1.2-10]" % proto)
t.is_(names.count("rc04"), 1, "5.0: DISCONNECT 0x04: the will is "
      "published (5.0 3.14.2.1)")
t.is_(names.count("rc00"), 0, "5.0: DISCONNECT 0x00: no will "
      "[MQTT-3.14.4-3]")
t.ok(all(p.topic == "will/" + p.payload.decode() for p in got),
     "each will on its own topic")
t.done()
