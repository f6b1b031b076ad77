#!/usr/bin/python3
# 173: a storm of 1000 clients connecting at once (non-blocking sockets,
# all CONNECTs in flight together, both listeners).  Every one gets
# CONNACK 0 [MQTT-3.2.0-1]; $SYS/broker/clients/connected counts them, and
# counts down again when they leave.
import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, SysTopics, raise_nofile  # noqa: E402
from tap import T  # noqa: E402

t = T()
N = 1000
have = raise_nofile(2 * N + 256)
t.ok(have >= N + 256, "RLIMIT_NOFILE is %d" % have)
b = Broker(t)
sys_ = SysTopics(b)
sel = selectors.DefaultSelector()
socks = []
t0 = time.monotonic()
for i in range(N):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", b.ports[i % 2]))
    socks.append(s)
    sel.register(s, selectors.EVENT_WRITE, {"i": i, "buf": b""})


def close_all():
    for s in socks:
        s.close()


t.cleanup(close_all)
acks, errors = {}, []
deadline = time.monotonic() + 60
while len(acks) + len(errors) < N and time.monotonic() < deadline:
    for key, ev in sel.select(timeout=1.0):
        s, d = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                errors.append((d["i"], os.strerror(err)))
                sel.unregister(s)
                continue
            s.send(m.connect("storm173-%d" % d["i"]))
            sel.modify(s, selectors.EVENT_READ, d)
            continue
        try:
            data = s.recv(64)
        except OSError as e:
            data, d["err"] = b"", str(e)
        if not data:
            errors.append((d["i"], d.get("err", "closed")))
            sel.unregister(s)
            continue
        d["buf"] += data
        f = m.frame(d["buf"])
        if f is not None:
            acks[d["i"]] = m.decode(f[0], f[1])
            sel.unregister(s)
elapsed = time.monotonic() - t0
t.is_(errors, [], "no connection failed")
t.is_(len(acks), N, "all %d clients got a CONNACK (%.1f s)" % (N, elapsed))
t.ok(all(p.type == m.CONNACK and p.rc == 0 for p in acks.values()),
     "every CONNACK accepts [MQTT-3.2.0-1]")
t.ok(sys_.wait("clients/connected", lambda v: v >= N, 8),
     "$SYS/broker/clients/connected reaches %d (%s)"
     % (N, sys_.number("clients/connected")))
close_all()
t.ok(sys_.wait("clients/connected", lambda v: v < 10, 10),
     "and falls back when they leave (%s)"
     % sys_.number("clients/connected"))
c = b.client(client_id="after173")
t.is_(c.connack.rc, 0, "the broker still accepts connections")
t.done()
