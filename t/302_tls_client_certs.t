#!/usr/bin/python3
# 302: client certificates (mTLS).  tls.client_certs: require lets in a
# client whose certificate the CA signed (mosquitto_pub --cert/--key) and
# refuses, each with one log line, a client without a certificate, one
# with an expired certificate and one signed by another CA; optional lets
# clients in with or without one.  tls.use_identity_as_username takes the
# username from the certificate -- its CN, or with identity: san its first
# subject alternative name -- and refuses a client without a certificate
# with CONNACK "not authorized".  Good clients are not disturbed.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import GoodTraffic, comqtt_only, run  # noqa: E402
from listeners import (Certs, StreamClient, WsSocket,  # noqa: E402
                       cert_dir, listener_broker, tls_client, tls_context,
                       tls_socket, wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's tls.client_certs")
d = cert_dir(t)
certs = Certs(d)
certs.issue("server", "localhost")
certs.issue("alice", "alice", client=True)
certs.issue("bob", "bob-cn", client=True, san="email:bob@example.org")
certs.issue("old", "old", client=True, not_before=-10, not_after=-1)
other = Certs(d, ca="other")
other.issue("mallory", "mallory", client=True)
P = certs.path
TLS = ("tls: {cert_file: %s, key_file: %s, ca_file: %s, client_certs: %%s}"
       % (P("server.crt"), P("server.key"), P("ca.crt")))
b = listener_broker(t, [
    "{name: req, type: tls, address: 127.0.0.1:{p0}, %s}"
    % (TLS % "require"),
    "{name: opt, type: tls, address: 127.0.0.1:{p1}, %s}"
    % (TLS % "optional, use_identity_as_username: true"),
    "{name: san, type: wss, address: 127.0.0.1:{p2}, %s}"
    % (TLS % "optional, use_identity_as_username: true, identity: san"),
    "{name: plainopt, type: tls, address: 127.0.0.1:{p3}, %s}"
    % (TLS % "optional")], log_level="debug")
REQ, OPT, SAN, PLAINOPT = b.lp
good = GoodTraffic(b, "good302")


def pub(port, *args):
    return run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                "--cafile", P("ca.crt"), "-t", "mtls", "-m", "x", "-q", "1"]
               + list(args), timeout=20)


def refused_with_one_line(what, port, regex, *args):
    off = b.log_offset()
    r = pub(port, *args)
    t.ok(r.returncode != 0, "require: %s is refused (%s)"
         % (what, (r.stderr or r.stdout).strip()[:60]))
    lines = wait_log_count(b, r"TLS handshake with .* failed", 1, off)
    t.ok(len(lines) == 1 and regex in lines[0],
         "one log line saying %r: %s" % (regex, (lines or ["none"])[0][-90:]))


r = pub(REQ, "--cert", P("alice.crt"), "--key", P("alice.key"))
t.is_(r.returncode, 0, "require: a client with a certificate of the CA "
      "publishes (mosquitto_pub --cert --key)")
refused_with_one_line("a client without a certificate", REQ,
                      "did not return a certificate")
refused_with_one_line("an expired certificate", REQ, "expired",
                      "--cert", P("old.crt"), "--key", P("old.key"))
refused_with_one_line("a certificate of another CA", REQ,
                      "certificate", "--cert", other.path("mallory.crt"),
                      "--key", other.path("mallory.key"))

ctx = tls_context(P("ca.crt"))
alice = tls_context(P("ca.crt"), P("alice.crt"), P("alice.key"))
c = tls_client(t, PLAINOPT, ctx, client_id="anon-302")
t.is_(c.connack.rc, 0, "optional: a client without a certificate gets in")
c = tls_client(t, PLAINOPT, alice, client_id="alice-302")
t.is_(c.connack.rc, 0, "optional: a client with one gets in")

off = b.log_offset()
c = tls_client(t, OPT, ctx)
ack = c.connect("nocert-302", expect_rc=None)
t.is_(ack.rc, 0x05, "use_identity_as_username without a certificate: "
      "CONNACK 5 (not authorized)")
t.ok(wait_log_count(b, r"nocert-302 .*refused: no client certificate", 1,
                    off), "logged: no client certificate to take the "
     "username from")
off = b.log_offset()
c = tls_client(t, OPT, alice, proto=mqttraw.V5, client_id="alice-opt-302",
               username="ignored")
t.is_(c.connack.rc, 0, "with a certificate: accepted")
t.ok(wait_log_count(b, r'certificate "alice"', 1, off),
     "its identity is the certificate's CN (\"alice\")")

off = b.log_offset()
bob = tls_context(P("ca.crt"), P("bob.crt"), P("bob.key"))
ws = WsSocket(SAN, tls=bob)
c = StreamClient(ws)
t.cleanup(c.close)
t.is_(c.connect("bob-302").rc, 0, "wss with identity: san: accepted")
t.ok(wait_log_count(b, r'certificate "bob@example.org"', 1, off),
     "its identity is the first subject alternative name")
s = tls_socket(SAN, ctx)
t.ok(s.version() in ("TLSv1.3", "TLSv1.2"), "a wss client may come "
     "without a certificate (optional)")
s.close()

good.check(t, "through the refusals")
t.done()
