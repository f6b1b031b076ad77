#!/usr/bin/python3
# 213: MQTT 5 with real clients: Eclipse Paho (python3-paho-mqtt, MQTT v5
# mode) and mosquitto_pub / mosquitto_sub -V 5 -D, the commands the
# README's MQTT 5 section shows.  Publisher and subscriber on different
# workers.
#   mosquitto_pub -D publish ... properties reach mosquitto_sub -V 5
#     unchanged: content type [MQTT-3.3.2-20], response topic
#     [MQTT-3.3.2-15], correlation data [MQTT-3.3.2-16], payload format
#     [MQTT-3.3.2-4], user properties [MQTT-3.3.2-17]; the message expiry
#     interval is forwarded [MQTT-3.3.2-6]; mosquitto_sub -D subscribe
#     subscription-identifier gets its id back [MQTT-3.3.4-3]
#   mosquitto_sub -V 5 -x (session expiry) -c: a persistent session
#     receives what was published while it was away [MQTT-3.1.2-23]
#   Paho v5: CONNACK properties (assigned client id [MQTT-3.2.2-16],
#     response information on request), a subscription with No Local
#     [MQTT-3.8.3-3], Retain As Published [MQTT-3.3.1-13], a subscription
#     identifier, user properties in order [MQTT-3.3.2-18], request /
#     response with response topic and correlation data (4.10)
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402
from paho.mqtt.subscribeoptions import SubscribeOptions  # noqa: E402

from clients import MosquittoSub, mosquitto_pub  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)

# -- mosquitto_pub / mosquitto_sub -V 5 -D ----------------------------------
FMT = "%t|%p|%C|%R|%D|%F|%P|%S|%E"
sub = MosquittoSub(t, P1, "mqtt5/demo", version=5, qos=1, count=1,
                   extra=["-F", FMT, "-D", "subscribe",
                          "subscription-identifier", "42"])
time.sleep(1.0)
r = mosquitto_pub(P0, "mqtt5/demo", "hello", version=5, qos=1, extra=[
    "-D", "publish", "content-type", "text/plain",
    "-D", "publish", "response-topic", "mqtt5/reply",
    "-D", "publish", "correlation-data", "req-1",
    "-D", "publish", "payload-format-indicator", "1",
    "-D", "publish", "message-expiry-interval", "60",
    "-D", "publish", "user-property", "key", "value"])
t.is_(r.returncode, 0, "mosquitto_pub -V 5 -D publish ... (%s)"
      % r.stderr.strip())
rc, lines = sub.wait(10)
t.is_(rc, 0, "mosquitto_sub -V 5 got its message")
f = lines[0].split("|") if lines else [""] * 9
t.is_(f[:6], ["mqtt5/demo", "hello", "text/plain", "mqtt5/reply", "req-1",
              "1"], "topic, payload, content type [MQTT-3.3.2-20], response "
      "topic [MQTT-3.3.2-15], correlation data [MQTT-3.3.2-16], payload "
      "format [MQTT-3.3.2-4] unchanged")
t.is_(f[6], "key:value", "user property unchanged [MQTT-3.3.2-17]")
t.is_(f[7], "42", "the subscription identifier comes back [MQTT-3.3.4-3]")
t.ok(f[8].isdigit() and 0 < int(f[8]) <= 60, "the message expiry interval "
     "is forwarded (%s) [MQTT-3.3.2-6]" % f[8])

# A persistent MQTT 5 session with mosquitto_sub -c -x.
first = MosquittoSub(t, P1, "mqtt5/later", version=5, qos=1, count=1,
                     client_id="later213", extra=["-c", "-x", "60", "-W",
                                                  "2"])
first.wait(10)
r = mosquitto_pub(P0, "mqtt5/later", "while away", version=5, qos=1)
again = MosquittoSub(t, P0, "mqtt5/later", version=5, qos=1, count=1,
                     client_id="later213", extra=["-c", "-x", "0"])
rc, lines = again.wait(10)
t.is_(lines, ["mqtt5/later while away"], "mosquitto_sub -V 5 -c -x 60: the "
      "message published while away arrives [MQTT-3.1.2-23]")


