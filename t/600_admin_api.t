#!/usr/bin/python3
# 600: the admin REST API, endpoint by endpoint: what each answers on
# success (Go comqtt's paths and field names), and its errors as JSON with
# the right status: 401 without or with a wrong token, 404 for an unknown
# client / topic / id / path, 405 for a wrong method, 400 for malformed
# JSON and bad parameters, 413 for a body over admin.max_body.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import API, Api, q  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
import mqttraw  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")
b = Broker(t, admin={"max_body": "1K"})
api = Api(b)

# ---- access -----------------------------------------------------------
ENDPOINTS = [("GET", API + "/config"), ("GET", API + "/stat/overall"),
             ("GET", API + "/stat/online"), ("GET", API + "/stat/workers"),
             ("GET", API + "/clients"), ("GET", API + "/clients/x"),
             ("POST", API + "/clients/x/kick"),
             ("DELETE", API + "/clients/x"),
             ("GET", API + "/clients/x/subscriptions"),
             ("DELETE", API + "/clients/x/subscriptions/a"),
             ("GET", API + "/subscriptions"), ("GET", API + "/blacklist"),
             ("POST", API + "/blacklist/x"), ("DELETE", API + "/blacklist/x"),
             ("GET", API + "/retained"), ("GET", API + "/retained/a/b"),
             ("DELETE", API + "/retained/a/b"), ("GET", API + "/topics"),
             ("POST", API + "/message"), ("POST", API + "/reload"),
             ("POST", API + "/stop"), ("POST", API + "/auth/invalidate"),
             ("GET", "/metrics")]
for method, path in ENDPOINTS:
    r = api.request(method, path, token="")
    t.ok(r.status == 401 and r.error() and
         r.header("WWW-Authenticate") == "Bearer",
         "%s %s without a token: 401 with a JSON error" % (method, path))
    r = api.request(method, path, token="wrong-" + b.admin["token"])
    t.is_(r.status, 401, "%s %s with a wrong token: 401" % (method, path))
r = api.get(API + "/stat/online", token="",
            headers={"Authorization": "Basic eDp5"})
t.is_(r.status, 401, "a Basic credential is not a token: 401")

# ---- the broker's figures ---------------------------------------------
c1 = b.client(client_id="api-c1")
c1.subscribe([("api/+/t", 1), ("other/#", 0)])
r = api.get(API + "/stat/overall")
t.is_(r.status, 200, "GET /stat/overall: 200")
t.is_(r.header("Content-Type"), "application/json", "JSON content type")
o = r.json or {}
for k in ("version", "started", "time", "uptime", "bytes_received",
          "bytes_sent", "clients_connected", "clients_disconnected",
          "clients_maximum", "clients_total", "messages_received",
          "messages_sent", "messages_dropped", "retained", "inflight",
          "subscriptions", "memory_alloc", "threads"):
    t.ok(isinstance(o.get(k), (int, str)), "overall has %s" % k)
t.ok(o.get("clients_connected", 0) >= 1 and o.get("subscriptions") == 2,
     "overall counts the connected client and its 2 subscriptions")
r = api.get(API + "/stat/online")
t.ok(r.status == 200 and isinstance(r.json, int) and r.json >= 1,
     "GET /stat/online: a bare number, as Go comqtt answers (%r)" % r.text)
r = api.get(API + "/stat/workers")
t.ok(r.status == 200 and len(r.json) == 2 and
     all(w["alive"] and w["pid"] > 0 for w in r.json),
     "GET /stat/workers: both workers, alive")

r = api.get(API + "/config")
cfg = r.json or {}
t.ok(r.status == 200 and cfg.get("workers") == 2 and
     cfg["limits"]["max_inflight"] == 1024 and
     cfg["listeners"][0]["address"] == "127.0.0.1:%d" % b.port,
     "GET /config: the configuration in force")
t.is_(cfg.get("admin", {}).get("token"), "********",
      "the admin token is not shown")
