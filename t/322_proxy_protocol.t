#!/usr/bin/python3
# 322: where a client really is.  With proxy_protocol: true a connection
# opens with a PROXY header, v1 (text) or v2 (binary), for IPv4 or IPv6,
# also split into pieces, also before TLS; the address it names is the
# client's (logs, the loopback rule: a remote address is refused without
# allow_remote), and LOCAL/UNKNOWN headers keep the socket's.  A missing,
# garbled, truncated, overlong or unfinished header closes the connection
# with one log line; with trusted_proxies only those proxies may connect.
# On WebSocket, X-Forwarded-For names the client only when the peer is a
# trusted proxy.
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import comqtt_only  # noqa: E402
from listeners import (Certs, StreamClient, WsSocket,  # noqa
                       listener_broker, socket_closed, tls_context,
                       upgrade_request, wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's proxy_protocol")
certs = Certs.server(t)
b = listener_broker(t, [
    "{name: proxied, address: 127.0.0.1:{p0}, proxy_protocol: true, "
    "allow_remote: true, handshake_timeout: 2s}",
    "{name: strict, address: 127.0.0.1:{p1}, proxy_protocol: true, "
    "trusted_proxies: [10.9.9.9, \"192.0.2.0/24\"]}",
    "{name: ptls, type: tls, address: 127.0.0.1:{p2}, proxy_protocol: "
    "true, allow_remote: true, %s}" % certs.tls_yaml(),
    "{name: wsproxy, type: ws, address: 127.0.0.1:{p3}, allow_remote: "
    "true, trusted_proxies: [127.0.0.1]}",
    "{name: wsplain, type: ws, address: 127.0.0.1:{p4}}",
    "{name: local, address: 127.0.0.1:{p5}, proxy_protocol: true}"],
    log_level="debug")
PROXIED, STRICT, PTLS, WSPROXY, WSPLAIN, LOCAL = b.lp
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(cmd, fam, addrs, tlv=b""):
    body = addrs + tlv
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) \
        + body


def v2_inet(src, sport, dst="192.0.2.1", dport=1883, tlv=b""):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst) +
              struct.pack("!HH", sport, dport), tlv)


def v2_inet6(src, sport):
    return v2(1, 0x21, socket.inet_pton(socket.AF_INET6, src) +
              socket.inet_pton(socket.AF_INET6, "2001:db8::1") +
              struct.pack("!HH", sport, 1883))


