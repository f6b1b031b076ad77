#!/usr/bin/python3
# 192: SIGHUP reloads the configuration.
#   log level info -> debug takes effect: debug lines appear for traffic
#   log level -> warn together with a change that needs a restart
#     (workers: 3): the master logs a warning naming the key, the worker
#     count stays 2, and from then on notice/info/debug lines stop (the
#     SIGUSR1 "log files reopened" notice between two such reloads is not
#     logged)
#   a configuration that does not parse: an error is logged and the
#     broker goes on serving with the old one
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's reload and log levels")
b = Broker(t, log_level="info")
LEVEL = r": (debug|info|notice|warn|error|crit|alert): "


def traffic(tag):
    c = b.client(client_id="hup192-%s" % tag)
    c.subscribe([("hup/#", 1)])
    c.publish("hup/x", b"x", qos=1)
    c.collect(1, 5)
    c.disconnect()


def levels(text):
    return [m.group(1) for m in re.finditer(LEVEL, text)]


traffic("info")
t.ok("debug" not in levels(b.log_text()), "at level info: no debug lines")

mark = b.log_offset()
b.rewrite_config(log_level="debug")
b.send_signal(signal.SIGHUP)
t.ok(b.wait_log(r"SIGHUP", 5, mark), "the master logs the SIGHUP")
time.sleep(0.5)  # let the workers apply the new level
traffic("debug")
t.ok(b.wait_log(r": debug: ", 5, mark), "after reloading level debug, "
     "debug lines appear")

mark = b.log_offset()
b.rewrite_config(log_level="warn", workers=3)
b.send_signal(signal.SIGHUP)
hit = b.wait_log(r": (warn|error): .*workers", 5, mark)
t.ok(hit, "a change of 'workers' on reload is logged as needing a restart")
barrier = b.log_offset()
time.sleep(0.5)
b.send_signal(signal.SIGUSR1)
time.sleep(0.5)
traffic("warn")
b.rewrite_config(log_level="warn", workers=4)
b.send_signal(signal.SIGHUP)
hit2 = b.wait_log(r": (warn|error): .*workers", 5, barrier)
t.ok(hit2, "a second reload logs it again")
between = b.log_text()[barrier:barrier + (hit2.start() if hit2 else 0)]
t.is_([lv for lv in levels(between) if lv in ("debug", "info", "notice")],
      [], "at level warn nothing below warn is logged (SIGUSR1's notice "
      "included)")
t.is_(len(b.worker_pids()), 2, "still two workers")

mark = b.log_offset()
with open(b.conf, "w") as f:
    f.write("workers: [unclosed\n")
b.send_signal(signal.SIGHUP)
t.ok(b.wait_log(r": (error|warn): ", 5, mark), "a broken configuration on "
     "reload is logged")
c = b.client(client_id="after192")
t.is_(c.connack.rc, 0, "and the broker keeps serving")
b.rewrite_config()
t.done()