t.is_(cfg.get("admin", {}).get("max_body"), "1K",
      "sizes as the file writes them")

# ---- clients -----------------------------------------------------------
c2 = mqttraw.Client(b.ports[1], proto=mqttraw.V5)
t.cleanup(c2.close)
c2.connect("api/with slash", username="u1", will={"topic": "w/t",
                                                  "payload": b"gone"},
           props={"session_expiry_interval": 60})
r = api.get(API + "/clients?page_size=100")
ids = [i["client_id"] for i in (r.json or {}).get("items", [])]
t.ok(r.status == 200 and "api-c1" in ids and "api/with slash" in ids,
     "GET /clients lists both clients")
t.ok(r.json.get("page") == 1 and r.json.get("page_size") == 100 and
     r.json.get("total") == len(ids), "paging fields")
item = [i for i in r.json["items"] if i["client_id"] == "api/with slash"][0]
t.ok(item["online"] and item["username"] == "u1" and
     item["remote"].startswith("127.0.0.1:") and item["protocol_version"] == 5
     and item["worker"] == 1 and item["subs"] == 0,
     "a list item has Go's fields, from shm and from its worker")
r = api.get(API + "/clients?q=slash")
t.is_([i["client_id"] for i in r.json["items"]], ["api/with slash"],
      "?q= filters by client id")
r = api.get(API + "/clients?page=2&page_size=1")
t.ok(r.json["total"] >= 2 and len(r.json["items"]) == 1,
     "page 2 of size 1")
for bad in ("page=0", "page_size=101", "page=x", "online=maybe"):
    r = api.get(API + "/clients?" + bad)
    t.ok(r.status == 400 and r.error(), "GET /clients?%s: 400" % bad)

r = api.get(API + "/clients/" + q("api/with slash"))
d = r.json or {}
t.is_(r.status, 200, "GET /clients/{id} with an encoded '/'")
t.ok(d.get("id") == "api/with slash" and d.get("online") is True and
     d.get("username") == "u1" and d.get("protocol_version") == 5 and
     d.get("will_topic_name") == "w/t" and d.get("will_payload") == "gone"
     and d.get("ip", "").startswith("127.0.0.1:") and
     d.get("inflight_count") == 0 and d.get("topic_filters") == [],
     "the client's fields, with Go comqtt's names")
r = api.get(API + "/clients/api-c1")
t.is_(sorted(r.json.get("topic_filters", [])), ["api/+/t", "other/#"],
      "topic_filters of a client with subscriptions")
for method, path in (("GET", "/clients/nobody"),
                     ("POST", "/clients/nobody/kick"),
                     ("DELETE", "/clients/nobody"),
                     ("GET", "/clients/nobody/subscriptions"),
                     ("DELETE", "/clients/nobody/subscriptions/a"),
                     ("DELETE", "/clients/api-c1/subscriptions/not%2Fmine")):
    r = api.request(method, API + path)
    t.ok(r.status == 404 and r.error(), "%s %s: 404 %r" % (method, path,
                                                           r.error()))

r = api.get(API + "/clients/api-c1/subscriptions")
t.ok(r.status == 200 and sorted(s["topic"] for s in r.json) ==
     ["api/+/t", "other/#"] and r.json[0]["qos"] in (0, 1),
     "GET /clients/{id}/subscriptions")
r = api.get(API + "/subscriptions?clientid=api-c1&topic=other")
t.ok(r.status == 200 and r.json["total"] == 1 and
     r.json["items"][0]["topic"] == "other/#" and
     r.json["items"][0]["client_id"] == "api-c1",
     "GET /subscriptions with both filters")
r = api.delete(API + "/clients/api-c1/subscriptions/" + q("other/#"))
t.ok(r.status == 200 and r.json.get("unsubscribed") is True,
     "DELETE /clients/{id}/subscriptions/{filter}")
