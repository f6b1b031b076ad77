#!/usr/bin/python3
# 321: listeners[].rate_limit, a token bucket of new connections per
# source address.  With rate_limit 1 and rate_burst 3 an address gets
# three connections at once and the fourth is closed before any MQTT (one
# log line); another address has its own bucket; a listener without a
# limit is not affected; tokens come back with time.  On a TLS listener
# the refusal comes before the TLS handshake.
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import comqtt_only, wait_until  # noqa: E402
from listeners import (Certs, StreamClient, listener_broker,  # noqa
                       log_lines, tls_context, wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's rate_limit")
certs = Certs.server(t)
b = listener_broker(t, [
    "{name: limited, address: 127.0.0.1:{p0}, rate_limit: 1, "
    "rate_burst: 3}",
    "{name: free, address: 127.0.0.1:{p1}}",
    "{name: tlslim, type: tls, address: 127.0.0.1:{p2}, rate_limit: 1, "
    "rate_burst: 1, %s}" % certs.tls_yaml()])
LIM, FREE, TLSLIM = b.lp


def client(port, source="127.0.0.1"):
    s = socket.socket()
    s.settimeout(5)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    c = StreamClient(s)
    t.cleanup(c.close)
    return c


def accepted(c, cid):
    try:
        return c.connect(cid).rc == 0
    except (mqttraw.Closed, OSError):
        return False


off = b.log_offset()
ok = [accepted(client(LIM), "lim-%d" % i) for i in range(3)]
t.is_(ok, [True] * 3, "rate_burst 3: three connections at once get in")
c = client(LIM)
port = c.sock.getsockname()[1]
t.ok(not accepted(c, "lim-4"), "the fourth is closed without CONNACK")
lines = wait_log_count(b, r"connection from 127\.0\.0\.1:%d on \"limited\": "
                       r"over rate_limit" % port, 1, off)
t.is_(len(lines), 1, "with one log line")
t.ok(accepted(client(LIM, "127.0.0.2"), "other-addr"),
     "another address has its own bucket")
t.is_([accepted(client(FREE), "free-%d" % i) for i in range(5)], [True] * 5,
      "a listener without rate_limit is not affected")
t.ok(wait_until(lambda: accepted(client(LIM), "later"), 10, 0.3),
     "after a while the address gets a token back")

off = b.log_offset()
ctx = tls_context(certs.path("ca.crt"))
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", TLSLIM), 5))
s.close()
refused = False
try:
    ctx.wrap_socket(socket.create_connection(("127.0.0.1", TLSLIM), 5))
except (ssl.SSLError, OSError):
    refused = True
t.ok(refused, "TLS: the second connection of the burst is refused")
t.ok(wait_log_count(b, r"on \"tlslim\": over rate_limit", 1, off),
     "logged as over rate_limit")
t.is_(log_lines(b, r"TLS handshake with .* failed", off), [],
      "before its TLS handshake")
t.done()
