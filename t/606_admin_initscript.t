#!/usr/bin/python3
# 606: make install into a staging root (DESTDIR) puts every file where it
# belongs, paths filled in; the installed LSB init script, run as root
# with its paths overridden into the staging root, starts the broker
# (comqttd -d --pid-file), reports status (0 running, 3 stopped), reloads
# (a change of admin.token takes effect; a broken file is refused and the
# broker keeps running), restarts, stops (status 3 afterwards, no process
# left); systemd-analyze verifies the installed unit; make uninstall
# removes what install put, except the configuration.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api  # noqa: E402
from cqtest import (BUILD, TempDir, comqtt_only, free_ports,  # noqa: E402
                    wait_until)
import mqttraw  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's installation")
t.is_(os.geteuid(), 0, "the init script test runs as root")
d = TempDir(prefix="cqinit-")
t.cleanup(lambda: d.remove() if not t.failed else
          t.diag("kept: " + d.path))
root = os.path.join(d.path, "root")


def make(target):
    return subprocess.run(["make", "-s", "-C", BUILD, target,
                           "DESTDIR=" + root], capture_output=True,
                          text=True, timeout=600)


def prefix():
    with open(os.path.join(BUILD, "Makefile")) as f:
        return re.search(r"^prefix\s*:=\s*(\S+)", f.read(), re.M).group(1)


r = make("install")
t.is_(r.returncode, 0, "make install DESTDIR=%s" % root)
if r.returncode:
    t.diag(r.stdout + r.stderr)
P = root + prefix()
etc = os.path.join(P, "etc")
FILES = ["sbin/comqttd", "sbin/comqtt-authd", "bin/comqttctl",
         "etc/comqtt/comqtt.yml", "etc/comqtt/comqttctl.conf",
         "etc/init.d/comqttd", "lib/systemd/system/comqttd.service",
         "share/man/man1/comqttctl.1", "share/man/man5/comqtt.yml.5",
         "share/man/man8/comqttd.8", "share/man/man8/comqtt-authd.8",
         "share/comqtt/dashboard/index.html",
         "share/comqtt/dashboard/app.js", "share/comqtt/dashboard/app.css",
         "share/comqtt/dashboard/favicon.svg"]
for f in FILES:
    t.ok(os.path.isfile(os.path.join(P, f)), "installed: %s" % f)
for f in ("sbin/comqttd", "bin/comqttctl", "etc/init.d/comqttd"):
    t.ok(os.access(os.path.join(P, f), os.X_OK), "%s is executable" % f)
init = os.path.join(P, "etc/init.d/comqttd")
text = open(init).read()
t.ok("@sbindir@" not in text and "DAEMON=${DAEMON:-%s/sbin/comqttd}"
     % prefix() in text, "the init script's paths are filled in")
unit = open(os.path.join(P, "lib/systemd/system/comqttd.service")).read()
t.ok("Type=forking" in unit and "PIDFile=/run/comqttd.pid" in unit and
     "ExecStart=%s/sbin/comqttd -d -c %s/etc/comqtt/comqtt.yml "
     "--pid-file /run/comqttd.pid" % (prefix(), prefix()) in unit,
     "the systemd unit: forking, its pid file, paths filled in")
# systemd's own check, on a copy that points into the staging root (the
# commands it names must exist).
staged = os.path.join(d.path, "comqttd.service")
with open(staged, "w") as f:
    f.write(unit.replace(prefix() + "/", P + "/"))
r = subprocess.run(["systemd-analyze", "verify", "--man=no", staged],
                   capture_output=True, text=True, timeout=60)
t.ok(r.returncode == 0 and not r.stderr.strip(),
     "systemd-analyze verify accepts the unit %s" % r.stderr.strip()[:300])

# ---- the init script ---------------------------------------------------
mqtt_port, admin_port = free_ports(2)
conf = os.path.join(d.path, "comqtt.yml")
pidfile = os.path.join(d.path, "run", "comqttd.pid")


