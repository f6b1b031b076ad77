#!/usr/bin/python3
# 211: MQTT 5 enhanced authentication (4.12) with the AUTH packet, through
# the on_auth hooks and the built-in challenge/response method
# COMQTT-TEST-HMAC-SHA256 (mqtt.enhanced_auth_test_secret):
#   [MQTT-4.12.0-2] the broker's AUTH 0x18 carries the challenge
#   [MQTT-4.12.0-3] the client's AUTH 0x18 answers it
#   [MQTT-4.12.0-5] every AUTH and the successful CONNACK name the method
#   [MQTT-4.12.0-4] a wrong answer: CONNACK 0x87 and the connection closed
#   [MQTT-4.12.0-1] an unknown method: CONNACK 0x8C and closed
#   [MQTT-4.12.0-6] no method in CONNECT: no AUTH, no method in CONNACK
#   [MQTT-4.12.0-7] [MQTT-3.15.2-1] an AUTH without enhanced
#     authentication, or with another method: DISCONNECT 0x82
#   [MQTT-4.12.1-1] re-authentication with AUTH 0x19 while traffic goes on;
#     AUTH 0x00 at its end
#   [MQTT-4.12.1-2] a failed re-authentication: DISCONNECT 0x87, closed
#   with comqtt-authd: the CONNECT the exchange authenticated also waits
#     for authd's answer about its user name and password (authwait.h)
import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from authd import AuthBroker, broker_has_auth  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

METHOD = "COMQTT-TEST-HMAC-SHA256"
SECRET = b"s3cret-211"

t = T()
comqtt_only(t, "comqtt's built-in test authentication method")
b = Broker(t, workers=2, mqtt={"enhanced_auth_test_secret": SECRET.decode()})

def mac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def start(client_id, port=None, data=b"hello", method=METHOD, **kw):
    c = b.client(port=port, proto=m.V5, timeout=5)
    c.send(m.connect(client_id, proto=m.V5,
                     props={"authentication_method": method,
                            "authentication_data": data}, **kw))
    return c


def answer(c, key=SECRET, method=METHOD, rc=0x18):
    """Read the broker's AUTH 0x18, answer it; returns the challenge."""
    p = c.expect(m.AUTH)
    ch = p.props.get("authentication_data", b"")
    c.send(m.auth(rc, {"authentication_method": method,
                       "authentication_data": mac(key, ch)}))
    return p, ch


# -- a successful exchange -------------------------------------------------
c = start("ea211")
p, ch = answer(c)
t.is_((p.rc, p.props.get("authentication_method"), len(ch)),
      (0x18, METHOD, 16), "the broker's AUTH 0x18 names the method and "
      "carries a 16-byte challenge [MQTT-4.12.0-2] [MQTT-4.12.0-5]")
ack = c.expect(m.CONNACK)
proof = mac(SECRET, mac(SECRET, ch))
t.is_((ack.rc, ack.props.get("authentication_method"),
       ack.props.get("authentication_data")), (0, METHOD, proof),
      "the right answer: CONNACK 0 with the method and the broker's proof "
      "[MQTT-4.12.0-3] [MQTT-4.12.0-5]")
c.subscribe([("ea/#", 1)])
pub = b.client(port=b.ports[1], proto=m.V5, client_id="pub211")
pub.publish("ea/x", b"1", qos=1)
t.is_([x.payload for x in c.collect(1, 5)], [b"1"],
      "the authenticated client receives")

# -- re-authentication -------------------------------------------------------
c.send(m.auth(0x19, {"authentication_method": METHOD}))
pub.publish("ea/x", b"2", qos=1)
p = c.expect(m.AUTH, stash=True)
t.is_(p.rc, 0x18, "re-authentication: AUTH 0x19 answered by AUTH 0x18 "
      "[MQTT-4.12.1-1]")
ch = p.props.get("authentication_data", b"")
c.send(m.auth(0x18, {"authentication_method": METHOD,
                     "authentication_data": mac(SECRET, ch)}))
