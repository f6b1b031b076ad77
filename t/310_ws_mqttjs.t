#!/usr/bin/python3
# 310: MQTT over WebSocket with a real client: MQTT.js (npm mqtt@5) in
# node, over ws and over wss (the server certificate checked against the
# test's CA), MQTT 5 and 3.1.1, QoS 0, 1 and 2 round trips.  Across
# protocols: a WebSocket subscriber gets a TCP publication and a TCP
# subscriber gets a WebSocket (wss) publication.  A listener's path and
# mount point apply to WebSocket clients.
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import comqtt_only  # noqa: E402
from listeners import (JS, NODE, Certs, listener_broker,  # noqa
                       node)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's ws and wss listeners")
certs = Certs.server(t)
CA = certs.path("ca.crt")
b = listener_broker(t, [
    "{name: ws, type: ws, address: 127.0.0.1:{p0}}",
    "{name: wss, type: wss, address: 127.0.0.1:{p1}, %s}"
    % certs.tls_yaml(),
    "{name: mounted, type: ws, address: 127.0.0.1:{p2}, "
    "mount_point: \"m/\"}",
    "{name: custom, type: ws, address: 127.0.0.1:{p3}, path: /custom}"])
WS, WSS, MOUNTED, CUSTOM = b.lp
ws = "ws://127.0.0.1:%d/mqtt" % WS
wss = "wss://127.0.0.1:%d/mqtt" % WSS

for url, proto in ((ws, 5), (ws, 4), (wss, 5), (wss, 4)):
    rc, rep, out = node(t, "mqtt_client.js", [url, "roundtrip", json.dumps(
        {"protocolVersion": proto, "ca": CA, "clientId": "rt%d" % proto})])
    got = sorted(m[2] for m in (rep or {}).get("received", []))
    t.ok(rc == 0 and got == [0, 1, 2], "MQTT.js over %s, MQTT %s: QoS 0, 1 "
         "and 2 round trips" % (url.split(":")[0], {5: "5", 4: "3.1.1"}
                                [proto]))
    if rc != 0:
        t.diag(out)


def node_sub(url, topic, count, **extra):
    """MQTT.js subscribed to topic (started, and waited for); returns the
    process."""
    o = dict(topic=topic, count=count, ca=CA, **extra)
    p = subprocess.Popen([NODE, os.path.join(JS, "mqtt_client.js"), url,
                          "sub", json.dumps(o)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    t.cleanup(lambda: p.kill() if p.poll() is None else None)
    line = p.stdout.readline()  # {"ready": true}, or the failure
    t.ok('"ready":true' in line, "MQTT.js subscribed to %s on %s"
         % (topic, url.split("/")[2]))
    return p


def node_result(p):
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    lines = out.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (ValueError, IndexError):
        t.diag(out)
        return {}


# TCP -> WebSocket
p = node_sub(ws, "cross/tcp", 2)
pub = b.client(client_id="tcp-pub-310")
pub.publish("cross/tcp", b"from tcp 1", qos=1)
pub.publish("cross/tcp", b"from tcp 2", qos=0)
rep = node_result(p)
t.is_([m[1] for m in rep.get("received", [])], ["from tcp 1", "from tcp 2"],
      "a WebSocket subscriber gets TCP publications, in order")

# WebSocket (wss) -> TCP
sub = b.client(client_id="tcp-sub-310")
sub.subscribe([("cross/ws/#", 1)])
rc, rep, out = node(t, "mqtt_client.js", [wss, "pub", json.dumps(
    {"ca": CA, "messages": [["cross/ws/1", "from wss", 1],
                            ["cross/ws/2", "x" * 70000, 1]]})])
got = sub.collect(2, 10)
t.is_([(m.topic, len(m.payload)) for m in got],
      [("cross/ws/1", 8), ("cross/ws/2", 70000)],
      "a TCP subscriber gets wss publications (one larger than a frame "
      "write)")

# mount point and path
p = node_sub("ws://127.0.0.1:%d/mqtt" % MOUNTED, "x", 1)
pub.publish("m/x", b"mounted", qos=1)
rep = node_result(p)
t.is_(rep.get("received"), [["x", "mounted", 1]],
      "a mounted WebSocket client sees m/x as x")
rc, rep, out = node(t, "mqtt_client.js", [
    "ws://127.0.0.1:%d/custom" % CUSTOM, "roundtrip", "{}"])
t.is_(rc, 0, "a listener with path /custom serves MQTT.js at /custom")
start = time.monotonic()
rc, rep, out = node(t, "mqtt_client.js", [
    "ws://127.0.0.1:%d/mqtt" % CUSTOM, "roundtrip", '{"timeout": 8000}'])
t.ok(rc != 0 and rep and not rep.get("ok"),
     "and refuses /mqtt (%s)" % (rep or {}).get("error"))
t.done()
