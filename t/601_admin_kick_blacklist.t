#!/usr/bin/python3
# 601: kicking and blacklisting through the admin API really act on the
# clients: a kicked MQTT 5 client gets DISCONNECT 0x98 (administrative
# action) and its will goes out; a kicked 3.1.1 client is closed; a
# blacklisted client id is disconnected and refused at every CONNECT
# (CONNACK 0x8A on MQTT 5, 5 on 3.1.1) on every worker until it is
# removed; the blacklist survives a restart of the broker (blacklist.json
# in data_dir) and of comqtt-admin (shm); refusals are counted.
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api, metric_sum, parse_prometheus, q  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
import mqttraw  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
b = Broker(t, admin={})
api = Api(b)

# ---- kick -------------------------------------------------------------
watch = b.client(port=b.ports[0], client_id="k-watch")
watch.subscribe([("k/will", 0)])
v5 = mqttraw.Client(b.ports[1], proto=mqttraw.V5)
t.cleanup(v5.close)
v5.connect("k-five", will={"topic": "k/will", "payload": b"k-five gone"})
r = api.post(API + "/clients/k-five/kick")
t.ok(r.status == 200 and r.json == {"client_id": "k-five", "kicked": True},
     "POST /clients/{id}/kick of a connected client: 200")
closed, got = v5.expect_closed(5)
t.ok(closed and any(p.type == mqttraw.DISCONNECT and p.rc == 0x98
                    for p in got),
     "the MQTT 5 client got DISCONNECT 0x98 and was closed")
p = watch.recv_publish(5)
t.ok(p is not None and p.payload == b"k-five gone",
     "its will was published [MQTT-3.1.2-8]")
t.ok(wait_until(lambda: api.get(API + "/clients/k-five").status == 404, 5),
     "its session (expiry 0) ended with the connection")
r = api.post(API + "/clients/k-five/kick")
t.is_(r.status, 404, "kicking it again: 404 (not connected)")

v3 = b.client(port=b.ports[0], client_id="k-three")
r = api.delete(API + "/clients/k-three")
t.is_(r.status, 200, "DELETE /clients/{id} kicks too")
closed, _ = v3.expect_closed(5)
t.ok(closed, "the 3.1.1 client was closed")
again = b.client(port=b.ports[1], client_id="k-three")
t.ok(again.connack.rc == 0, "a kicked client may connect again")
again.disconnect()

# ---- blacklist ----------------------------------------------------------
victim = mqttraw.Client(b.ports[0], proto=mqttraw.V5)
t.cleanup(victim.close)
victim.connect("bl/victim")
r = api.post(API + "/blacklist/" + q("bl/victim"))
t.ok(r.status == 200 and r.json.get("kicked") is True,
     "blacklisting a connected client: kicked")
closed, got = victim.expect_closed(5)
t.ok(closed, "its connection was closed")

for port in b.ports:
    for proto, rc in ((mqttraw.V5, 0x8A), (mqttraw.V311, 5)):
        c = mqttraw.Client(port, proto=proto)
        t.cleanup(c.close)
        ack = c.connect("bl/victim", expect_rc=None)
        t.is_(ack.rc, rc, "worker of port %d refuses it on MQTT %d with "
              "0x%02x" % (port, proto, rc))
        closed, _ = c.expect_closed(5)
        t.ok(closed, "and closes the connection")
other = b.client(client_id="bl/victim2")
t.ok(other.connack.rc == 0, "another client id is not affected")
other.disconnect()

fams = parse_prometheus(api.get("/metrics").text)
t.is_(metric_sum(fams, "comqtt_connections_banned_total"), 4.0,
      "the refusals are counted in the metrics")

# Persisted, and kept by a respawned comqtt-admin (shm).
path = os.path.join(b.dir.path, "data", "blacklist.json")
t.ok(wait_until(lambda: os.path.exists(path), 5),
     "blacklist.json is written in data_dir")
with open(path) as f:
    t.is_(json.load(f), ["bl/victim"], "it holds the id")
t.is_(oct(os.stat(path).st_mode & 0o777), "0o600", "mode 0600")

admin_pid = int(wait_until(lambda: [
    ln.split("pid ")[1].split(")")[0] for ln in b.log_text().splitlines()
    if "started admin (pid" in ln], 5)[-1])
os.kill(admin_pid, signal.SIGKILL)
t.ok(wait_until(lambda: b.log_text().count("started admin (pid") >= 2, 10),
     "the master restarts a killed comqtt-admin")
t.ok(wait_until(lambda: api.get(API + "/blacklist").status == 200, 10),
     "the API serves again")
t.is_(api.get(API + "/blacklist").json, ["bl/victim"],
      "the blacklist is still there")

# Persisted across a restart of the whole broker.
b.stop()
b.start()
t.is_(api.get(API + "/blacklist").json, ["bl/victim"],
      "loaded again after a restart of the broker")
c = mqttraw.Client(b.ports[1], proto=mqttraw.V5)
t.cleanup(c.close)
t.is_(c.connect("bl/victim", expect_rc=None).rc, 0x8A,
      "and still refused")

# Removed: accepted again.
r = api.delete(API + "/blacklist/" + q("bl/victim"))
t.is_(r.status, 200, "DELETE /blacklist/{id}")
back = mqttraw.Client(b.ports[0], proto=mqttraw.V5)
t.cleanup(back.close)
t.is_(back.connect("bl/victim", expect_rc=None).rc, 0,
      "the id connects again once removed")
t.ok(wait_until(lambda: open(path).read().strip() == "[]", 5),
     "blacklist.json follows")
back.disconnect()
b.stop()
t.done()
