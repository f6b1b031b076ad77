#!/usr/bin/python3
# 608: the admin listener over TLS.  admin.tls takes the keys of a tls
# listener's tls: map and its context is built by the listeners' code:
# HTTPS with a certificate the client verifies; plain HTTP on it gets
# nothing; min_version 1.3 refuses a TLS 1.2 client and 1.2 accepts it;
# comqttctl --tls with --cacert (and -k) talks to it and fails to verify
# without; client_certs: require refuses a client without a certificate
# and serves one with it (comqttctl --cert/--key), the token still asked
# for; file names relative to the configuration's directory; SIGHUP reads
# the files again (a renewed certificate is served to new connections, a
# bad file keeps the previous one and says why); a certificate that does
# not load stops comqttd at start and fails comqttd -t, naming the admin,
# the key and the file; cert_file without key_file, and
# use_identity_as_username, are configuration errors.
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api, comqttctl  # noqa: E402
from cqtest import (Broker, TempDir, binary, comqtt_only,  # noqa: E402
                    free_ports, wait_until)
from listeners import Certs, peer_cn, tls_context  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
certs = Certs.server(t)
CA = certs.path("ca.crt")
CERT, KEY = certs.path("server.crt"), certs.path("server.key")


def served_cn(b):
    """The common name of the certificate the admin listener presents."""
    try:
        return peer_cn(int(b.admin["address"].rsplit(":", 1)[1]), CA)
    except (ssl.SSLError, OSError):
        return None


# ---- HTTPS, versions, comqttctl ------------------------------------------
for minv, tls12_ok in (("1.2", True), ("1.3", False)):
    b = Broker(t, admin={"tls": {"cert_file": CERT, "key_file": KEY,
                                 "min_version": minv}})
    api = Api(b, tls_context=tls_context(CA))
    r = api.get(API + "/stat/online")
    t.ok(r.status == 200 and isinstance(r.json, int),
         "min_version %s: HTTPS with a verified certificate" % minv)
    t.ok("HTTPS" in b.log_text(), "the master logs the listener as HTTPS")
    tls12 = Api(b, tls_context=tls_context(
        CA, maximum=ssl.TLSVersion.TLSv1_2))
    try:
        ok = tls12.get(API + "/stat/online").status == 200
    except (ssl.SSLError, OSError):
        ok = False
    t.is_(ok, tls12_ok, "min_version %s: a TLS 1.2 client is %s" % (
        minv, "served" if tls12_ok else "refused"))
    if minv == "1.3":
        b.stop()
        break
    host, port = b.admin["address"].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"GET /api/v1/mqtt/stat/online HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    t.ok(not data.startswith(b"HTTP/1.1 200"), "plain HTTP gets no answer")
    r = comqttctl(b, "--tls", "--cacert", CA, "status")
    t.ok(r.returncode == 0 and "connected" in r.stdout,
         "comqttctl --tls --cacert")
    r = comqttctl(b, "--tls", "-k", "clients")
    t.is_(r.returncode, 0, "comqttctl --tls -k (no verification)")
    r = comqttctl(b, "--tls", "status")
    t.ok(r.returncode == 2, "comqttctl --tls without the CA: exit 2 "
         "(%s)" % r.stderr.strip()[:80])
    conf = b.dir.file("tls.conf", "tls = yes\ncacert = %s\n" % CA)
    t.is_(comqttctl(b, "-c", conf, "status").returncode, 0,
          "tls and cacert from a settings file")
    b.stop()

# ---- client certificates -------------------------------------------------
ccert, ckey = certs.issue("operator", "operator", client=True)
b = Broker(t, admin={"tls": {"cert_file": CERT, "key_file": KEY,
                             "ca_file": CA, "client_certs": "require"}})
r = Api(b, tls_context=tls_context(CA, ccert, ckey)).get(API + "/stat/online")
t.is_(r.status, 200, "client_certs: require: a client with a certificate "
      "signed by ca_file is served")
try:
    ok = Api(b, tls_context=tls_context(CA)).get(API + "/stat/online")
    ok = ok.status == 200
except (ssl.SSLError, OSError):
    ok = False
t.ok(not ok, "a client without a certificate is refused in the handshake")
r = comqttctl(b, "--tls", "--cacert", CA, "--cert", ccert, "--key", ckey,
              "status")
