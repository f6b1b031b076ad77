#!/usr/bin/python3
# 303: certificates are reloaded on SIGHUP without dropping anyone.  With
# a new certificate in place of the old, a SIGHUP makes new connections
# see the new one while a client connected before keeps its session and
# keeps publishing and receiving.  A reload with bad files -- a key that
# does not match, an expired certificate, a missing file -- keeps the
# previous certificate and says why in one line of the master's log.
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import comqtt_only, wait_until  # noqa: E402
from listeners import (Certs, cert_dir, listener_broker, log_lines,  # noqa
                       peer_cn, start_broker, tls_client, tls_context,
                       wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's certificate reload")
d = cert_dir(t)
certs = Certs(d)
for name in ("one", "two", "three"):
    certs.issue(name, name)
certs.issue("old", "old", not_before=-10, not_after=-1)
CA = certs.path("ca.crt")
b = listener_broker(t, [
    "{name: tls, type: tls, address: 127.0.0.1:{p0}, tls: "
    "{cert_file: server.crt, key_file: server.key}}",
    "{name: wss, type: wss, address: 127.0.0.1:{p1}, tls: "
    "{cert_file: server.crt, key_file: server.key}}"], start=False)


def install(cert, key):
    """Put a certificate and key in place as a deployment would: new
    files renamed over the old ones."""
    for src, dst in ((cert, "server.crt"), (key, "server.key")):
        tmp = os.path.join(b.dir.path, dst + ".new")
        shutil.copy(certs.path(src), tmp)
        os.rename(tmp, os.path.join(b.dir.path, dst))


install("one.crt", "one.key")
start_broker(b)
TLSP, WSS = b.lp
t.is_(peer_cn(TLSP, CA), "one", "the listener presents certificate one")

ctx = tls_context(CA)
old = tls_client(t, TLSP, ctx, client_id="before-303")
old.subscribe([("r/#", 1)])
tcp = b.client(client_id="tcp-303")
tcp.subscribe([("s/#", 1)])


def still_works(what):
    tcp.publish("r/x", what.encode(), qos=1)
    got = old.collect(1, 5)
    t.is_([p.payload for p in got], [what.encode()],
          "%s: the client connected before still receives" % what)
    old.publish("s/x", what.encode(), qos=1)
    got = tcp.collect(1, 5)
    t.is_([p.payload for p in got], [what.encode()],
          "%s: and still publishes" % what)


install("two.crt", "two.key")
b.send_signal(signal.SIGHUP)
t.ok(wait_until(lambda: peer_cn(TLSP, CA) == "two", 10),
     "after SIGHUP new connections see certificate two")
t.ok(wait_until(lambda: peer_cn(WSS, CA) == "two", 10),
     "on the wss listener too")
still_works("after the reload")

for what, cert, key, why in (
        ("a key that does not match", "three.crt", "one.key",
         "does not match"),
        ("an expired certificate", "old.crt", "old.key", "expired on"),
        ("a missing file", None, None, "cannot open")):
    off = b.log_offset()
    if cert:
        install(cert, key)
    else:
        os.unlink(os.path.join(b.dir.path, "server.crt"))
    b.send_signal(signal.SIGHUP)
    lines = wait_log_count(b, r"master: error: reload: listener \"tls\": .*"
                           "keeping the previous TLS certificate", 1, off)
    t.ok(len(lines) == 1 and why in lines[0],
         "reload with %s: one line says why (%s)"
         % (what, (lines or ["none"])[0][60:150]))
    t.is_(len(wait_log_count(b, r"worker \d: info: reload: listener "
                             r"\"tls\": .*keeping the previous", 2, off)),
          2, "each worker keeps its previous context too")
    t.is_(peer_cn(TLSP, CA), "two", "and new connections still get two")
    still_works("after a reload with %s" % what)

t.is_(log_lines(b, r"master: (crit|alert)"), [], "no crit line")
t.done()
