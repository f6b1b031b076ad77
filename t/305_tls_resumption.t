#!/usr/bin/python3
# 305: TLS session resumption works on any worker.  A session made with
# worker 0 resumes on worker 1 (TLS 1.3 and TLS 1.2 tickets: the ticket
# keys derive from a secret the master drew before forking), and after
# worker 1 is killed and respawned, on its replacement.  A session does
# not resume on a listener that verifies clients differently (its session
# context differs), so a client certificate requirement cannot be
# skipped by resuming.
import os
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import comqtt_only  # noqa: E402
from listeners import (Certs, StreamClient,  # noqa: E402
                       listener_broker, tls_context, tls_socket,
                       wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's TLS session tickets")
certs = Certs.server(t)
P = certs.path
b = listener_broker(t, [
    "{name: w0, type: tls, address: 127.0.0.1:{p0}, accept: handoff, "
    "worker: 0, %s}" % certs.tls_yaml(),
    "{name: w1, type: tls, address: 127.0.0.1:{p1}, accept: handoff, "
    "worker: 1, %s}" % certs.tls_yaml(),
    "{name: opt, type: tls, address: 127.0.0.1:{p2}, %s}"
    % certs.tls_yaml("client_certs: optional, ca_file: %s" % P("ca.crt"))],
    log_level="debug")
W0, W1, OPT = b.lp


def session_from(port, ctx):
    """A full handshake and an MQTT exchange (TLS 1.3 tickets come after
    the handshake); returns the session."""
    s = tls_socket(port, ctx)
    c = StreamClient(s)
    c.connect("resume-%d" % port)
    sess = s.session
    s.close()
    return sess


def resumes(port, ctx, sess, worker):
    off = b.log_offset()
    s = tls_socket(port, ctx, session=sess)
    c = StreamClient(s)
    c.connect("resumed-%d" % port)
    reused = s.session_reused
    local = s.getsockname()[1]
    s.close()
    lines = wait_log_count(b, r"worker %d: debug: TLS from 127\.0\.0\.1:%d"
                           % (worker, local), 1, off) if worker is not None \
        else []
    return reused, lines


for name, ctx in (("TLS 1.3", tls_context(P("ca.crt"))),
                  ("TLS 1.2", tls_context(
                      P("ca.crt"), maximum=ssl.TLSVersion.TLSv1_2))):
    sess = session_from(W0, ctx)
    t.ok(sess is not None and sess.has_ticket,
         "%s: worker 0 issues a session ticket" % name)
    reused, lines = resumes(W1, ctx, sess, 1)
    t.ok(reused, "%s: the session resumes on worker 1" % name)
    t.ok(lines and lines[0].endswith(", resumed"),
         "%s: worker 1 logs the resumption" % name)
    reused, _ = resumes(OPT, ctx, sess, None)
    t.ok(not reused, "%s: not on a listener that verifies clients "
         "differently" % name)

ctx = tls_context(P("ca.crt"))
sess = session_from(W0, ctx)
old, new = b.kill_worker(1)
t.ok(new is not None, "worker 1 is killed and respawned")
b.wait_ready()
reused, lines = resumes(W1, ctx, sess, 1)
t.ok(reused, "a session from before resumes on the respawned worker")
t.done()
