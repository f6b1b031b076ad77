#!/usr/bin/python3
# 609: comqtt-admin and comqtt-authd side by side (both children of one
# master): both start; the metrics count authentication results (allowed,
# refused, unavailable); the blacklist refuses a client id whose
# credentials authd accepts (0x8A, [MQTT-3.2.2-6] a refused CONNECT gets a
# non-zero reason code and the connection is closed); a kick disconnects
# an authenticated client; POST /reload reaches authd (a user added to the
# rules gets in); POST /auth/invalidate drops the shared cache (a client
# let in from the cache while authd is down is refused afterwards, Server
# unavailable); POST /stop stops every child.
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api, metric_sum, parse_prometheus  # noqa: E402
from authd import Mqtt, broker_has_auth  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

LEDGER = """users:
  alice: {password: secret, acl: {"#": 3}}
  bob: {password: pw, acl: {"#": 3}}
auth:
  - client: "cqtest-probe-*"
    allow: true
"""

t = T()
comqtt_only(t, "comqtt-admin")
if not broker_has_auth():
    t.skip_all("comqttd does not ask comqtt-authd")
b = Broker(t, admin={}, start=False, config=(
    "auth:\n  enabled: true\n  socket: {dir}/authd.sock\n"
    "  backends: [ledger]\n  cache_ttl: 10m\n"
    "  ledger:\n    file: ledger.yml\n"))
ledger = b.dir.file("ledger.yml", LEDGER)
b.start()
api = Api(b)


def authd_pid():
    m = re.findall(r"\[(\d+)\] authd: notice: authd ready on", b.log_text())
    return int(m[-1]) if m else None


def connect(client, user, password, v=5):
    m = Mqtt(b.port, v)
    try:
        return m.connect(client, user, password)
    finally:
        m.close()


def auth_results():
    r = api.get("/metrics")
    fams = parse_prometheus(r.text) if r.status == 200 else {}
    return {res: metric_sum(fams, "comqtt_auth_total", result=res)
            for res in ("allow", "deny", "unavailable")}


# ---- both children -----------------------------------------------------
t.ok(wait_until(lambda: authd_pid() in b.children(), 10),
     "comqtt-authd runs as a child of the master")
r = api.get(API + "/stat/online")
t.is_(r.status, 200, "comqtt-admin answers beside it")
t.is_(len(b.children()), 2 + 3, "the master's children: 2 workers, "
      "storage, authd, admin")

# ---- auth results in the metrics ---------------------------------------
m0 = auth_results()
t.is_(connect("a1", "alice", "secret"), 0, "alice gets in")
t.is_(connect("a2", "alice", "wrong"), 0x86, "a wrong password: 0x86")
t.is_(connect("a3", "mallory", "x"), 0x86, "an unknown user: 0x86")
m1 = auth_results()
t.ok(m1["allow"] - m0["allow"] >= 1, "comqtt_auth_total{result=allow} moved")
t.is_(m1["deny"] - m0["deny"], 2.0, "comqtt_auth_total{result=deny}: +2")
t.is_(m1["unavailable"], m0["unavailable"], "nothing unavailable yet")

# ---- blacklist and kick on top of authd --------------------------------
r = api.post(API + "/blacklist/banned-alice")
t.ok(r.status in (200, 201), "blacklist banned-alice: %d" % r.status)
t.is_(connect("banned-alice", "alice", "secret"), 0x8A,
      "accepted credentials, blacklisted id: 0x8A Banned")
t.is_(connect("banned-alice", "alice", "secret", v=4), 5,
      "MQTT 3.1.1: return code 5")
t.is_(api.delete(API + "/blacklist/banned-alice").status, 200,
      "blacklist remove")
t.is_(connect("banned-alice", "alice", "secret"), 0, "then she gets in")

m = Mqtt(b.port, 5)
t.is_(m.connect("kick-me", "bob", "pw"), 0, "bob connects")
t.ok(wait_until(lambda: api.get(API + "/clients/kick-me").status == 200
                and api.get(API + "/clients/kick-me").json.get("online"), 5),
     "the admin sees him online")
r = api.post(API + "/clients/kick-me/kick")
t.is_(r.status, 200, "kick: 200")
m.sock.settimeout(5)
p = m.packet()
t.ok(p is None or p[0] == 0xE0, "bob's connection is closed (DISCONNECT or "
     "EOF)")
m.close()

# ---- reload reaches authd ----------------------------------------------
t.is_(connect("c1", "carol", "c4rol"), 0x86, "carol is not in the rules")
with open(ledger, "w") as f:
    f.write(LEDGER.replace("users:\n", "users:\n  carol: {password: c4rol}\n"))
since = b.log_offset()
r = api.post(API + "/reload")
t.is_(r.status, 202, "POST /reload: 202")
t.ok(wait_until(lambda: connect("c2", "carol", "c4rol") == 0, 15, 0.3),
     "after the reload authd lets carol in")
# Both workers hear of the new policy; only the first clears the shared
# cache, so a late one does not drop answers cached in between.
t.ok(wait_until(lambda: b.log_text()[since:].count(
    "authd policy changed") >= 2, 15),
     "both workers heard of the new policy")
t.is_(b.log_text()[since:].count("dropped (epoch"), 2,
      "each logs it once")
t.is_(b.log_text()[since:].count("by another worker)"), 1,
      "one reload clears the shared cache once, not once per worker")

# ---- invalidate the shared cache ---------------------------------------
t.is_(connect("cached", "alice", "secret"), 0, "alice connects (cached)")
os.rename(ledger, ledger + ".away")
pid = authd_pid()
os.kill(pid, signal.SIGKILL)
t.ok(wait_until(lambda: "ledger.yml" in b.log_text().split(
    "authd ready on")[-1], 15), "the respawned authd cannot load its rules")
t.is_(connect("cached", "alice", "secret"), 0,
      "authd down: alice still gets in from the cache")
r = api.post(API + "/auth/invalidate")
t.ok(r.status == 200 and r.json.get("epoch", 0) > 0,
     "POST /auth/invalidate: 200 with the new epoch")
u0 = auth_results()["unavailable"]
t.is_(connect("cached", "alice", "secret"), 0x88,
      "after the invalidation: Server unavailable")
t.is_(auth_results()["unavailable"] - u0, 1.0,
      "comqtt_auth_total{result=unavailable}: +1")
os.rename(ledger + ".away", ledger)
t.ok(wait_until(lambda: connect("back", "alice", "secret") == 0, 30, 0.5),
     "rules back: authd respawned, alice gets in")

# ---- stop through the API ----------------------------------------------
r = api.post(API + "/stop")
t.is_(r.status, 202, "POST /stop: 202")
t.is_(b.wait_exit(20), 0, "the master exits 0")
b.stop()
t.done()
