#!/usr/bin/python3
# 608: the admin listener over TLS (admin.tls): HTTPS with a certificate
# the client verifies; plain HTTP on it gets nothing; min_version 1.3
# refuses a TLS 1.2 client and 1.2 accepts it; comqttctl --tls with
# --cacert (and -k) talks to it and fails to verify without; a
# certificate that does not load stops comqttd at start with a clear
# error; cert without key is a configuration error.
import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import (API, Api, comqttctl, make_cert,  # noqa: E402
                   tls_client_context)
from cqtest import (Broker, TempDir, binary, comqtt_only,  # noqa: E402
                    free_ports)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
d = TempDir(prefix="cqtls-")
t.cleanup(d.remove)
cert, key = make_cert(d.path)

for minv, tls12_ok in (("1.2", True), ("1.3", False)):
    b = Broker(t, admin={"tls": {"cert": cert, "key": key,
                                 "min_version": minv}})
    api = Api(b, tls_context=tls_client_context(cert))
    r = api.get(API + "/stat/online")
    t.ok(r.status == 200 and isinstance(r.json, int),
         "min_version %s: HTTPS with a verified certificate" % minv)
    t.ok("HTTPS" in b.log_text(), "the master logs the listener as HTTPS")
    tls12 = Api(b, tls_context=tls_client_context(
        cert, maximum=ssl.TLSVersion.TLSv1_2))
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
    r = comqttctl(b, "--tls", "--cacert", cert, "status")
    t.ok(r.returncode == 0 and "connected" in r.stdout,
         "comqttctl --tls --cacert")
    r = comqttctl(b, "--tls", "-k", "clients")
    t.is_(r.returncode, 0, "comqttctl --tls -k (no verification)")
    r = comqttctl(b, "--tls", "status")
    t.ok(r.returncode == 2, "comqttctl --tls without the CA: exit 2 "
         "(%s)" % r.stderr.strip()[:80])
    conf = b.dir.file("tls.conf", "tls = yes\ncacert = %s\n" % cert)
    t.is_(comqttctl(b, "-c", conf, "status").returncode, 0,
          "tls and cacert from a settings file")
    b.stop()

# A certificate that does not load: comqttd does not start.
mqtt_port, admin_port = free_ports(2)
bad = d.file("bad.pem", "not a certificate\n")
conf = d.file("bad.yml", "log: {file: %s/bad.log}\n"
              "listeners: [{name: tcp, address: \"127.0.0.1:%d\"}]\n"
              "admin: {address: \"127.0.0.1:%d\", tls: {cert: %s, key: %s}}\n"
              % (d.path, mqtt_port, admin_port, bad, key))
r = subprocess.run([binary("comqttd"), "-c", conf], capture_output=True,
                   text=True, timeout=30)
log = open(os.path.join(d.path, "bad.log")).read()
t.ok(r.returncode != 0 and "admin.tls.cert: cannot load" in log,
     "a certificate that does not load stops comqttd at start")
conf = d.file("half.yml", "admin: {tls: {cert: %s}}\n" % cert)
r = subprocess.run([binary("comqttd"), "-t", "-c", conf], capture_output=True,
                   text=True, timeout=30)
t.ok(r.returncode == 1 and "cert and key go together" in r.stderr,
     "cert without key: comqttd -t refuses it (%s)" % r.stderr.strip())
t.done()
