#!/usr/bin/python3
# 304: TLS settings are checked before the broker serves.  A certificate
# path that does not exist, a key that does not match its certificate, an
# expired certificate, an encrypted key, a CA file that is missing, a
# cipher list OpenSSL does not know, and a tls listener without a
# certificate each make `comqttd -t` and a plain start exit with status 1
# and a message naming the listener, the key and the file; the broker
# then listens on nothing.  A good configuration passes -t.
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import binary, comqtt_only, free_port, run, wait_port  # noqa
from listeners import Certs, cert_dir  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's TLS checks")
d = cert_dir(t)
certs = Certs(d)
certs.issue("server", "localhost")
certs.issue("other", "other")
certs.issue("old", "old", not_before=-10, not_after=-1)
P = certs.path
enc = P("enc.key")
r = run(["openssl", "pkey", "-in", P("server.key"), "-aes256", "-passout",
         "pass:secret", "-out", enc])
t.is_(r.returncode, 0, "an encrypted copy of the key is made")
port = free_port()


def config(tls, kind="tls"):
    path = os.path.join(d, "c%d.yml" % config.n)
    config.n += 1
    with open(path, "w") as f:
        f.write("workers: 1\nlog: {file: %s/log, level: info}\n"
                "listeners:\n  - {name: secure, type: %s, address: "
                "\"127.0.0.1:%d\", tls: {%s}}\n" % (d, kind, port, tls))
    return path


config.n = 0
GOOD = "cert_file: %s, key_file: %s" % (P("server.crt"), P("server.key"))
cases = [
    ("a certificate that does not exist",
     "cert_file: %s/nope.crt, key_file: %s" % (d, P("server.key")),
     "tls.cert_file %s/nope.crt: cannot open: No such file or directory"
     % d),
    ("a key that does not match",
     "cert_file: %s, key_file: %s" % (P("server.crt"), P("other.key")),
     "tls.key_file %s does not match tls.cert_file %s"
     % (P("other.key"), P("server.crt"))),
    ("an expired certificate",
     "cert_file: %s, key_file: %s" % (P("old.crt"), P("old.key")),
     "tls.cert_file %s: the certificate expired on" % P("old.crt")),
    ("an encrypted key",
     "cert_file: %s, key_file: %s" % (P("server.crt"), enc),
     "tls.key_file %s: no unencrypted PEM private key" % enc),
    ("a missing CA file",
     GOOD + ", client_certs: require, ca_file: %s/none.pem" % d,
     "tls.ca_file %s/none.pem: cannot open" % d),
    ("a cipher list OpenSSL does not know",
     GOOD + ", ciphers: NOT-A-CIPHER", "tls.ciphers \"NOT-A-CIPHER\""),
    ("no certificate at all", "", "a tls listener needs tls.cert_file"),
]
for what, tls, needle in cases:
    path = config(tls)
    r = run([binary("comqttd"), "-t", "-c", path], timeout=20)
    t.is_(r.returncode, 1, "-t with %s: exit 1" % what)
    t.ok(needle in r.stderr and ("listener \"secure\"" in r.stderr or
                                 "listeners[0]" in r.stderr),
         "the message names the listener and says %r" % needle)
    if needle not in r.stderr:
        t.diag(r.stderr)
    p = subprocess.Popen([binary("comqttd"), "-c", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    t.is_(p.returncode, 1, "a start with %s: exit 1" % what)
    t.ok(needle in err, "with the same message")
t.ok(not wait_port(port, timeout=0.3), "nothing listens after them")

r = run([binary("comqttd"), "-t", "-c", config(GOOD, "wss")], timeout=20)
t.is_(r.returncode, 0, "-t with a good wss listener: exit 0")
t.done()
