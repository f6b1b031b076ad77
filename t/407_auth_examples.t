#!/usr/bin/python3
# 407: the shipped examples: etc/comqtt.yml and every etc/auth-*.yml load
# in comqttd -t and comqtt-authd -t (backends and rules files included),
# and etc/ledger.yml's rules answer as its comments say.
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Authd  # noqa: E402
from cqtest import SRCDIR, binary, run  # noqa: E402
from tap import T  # noqa: E402

t = T()
examples = sorted(glob.glob(os.path.join(SRCDIR, "etc", "auth-*.yml")))
names = [os.path.basename(p) for p in examples]
for want in ("auth-ledger.yml", "auth-postgres.yml", "auth-mysql.yml",
             "auth-redis.yml", "auth-http.yml"):
    t.ok(want in names, "etc/%s exists" % want)
for path in examples + [os.path.join(SRCDIR, "etc", "comqtt.yml")]:
    name = os.path.basename(path)
    r = run([binary("comqttd"), "-t", "-c", path])
    t.ok(r.returncode == 0, "comqttd -t -c etc/%s" % name)
    if r.returncode:
        t.diag(r.stdout + r.stderr)
    r = run([binary("comqtt-authd"), "-t", "-c", path])
    t.ok(r.returncode == 0, "comqtt-authd -t -c etc/%s" % name)
    if r.returncode:
        t.diag(r.stdout + r.stderr)

with open(os.path.join(SRCDIR, "etc", "ledger.yml")) as f:
    rules = f.read()
a = Authd(t, auth="backends: [ledger]\nledger:\n  file: ledger.yml",
          files={"ledger.yml": rules})
c = a.client()
t.ok(c.auth("x", "admin", "change-me").ok, "ledger.yml: admin")
t.is_(c.auth("x", "guest", "guest").code, "not_authorized",
      "ledger.yml: guest is disallowed")
t.ok(c.auth("local-1", None, None, addr="127.0.0.1:1").ok,
     "ledger.yml: local-* from 127.0.0.1")
t.ok(c.auth("sensor-1", "sensor", "s3ns0r", addr="192.0.2.1:1").ok,
     "ledger.yml: a sensor")
t.ok(c.acl("sensor-1", "sensor", "sensors/1/telemetry", "w").ok,
     "ledger.yml: sensors publish telemetry")
t.is_(c.acl("x", "y", "$SYS/broker/load", "s").code, "not_authorized",
      "ledger.yml: $SYS is denied")
t.ok(c.acl("x", "y", "public/news", "s").ok, "ledger.yml: public/# "
     "readable")
c.close()
t.done()