def write_conf(token, extra=""):
    with open(conf, "w") as f:
        f.write("workers: 2\n"
                "log: {file: %s/comqttd.log, level: info}\n"
                "data_dir: %s/data\n"
                "listeners:\n  - {name: tcp, address: \"127.0.0.1:%d\"}\n"
                "admin:\n  address: \"127.0.0.1:%d\"\n  token: %s\n"
                "  dashboard_dir: %s/share/comqtt/dashboard\n%s"
                % (d.path, d.path, mqtt_port, admin_port, token, P, extra))


env = dict(os.environ, DAEMON=os.path.join(P, "sbin/comqttd"), CONF=conf,
           PIDFILE=pidfile, DEFAULTS=os.path.join(d.path, "no-defaults"),
           STOP_TIMEOUT="20")


def initd(action):
    return subprocess.run(["/bin/sh", init, action], capture_output=True,
                          text=True, timeout=60, env=env)


def master_pid():
    try:
        return int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class Where:
    admin = {"address": "127.0.0.1:%d" % admin_port}


write_conf("first-token")
t.is_(initd("status").returncode, 3, "status before start: 3 (not running)")
r = initd("start")
t.is_(r.returncode, 0, "start: 0 (%s)" % r.stdout.strip())
pid = master_pid()
t.ok(pid is not None and alive(pid), "the pid file names a live master")
t.cleanup(lambda: alive(pid) and os.kill(pid, 9))
c = mqttraw.Client(mqtt_port, timeout=5)
t.ok(c.connect("init-client").rc == 0, "the broker serves MQTT")
c.disconnect()
api = Api(Where, token="first-token")
t.is_(api.get(API + "/stat/online").status, 200, "and the admin API")
r = api.get("/", token="")
t.ok(r.status == 200 and "comqtt" in r.text, "and the installed dashboard")
r = initd("start")
t.ok(r.returncode == 0 and "already running" in r.stdout,
     "start again: 0, already running")
r = initd("status")
t.ok(r.returncode == 0 and str(pid) in r.stdout, "status: 0, with the pid")

write_conf("second-token")
r = initd("reload")
t.is_(r.returncode, 0, "reload: 0")
t.ok(wait_until(lambda: Api(Where, token="second-token").get(
    API + "/stat/online").status == 200, 10),
     "the new token works after the reload")
t.is_(api.get(API + "/stat/online").status, 401, "the old one does not")
with open(conf, "a") as f:
    f.write("limits: {max_inflight: nope}\n")
r = initd("force-reload")
t.ok(r.returncode == 1 and "not valid" in r.stdout,
     "force-reload of a broken file: 1, refused")
t.ok(alive(pid), "the broker still runs")
write_conf("second-token")

r = initd("restart")
t.is_(r.returncode, 0, "restart: 0")
t.ok(not alive(pid), "the old master is gone")
pid = master_pid()
t.ok(pid is not None and alive(pid), "a new master runs")
t.ok(wait_until(lambda: Api(Where, token="second-token").get(
    API + "/stat/online").status == 200, 10), "and serves")

r = initd("stop")
t.is_(r.returncode, 0, "stop: 0")
t.ok(wait_until(lambda: not alive(pid), 10), "the master exited")
t.ok(not os.path.exists(pidfile), "the pid file is gone")
t.is_(initd("status").returncode, 3, "status after stop: 3")
t.is_(initd("stop").returncode, 0, "stop when stopped: 0")
t.is_(initd("bogus").returncode, 2, "an unknown action: 2, usage")
log = open(os.path.join(d.path, "comqttd.log")).read()
t.ok(not re.search(r": (crit|alert): ", log), "the log has no crit line")

# ---- uninstall ---------------------------------------------------------
r = make("uninstall")
t.is_(r.returncode, 0, "make uninstall")
left = [f for f in FILES if os.path.exists(os.path.join(P, f))]
t.is_(left, ["etc/comqtt/comqtt.yml", "etc/comqtt/comqttctl.conf"],
      "everything is gone but the configuration")
t.done()
