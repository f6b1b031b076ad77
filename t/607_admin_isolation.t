#!/usr/bin/python3
# 607: comqtt-admin cannot stall the broker.  While slow HTTP clients hold
# it (connections trickling headers, a client that never reads its
# answers) and while the admin process is frozen (SIGSTOP), MQTT traffic
# across workers goes on undisturbed and the master still answers
# signals; silent HTTP connections are closed after admin.timeout; the
# master restarts a dying admin with back-off and the API comes back.
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api  # noqa: E402
from cqtest import Broker, GoodTraffic, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
b = Broker(t, admin={"timeout": 2})
api = Api(b)
host, port = b.admin["address"].rsplit(":", 1)
port = int(port)


def admin_pid():
    pids = re.findall(r"started admin \(pid (\d+)\)", b.log_text())
    return int(pids[-1]) if pids else None


socks = []


def hold(n):
    """n connections that send half a request line and then nothing."""
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /api/v1/mqtt/stat/online HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)


t.cleanup(lambda: [s.close() for s in socks])

# ---- slow clients -------------------------------------------------------
traffic = GoodTraffic(b, name="iso1")
hold(100)
# A client that asks for the metrics over and over and never reads them.
greedy = socket.create_connection((host, port), timeout=5)
greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
socks.append(greedy)
req = ("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
       % b.admin["token"]).encode()
greedy.setblocking(False)
sent = 0
for _ in range(2000):
    try:
        sent += greedy.send(req)
    except BlockingIOError:
        break
t.diag("the greedy client sent %d bytes of requests" % sent)
t0 = time.monotonic()
r = api.get(API + "/stat/online")
t.ok(r.status == 200, "meanwhile another client gets its answer "
     "(%.2f s)" % (time.monotonic() - t0))
since = b.log_offset()
os.kill(b.pid, signal.SIGHUP)
t.ok(b.wait_log(r"SIGHUP: reloading", 5, since), "the master answers "
     "SIGHUP at once")
traffic.check(t, "with 100 slow HTTP clients and a greedy one")

# ---- admin.timeout ------------------------------------------------------
idle = socket.create_connection((host, port), timeout=10)
t0 = time.monotonic()
try:
    closed = idle.recv(1) == b""
except OSError:
    closed = True
took = time.monotonic() - t0
t.ok(closed and took < 8, "a silent connection is closed after "
     "admin.timeout (2 s): %.1f s" % took)
idle.close()
for s in socks:
    s.close()
socks.clear()

# ---- a frozen admin -----------------------------------------------------
def thaw(pid):
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


pid = admin_pid()
os.kill(pid, signal.SIGSTOP)
t.cleanup(lambda: thaw(pid))
traffic = GoodTraffic(b, name="iso2")
try:
    api.get(API + "/stat/online", timeout=1.0)
    t.ok(False, "a frozen admin does not answer")
except OSError:
    t.ok(True, "a frozen admin does not answer")
traffic.check(t, "with the admin frozen")
sub = b.client(client_id="iso-late")
t.ok(sub.connack.rc == 0, "new clients connect while the admin is frozen")
thaw(pid)
t.ok(wait_until(lambda: api.get(API + "/stat/online").status == 200, 10),
     "thawed, it serves again")

# ---- supervision ---------------------------------------------------------
for i in range(3):
    old = admin_pid()
    os.kill(old, signal.SIGKILL)
    t.ok(wait_until(lambda: admin_pid() not in (None, old), 15),
         "kill %d: the master starts a new admin" % (i + 1))
t.ok(b.wait_log(r"admin keeps dying: respawning in \d+ ms", 10),
     "quick deaths are respawned with back-off")
t.ok(wait_until(lambda: api.get(API + "/stat/online").status == 200, 15),
     "and the API comes back")
t.ok(b.wait_log(r"admin \(pid \d+\) killed by signal 9", 1),
     "the master logs how the admin died")
sub.disconnect()
b.stop()
t.done()
