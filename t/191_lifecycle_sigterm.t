#!/usr/bin/python3
# 191: SIGTERM stops the broker gracefully: it exits 0 within 10 s,
# connected clients (3.1.1 and 5.0, on both listeners) see their
# connections closed (a 5.0 client gets DISCONNECT 0x8B "server shutting
# down", if anything).  With comqtt the workers are gone too and the
# master logs that it stopped.  (Whether wills are published at shutdown
# the spec leaves open; this test does not ask.)
#
# Then (comqtt) Ctrl-C in a terminal: SIGINT to the whole process group,
# master and workers at once, after some traffic, five times.  Each stop
# exits 0 and logs no error: a worker that stops on its own signal before
# reading the master's stop command leaves the master a reset channel,
# which is an end like any other (it was logged as "bad message on the
# channel of worker N: Connection reset by peer" in about 4 stops of 10).
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import (MOSQUITTO, Broker, binary, run,  # noqa: E402
                    unless_mosquitto, wait_until)
from tap import T  # noqa: E402

t = T()
b = Broker(t)
clients = [b.client(port=b.ports[i % 2], proto=(m.V311, m.V5)[i // 2],
                    client_id="term191-%d" % i) for i in range(4)]
for c in clients:
    c.subscribe([("term/#", 1)])
workers = [] if MOSQUITTO else b.worker_pids()
t0 = time.monotonic()
b.send_signal(signal.SIGTERM)
rc = b.wait_exit(10)
t.is_(rc, 0, "SIGTERM: exit status 0 within 10 s (%.1f s)"
      % (time.monotonic() - t0))
for i, c in enumerate(clients):
    closed, got = c.expect_closed(5)
    t.ok(closed, "client %d (v%d) sees its connection closed"
         % (i, c.proto))
    if c.proto == m.V5:
        t.ok(all(p.type == m.DISCONNECT and p.rc == 0x8B for p in got),
             "5.0: with DISCONNECT 0x8B, if anything (%r)" % got)
if unless_mosquitto(t, "one process, no workers", 3):
    t.is_(len(workers), 2, "there were two workers")
    t.ok(wait_until(lambda: not any(os.path.exists("/proc/%d" % p)
                                    for p in workers), 5),
         "the workers are gone")
    t.ok(b.wait_log(r"\bstopped\b", 2), "the master logged 'stopped'")
t.is_(b.stop(), 0, "stop() reports the exit status")

if unless_mosquitto(t, "comqtt's process group", 2):
    codes, errors = [], []
    for i in range(5):
        b = Broker(t)
        run([binary("comqtt-bench"), "-p", str(b.ports[0]), "-d", "0.3",
             "-P", "10", "-q", "1", "pairs"], timeout=60)
        os.killpg(b.pid, signal.SIGINT)
        codes.append(b.wait_exit(10))
        errors += [ln for ln in b.log_text().splitlines()
                   if re.search(r": (error|crit|alert): ", ln)]
        b.stop()
    t.is_(codes, [0] * 5, "SIGINT to the process group: exit 0 each time")
    t.is_(errors, [], "and no error line in the logs")
t.done()
