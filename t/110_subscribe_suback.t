#!/usr/bin/python3
# 110: SUBSCRIBE and SUBACK.
#   [MQTT-3.8.4-1] SUBSCRIBE is answered with SUBACK
#   [MQTT-3.8.4-2] SUBACK has the packet id of the SUBSCRIBE
#   [MQTT-3.8.4-5] one return code per filter, in order [MQTT-3.9.3-1]
#   [MQTT-3.9.3-2] 0x80 (failure) for a filter the broker refuses
#   [MQTT-3.8.1-1] fixed-header flags must be 0010, else close
#   [MQTT-3.8.3-3] at least one filter, else close
#   [MQTT-3-8.3-4] QoS 3 or reserved option bits set: close
#   [MQTT-2.3.1-1] packet id 0: close
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

for proto in (m.V31, m.V311, m.V5):
    c = b.client(proto=proto, client_id="s110-%d" % proto)
    for pid in (1, 0x1234, 0xFFFF):
        ack = c.subscribe([("a/%d/x" % pid, 0), ("b/+/y", 1), ("c/#", 2)],
                          pid=pid)
        t.is_((ack.pid, ack.codes), (pid, [0, 1, 2]),
              "v%d: SUBACK with packet id %d and codes 0,1,2 "
              "[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-5]" % (proto, pid))
    # The subscriptions work.
    c.publish("b/z/y", b"hello", qos=1)
    got = c.collect(1, 5)
    t.is_([(p.topic, p.payload, p.qos) for p in got],
          [("b/z/y", b"hello", 1)], "v%d: the subscription delivers" % proto)

# An invalid filter among good ones: 0x80 for it, the others granted.
for proto in (m.V311, m.V5):
    for bad in ("a/#/b", "a#", "a/b+", "#/", "+a", ""):
        c = b.client(proto=proto, client_id="inv110")
        c.send(m.subscribe(7, [("ok/1", 1), (bad, 1), ("ok/2", 2)],
                           proto=proto))
        try:
            acks = [c.expect(m.SUBACK, 5)]
        except m.MqttError:  # closed, or DISCONNECT on 5.0
            acks = []
        if unless_mosquitto(t, "2.0.11 closes the connection on an invalid "
                            "filter instead of answering 0x80 (both are "
                            "allowed; comqtt answers)", 2):
            t.ok(len(acks) == 1 and acks[0].pid == 7,
                 "v%d: filter %r: a SUBACK is sent [MQTT-3.8.4-1]"
                 % (proto, bad))
            codes = acks[0].codes if acks else None
            want = 0x80 if proto == m.V311 else None
            t.ok(codes is not None and codes[0] == 1 and codes[2] == 2 and
                 codes[1] >= 0x80 and (want is None or codes[1] == want),
                 "v%d: filter %r refused (%s), the others granted "
                 "[MQTT-3.9.3-2] (%r)" % (proto, bad, "0x80" if want else
                                          ">= 0x80", codes))

# Protocol violations close the connection.
for name, pkt in [
        ("flags 0000 [MQTT-3.8.1-1]", m.subscribe(1, [("a", 0)], flags=0)),
        ("flags 0011 [MQTT-3.8.1-1]", m.subscribe(1, [("a", 0)], flags=3)),
        ("no filter [MQTT-3.8.3-3]", m.subscribe(1, [])),
        ("QoS 3 [MQTT-3-8.3-4]", m.subscribe(1, [("a", 3)])),
        ("reserved option bits [MQTT-3-8.3-4]", m.subscribe(1, [("a", 4)])),
        ("packet id 0 [MQTT-2.3.1-1]", m.subscribe(0, [("a", 0)])),
        ("filter cut short", m.packet(m.SUBSCRIBE, 2, m.u16(1) +
                                      m.u16(10) + b"abc"))]:
    c = b.client(client_id="viol110")
    c.send(pkt)
    closed, got = c.expect_closed(5)
    t.ok(closed and not any(p.type == m.SUBACK for p in got),
         "SUBSCRIBE with %s: connection closed, no SUBACK" % name)

c = b.client(client_id="alive110")
t.is_(c.subscribe("x").codes, [0], "the broker still serves")
t.done()
