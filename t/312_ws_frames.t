#!/usr/bin/python3
# 312: the WebSocket layer, byte by byte (RFC 6455, MQTT 5.0 section 6).
# The upgrade answers 101 with the right Sec-WebSocket-Accept and the
# subprotocol: mqtt when offered, mqttv3.1 for MQTT 3.1 clients, none
# when none was asked for; a list without either is refused (400).  MQTT
# packets may be split across frames and combined within one; a message
# may be fragmented, with a ping in between (answered with a pong carrying
# its payload); frames that arrive with the upgrade request are not lost;
# the broker sends unmasked binary frames; a close frame is answered with
# a close frame and the connection ends.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import comqtt_only  # noqa: E402
from listeners import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING,  # noqa: E402
                       OP_PONG, StreamClient, WsSocket, close_status,
                       http_exchange, listener_broker, socket_closed,
                       upgrade_request, ws_frame)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's ws listener")
b = listener_broker(t, ["{name: ws, type: ws, address: 127.0.0.1:{p0}}"])
WS = b.lp[0]

# -- the upgrade ------------------------------------------------------------
for offered, answered in (("mqtt", "mqtt"), ("mqttv3.1", "mqttv3.1"),
                          ("mqttv3.1, mqtt", "mqtt"), (None, None)):
    ws = WsSocket(WS, protocol=offered)
    t.ok(ws.accept_ok(), "101 with the right Sec-WebSocket-Accept "
         "(offered %s)" % offered)
    has = "Sec-WebSocket-Protocol: %s\r\n" % answered in ws.head + "\r\n"
    t.ok(has if answered else "Sec-WebSocket-Protocol" not in ws.head,
         "subprotocol answered: %s" % answered)
    c = StreamClient(ws)
    t.is_(c.connect("proto-312").rc, 0, "MQTT works after it")
    c.close()
status, head, rest, s = http_exchange(WS, upgrade_request(protocol="foo"))
t.is_(status, 400, "a subprotocol list without mqtt is refused with 400")
s.close()

# -- packets and frames -----------------------------------------------------
sub = b.client(client_id="tcp-sub-312")
sub.subscribe([("f/#", 1)])

ws = WsSocket(WS)
c = StreamClient(ws)
pkt = mqttraw.connect("split-312")
for i in range(len(pkt)):  # one byte per frame
    ws.send_raw(ws_frame(OP_BINARY, pkt[i:i + 1]))
t.is_(c.expect(mqttraw.CONNACK).rc, 0,
      "a CONNECT split over %d frames is accepted" % len(pkt))
both = (mqttraw.subscribe(1, [("f/#", 1)]) +
        mqttraw.publish("f/combined", b"two in one", qos=1, pid=2))
ws.send_raw(ws_frame(OP_BINARY, both))
acks = [c.recv_packet(5), c.recv_packet(5), c.recv_packet(5)]
types = sorted(p.type for p in acks if p is not None)
t.is_(types, sorted([mqttraw.SUBACK, mqttraw.PUBACK, mqttraw.PUBLISH]),
      "SUBSCRIBE and PUBLISH in one frame: SUBACK, PUBACK and the "
      "delivery")
t.is_([m.payload for m in sub.collect(1, 5)], [b"two in one"],
      "the TCP subscriber gets it too")

# A fragmented message with a ping in the middle.
p = mqttraw.publish("f/fragmented", b"x" * 300, qos=0)
ws.send_raw(ws_frame(OP_BINARY, p[:100], fin=False))
ws.send_raw(ws_frame(OP_PING, b"are you there"))
ws.send_raw(ws_frame(OP_CONT, p[100:200], fin=False))
ws.send_raw(ws_frame(OP_CONT, p[200:], fin=True))
t.is_(ws.wait_control(OP_PONG), b"are you there",
      "a ping inside a fragmented message is answered with its payload")
got = sub.collect(1, 5)
t.is_([(m.topic, len(m.payload)) for m in got], [("f/fragmented", 300)],
      "the fragmented message is one PUBLISH")
big = os.urandom(200000)
c.publish("f/big", big, qos=1)
got = [m for m in c.collect(2, 10) if m.topic == "f/big"]
t.ok(got and got[0].payload == big, "a 200 KB message goes out and "
     "comes back over WebSocket (several frames)")

# Frames sent together with the upgrade request.
ws2 = WsSocket(WS, request=upgrade_request() + ws_frame(
    OP_BINARY, mqttraw.connect("eager-312")))
c2 = StreamClient(ws2)
t.is_(ws2.status, 101, "upgrade with a frame in the same segment: 101")
t.is_(c2.expect(mqttraw.CONNACK).rc, 0, "and the frame's CONNECT is read")

# The close handshake.
ws.send_raw(ws_frame(OP_CLOSE, b"\x03\xe8bye"))
t.is_(close_status(ws.wait_control(OP_CLOSE)), 1000,
      "a close frame is answered with close 1000")
t.ok(socket_closed(ws.sock, 5), "and the connection ends")
t.done()
