#!/usr/bin/python3
# 200: MQTT 5 CONNECT and CONNACK properties, and the capabilities the
# broker announces and enforces.
#   CONNACK tells the client the broker's Receive Maximum, Maximum QoS,
#     Retain Available, Maximum Packet Size, Topic Alias Maximum (3.2.2.3)
#   Session Expiry Interval: the granted value when the broker caps it
#     (3.2.2.3.2)
#   [MQTT-3.1.2-21] [MQTT-3.1.2-22] Server Keep Alive replaces the
#     client's keep alive, and the broker applies it (DISCONNECT 0x8D)
#   [MQTT-3.1.2-28] Response Information only when requested
#   [MQTT-3.1.2-29] Request Problem Information 0: no Reason String on a
#     PUBACK; 1 (the default): a Reason String
#   [MQTT-3.2.2-9] Maximum QoS: announced; [MQTT-3.2.2-11] a PUBLISH above
#     it is a protocol error (DISCONNECT 0x9B); [MQTT-3.2.2-12] a will above
#     it: CONNACK 0x9B; [MQTT-3.2.2-10] a SUBSCRIBE above it is accepted,
#     granted the maximum
#   [MQTT-3.2.2-14] Retain Available 0: a retained PUBLISH earns DISCONNECT
#     0x9A; [MQTT-3.2.2-13] a retained will: CONNACK 0x9A
#   4.11 Server redirection: CONNACK 0x9C / 0x9D with a Server Reference
#   user properties on CONNECT are accepted (3.1.2.11.8)
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only, wait_port  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's mqtt.* capability keys")
# The readiness probe (3.1.1, keep alive 60) would be refused with
# limits.keepalive_max 2: wait for the port only.
b = Broker(t, workers=1, nports=1, limits={"keepalive_max": 2},
           mqtt={"receive_maximum": 20, "maximum_qos": 1,
                 "retain_available": False, "topic_alias_maximum": 7,
                 "maximum_session_expiry_interval": 100}, start=False)
b.start(wait=False)
t.ok(wait_port(b.port), "the broker listens")

c = b.client(proto=m.V5, client_id="caps200", keepalive=60,
             props={"session_expiry_interval": 1000,
                    "request_response_information": 1,
                    "user_property": [("a", "1"), ("a", "2")]})
p = c.connack.props
t.is_((p.get("receive_maximum"), p.get("maximum_qos"),
       p.get("retain_available"), p.get("topic_alias_maximum")),
      (20, 1, 0, 7), "CONNACK: Receive Maximum, Maximum QoS, Retain "
      "Available, Topic Alias Maximum as configured (3.2.2.3)")
t.is_(p.get("maximum_packet_size"), 1 << 20, "CONNACK: the Maximum Packet "
      "Size (limits.max_packet_size)")
t.is_(p.get("session_expiry_interval"), 100, "CONNACK: the Session Expiry "
      "Interval granted when capped (3.2.2.3.2)")
t.is_(p.get("server_keep_alive"), 2, "CONNACK: Server Keep Alive when the "
      "client asks for more than limits.keepalive_max (3.2.2.3.14)")
ri = p.get("response_information", "")
t.ok(ri.startswith("responses/") and "caps200" in ri,
     "Response Information on request (%r) (3.1.2.11.7)" % ri)
t.is_(c.connack.rc, 0, "user properties in CONNECT are accepted")

# The server's keep alive applies: 1.5 x 2 s without a packet.
start = time.monotonic()
closed, got = c.expect_closed(10)
t.ok(closed and any(x.type == m.DISCONNECT and x.rc == 0x8D for x in got),
     "the Server Keep Alive applies: DISCONNECT 0x8D after %.1f s "
     "[MQTT-3.1.2-21] [MQTT-3.1.2-22] (%r)"
     % (time.monotonic() - start, got))

c = b.client(proto=m.V5, client_id="nori200", keepalive=1)
t.ok("response_information" not in c.connack.props, "no Response "
     "Information unless requested [MQTT-3.1.2-28]")
t.ok("server_keep_alive" not in c.connack.props, "no Server Keep Alive "
     "when the client's is within the cap")

# Maximum QoS.
a = c.subscribe([("q/x", 2)])
t.is_(a.codes, [1], "SUBSCRIBE QoS 2 with Maximum QoS 1: accepted, granted "
      "1 [MQTT-3.2.2-10]")
c.send(m.publish("q/x", b"2", qos=2, pid=5, proto=m.V5))
closed, got = c.expect_closed(5)
t.ok(closed and [(x.type, x.rc) for x in got if x.type == m.DISCONNECT] ==
     [(m.DISCONNECT, 0x9B)], "PUBLISH QoS 2 above Maximum QoS 1: DISCONNECT "
     "0x9B [MQTT-3.2.2-11] (%r)" % got)
c = b.client(proto=m.V5)
ack = c.connect("w200", expect_rc=None,
                will={"topic": "w", "payload": b"x", "qos": 2})
t.is_(ack.rc, 0x9B, "a will with QoS 2 above Maximum QoS: CONNACK 0x9B "
      "[MQTT-3.2.2-12]")

# Retain Available 0.
c = b.client(proto=m.V5, client_id="ret200")
c.send(m.publish("r/x", b"r", qos=1, retain=True, pid=3, proto=m.V5))
t.ok(c.closed_by_disconnect(0x9A),
     "a retained PUBLISH when Retain Available is 0: DISCONNECT 0x9A "
     "[MQTT-3.2.2-14] (%r)" % c.last_close)
c = b.client(proto=m.V5)
ack = c.connect("wr200", expect_rc=None,
                will={"topic": "w", "payload": b"x", "retain": True})
t.is_(ack.rc, 0x9A, "a retained will when Retain Available is 0: CONNACK "
      "0x9A [MQTT-3.2.2-13]")

# Request Problem Information.
for rpi, want in ((None, True), (1, True), (0, False)):
    props = {} if rpi is None else {"request_problem_information": rpi}
    c = b.client(proto=m.V5, client_id="rpi200-%s" % rpi, props=props)
    ack = c.publish("$SYS/x", b"no", qos=1)
    t.is_((ack.rc, "reason_string" in ack.props), (0x87, want),
          "Request Problem Information %s: PUBACK 0x87 %s a Reason String "
          "[MQTT-3.1.2-29]" % ("absent" if rpi is None else rpi,
                               "with" if want else "without"))
    c.close()
b.stop()

# Server redirection (4.11).
for moved, code in ((False, 0x9C), (True, 0x9D)):
    r = Broker(t, workers=1, nports=1, start=False,
               mqtt={"server_reference": "other.example:1883",
                     "server_moved": moved})
    r.start(wait=False)  # it refuses the readiness probe too
    wait_port(r.port)
    c = r.client(proto=m.V5)
    ack = c.connect("ref200", expect_rc=None)
    t.is_((ack.rc, ack.props.get("server_reference")),
          (code, "other.example:1883"), "mqtt.server_reference%s: CONNACK "
          "0x%02X with the Server Reference (4.11)"
          % (" and server_moved" if moved else "", code))
    c = r.client()
    ack = c.connect("ref200v3", expect_rc=None)
    t.is_(ack.rc, 3, "an MQTT 3.1.1 client is told the server is "
          "unavailable (0x03)")
    r.stop()
t.done()