t.ok(wait_until(lambda: [s["topic"] for s in api.get(
    API + "/clients/api-c1/subscriptions").json] == ["api/+/t"], 5),
     "the subscription is gone")

# ---- topics ------------------------------------------------------------
r = api.get(API + "/topics")
tree = r.json or {}
t.ok(r.status == 200 and tree.get("topic") == "" and
     [c["topic"] for c in tree.get("children", [])] == ["api"],
     "GET /topics: Go's tree, root first")
leaf = tree["children"][0]["children"][0]["children"][0]
t.ok(leaf["topic"] == "t" and leaf["subscribers"] == 1, "a leaf's count")
r = api.get(API + "/topics?format=list")
t.ok(r.json["items"] == [{"topic": "api/+/t", "subscribers": 1}],
     "GET /topics?format=list")
t.is_(api.get(API + "/topics?format=xml").status, 400, "unknown format: 400")

# ---- blacklist ---------------------------------------------------------
t.ok(api.get(API + "/blacklist").json == [], "the blacklist is empty")
r = api.post(API + "/blacklist/" + q("bad/one"))
t.ok(r.status == 200 and r.json == {"client_id": "bad/one",
                                    "blacklisted": True, "kicked": False},
     "POST /blacklist/{id} of a client not connected")
t.is_(api.get(API + "/blacklist").json, ["bad/one"], "GET /blacklist")
r = api.post(API + "/blacklist/" + "x" * 257)
t.ok(r.status == 400 and r.error(), "a 257-byte id: 400")
r = api.delete(API + "/blacklist/" + q("bad/one"))
t.ok(r.status == 200 and r.json.get("blacklisted") is False,
     "DELETE /blacklist/{id}")
r = api.delete(API + "/blacklist/" + q("bad/one"))
t.ok(r.status == 404 and r.error(), "DELETE of an id not there: 404")

# ---- publish and retained -----------------------------------------------
r = api.post(API + "/message", {"topic_name": "api/x/t", "payload": "hi",
                                "retain": True, "qos": 1})
t.ok(r.status == 200 and r.json == {"topic_name": "api/x/t",
                                    "payload": "hi", "retain": True,
                                    "qos": 1},
     "POST /message echoes the message")
p = c1.recv_publish(5)
t.ok(p is not None and p.topic == "api/x/t" and p.payload == b"hi",
     "the subscriber got it")
r = api.get(API + "/retained?topic=api/&payload=true")
t.ok(r.status == 200 and r.json["total"] == 1 and
     r.json["items"][0]["topic"] == "api/x/t" and
     r.json["items"][0]["payload"] == "hi" and
     r.json["items"][0]["payload_base64"] == "aGk=" and
     r.json["items"][0]["qos"] == 1 and r.json["items"][0]["size"] == 2,
     "GET /retained with a topic filter and payloads")
r = api.get(API + "/retained/api/x/t")
t.ok(r.status == 200 and r.json["payload"] == "hi",
     "GET /retained/{topic} (slashes in the path)")
t.is_(api.get(API + "/retained/" + q("api/x/t")).status, 200,
      "... or encoded")
t.is_(api.get(API + "/retained/no/such").status, 404,
      "GET /retained/{unknown}: 404")
r = api.delete(API + "/retained/api/x/t")
t.ok(r.status == 200 and r.json.get("deleted") is True,
     "DELETE /retained/{topic}")
t.is_(api.delete(API + "/retained/api/x/t").status, 404,
      "DELETE again: 404")
t.is_(api.get(API + "/retained?topic=api/").json["total"], 0, "gone")

BAD_BODIES = [b"", b"not json", b"{\"topic_name\": \"a\",}", b"[1, 2]",
              b"{\"topic_name\": 5}", b"{\"payload\": \"x\"}",
              b"{\"topic_name\": \"a/+\"}", b"{\"topic_name\": \"\"}",
              b"{\"topic_name\": \"a\", \"qos\": 3}",
              b"{\"topic_name\": \"a\", \"retain\": \"yes\"}",
              b"{\"topic_name\": \"a\", \"payload\": 1}",
              b"{\"topic_name\": \"a\", \"payload_base64\": \"%%%\"}",
              b"{\"topic_name\": \"a\", \"topic_name\": \"b\"}",
              b"\xff\xfe"]
