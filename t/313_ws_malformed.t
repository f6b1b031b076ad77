#!/usr/bin/python3
# 313: malformed input at the WebSocket edge.  Each bad upgrade request is
# answered with its status and closed -- missing or bad key (400), version
# other than 13 (426), another path (404), not GET (405), plain HTTP
# (426), HTTP/1.0 (400), binary garbage (400), a bare LF (400), a head
# over max_header_size (431) -- and a request that never ends is closed
# after handshake_timeout.  After the upgrade, an unmasked client frame or
# a reserved opcode or reserved bits get close 1002, a frame over
# max_frame_size close 1009, a text frame close 1003, and MQTT that does
# not start with CONNECT is closed by the MQTT layer.  Every case is one
# log line naming the client; the good clients (TCP and WebSocket) are not
# disturbed.
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import GoodTraffic, comqtt_only  # noqa: E402
from listeners import (OP_BINARY, OP_CLOSE, OP_TEXT, StreamClient,  # noqa
                       WsSocket, close_status, http_exchange,
                       listener_broker, log_lines, socket_closed,
                       upgrade_request, wait_log_count, ws_frame)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's ws listener")
b = listener_broker(t, [
    "{name: ws, type: ws, address: 127.0.0.1:{p0}, max_frame_size: 1K, "
    "max_header_size: 1K, handshake_timeout: 2s}"])
WS = b.lp[0]
good = GoodTraffic(b, "good313")
gws = StreamClient(WsSocket(WS))
t.cleanup(gws.close)
gws.connect("good-ws-313")
gws.subscribe([("good313/traffic", 0)])

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
cases = [
    ("no Sec-WebSocket-Key", upgrade_request(key="x")
     .replace(b"Sec-WebSocket-Key: x\r\n", b""), 400),
    ("a short key", upgrade_request(key="c2hvcnQ="), 400),
    ("version 8", upgrade_request(version="8"), 426),
    ("another path", upgrade_request(path="/other"), 404),
    ("POST", upgrade_request().replace(b"GET ", b"POST "), 405),
    ("plain HTTP", b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", 426),
    ("HTTP/1.0", upgrade_request().replace(b"HTTP/1.1", b"HTTP/1.0"), 400),
    ("binary garbage", mqttraw.connect("garbage"), 400),
    ("a bare LF", b"GET /mqtt HTTP/1.1\nHost: x\n\n", 400),
    ("a head over max_header_size", upgrade_request(
        extra="X-Big: %s\r\n" % ("y" * 2000)), 431),
]
for what, req, want in cases:
    off = b.log_offset()
    s = socket.create_connection(("127.0.0.1", WS), 5)
    port = s.getsockname()[1]
    status, head, rest, s = http_exchange(WS, req, 5, s)
    t.is_(status, want, "%s: answered %d" % (what, want))
    t.ok(socket_closed(s, 5), "%s: and closed" % what)
    lines = wait_log_count(b, r"WebSocket upgrade from 127\.0\.0\.1:%d "
                           r"refused \(%d " % (port, want), 1, off)
    t.is_(len(lines), 1, "%s: one log line" % what)
    s.close()

off = b.log_offset()
s = socket.create_connection(("127.0.0.1", WS), 5)
s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n")
t.ok(socket_closed(s, 10), "an upgrade request that never ends is closed")
t.ok(wait_log_count(b, r"WebSocket upgrade not complete within 2 s", 1,
                    off), "after handshake_timeout, with a log line")
s.close()


def after_upgrade(what, data, want):
    off = b.log_offset()
    ws = WsSocket(WS)
    port = ws.getsockname()[1]
    c = StreamClient(ws)
    if want != "mqtt":
        c.connect("bad-%d" % port)
    ws.send_raw(data)
    if want == "mqtt":
        t.ok(socket_closed(ws.sock, 5), "%s: closed" % what)
        regex = r"\(127\.0\.0\.1:%d\): first packet is not CONNECT" % port
    else:
        t.is_(close_status(ws.wait_control(OP_CLOSE)), want,
              "%s: close %d" % (what, want))
        t.ok(socket_closed(ws.sock, 5), "%s: and the connection ends" % what)
        regex = r"\(127\.0\.0\.1:%d\): WebSocket .* closing with %d" % (
            port, want)
    lines = wait_log_count(b, regex, 1, off)
    t.is_(len(lines), 1, "%s: one log line: %s"
          % (what, (lines or ["none"])[0][-70:]))
    ws.close()


pub = mqttraw.publish("t", b"x")
after_upgrade("an unmasked frame", ws_frame(OP_BINARY, pub, mask=False),
              1002)
after_upgrade("a frame over max_frame_size",
              ws_frame(OP_BINARY, b"z" * 4096)[:200], 1009)
after_upgrade("a text frame", ws_frame(OP_TEXT, b"hello"), 1003)
after_upgrade("a reserved opcode", ws_frame(0x3, b"abc"), 1002)
after_upgrade("reserved bits", ws_frame(OP_BINARY, pub, rsv=4), 1002)
after_upgrade("garbage bytes", b"\xff" * 16, 1002)
after_upgrade("MQTT that does not start with CONNECT",
              ws_frame(OP_BINARY, mqttraw.pingreq()), "mqtt")

gws.send(mqttraw.pingreq())
t.ok(gws.expect(mqttraw.PINGRESP, timeout=5, stash=True) is not None,
     "the good WebSocket client is still served")
t.ok(len(gws.collect(5, 5)) > 0,
     "and keeps receiving the good traffic")
good.check(t, "through the malformed WebSocket input")
t.is_(log_lines(b, r": (error|crit|alert): "), [], "no error in the log")
t.done()
