#!/usr/bin/python3
# 194: comqttd -d daemonises: the command returns 0 once the daemon
# serves, the pid file (pid_file: in the configuration) holds the pid of
# a process that is not our child, a second comqttd -d with the same pid
# file fails with "already running", and SIGTERM to the daemon stops it
# and removes the pid file.
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, binary, comqtt_only, run, wait_until  # noqa
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's -d and pid file")
b = Broker(t, start=False, config="pid_file: {dir}/comqttd.pid")
pidfile = os.path.join(b.dir.path, "comqttd.pid")
daemon = {"pid": None}


def alive(pid):
    return pid is not None and os.path.exists("/proc/%d" % pid)


def kill_daemon():
    pid = daemon["pid"]
    if alive(pid):
        kids = b.children(pid)
        os.kill(pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass


t.cleanup(kill_daemon)
# The daemon's stderr is /dev/null: send sanitizer reports to files that
# check_log() reads (<dir>/asan.log.<pid>).
env = dict(os.environ)
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    env[var] = ":".join(filter(None, [env.get(var), "log_path=%s" % (
        os.path.join(b.dir.path, var.split("_")[0].lower() + ".log"))]))
t0 = time.monotonic()
r = run([binary("comqttd"), "-d", "-c", b.conf], timeout=30,
        cwd=b.dir.path, env=env)
t.is_(r.returncode, 0, "comqttd -d returns 0 (%.1f s)"
      % (time.monotonic() - t0))
if r.returncode:
    t.diag(r.stdout + r.stderr)
text = wait_until(lambda: os.path.exists(pidfile) and
                  open(pidfile).read().strip(), 5)
pid = int(text) if text and text.isdigit() else None
daemon["pid"] = pid
t.ok(alive(pid), "the pid file names a running process (%s)" % pid)
if pid:
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    t.ok(ppid != os.getpid(), "it is not our child (parent %d)" % ppid)
    t.ok(os.getsid(pid) != os.getsid(0), "it left our session")
t.ok(all(b._probe(p) for p in b.ports), "the daemon serves MQTT on both "
     "listeners")

r = run([binary("comqttd"), "-d", "-c", b.conf], timeout=30,
        cwd=b.dir.path, env=env)
t.ok(r.returncode != 0, "a second comqttd -d with the same pid file fails "
     "(%d)" % r.returncode)
t.ok("already running" in r.stdout + r.stderr + b.log_text(),
     "saying 'already running'")
t.ok(alive(pid), "the first daemon still runs")
t.is_(open(pidfile).read().strip(), str(pid), "and the pid file still "
      "names it")

if pid:
    kids = b.children(pid)
    os.kill(pid, signal.SIGTERM)
    t.ok(wait_until(lambda: not alive(pid), 10), "SIGTERM stops the daemon "
         "within 10 s")
    t.ok(wait_until(lambda: not any(alive(k) for k in kids), 5),
         "its workers are gone")
    t.ok(not os.path.exists(pidfile), "the pid file is removed")
b.check_log()
t.done()