t.ok(r.returncode == 0 and "connected" in r.stdout,
     "comqttctl --cert --key (%s)" % r.stderr.strip()[:80])
r = comqttctl(b, "--tls", "--cacert", CA, "status")
t.is_(r.returncode, 2, "comqttctl without --cert: exit 2")
r = comqttctl(b, "--tls", "--cacert", CA, "--cert", ccert, "--key", ckey,
              "status", token="wrong")
t.is_(r.returncode, 4, "a certificate is no token: a wrong one gets exit 4")
conf = b.dir.file("cert.conf", "tls = yes\ncacert = %s\ncert = %s\n"
                  "key = %s\n" % (CA, ccert, ckey))
t.is_(comqttctl(b, "-c", conf, "status").returncode, 0,
      "cert and key from a settings file")
b.stop()

# ---- relative names, SIGHUP reload ---------------------------------------
b = Broker(t, start=False, admin={"tls": {"cert_file": "admin.crt",
                                          "key_file": "admin.key"}})
shutil.copy(CERT, b.dir.file("admin.crt"))
shutil.copy(KEY, b.dir.file("admin.key"))
b.start()
ctx = tls_context(CA)
t.is_(served_cn(b), "localhost",
      "file names relative to the configuration's directory")
new_cert, new_key = certs.issue("renewed", "renewed.localhost")
shutil.copy(new_cert, b.dir.file("admin.crt"))
shutil.copy(new_key, b.dir.file("admin.key"))
b.send_signal(signal.SIGHUP)
t.ok(wait_until(lambda: served_cn(b) == "renewed.localhost", 10),
     "SIGHUP: new connections get the renewed certificate")
t.is_(Api(b, tls_context=ctx).get(API + "/stat/online").status, 200,
      "and are served")
with open(b.dir.file("admin.crt"), "w") as f:
    f.write("not a certificate\n")
r = Api(b, tls_context=ctx).post(API + "/reload")
t.is_(r.status, 202, "POST /reload with a broken certificate file")
t.ok(wait_until(lambda: "keeping the previous TLS certificate" in
                b.log_text(), 10),
     "the admin says why it keeps its certificate")
t.ok("admin: tls.cert_file" in b.log_text(),
     "naming the admin and the key")
t.is_(served_cn(b), "renewed.localhost", "and keeps serving it")
b.stop()

# ---- configuration errors ------------------------------------------------
d = TempDir(prefix="cqtls-")
t.cleanup(d.remove)
mqtt_port, admin_port = free_ports(2)
bad = d.file("bad.pem", "not a certificate\n")


def comqttd(conf, *args):
    return subprocess.run([binary("comqttd")] + list(args) + ["-c", conf],
                          capture_output=True, text=True, timeout=30)


conf = d.file("bad.yml", "log: {file: %s/bad.log}\n"
              "listeners: [{name: tcp, address: \"127.0.0.1:%d\"}]\n"
              "admin: {address: \"127.0.0.1:%d\", "
              "tls: {cert_file: %s, key_file: %s}}\n"
              % (d.path, mqtt_port, admin_port, bad, KEY))
r = comqttd(conf)
t.ok(r.returncode != 0 and "admin: tls.cert_file %s: no PEM certificate"
     % bad in r.stderr,
     "a certificate that does not load stops comqttd at start (%s)"
     % r.stderr.strip()[:120])
r = comqttd(conf, "-t")
t.ok(r.returncode == 1 and "admin: tls.cert_file" in r.stderr,
     "comqttd -t says the same")
conf = d.file("half.yml", "admin: {tls: {cert_file: %s}}\n" % CERT)
r = comqttd(conf, "-t")
t.ok(r.returncode == 1 and "cert_file and key_file go together"
     in r.stderr, "cert_file without key_file: comqttd -t refuses it (%s)"
     % r.stderr.strip())
conf = d.file("ident.yml", "admin: {tls: {cert_file: %s, key_file: %s, "
              "ca_file: %s, client_certs: require, "
              "use_identity_as_username: true}}\n" % (CERT, KEY, CA))
r = comqttd(conf, "-t")
t.ok(r.returncode == 1 and "no usernames" in r.stderr,
     "use_identity_as_username is refused on the admin (%s)"
     % r.stderr.strip())
t.done()
