#!/usr/bin/python3
# 214: the mqtt.* capability and compatibility keys not covered elsewhere
# (200: maximum_qos, retain_available, receive_maximum, topic_alias_maximum,
# maximum_session_expiry_interval, server_reference; 206: wildcard,
# subscription identifier and shared subscription availability; 208:
# obscure_not_authorized; 209: passive_client_disconnect).
#   minimum_protocol_version 5: a 3.1.1 CONNECT is refused with 0x01
#     (unacceptable protocol version), a 3.1 one too, 5.0 is accepted
#   always_return_response_info: Response Information without a request
#   maximum_message_expiry_interval: a longer Message Expiry Interval is
#     cut to it on the way through; one without an interval stays without
#   topic_alias_maximum 0: no Topic Alias Maximum in CONNACK, and a client
#     alias is invalid (DISCONNECT 0x94) [MQTT-3.2.2-18]
#   allow_zero_length_client_id false: an empty client id is refused with
#     0x85 (5.0) [MQTT-3.1.3-8]
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only, wait_port  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's mqtt.* keys")
b = Broker(t, workers=1, nports=1, start=False, mqtt={
    "minimum_protocol_version": 5, "always_return_response_info": True,
    "maximum_message_expiry_interval": 30, "topic_alias_maximum": 0,
    "allow_zero_length_client_id": False})
b.start(wait=False)  # the readiness probe speaks 3.1.1: refused here
t.ok(wait_port(b.port), "the broker listens")

for proto, name in ((m.V311, "3.1.1"), (m.V31, "3.1")):
    c = b.client(proto=proto)
    ack = c.connect("old214", expect_rc=None, timeout=10)
    t.is_(ack.rc, 1, "minimum_protocol_version 5: %s refused with 0x01" % name)
c = b.client(proto=m.V5, client_id="new214", timeout=10)
t.is_(c.connack.rc, 0, "and 5.0 accepted")
ri = c.connack.props.get("response_information", "")
t.ok(ri.startswith("responses/"), "always_return_response_info: Response "
     "Information without a request (%r)" % ri)
t.ok("topic_alias_maximum" not in c.connack.props, "topic_alias_maximum 0: "
     "no Topic Alias Maximum in CONNACK (3.2.2.3.8)")

c.subscribe([("cap/#", 1)])
pub = b.client(proto=m.V5, client_id="pub214")
pub.publish("cap/long", b"l", qos=1, props={"message_expiry_interval": 3600})
pub.publish("cap/none", b"n", qos=1)
got = {p.topic: p.props.get("message_expiry_interval")
       for p in c.collect(2, 5)}
t.ok(got.get("cap/long") is not None and got["cap/long"] <= 30,
     "maximum_message_expiry_interval 30: an interval of 3600 is cut to it "
     "(%r)" % got.get("cap/long"))
t.is_(got.get("cap/none", 0), None, "a message without one stays without")

pub.send(m.publish("cap/x", b"a", qos=1, pid=1, props={"topic_alias": 1},
                   proto=m.V5))
t.ok(pub.closed_by_disconnect(0x94),
     "a topic alias when the maximum is 0: DISCONNECT 0x94 [MQTT-3.2.2-18] "
     "(%r)" % pub.last_close)

c = b.client(proto=m.V5)
ack = c.connect("", expect_rc=None)
t.is_(ack.rc, 0x85, "allow_zero_length_client_id false: an empty client id "
      "gets CONNACK 0x85 [MQTT-3.1.3-8]")
t.done()
