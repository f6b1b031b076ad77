#!/usr/bin/python3
# 195: when the master dies (SIGKILL, so it cannot tell anyone), the
# workers notice -- EOF on the pipe only the master held -- and exit
# within a few seconds: no orphan keeps the listeners or serves clients.
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's master and workers")
b = Broker(t)
c = b.client(port=b.port_for_worker(1), client_id="orphan195")
workers = b.worker_pids()
t.is_(len(workers), 2, "two workers (%r)" % workers)
kids = b.children()
b.send_signal(signal.SIGKILL)
t.ok(b.wait_exit(5) is not None, "the master is gone")
t.ok(wait_until(lambda: not any(os.path.exists("/proc/%d" % p)
                                for p in kids), 5),
     "the workers and comqtt-storage exit within 5 s")
closed, _ = c.expect_closed(5)
t.ok(closed, "their client connections are closed")
t.done()
