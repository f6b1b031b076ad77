#!/usr/bin/python3
# 320: the health check (listeners of type health), answered by the
# master.  GET on its path is 200 with a JSON body naming every worker
# "up"; HEAD the same without a body; another path 404, another method
# 405, a malformed request 400.  A worker that stops turning its loop
# (SIGSTOP) makes it 503 ("stalled") until it runs again; a killed worker
# makes it 503 ("down") until its replacement serves -- the test holds
# the respawn back with CQ_TEST_RESPAWN_DELAY_MS.  MQTT is not spoken
# there, and a slow request is closed after handshake_timeout.
import json
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import comqtt_only, wait_until  # noqa: E402
from listeners import (http_exchange, listener_broker,  # noqa: E402
                       socket_closed)
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's health listener")
b = listener_broker(t, [
    "{name: health, type: health, address: 127.0.0.1:{p0}, "
    "handshake_timeout: 2s}",
    "{name: custom, type: health, address: 127.0.0.1:{p1}, path: /up}"],
    env={"CQ_TEST_RESPAWN_DELAY_MS": "3000"})
H, CUSTOM = b.lp


def get(port=H, path="/healthz", method="GET", raw=None):
    req = raw or ("%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method, path)
                  ).encode()
    status, head, rest, s = http_exchange(port, req)
    body = rest
    s.settimeout(5)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        pass
    s.close()
    return status, head, body


def state():
    status, head, body = get()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


status, doc = state()
t.is_(status, 200, "GET /healthz: 200 while every worker is up")
t.ok(doc and doc["status"] == "ok" and
     [w["state"] for w in doc["workers"]] == ["up", "up"],
     "the body names both workers up: %s" % doc)
status, head, body = get(method="HEAD")
t.ok(status == 200 and body == b"" and "Content-Length:" in head,
     "HEAD: 200 without a body")
t.is_(get(path="/nope")[0], 404, "another path: 404")
t.is_(get(method="POST")[0], 405, "another method: 405")
t.is_(get(raw=b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")[0], 400,
      "an MQTT CONNECT: 400")
t.is_(get(CUSTOM, "/up")[0], 200, "a health listener with path /up")
s = socket.create_connection(("127.0.0.1", H), 5)
s.sendall(b"GET /healthz HTTP/1.1\r\n")
t.ok(socket_closed(s, 10), "a request that never ends is closed")
s.close()

# A stalled worker.
pid1 = b.worker_pid(1)
os.kill(pid1, signal.SIGSTOP)
try:
    got = wait_until(lambda: state()[0] == 503, 15, 0.2)
    status, doc = state()
    t.ok(got and status == 503, "a stopped worker: 503")
    t.ok(doc and doc["status"] == "unavailable" and
         doc["workers"][1]["state"] == "stalled",
         "worker 1 is reported stalled: %s" % doc)
finally:
    os.kill(pid1, signal.SIGCONT)
t.ok(wait_until(lambda: state()[0] == 200, 15, 0.2),
     "200 again once it runs")

# A dead worker, before its replacement.
old = b.worker_pid(0)
os.kill(old, signal.SIGKILL)
got = wait_until(lambda: state()[0] == 503, 5, 0.05)
status, doc = state()
t.ok(got and doc["workers"][0]["state"] == "down",
     "a killed worker: 503, worker 0 down: %s" % doc)
t.ok(wait_until(lambda: state()[0] == 200, 20, 0.2),
     "200 once its replacement serves")
t.ok(b.worker_pid(0) not in (None, old), "with a new worker 0")
c = mqttraw.Client(b.ports[0])
t.cleanup(c.close)
t.is_(c.connect("after-320").rc, 0, "and MQTT is served again")
t.done()
