#!/usr/bin/python3
# 196: a worker killed with SIGKILL is replaced.  The master logs the
# death with the signal and the start of the replacement in the same
# slot, checks shared memory (0 errors), and the new worker serves its
# listener: a persistent session owned by the dead worker is present on
# reconnect, with the QoS 1 messages published while it was down, and
# delivery between the workers works again.  The 20 clean sessions the
# dead worker also served end with the respawn, logged as a few lines and
# a count, not one info line each.
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "kills a worker process")
b = Broker(t)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
KW = dict(client_id="resp196", clean=False)
s = b.client(port=P0, **KW)
s.subscribe([("resp/#", 1)])
b.check_worker(s, 0, "the subscriber")
pub = b.client(port=P1, client_id="pub196")
cleans = [b.client(port=P0, client_id="clean196-%d" % i)
          for i in range(20)]

old, new = b.kill_worker(0)
t.ok(new and new != old, "worker 0 (pid %d) replaced by pid %s"
     % (old, new))
t.ok(b.wait_log(r"worker 0 \(pid %d\) killed by signal 9 \(SIGKILL\)"
                % old, 5), "the master logs the death with the signal")
t.ok(re.search(r"started worker 0 \(pid %d\)" % (new or 0), b.log_text()),
     "and the start of the replacement")
t.ok(b.wait_log(r"shared memory after worker 0: 0 error", 5),
     "shared memory checked: 0 errors")
t.ok(s.expect_closed(5)[0], "the dead worker's client connection is gone")
# (Worker 1's sweep of expired sessions may end some of them first.)
more_rx = r"worker 0: info: (\d+) more session\(s\) expired"
b.wait_log(more_rx, 5)
m = re.search(more_rx, b.log_text())
more = int(m.group(1)) if m else 0
named = len(re.findall(r"worker 0: info: session clean196-\d+ expired",
                       b.log_text()))
t.ok(named <= 8, "the dead worker's clean sessions end: at most 8 named "
     "at info (%d named, %d counted)" % (named, more))
t.ok(named + more <= 20 and (more == 0 or named == 8),
     "the rest in one line with their number")
pub.publish_many([("resp/x", b"%d" % i) for i in range(5)], qos=1)

s = b.client(port=P0, **KW)
t.ok(s.connack.session_present, "the session survived its worker "
     "[MQTT-3.2.2-2]")
b.check_worker(s, 0, "the reconnected subscriber")
got = s.collect(5, 10)
t.is_([int(p.payload) for p in got], list(range(5)), "the 5 messages "
      "published meanwhile arrive, in order")
pub.publish("resp/y", b"live", qos=1)
t.is_([p.payload for p in s.collect(1, 5)], [b"live"],
      "worker 1 -> the new worker 0 delivers")
t.done()
