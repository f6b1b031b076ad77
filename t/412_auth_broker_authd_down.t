#!/usr/bin/python3
# 412: authd down under a running broker.  authd is killed and cannot
# start again (its rules file is gone): a client whose CONNECT was
# answered before connects from the cache; new credentials are refused
# with Server unavailable (0x88; 3.1.1: 3), never allowed; once the file
# is back the master's respawn brings authd up and new clients get in.
# Skips while comqttd lacks auth support (t/lib/authd.py).
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import AuthBroker, Mqtt, broker_has_auth, wait_for  # noqa: E402
from tap import T  # noqa: E402

LEDGER = "users:\n  alice: {password: secret}\n  bob: {password: pw}\n"

t = T()
if not broker_has_auth():
    t.skip_all("comqttd does not ask comqtt-authd yet (worker wiring)")
b = AuthBroker(t, LEDGER, auth="cache_ttl: 10m")
m = Mqtt(b.port, 5)
t.is_(m.connect("cached", "alice", "secret"), 0, "alice connects (cached)")
m.close()

os.rename(b.ledger, b.ledger + ".away")
pid = b.authd_pid()
t.ok(pid is not None, "authd's pid is in the log")
os.kill(pid, signal.SIGKILL)
t.ok(wait_for(lambda: "ledger.yml" in b.log_text().split(
    "authd ready on")[-1], 15), "the respawned authd cannot load its rules")

m = Mqtt(b.port, 5)
t.is_(m.connect("cached", "alice", "secret"), 0,
      "authd down: a cached answer still lets alice in")
m.close()
for v, code in ((5, 0x88), (4, 3)):
    m = Mqtt(b.port, v)
    t.is_(m.connect("new%d" % v, "bob", "pw"), code,
          "authd down: new credentials get Server unavailable (v%d)" % v)
    m.close()

os.rename(b.ledger + ".away", b.ledger)


def bob_gets_in():
    m = Mqtt(b.port, 5)
    try:
        return m.connect("back", "bob", "pw") == 0
    finally:
        m.close()


ok = wait_for(bob_gets_in, 30, 0.5)
t.ok(ok, "rules back: the master's respawn brings authd up; bob gets in")
b.stop()
t.done()
