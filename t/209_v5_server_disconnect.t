#!/usr/bin/python3
# 209: DISCONNECT from the broker to MQTT 5 clients (3.14, 4.13), each
# with its reason code and a Reason String, and the connection closed:
#   0x8D Keep alive timeout [MQTT-3.1.2-22]
#   0x8E Session taken over [MQTT-3.1.4-3], on the same worker and from
#     another worker
#   0x81 Malformed Packet (a property length past the packet's end) and
#     0x82 Protocol Error (a second CONNECT [MQTT-3.1.0-2], a property
#     given twice (3.3.2.3.2)) (4.13.1)
#   0x9C Use another server: a reload that sets mqtt.server_reference
#     (4.11), MQTT 3.1.1 clients stay
#   0x8B Server shutting down (SIGTERM), also to a client held in
#     mqtt.passive_client_disconnect's draining state
#   3.1.1 clients are closed without a DISCONNECT [MQTT-3.14.0-1 of 3.1.1]
# (0x93, 0x94, 0x95, 0x9A, 0x9B, 0xA1, 0x04 and 0x98 are tested in 202,
# 204, 172, 200, 206, 150 and 601.)
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "reloads comqtt's configuration")
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)


def disconnect_of(c, timeout=5):
    closed, got = c.expect_closed(timeout)
    d = [p for p in got if p.type == m.DISCONNECT]
    return closed, (d[-1].rc if d else None), \
        (bool(d[-1].props.get("reason_string")) if d else False)


c = b.client(port=P0, proto=m.V5, client_id="ka209", keepalive=1)
t.is_(disconnect_of(c), (True, 0x8D, True), "keep alive expired: "
      "DISCONNECT 0x8D [MQTT-3.1.2-22]")

for port, where in ((P0, "the same worker"), (P1, "another worker")):
    old = b.client(port=P0, proto=m.V5, client_id="to209")
    b.client(port=port, proto=m.V5, client_id="to209")
    t.is_(disconnect_of(old), (True, 0x8E, True), "taken over from %s: "
          "DISCONNECT 0x8E [MQTT-3.1.4-3]" % where)

c = b.client(port=P1, proto=m.V5, client_id="mal209")
# PUBLISH whose property length runs past the end of the packet.
c.send(m.packet(m.PUBLISH, 0, m.utf8("a/b") + m.varint(50) + b"\x01\x01"))
t.is_(disconnect_of(c)[:2], (True, 0x81), "a malformed PUBLISH: "
      "DISCONNECT 0x81 (4.13.1)")
c = b.client(port=P1, proto=m.V5, client_id="twice209")
c.send(m.connect("twice209", proto=m.V5))
t.is_(disconnect_of(c), (True, 0x82, True), "a second CONNECT: DISCONNECT "
      "0x82 [MQTT-3.1.0-2]")
c = b.client(port=P1, proto=m.V5, client_id="dup209")
c.send(m.packet(m.PUBLISH, 0, m.utf8("a/b") + m.varint(4) +
                b"\x01\x01\x01\x00" + b"x"))
t.is_(disconnect_of(c)[:2], (True, 0x82), "a property given twice: "
      "DISCONNECT 0x82 (3.3.2.3.2)")

# A reload that sends MQTT 5 clients elsewhere.
v5 = b.client(port=P0, proto=m.V5, client_id="ref209")
v3 = b.client(port=P1, client_id="ref209v3")
b.rewrite_config(mqtt=dict(b.mqtt, server_reference="elsewhere:1883"))
b.send_signal(signal.SIGHUP)
closed, got = v5.expect_closed(10)
d = [p for p in got if p.type == m.DISCONNECT]
t.ok(closed and d and d[0].rc == 0x9C and
     d[0].props.get("server_reference") == "elsewhere:1883",
     "a reload setting mqtt.server_reference: DISCONNECT 0x9C naming it "
     "(4.11) (%r)" % got)
v3.ping(5)
t.ok(True, "an MQTT 3.1.1 client stays connected")
b.rewrite_config()
b.send_signal(signal.SIGHUP)
time.sleep(1)

# Shutting down, with a client draining under passive_client_disconnect.
b.stop()
p = Broker(t, workers=2, mqtt={"passive_client_disconnect": True})
q0, q1 = p.port_for_worker(0), p.port_for_worker(1)
drain = p.client(port=q0, proto=m.V5, client_id="drain209")
drain.send(m.connect("drain209", proto=m.V5))   # a second CONNECT
d = drain.expect(m.DISCONNECT, timeout=5)
t.is_(d.rc, 0x82, "passive_client_disconnect: DISCONNECT 0x82 sent")
t.is_(drain.expect_none(1.0), [], "and the connection is left open for "
      "the client to close (nothing more is answered)")
live = p.client(port=q1, proto=m.V5, client_id="live209")
old3 = p.client(port=q1, client_id="v3-209")
p.send_signal(signal.SIGTERM)
t.is_(disconnect_of(live, 10)[:2], (True, 0x8B), "SIGTERM: DISCONNECT "
      "0x8B Server shutting down")
closed, got = old3.expect_closed(10)
t.ok(closed and got == [], "a 3.1.1 client is closed without a packet")
t.ok(drain.expect_closed(10)[0], "the draining connection is closed too")
p.wait_exit(15)
t.done()