# -- Paho v5 ------------------------------------------------------------------
class V5:
    def __init__(self, port, client_id="", props=None):
        self.cond = threading.Condition()
        self.msgs, self.connack = [], None
        self.c = paho.Client(client_id, protocol=paho.MQTTv5)
        self.c.on_connect = self._conn
        self.c.on_message = self._msg
        self.c.on_subscribe = lambda *a: None
        t.cleanup(self.stop)
        self.c.connect("127.0.0.1", port, 30, clean_start=True,
                       properties=props)
        self.c.loop_start()
        with self.cond:
            self.cond.wait_for(lambda: self.connack is not None, 10)

    def _conn(self, c, u, flags, rc, props=None):
        with self.cond:
            self.connack = (int(getattr(rc, "value", rc)), props)
            self.cond.notify_all()

    def _msg(self, c, u, msg):
        with self.cond:
            self.msgs.append(msg)
            self.cond.notify_all()

    def wait(self, n, timeout=10):
        with self.cond:
            self.cond.wait_for(lambda: len(self.msgs) >= n, timeout)
            return list(self.msgs)

    def subscribe(self, topic, options, props=None):
        self.c.subscribe(topic, options=options, properties=props)
        time.sleep(0.5)  # SUBACK (paho calls back on its thread)

    def publish(self, topic, payload, qos=1, retain=False, props=None):
        self.c.publish(topic, payload, qos, retain, properties=props).\
            wait_for_publish(10)

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


cp = Properties(PacketTypes.CONNECT)
cp.RequestResponseInformation = 1
cp.SessionExpiryInterval = 30
a = V5(P0, "", cp)
rc, props = a.connack or (None, None)
t.is_(rc, 0, "Paho v5 connects")
assigned = getattr(props, "AssignedClientIdentifier", "")
t.ok(assigned, "with an empty client id: the assigned one (%s) "
     "[MQTT-3.2.2-16]" % assigned)
t.ok(getattr(props, "ResponseInformation", "").startswith("responses/"),
     "Response Information on request (4.10)")
sp = Properties(PacketTypes.SUBSCRIBE)
sp.SubscriptionIdentifier = 7
a.subscribe("paho/#", SubscribeOptions(qos=1, noLocal=True,
                                       retainAsPublished=True), sp)
other = V5(P1, "other213")
other.subscribe("paho/#", SubscribeOptions(qos=1))
pp = Properties(PacketTypes.PUBLISH)
pp.UserProperty = [("z", "1"), ("a", "2"), ("z", "3")]
a.publish("paho/self", b"mine", props=pp)
other.publish("paho/r", b"kept", retain=True, props=pp)
got_o = other.wait(2)
got_a = a.wait(1)
t.is_(sorted(m.payload for m in got_o), [b"kept", b"mine"],
      "the other subscriber gets both")
t.is_([m.payload for m in got_a], [b"kept"], "No Local: Paho does not get "
      "its own message back [MQTT-3.8.3-3]")
if got_a:
    m0 = got_a[0]
    t.ok(m0.retain, "Retain As Published: RETAIN=1 on a live delivery "
         "[MQTT-3.3.1-13]")
    t.is_(getattr(m0.properties, "SubscriptionIdentifier", None), [7],
          "the subscription identifier [MQTT-3.3.4-3]")
    t.is_(getattr(m0.properties, "UserProperty", None),
          [("z", "1"), ("a", "2"), ("z", "3")],
          "user properties in order [MQTT-3.3.2-18]")
else:
    t.skip("no message to look at", 3)
other.publish("paho/r", b"", retain=True)

# Request / response (4.10): the responder answers on the response topic
# with the correlation data.
req = V5(P0, "req213")
req.subscribe("resp/req213", SubscribeOptions(qos=1))
rsp = V5(P1, "rsp213")
rsp.c.on_message = lambda c, u, msg: c.publish(
    msg.properties.ResponseTopic, b"answer:" + msg.payload, 1,
    properties=_reply_props(msg))


def _reply_props(msg):
    p = Properties(PacketTypes.PUBLISH)
    p.CorrelationData = msg.properties.CorrelationData
    return p


rsp.subscribe("svc/time", SubscribeOptions(qos=1))
q = Properties(PacketTypes.PUBLISH)
q.ResponseTopic = "resp/req213"
q.CorrelationData = b"\x01corr"
req.publish("svc/time", b"now?", props=q)
got = req.wait(1)
t.ok(got and got[0].payload == b"answer:now?" and
     got[0].properties.CorrelationData == b"\x01corr",
     "request/response through the broker: the answer on the response "
     "topic carries the correlation data (4.10)")
t.done()