p = c.expect(m.AUTH, stash=True)
t.is_((p.rc, p.props.get("authentication_method"),
       p.props.get("authentication_data")),
      (0, METHOD, mac(SECRET, mac(SECRET, ch))),
      "re-authentication succeeds with AUTH 0x00, the method and the proof "
      "[MQTT-4.12.0-5]")
t.is_([x.payload for x in c.collect(1, 5)], [b"2"],
      "messages flow during and after re-authentication")
c.send(m.auth(0x19, {"authentication_method": METHOD}))
answer(c, key=b"wrong")
closed, got = c.expect_closed(5)
t.ok(closed and any(x.type == m.DISCONNECT and x.rc == 0x87 for x in got),
     "a failed re-authentication: DISCONNECT 0x87 and closed "
     "[MQTT-4.12.1-2] (%r)" % got)

# -- refusals ----------------------------------------------------------------
c = start("bad211")
answer(c, key=b"wrong")
closed, got = c.expect_closed(5)
t.ok(closed and [(x.type, x.rc) for x in got] == [(m.CONNACK, 0x87)],
     "a wrong answer: CONNACK 0x87, closed [MQTT-4.12.0-4] (%r)" % got)
c = start("unknown211", method="NO-SUCH-METHOD")
closed, got = c.expect_closed(5)
t.ok(closed and [(x.type, x.rc) for x in got] == [(m.CONNACK, 0x8C)],
     "an unknown method: CONNACK 0x8C, closed [MQTT-4.12.0-1] (%r)" % got)
c = start("other211")
answer(c, method="OTHER")
closed, got = c.expect_closed(5)
t.ok(closed and got and got[-1].type == m.CONNACK and got[-1].rc == 0x82,
     "an AUTH naming another method: CONNACK 0x82 [MQTT-4.12.0-5] (%r)"
     % got)
c = start("reason211")
answer(c, rc=0x19)
closed, got = c.expect_closed(5)
t.ok(closed and got and got[-1].type == m.CONNACK and got[-1].rc == 0x82,
     "AUTH 0x19 while the broker waits for 0x18: CONNACK 0x82 "
     "[MQTT-3.15.2-1] (%r)" % got)

# -- no enhanced authentication ---------------------------------------------
c = b.client(proto=m.V5, client_id="plain211")
t.ok("authentication_method" not in c.connack.props,
     "no method in CONNECT: none in CONNACK, no AUTH [MQTT-4.12.0-6]")
c.send(m.auth(0x19, {"authentication_method": METHOD}))
t.ok(c.closed_by_disconnect(0x82),
     "an AUTH from a client that did not use enhanced authentication: "
     "DISCONNECT 0x82 [MQTT-4.12.0-7] (%r)" % c.last_close)
c = start("ea211b")
answer(c)
c.expect(m.CONNACK)
c.send(m.auth(0x19, {"authentication_method": "OTHER"}))
t.ok(c.closed_by_disconnect(0x82),
     "re-authentication naming another method: DISCONNECT 0x82 "
     "[MQTT-4.12.0-5] (%r)" % c.last_close)
b.stop()

# -- with comqtt-authd: the user name and password are asked too ------------
if not broker_has_auth():
    t.skip("comqttd does not ask comqtt-authd", 2)
    t.done()
    raise SystemExit(0)
ab = AuthBroker(t, "users:\n  u: {password: p, acl: {\"#\": 3}}\n",
                extra="mqtt: {enhanced_auth_test_secret: %s}\n"
                % SECRET.decode())
for pw, want, what in ((b"p", 0, "accepted"), (b"x", 0x86, "refused")):
    c = m.Client(ab.port, proto=m.V5)
    t.cleanup(c.close)
    c.send(m.connect("ad211" + what, proto=m.V5, username="u", password=pw,
                     props={"authentication_method": METHOD}))
    answer(c)
    ack = c.expect(m.CONNACK, timeout=10)
    t.is_(ack.rc, want, "enhanced authentication, then authd's answer "
          "about the password (awaited): CONNACK 0x%02x, %s" % (want, what))
    c.close()
ab.stop()
t.done()
