#!/usr/bin/python3
# 605: the dashboard in headless Chromium (Debian's chromium driven by
# playwright-core from node_modules, see package.json): it asks for the
# token and refuses a wrong one, shows the overview figures and draws its
# charts, lists a client this test connected, shows its detail, kicks it
# (the client is really disconnected), publishes through its form to a
# real subscriber, blacklists an id, shows the configuration without the
# token; screenshots are saved under the build tree
# (t/screenshots/605_admin_dashboard/); no script error.
import json
import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api  # noqa: E402
from cqtest import BUILD, Broker, comqtt_only  # noqa: E402
from listeners import JS, NODE, NODE_MODULES  # noqa: E402
import mqttraw  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
CHROMIUM = "/usr/bin/chromium"
t.ok(os.access(CHROMIUM, os.X_OK), "Debian's chromium is installed "
     "(make deps)")
t.ok(os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")),
     "playwright-core is in node_modules (make deps runs npm ci)")

b = Broker(t, admin={})
api = Api(b)
victim = mqttraw.Client(b.ports[1], proto=mqttraw.V5)
t.cleanup(victim.close)
victim.connect("dash-victim", username="dana")
victim.subscribe([("dash/one", 1), ("dash/two/#", 0)])
listener = b.client(port=b.ports[0], client_id="dash-listener")
listener.subscribe([("dash/pub", 1)])
# Messages flowing while the page samples, for its messages/s chart: 50 a
# second at QoS 0 from a third client, until the browser is done (at most
# 3 minutes).
feeder = mqttraw.Client(b.ports[0])
t.cleanup(feeder.close)
feeder.connect("dash-feeder")
done = threading.Event()


def feed():
    for _ in range(9000):
        if done.wait(0.02):
            return
        feeder.publish("dash/traffic", b"tick")


threading.Thread(target=feed, daemon=True).start()

# Kept after the test, in the build tree: the last run's screenshots.
shots = os.path.join(BUILD, "t", "screenshots", "605_admin_dashboard")
shutil.rmtree(shots, ignore_errors=True)
os.makedirs(shots)
args = {"url": "http://%s/" % b.admin["address"],
        "token": b.admin["token"], "client": "dash-victim",
        "topic": "dash/pub", "shots": shots}
env = dict(os.environ, NODE_PATH=NODE_MODULES)
r = subprocess.run([NODE, os.path.join(JS, "dashboard.js"),
                    json.dumps(args)], capture_output=True, text=True,
                   timeout=180, env=env, cwd=b.dir.path,
                   start_new_session=True)
done.set()
steps = {}
for line in r.stdout.splitlines():
    try:
        s = json.loads(line)
        steps[s.pop("step")] = s
    except ValueError:
        t.diag("node: " + line)
t.is_(r.returncode, 0, "the browser script ran to its end")
if "exception" in steps:
    t.diag(steps["exception"]["message"])
if r.stderr.strip():
    t.diag(r.stderr[-2000:])

t.is_(steps.get("login-shown", {}).get("title"), "comqtt",
      "the page loads and asks for the token")
t.ok(steps.get("wrong-token", {}).get("error"),
     "a wrong token is refused")
ov = steps.get("overview", {})
t.is_(ov.get("figures", {}).get("clients connected"), "3",
      "the overview shows the 3 connected clients")
t.is_(ov.get("workers"), 2, "and the 2 workers")
t.ok(ov.get("inkReceived", 0) >= 6 and ov.get("inkConnections", 0) >= 6,
     "the charts draw messages received per second and connections above "
     "0 (%s, %s pixels of their colours)" % (ov.get("inkReceived"),
                                            ov.get("inkConnections")))
cells = steps.get("client-row", {}).get("cells", [])
t.ok(cells[:6] == ["dash-victim", "yes", "1", cells[3] if len(cells) > 3
                   else None, "dana", "5"] and
     cells[3].startswith("127.0.0.1:"),
     "the client list shows the test's client: %r" % cells)
det = steps.get("client-detail", {})
t.ok(det.get("title") == "Client dash-victim" and
     sorted(det.get("subs", [])) == ["dash/one", "dash/two/#"],
     "its detail with its subscriptions")
t.ok(steps.get("kicked", {}).get("online") in ("no", "gone"),
     "after Kick the list shows it offline")
closed, got = victim.expect_closed(5)
t.ok(closed and any(p.type == mqttraw.DISCONNECT and p.rc == 0x98
                    for p in got), "the client was really disconnected "
     "(DISCONNECT 0x98)")
t.ok("Published to dash/pub" in steps.get("published", {}).get("result", ""),
     "the publish form reports success")
p = listener.recv_publish(5)
t.ok(p is not None and p.payload == b"from the dashboard" and p.qos == 1,
     "and the subscriber got the message")
t.ok("dash/banned" in steps.get("blacklisted", {}).get("ids", []),
     "the blacklist form adds an id")
t.is_(api.get(API + "/blacklist").json, ["dash/banned"],
      "the broker has it")
t.is_(steps.get("config"), {"workers": 2, "token": "********"},
      "the configuration page, without the token")
t.is_(steps.get("errors", {}).get("errors"), [], "no script error")
for name in ("1-login.png", "2-overview.png", "3-clients.png",
             "4-kicked.png"):
    f = os.path.join(shots, name)
    ok = os.path.exists(f) and open(f, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    t.ok(ok and os.path.getsize(f) > 5000, "screenshot %s saved" % name)
t.diag("screenshots in %s" % shots)
listener.disconnect()
b.stop()
t.done()
