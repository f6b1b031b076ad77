#!/usr/bin/python3
# 604: comqttctl against a running broker, every subcommand, in tables and
# with --json; its exit codes (0 done, 1 usage, 2 unreachable, 3 not
# found, 4 bad token, 5 other error); where it finds the broker and the
# token (command line, environment, settings file, token file).  The
# broker runs with admin.token "": it makes a token in data_dir (and the
# directory with its parents; the file mode 0600, logged once), which
# comqttctl reads through token_file.
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api, comqttctl  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
import mqttraw  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
b = Broker(t, admin={"token": ""}, start=False)
# A data_dir whose parents do not exist yet either (a fresh install).
data_dir = os.path.join(b.dir.path, "var", "lib", "comqtt")
with open(b.conf) as f:
    text = f.read()
with open(b.conf, "w") as f:
    f.write(text.replace(os.path.join(b.dir.path, "data") + "\n",
                         data_dir + "\n"))
b.start()
token_file = os.path.join(data_dir, "admin.token")

# ---- the token the broker made --------------------------------------------
t.ok(wait_until(lambda: os.path.exists(token_file), 5),
     "admin.token \"\": a token file is made in data_dir, made with "
     "its parents")
token = open(token_file).read().strip()
t.ok(re.fullmatch(r"[0-9a-f]{64}", token), "64 hex digits of randomness")
t.is_(oct(os.stat(token_file).st_mode & 0o777), "0o600", "mode 0600")
t.is_(b.log_text().count("admin API token generated"), 1, "logged once")
b.admin["token"] = token
api = Api(b)
t.is_(api.get(API + "/stat/online").status, 200, "the API takes it")

# ---- where comqttctl finds the broker and the token ------------------------
r = comqttctl(b, "status", token="")
t.is_(r.returncode, 4, "no token anywhere: exit 4")
t.ok("token" in r.stderr, "and says why: %s" % r.stderr.strip())
conf = b.dir.file("ctl.conf", "# test settings\nhost = %s\ntoken_file = %s\n"
                  % (b.admin["address"], token_file))
r = comqttctl(b, "-c", conf, "status", token="")
t.is_(r.returncode, 0, "-c settings with host and token_file: exit 0")
r = comqttctl(b, "status", token="", env={"COMQTTCTL_TOKEN": token})
t.is_(r.returncode, 0, "COMQTTCTL_TOKEN")
os.makedirs(os.path.join(b.dir.path, "xdg"), exist_ok=True)
b.dir.file("xdg/comqttctl.conf", "token = %s\n" % token)
r = comqttctl(b, "status", token="")
t.is_(r.returncode, 0, "$XDG_CONFIG_HOME/comqttctl.conf")
os.unlink(os.path.join(b.dir.path, "xdg", "comqttctl.conf"))
r = comqttctl(b, "-t", "wrong", "status", token="")
t.is_(r.returncode, 4, "a wrong token: exit 4")
bad = b.dir.file("bad.conf", "colour = blue\n")
r = comqttctl(b, "-c", bad, "status")
t.ok(r.returncode == 1 and "bad.conf:1" in r.stderr,
     "a bad settings file: exit 1, naming the line")
for args in ((), ("frobnicate",), ("clients", "show"), ("publish", "a"),
             ("publish", "-q", "3", "a", "b"), ("blacklist", "add")):
    r = comqttctl(b, *args)
    t.is_(r.returncode, 1, "usage error %r: exit 1" % (args,))
r = comqttctl(b, "-H", "127.0.0.1:1", "status")
t.is_(r.returncode, 2, "nothing listening: exit 2")

# ---- every subcommand ------------------------------------------------------
c = b.client(port=b.ports[1], client_id="ctl-1")
c.subscribe([("ctl/+", 1)])

r = comqttctl(b, "status")
t.ok(r.returncode == 0 and "1 connected" in r.stdout and
     re.search(r"^WORKER\s+PID", r.stdout, re.M), "status: figures and "
     "the workers' table")
r = comqttctl(b, "status", "--json")
j = json.loads(r.stdout)
t.ok(j["overall"]["clients_connected"] == 1 and len(j["workers"]) == 2,
     "status --json: overall and workers")

r = comqttctl(b, "clients")
t.ok(r.returncode == 0 and re.search(r"^ctl-1\s+true\s+1\s+127\.0\.0\.1:",
                                     r.stdout, re.M),
     "clients: a table row for ctl-1")