def proxied(port, header, cid, pieces=1, expect_rc=0):
    s = socket.create_connection(("127.0.0.1", port), 5)
    data = header + mqttraw.connect(cid)
    step = max(1, len(header) // pieces) if pieces > 1 else len(data)
    for i in range(0, len(data), step):
        s.sendall(data[i:i + step])
        if pieces > 1:
            time.sleep(0.01)
    c = StreamClient(s)
    t.cleanup(c.close)
    try:
        return c.expect(mqttraw.CONNACK).rc
    except (mqttraw.MqttError, OSError):
        return None


def connected_from(cid, addr, off):
    """The log line of cid's CONNECT names addr (any port if addr ends
    with ':')."""
    rx = addr.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")
    if rx.endswith(":"):
        rx += r"\d+"
    return wait_log_count(b, r"client %s connected from %s " % (cid, rx), 1,
                          off)


cases = [
    ("v1 TCP4", b"PROXY TCP4 203.0.113.7 192.0.2.1 4567 1883\r\n",
     "203.0.113.7:4567", 1),
    ("v1 TCP6", b"PROXY TCP6 2001:db8::7 2001:db8::1 4568 1883\r\n",
     "[2001:db8::7]:4568", 1),
    ("v1 UNKNOWN", b"PROXY UNKNOWN\r\n", "127.0.0.1:", 1),
    ("v2 IPv4 with TLVs", v2_inet("198.51.100.4", 4569,
                                  tlv=b"\x01\x00\x02h2"),
     "198.51.100.4:4569", 1),
    ("v2 IPv6", v2_inet6("2001:db8::9", 4570), "[2001:db8::9]:4570", 1),
    ("v2 LOCAL", v2(0, 0x00, b""), "127.0.0.1:", 1),
    ("v1 in pieces", b"PROXY TCP4 203.0.113.8 192.0.2.1 4571 1883\r\n",
     "203.0.113.8:4571", 9),
    ("v2 in pieces", v2_inet("203.0.113.9", 4572), "203.0.113.9:4572", 7),
]
for i, (what, header, addr, pieces) in enumerate(cases):
    off = b.log_offset()
    cid = "proxy-%d" % i
    t.is_(proxied(PROXIED, header, cid, pieces), 0, "%s: accepted" % what)
    t.ok(connected_from(cid, addr, off), "%s: the client is %s" % (what,
                                                                  addr))

bad = [
    ("no header", b"", "not a PROXY header"),
    ("a garbled v1", b"PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n",
     "PROXY v1: unknown protocol"),
    ("a v1 with a bad address", b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
     "PROXY v1: bad address"),
    ("a v1 without CRLF", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
     "does not end in CRLF"),
    ("an overlong v1", b"PROXY TCP4 " + b"1" * 120 + b"\r\n",
     "longer than 107 bytes"),
    ("a v2 of another version", SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12,
     "unknown version"),
    ("a v2 with a short address block", v2(1, 0x11, b"\x01\x02\x03\x04"),
     "addresses cut short"),
]
for what, header, why in bad:
    off = b.log_offset()
    s = socket.create_connection(("127.0.0.1", PROXIED), 5)
    port = s.getsockname()[1]
    s.sendall(header + mqttraw.connect("bad"))
    t.ok(socket_closed(s, 5), "%s: closed" % what)
    lines = wait_log_count(b, r"connection from 127\.0\.0\.1:%d: .*%s"
                           % (port, why), 1, off)
    t.is_(len(lines), 1, "%s: one log line (%s)" % (what, why))
    s.close()

def closed_with_line(port, data, what, regex, end=False, timeout=5):
    """Send data (then EOF if end): the broker closes the connection
    and logs a line matching regex."""
    off = b.log_offset()
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(data)
    if end:
        s.shutdown(socket.SHUT_WR)
    t.ok(socket_closed(s, timeout), what)
    t.ok(wait_log_count(b, regex, 1, off), "with a log line")
    s.close()


closed_with_line(PROXIED, v2_inet("203.0.113.1", 1)[:20],
                 "a truncated v2 header, then EOF: closed",
                 r"closed inside the PROXY header", end=True)
closed_with_line(PROXIED, b"PROXY TCP4 203.0.113.1 ",
                 "an unfinished header is closed after handshake_timeout",
                 r"PROXY header not complete within 2 s", timeout=10)
closed_with_line(STRICT, b"PROXY TCP4 203.0.113.7 192.0.2.1 4567 1883\r\n",
                 "trusted_proxies: a peer not listed is closed",
                 r"on \"strict\": not a trusted proxy")

# The header's address is the one the access rules see.
t.is_(proxied(LOCAL, b"PROXY TCP4 203.0.113.7 192.0.2.1 1 2\r\n", "rem"),
      5, "a remote address from the header is refused (no allow_remote)")
t.is_(proxied(LOCAL, v2(0, 0, b""), "loc"), 0,
      "a LOCAL header keeps the loopback address: accepted")

# PROXY then TLS.
off = b.log_offset()
raw = socket.create_connection(("127.0.0.1", PTLS), 5)
raw.sendall(b"PROXY TCP4 203.0.113.20 192.0.2.1 4600 8883\r\n")
c = StreamClient(tls_context(certs.path("ca.crt")).wrap_socket(raw))
t.cleanup(c.close)
t.is_(c.connect("ptls").rc, 0, "a PROXY header before TLS: accepted")
t.ok(connected_from("ptls", "203.0.113.20:4600", off),
     "the TLS client is 203.0.113.20")

# X-Forwarded-For.
for port, xff, cid, addr in (
        (WSPROXY, "198.51.100.7", "xff1", "198.51.100.7:0"),
        (WSPROXY, "198.51.100.8, 127.0.0.1", "xff2", "198.51.100.8:0"),
        (WSPLAIN, "198.51.100.9", "xff3", "127.0.0.1:")):
    off = b.log_offset()
    ws = WsSocket(port, request=upgrade_request(
        extra="X-Forwarded-For: %s\r\n" % xff))
    c = StreamClient(ws)
    t.cleanup(c.close)
    t.is_(c.connect(cid).rc, 0, "WebSocket with X-Forwarded-For %s: "
          "accepted" % xff)
    t.ok(connected_from(cid, addr, off), "the client is %s (%s)"
         % (addr, "trusted proxy" if port == WSPROXY else
            "not a trusted proxy: header ignored"))
t.done()
