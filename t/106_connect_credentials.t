#!/usr/bin/python3
# 106: user name and password flags of CONNECT (the broker runs with
# anonymous access allowed, so credentials are accepted as given).
#   [MQTT-3.1.2-22] 3.1.1: password flag without user name flag: refused
#   [MQTT-3.1.2-19] [MQTT-3.1.2-21] a flag set: the field must be present
#   [MQTT-1.5.3-1] [MQTT-1.5.3-2] the user name is well-formed UTF-8
#     without U+0000
#   5.0 allows a password without a user name (3.1.2.9)
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)


def hdr(proto, flags):
    return m.utf8("MQTT") + bytes([proto, flags]) + m.u16(60) + \
        (b"\x00" if proto == m.V5 else b"")


for name, pkt in [
        ("3.1.1: password without user name [MQTT-3.1.2-22]",
         m.connect("c1", password=b"secret")),
        ("3.1.1: user name flag without a user name [MQTT-3.1.2-19]",
         m.packet(m.CONNECT, 0, hdr(4, 0x82) + m.utf8("c2"))),
        ("3.1.1: password flag without a password [MQTT-3.1.2-21]",
         m.packet(m.CONNECT, 0, hdr(4, 0xC2) + m.utf8("c3") +
                  m.utf8("user"))),
        ("3.1.1: user name with invalid UTF-8 [MQTT-1.5.3-1]",
         m.packet(m.CONNECT, 0, hdr(4, 0x82) + m.utf8("c4") +
                  m.u16(2) + b"\xc0\x80")),
        ("3.1.1: user name with U+0000 [MQTT-1.5.3-2]",
         m.packet(m.CONNECT, 0, hdr(4, 0x82) + m.utf8("c5") +
                  m.u16(3) + b"a\x00b")),
        ("3.1.1: client id with invalid UTF-8 [MQTT-1.5.3-1]",
         m.packet(m.CONNECT, 0, hdr(4, 0x02) + m.u16(2) + b"\xff\xfe")),
        ("5.0: user name flag without a user name [MQTT-3.1.2-17]",
         m.packet(m.CONNECT, 0, hdr(5, 0x82) + m.utf8("c6")))]:
    c = b.client()
    c.send(pkt)
    refused, got = m.wait_closed_or_refused(c)
    t.ok(refused, "%s: refused and closed (%r)" % (name, got))

for proto, kw, what in [
        (m.V311, dict(username="user"), "3.1.1: user name only"),
        (m.V311, dict(username="user", password=b"pw"),
         "3.1.1: user name and password"),
        (m.V311, dict(username="", password=b""),
         "3.1.1: empty user name and password"),
        (m.V31, dict(username="user", password=b"pw"),
         "3.1: user name and password"),
        (m.V5, dict(username="user", password=b"pw"),
         "5.0: user name and password"),
        (m.V5, dict(password=b"pw"),
         "5.0: password without user name (allowed by 5.0)")]:
    c = b.client(proto=proto)
    t.is_(c.connect("cred%d" % proto, expect_rc=None, **kw).rc, 0,
          "%s: accepted" % what)
    c.disconnect()
t.done()
