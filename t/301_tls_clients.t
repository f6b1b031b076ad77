#!/usr/bin/python3
# 301: MQTT over TLS.  mosquitto_sub/mosquitto_pub with --cafile exchange
# messages through a tls listener, and with TCP clients; a raw MQTT 5
# client over TLS works; TLS 1.2 and 1.3 with the configured cipher list
# and suites; tls.min_version 1.3 refuses a TLS 1.2 client; a mount point
# applies over TLS.  Refused cleanly, each with one log line and without
# disturbing the good clients: a client that does not trust the server's
# CA, a plain MQTT client on the TLS port, a TLS client on the plain
# port; a client that never starts its handshake is closed after
# handshake_timeout.
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import GoodTraffic, comqtt_only, run  # noqa: E402
from listeners import (Certs, cert_dir, listener_broker,  # noqa: E402
                       log_lines, socket_closed, tls_client, tls_context,
                       tls_socket, wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's tls listeners")
d = cert_dir(t)
certs = Certs(d)
certs.issue("server", "localhost")
other = Certs(d, ca="other")
CA, OTHER = certs.path("ca.crt"), other.path("other.crt")
TLS = "tls: {cert_file: server.crt, key_file: server.key%s}"
b = listener_broker(t, [
    "{name: tls, type: tls, address: 127.0.0.1:{p0}, handshake_timeout: 2s, "
    "%s}" % (TLS % ""),
    "{name: tls13, type: tls, address: 127.0.0.1:{p1}, %s}"
    % (TLS % ", min_version: \"1.3\""),
    "{name: mounted, type: tls, address: 127.0.0.1:{p2}, "
    "mount_point: \"m/\", %s}" % (TLS % ""),
    "{name: ciphers, type: tls, address: 127.0.0.1:{p3}, %s}"
    % (TLS % ", ciphers: ECDHE-ECDSA-AES128-GCM-SHA256, "
       "ciphersuites: TLS_CHACHA20_POLY1305_SHA256")],
    # Beside the configuration, named relatively.
    files=[certs.path("server.crt"), certs.path("server.key")])
TLSP, TLS13, MOUNTED, CIPHERS = b.lp
good = GoodTraffic(b, "good301")
ctx = tls_context(CA)


def mosq(tool, port, *args, ca=CA):
    return run([tool, "-h", "127.0.0.1", "-p", str(port), "--cafile", ca,
                "-q", "1"] + list(args), timeout=20)


# -- mosquitto clients -------------------------------------------------
r = mosq("mosquitto_pub", TLSP, "-t", "tls/1", "-m", "over tls", "-r")
t.is_(r.returncode, 0, "mosquitto_pub --cafile publishes over TLS")
r = mosq("mosquitto_sub", TLSP, "-t", "tls/#", "-C", "1", "-W", "10", "-v")
t.is_(r.stdout.strip(), "tls/1 over tls",
      "mosquitto_sub --cafile receives it over TLS")

sub = b.client(client_id="tcp-sub-301")
sub.subscribe([("x/#", 1)])
r = mosq("mosquitto_pub", TLSP, "-t", "x/1", "-m", "tls to tcp")
t.is_([(p.topic, p.payload) for p in sub.collect(1, 5)],
      [("x/1", b"tls to tcp")], "a TCP subscriber gets a TLS publication")

# -- a raw MQTT 5 client over TLS ---------------------------------------
c5 = tls_client(t, TLSP, ctx, proto=mqttraw.V5, client_id="raw5-301")
t.is_(c5.connack.rc, 0, "MQTT 5 CONNECT over TLS is accepted")
c5.subscribe([("y/#", 1)])
pub = b.client(client_id="tcp-pub-301")
pub.publish("y/1", b"tcp to tls", qos=1)
t.is_([(p.topic, p.payload) for p in c5.collect(1, 5)],
      [("y/1", b"tcp to tls")], "a TLS subscriber gets a TCP publication")
big = bytes(range(256)) * 1024
c5.publish("y/big", big, qos=1)
got = c5.collect(1, 10)
t.ok(len(got) == 1 and got[0].payload == big,
     "a 256 KB message makes the round trip over TLS (many records)")

# -- versions and ciphers -----------------------------------------------
s = tls_socket(CIPHERS, tls_context(CA, maximum=ssl.TLSVersion.TLSv1_2))
t.is_((s.version(), s.cipher()[0]),
      ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
      "TLS 1.2 uses tls.ciphers")
s.close()
s = tls_socket(CIPHERS, ctx)
t.is_((s.version(), s.cipher()[0]),
      ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"),
      "TLS 1.3 uses tls.ciphersuites")
s.close()
c13 = tls_client(t, TLS13, ctx, client_id="v13-301")
t.is_(c13.sock.version(), "TLSv1.3", "a TLS 1.3 client gets in on tls13")
off = b.log_offset()
try:
    tls_socket(TLS13, tls_context(CA, maximum=ssl.TLSVersion.TLSv1_2))
    refused = False
except (ssl.SSLError, OSError):
    refused = True
t.ok(refused, "a TLS 1.2 client is refused by min_version 1.3")
t.is_(len(wait_log_count(b, r"TLS handshake with .* failed", 1, off)), 1,
      "with one log line")

# -- mount point ----------------------------------------------------------
m = tls_client(t, MOUNTED, ctx, client_id="mounted-301")
m.subscribe([("z", 1)])
pub.publish("m/z", b"under m/", qos=1)
t.is_([(p.topic, p.payload) for p in m.collect(1, 5)], [("z", b"under m/")],
      "a mounted TLS client sees m/z as z")

# -- refusals -------------------------------------------------------------
off = b.log_offset()
r = mosq("mosquitto_pub", TLSP, "-t", "bad", "-m", "x", ca=OTHER)
t.ok(r.returncode != 0, "a client trusting another CA gives up (%d: %s)"
     % (r.returncode, (r.stderr or r.stdout).strip()[:80]))
lines = wait_log_count(b, r"TLS handshake with .* failed", 1, off)
t.is_(len(lines), 1, "one log line: %s" % (lines[:1] or ["none"])[0][-90:])

off = b.log_offset()
raw = socket.create_connection(("127.0.0.1", TLSP), 5)
raw.sendall(mqttraw.connect("plain-on-tls"))
t.ok(socket_closed(raw, 5), "plain MQTT on the TLS port: closed")
port = raw.getsockname()[1]
lines = wait_log_count(b, r"TLS handshake with 127\.0\.0\.1:%d failed"
                       % port, 1, off)
t.is_(len(lines), 1, "one log line naming the client: %s"
      % (lines[:1] or ["none"])[0][-80:])
raw.close()

off = b.log_offset()
plain = socket.create_connection(("127.0.0.1", b.port), 5)
port = plain.getsockname()[1]
try:
    ctx.wrap_socket(plain).close()
    refused = False
except (ssl.SSLError, OSError):
    refused = True
t.ok(refused, "TLS on the plain port: the handshake fails")
lines = wait_log_count(b, r"\(127\.0\.0\.1:%d\): .*; closing" % port, 1, off)
t.is_(len(lines), 1, "one log line naming the client: %s"
      % (lines[:1] or ["none"])[0][-80:])
plain.close()

off = b.log_offset()
idle = socket.create_connection(("127.0.0.1", TLSP), 5)
t.ok(socket_closed(idle, 10), "a client that never starts its TLS "
     "handshake is closed")
t.ok(wait_log_count(b, r"TLS handshake not complete within 2 s", 1, off),
     "after handshake_timeout, with a log line")
idle.close()

good.check(t, "through the refusals")
t.is_(log_lines(b, r": (error|crit|alert): "), [], "no error in the log")
t.done()
