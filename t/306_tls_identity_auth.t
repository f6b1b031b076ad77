#!/usr/bin/python3
# 306: tls.use_identity_as_username with comqtt-authd.  The username
# authd is asked about, and the one its ACL questions carry, is the client
# certificate's identity, whatever CONNECT says: with a ledger that lets
# in only "alice" and lets alice publish only under alice/, a client with
# alice's certificate gets in whatever user name it sends and may publish
# to alice/..., not elsewhere; a client with bob's certificate is refused
# (as bob) even when it calls itself alice.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import comqtt_only  # noqa: E402
from listeners import (Certs, listener_broker, tls_client,  # noqa: E402
                       tls_context, wait_log_count)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's tls.use_identity_as_username with authd")
certs = Certs.server(t)
certs.issue("alice", "alice", client=True)
certs.issue("bob", "bob", client=True)
P = certs.path
ledger = certs.path("ledger.yml")
with open(ledger, "w") as f:
    f.write('auth:\n'
            '  - {client: "cqtest-probe-*", allow: true}\n'
            '  - {username: alice, allow: true}\n'
            '  - {client: "tcp-*", allow: true}\n'
            'acl:\n'
            '  - {username: alice, filters: {"alice/#": 3}}\n'
            '  - {client: "tcp-*", filters: {"#": 3}}\n')
b = listener_broker(t, [
    "{name: mtls, type: tls, address: 127.0.0.1:{p0}, %s}"
    % certs.tls_yaml("ca_file: %s, client_certs: require, "
                     "use_identity_as_username: true" % P("ca.crt"))],
    extra="data_dir: {dir}\nauth:\n  enabled: true\n"
          "  socket: {dir}/authd.sock\n  backends: [ledger]\n"
          "  ledger: {file: ledger.yml}\n",
    files=[ledger])
MTLS = b.lp[0]

watch = b.client(client_id="tcp-watch")
watch.subscribe([("#", 0)])
alice = tls_context(P("ca.crt"), P("alice.crt"), P("alice.key"))
bob = tls_context(P("ca.crt"), P("bob.crt"), P("bob.key"))

for proto, name in ((mqttraw.V311, "3.1.1"), (mqttraw.V5, "5")):
    c = tls_client(t, MTLS, alice, proto=proto)
    ack = c.connect("a-%d" % proto, expect_rc=None, username="mallory",
                    password=b"whatever")
    t.is_(ack.rc, 0, "MQTT %s: alice's certificate with the user name "
          "mallory: accepted as alice" % name)
    c.publish("alice/x", b"mine", qos=1)
    pub = c.publish("bob/x", b"not mine", qos=1)
    got = [m.topic for m in watch.collect(2, 3)]
    t.is_(got, ["alice/x"], "MQTT %s: alice may publish to alice/x, not "
          "to bob/x (ACL of user alice)" % name)
    if proto == mqttraw.V5:
        t.cmp_ok(pub.rc, ">=", 0x80, "MQTT 5: bob/x is refused in PUBACK")
    c.close()
    c = tls_client(t, MTLS, bob, proto=proto)
    ack = c.connect("b-%d" % proto, expect_rc=None, username="alice")
    # No ledger rule is about bob: "bad user name or password".
    t.is_(ack.rc, 0x86 if proto == mqttraw.V5 else 4,
          "MQTT %s: bob's certificate calling itself alice: refused"
          % name)
    c.close()
t.ok(wait_log_count(b, r'b-4.*refused', 1), "the refusal is logged")
t.done()