r = comqttctl(b, "clients", "list", "-q", "nomatch", "--json")
t.is_(json.loads(r.stdout)["items"], [], "clients list -q --json")
r = comqttctl(b, "clients", "list", "--offline")
t.ok(r.returncode == 0 and "ctl-1" not in r.stdout, "clients --offline")
r = comqttctl(b, "clients", "show", "ctl-1")
t.ok(r.returncode == 0 and "online = true" in r.stdout and
     "topic_filters = [ctl/+]" in r.stdout, "clients show: key = value")
r = comqttctl(b, "clients", "show", "ghost")
t.ok(r.returncode == 3 and "client not found" in r.stderr,
     "clients show of an unknown client: exit 3")
r = comqttctl(b, "subs", "ctl-1")
t.ok(r.returncode == 0 and re.search(r"^ctl/\+\s+1\s+false", r.stdout,
                                     re.M), "subs: the subscription")
t.is_(comqttctl(b, "subs", "ghost").returncode, 3, "subs ghost: exit 3")

r = comqttctl(b, "publish", "ctl/a", "hello", "-q", "1", "-r")
t.ok(r.returncode == 0 and "published to ctl/a" in r.stdout, "publish")
p = c.recv_publish(5)
t.ok(p is not None and p.payload == b"hello" and p.qos == 1,
     "the subscriber got it at QoS 1")
r = comqttctl(b, "publish", "ctl/+", "x")
t.is_(r.returncode, 5, "publish to a wildcard topic: exit 5")
r = comqttctl(b, "retained", "list", "-q", "ctl/", "--payload")
t.ok(r.returncode == 0 and re.search(r"^ctl/a\s+1\s+5\s.*hello$", r.stdout,
                                     re.M), "retained list")
r = comqttctl(b, "retained", "show", "ctl/a")
t.ok(r.returncode == 0 and "payload = hello" in r.stdout, "retained show")
r = comqttctl(b, "retained", "delete", "ctl/a")
t.is_(r.returncode, 0, "retained delete")
t.is_(comqttctl(b, "retained", "delete", "ctl/a").returncode, 3,
      "retained delete again: exit 3")

r = comqttctl(b, "blacklist", "add", "ctl-1")
t.ok(r.returncode == 0 and "connection was closed" in r.stdout,
     "blacklist add of a connected client")
closed, _ = c.expect_closed(5)
t.ok(closed, "it was disconnected")
r = comqttctl(b, "blacklist")
t.is_(r.stdout.splitlines(), ["ctl-1"], "blacklist lists it")
t.is_(json.loads(comqttctl(b, "blacklist", "list", "--json").stdout),
      ["ctl-1"], "blacklist --json")
t.is_(comqttctl(b, "blacklist", "remove", "ctl-1").returncode, 0,
      "blacklist remove")
t.is_(comqttctl(b, "blacklist", "remove", "ctl-1").returncode, 3,
      "blacklist remove again: exit 3")

c2 = b.client(port=b.ports[0], client_id="ctl-2")
r = comqttctl(b, "clients", "kick", "ctl-2")
t.ok(r.returncode == 0 and "disconnected" in r.stdout, "clients kick")
closed, _ = c2.expect_closed(5)
t.ok(closed, "the kicked client was closed")
t.is_(comqttctl(b, "clients", "kick", "ctl-2").returncode, 3,
      "kick of a client not connected: exit 3")

r = comqttctl(b, "config")
t.ok(r.returncode == 0 and "workers = 2" in r.stdout and
     "admin.token = \n" in r.stdout and "listeners[0].name = a" in r.stdout,
     "config: flattened key = value lines")
r = comqttctl(b, "metrics")
t.ok(r.returncode == 0 and "# TYPE comqtt_connections gauge" in r.stdout,
     "metrics: the exposition")

since = b.log_offset()
r = comqttctl(b, "reload")
t.ok(r.returncode == 0 and "reloading" in r.stdout, "reload")
t.ok(b.wait_log(r"SIGHUP: reloading", 10, since), "the master reloaded")
t.is_(b.log_text().count("admin API token generated"), 1,
      "the token is not made again on reload")

r = comqttctl(b, "stop")
t.ok(r.returncode == 0 and "stopping" in r.stdout, "stop")
t.is_(b.wait_exit(20), 0, "the broker exits with status 0")
t.ok(wait_until(lambda: not b._group_alive(), 10), "no process left")
t.is_(comqttctl(b, "status").returncode, 2, "then status: exit 2")
b.stop(signal.SIGTERM)
t.done()
