#!/usr/bin/python3
# 311: MQTT over WebSocket from a browser: MQTT.js's browser bundle in
# headless Chromium (playwright-core), on a page served by a local HTTP
# server this test starts.  The page subscribes, publishes, gets its own
# message back through the broker, and exchanges messages with a TCP
# client of the same broker both ways.  The browser and the HTTP server
# are stopped afterwards.
import http.server
import json
import os
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import comqtt_only, free_port  # noqa: E402
from listeners import JS, NODE, NODE_MODULES, listener_broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's ws listener")
b = listener_broker(t, ["{name: ws, type: ws, address: 127.0.0.1:{p0}}"])
WS = b.lp[0]

FILES = {"/": (os.path.join(JS, "page.html"), "text/html"),
         "/mqtt.min.js": (os.path.join(NODE_MODULES, "mqtt", "dist",
                                       "mqtt.min.js"),
                          "application/javascript")}


class Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        f = FILES.get(self.path.split("?")[0])
        if f is None:
            self.send_error(404)
            return
        with open(f[0], "rb") as fh:
            body = fh.read()
        self.send_response(200)
        self.send_header("Content-Type", f[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http_port = free_port()
server = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Pages)
th = threading.Thread(target=server.serve_forever, daemon=True)
th.start()


def stop_server():
    server.shutdown()
    server.server_close()


t.cleanup(stop_server)

tcp = b.client(client_id="tcp-311")
tcp.subscribe([("browser/#", 1)])
url = "http://127.0.0.1:%d/?broker=ws://127.0.0.1:%d/mqtt" % (http_port, WS)
p = subprocess.Popen([NODE, os.path.join(JS, "browser.js"), url, "30000"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, start_new_session=True)


def kill_browser():
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


t.cleanup(kill_browser)

seen = []
for _ in range(2):
    m = tcp.recv_publish(40)
    if m is None:
        break
    seen.append((m.topic, m.payload))
t.is_(seen, [("browser/hello", b"from chromium"), ("browser/ready", b"ready")],
      "the TCP client gets the browser's publications")
if seen[-1:] == [("browser/ready", b"ready")]:
    tcp.publish("browser/from-tcp", b"hello browser", qos=1)
try:
    out, err = p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    kill_browser()
    out, err = p.communicate()
lines = out.strip().splitlines()
rep = json.loads(lines[-1]) if lines else {}
t.ok(rep.get("ok"), "the page reports success (%s)"
     % rep.get("error", "ok"))
if not rep.get("ok"):
    t.diag(err[-2000:])
t.ok("Chrome" in rep.get("userAgent", ""), "in Chromium (%s)"
     % rep.get("userAgent", "?")[-40:])
got = [tuple(x) for x in rep.get("received", [])]
t.ok(("browser/hello", "from chromium") in got,
     "the page got its own message back through the broker")
t.ok(("browser/from-tcp", "hello browser") in got,
     "and the TCP client's message")
t.is_(p.returncode, 0, "the browser script exits 0")
t.done()