for body in BAD_BODIES:
    r = api.post(API + "/message", body)
    t.ok(r.status == 400 and r.error(), "POST /message %r: 400 (%s)"
         % (body[:40], r.error()))
r = api.post(API + "/message", b"{\"topic_name\": \"a\", \"payload\": \"" +
             b"x" * 1100 + b"\"}")
t.ok(r.status == 413 and r.error(), "a body over admin.max_body: 413")
r = api.post(API + "/message", b"x" * 100000)
t.is_(r.status, 413, "a body far over the limit: 413")
# A body that is not JSON is refused before any endpoint acts, also where
# the endpoint reads none; so is one over the limit (POST /stop too).
for method, path in ENDPOINTS:
    r = api.request(method, path, b"{not json",
                    headers={"Content-Type": "application/json"})
    t.ok(r.status == 400 and "malformed JSON" in (r.error() or ""),
         "%s %s with a malformed JSON body: 400" % (method, path))
for method, path in ENDPOINTS:
    r = api.request(method, path, b"{\"x\": \"" + b"y" * 1100 + b"\"}",
                    headers={"Content-Type": "application/json"})
    t.ok(r.status == 413 and r.error(),
         "%s %s with a body over admin.max_body: 413" % (method, path))
r = api.post(API + "/message", {"topic_name": "api/b64",
                                "payload_base64": "AAEC/w=="})
t.is_(r.status, 200, "payload_base64 for bytes")

# ---- paths and methods ---------------------------------------------------
r = api.get(API + "/nothing")
t.ok(r.status == 404 and r.error(), "an unknown path: 404 JSON")
r = api.request("PUT", API + "/clients")
t.ok(r.status == 405 and r.error(), "a wrong method: 405 JSON")
t.is_(api.get("/api").status, 404, "/api: 404")

# ---- operations ------------------------------------------------------------
r = api.post(API + "/auth/invalidate")
e1 = (r.json or {}).get("epoch", 0)
e2 = (api.post(API + "/auth/invalidate").json or {}).get("epoch", 0)
t.ok(r.status == 200 and e2 == e1 + 1, "POST /auth/invalidate bumps the "
     "policy epoch (%d -> %d)" % (e1, e2))
since = b.log_offset()
r = api.post(API + "/reload")
t.ok(r.status == 202 and r.json.get("result") == "reloading",
     "POST /reload: 202")
t.ok(b.wait_log(r"SIGHUP: reloading", 10, since), "the master reloaded")

# ---- the dashboard's files ------------------------------------------------
r = api.get("/", token="")
t.ok(r.status == 200 and r.header("Content-Type").startswith("text/html")
     and "<title>comqtt</title>" in r.text, "GET / serves the dashboard "
     "without a token")
t.ok("default-src 'self'" in (r.header("Content-Security-Policy") or ""),
     "with a content security policy")
for f, ctype in (("/app.js", "text/javascript"), ("/app.css", "text/css"),
                 ("/favicon.svg", "image/svg+xml")):
    r = api.get(f, token="")
    t.ok(r.status == 200 and r.header("Content-Type").startswith(ctype),
         "GET %s" % f)
for bad in ("/../etc/passwd", "/%2e%2e/comqtt.yml", "/.hidden.js",
            "/sub/app.js", "/missing.js"):
    r = api.get(bad, token="")
    t.ok(r.status in (400, 404), "GET %s: refused (%d)" % (bad, r.status))

r = api.get(API + "/stat/online")
t.is_(r.status, 200, "still serving")
c1.close()
c2.close()
b.stop()
t.done()
