#!/usr/bin/python3
# 199: privilege drop (user: in the configuration).  Started as root with
# a listener on a privileged port (< 1024), comqttd binds it, makes the
# missing data_dir and gives it to the user, then every process (master,
# comqtt-storage, workers) runs as that user; clients are served on the
# privileged port, comqtt-storage writes as that user (a retained message
# survives a restart), and a user that does not exist stops the start
# with one clear line.
import os
import pwd
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import TempDir, binary, comqtt_only, run, wait_port  # noqa
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's user: setting")
if os.geteuid() != 0:
    t.skip_all("needs root to bind a privileged port and switch users")
USER = "nobody"
uid = pwd.getpwnam(USER).pw_uid


def low_port():
    for p in range(900, 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    return None


port = low_port()
d = TempDir()
os.chmod(d.path, 0o755)  # the user must reach data_dir inside
data = os.path.join(d.path, "var", "data")
log = os.path.join(d.path, "comqttd.log")


def config(user):
    return d.file("comqtt.yml", "workers: 2\nuser: %s\ndata_dir: %s\n"
                  "admin: {enabled: false}\n"
                  "log: {file: %s, level: info}\n"
                  "listeners:\n"
                  "  - {name: low, type: tcp, address: 127.0.0.1:%d}\n"
                  % (user, data, log, port))


def start():
    return subprocess.Popen([binary("comqttd"), "-c", config(USER)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(p):
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def uids(pid):
    """Real and effective uid of pid and its children."""
    out = {}
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                          text=True).stdout.split()
    for q in [pid] + [int(k) for k in kids]:
        with open("/proc/%d/status" % q) as f:
            u = re.search(r"^Uid:\s+(\d+)\s+(\d+)", f.read(), re.M)
            out[q] = (int(u.group(1)), int(u.group(2)))
    return out


broker = start()
try:
    t.ok(port is not None and wait_port(port, timeout=15),
         "comqttd serves on privileged port %s" % port)
    time.sleep(0.5)  # the workers and comqtt-storage have started
    ids = uids(broker.pid)
    t.ok(len(ids) >= 4, "the master and its children (%d processes)"
         % len(ids))
    t.ok(all(u == (uid, uid) for u in ids.values()),
         "all run as %s (uid %d): %r" % (USER, uid, ids))
    st = os.stat(data)
    t.is_(st.st_uid, uid, "the missing data_dir was made and given to %s"
          % USER)
    t.ok(os.path.exists(os.path.join(data, "comqtt.mdb")),
         "comqtt-storage wrote its store there")
    r = run(["mosquitto_pub", "-p", str(port), "-t", "u199/state",
             "-m", "on", "-q", "1", "-r"], timeout=10)
    t.is_(r.returncode, 0, "mosquitto_pub publishes a retained message")
    stop(broker)
    broker = start()
    t.ok(wait_port(port, timeout=15), "restarted")
    r = run(["mosquitto_sub", "-p", str(port), "-t", "u199/#", "-C", "1",
             "-W", "10", "-v"], timeout=15)
    t.is_(r.stdout.strip(), "u199/state on",
          "the retained message survived the restart (stored as %s)"
          % USER)
finally:
    stop(broker)

r = run([binary("comqttd"), "-c", config("nosuchuser199")], timeout=20)
with open(log) as f:
    text = f.read()
t.ok(r.returncode != 0, "a user that does not exist: comqttd exits "
     "non-zero (%d)" % r.returncode)
t.ok('user "nosuchuser199" does not exist' in text,
     "and logs why")
# A data_dir path through a file: no start, one line saying why.
data = os.path.join(d.file("plain", "x"), "data")
r = run([binary("comqttd"), "-c", config(USER)], timeout=20)
with open(log) as f:
    text = f.read()
t.ok(r.returncode != 0 and "data_dir %s: cannot make" % data in text,
     "a data_dir that cannot be made: comqttd exits non-zero and logs "
     "why")
d.remove()
t.done()
