#!/usr/bin/python3
# 193: SIGUSR1 reopens the log (for logrotate): after the log is moved
# away, SIGUSR1 makes the master create a new comqttd.log and log there;
# the workers reopen too, so no process writes to the moved file any
# more.
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's SIGUSR1")
b = Broker(t, log_level="debug")
c = b.client(client_id="usr193")
c.subscribe([("usr/#", 1)])
moved = b.log + ".1"
os.rename(b.log, moved)
b.send_signal(signal.SIGUSR1)
t.ok(wait_until(lambda: os.path.exists(b.log), 5), "a new comqttd.log "
     "is created")
t.ok(b.wait_log(r"SIGUSR1: log files reopened", 5), "the master logs the "
     "reopen in the new file")
time.sleep(0.5)  # the workers reopen on their next loop iteration
size = os.path.getsize(moved)
# Traffic that makes the workers log (level debug; a protocol violation
# is logged at any level).
c.publish("usr/x", b"x", qos=1)
bad = b.client(client_id="bad193")
bad.send(m.publish("bad/+", b"x"))
bad.expect_closed(5)
c.disconnect()
time.sleep(0.5)
t.is_(os.path.getsize(moved), size, "nothing more is written to the moved "
      "file")
t.ok(len(b.log_text()) > 0, "the new file has the new lines")
t.done()
