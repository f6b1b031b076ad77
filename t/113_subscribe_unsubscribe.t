#!/usr/bin/python3
# 113: UNSUBSCRIBE.
#   [MQTT-3.10.4-1] filters are compared character by character
#   [MQTT-3.10.4-2] a removed subscription gets no new messages
#   [MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBACK with the packet id, even when
#     no filter matched
#   [MQTT-3.10.4-6] several filters are handled as a sequence
#   [MQTT-3.11.3-1] (5.0) one reason code per filter, in order; 0x11 "no
#     subscription existed"
#   [MQTT-3.10.1-1] flags must be 0010; [MQTT-3.10.3-2] at least one
#     filter; [MQTT-2.3.1-1] packet id 0 -- otherwise the connection closes
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
pub = b.client(client_id="pub113")


def topics_until(c, end):
    got = []
    while True:
        p = c.recv_publish(5)
        if p is None or p.topic == end:
            return got, p is not None
        got.append(p.topic)


for proto in (m.V311, m.V5):
    pre = "u%d" % proto
    s = b.client(port=b.ports[1], proto=proto, client_id="un113-%d" % proto)
    s.subscribe([(pre + "/a", 1), (pre + "/b", 1), (pre + "/w/#", 1),
                 (pre + "/end", 1)])
    ack = s.unsubscribe([pre + "/a"], pid=0x4242)
    t.is_(ack.pid, 0x4242, "v%d: UNSUBACK echoes the packet id "
          "[MQTT-3.10.4-4]" % proto)
    if proto == m.V5:
        t.is_(ack.codes, [0], "v5: reason 0x00 for a removed subscription")
    ack = s.unsubscribe([pre + "/nope", pre + "/w/+"], pid=0x77)
    t.is_(ack.pid, 0x77, "v%d: UNSUBACK for filters with no subscription "
          "[MQTT-3.10.4-5]" % proto)
    if proto == m.V5:
        t.is_(ack.codes, [0x11, 0x11], "v5: reason 0x11 'no subscription "
              "existed' for each [MQTT-3.11.3-1]")
    for topic in ("a", "b", "w/x", "a"):
        pub.publish("%s/%s" % (pre, topic), b"m", qos=1)
    pub.publish(pre + "/end", b"end", qos=1)
    got, ended = topics_until(s, pre + "/end")
    t.ok(ended, "v%d: the sentinel arrived" % proto)
    t.is_(sorted(got), [pre + "/b", pre + "/w/x"],
          "v%d: no delivery for the removed filter; 'w/+' did not remove "
          "'w/#' [MQTT-3.10.4-1] [MQTT-3.10.4-2]" % proto)

    # Several filters, some unknown, in one packet.
    ack = s.unsubscribe([pre + "/b", pre + "/zz", pre + "/w/#"])
    if proto == m.V5:
        t.is_(ack.codes, [0, 0x11, 0], "v5: codes in filter order "
              "[MQTT-3.10.4-6] [MQTT-3.11.3-1]")
    for topic in ("a", "b", "w/x"):
        pub.publish("%s/%s" % (pre, topic), b"m", qos=1)
    pub.publish(pre + "/end", b"end", qos=1)
    got, ended = topics_until(s, pre + "/end")
    t.is_((got, ended), ([], True), "v%d: all three filters processed as a "
          "sequence [MQTT-3.10.4-6]" % proto)
    # Re-subscribing after an unsubscribe works again.
    s.subscribe([(pre + "/b", 0)])
    pub.publish(pre + "/b", b"again", qos=0)
    got = s.collect(1, 5)
    t.is_([p.payload for p in got], [b"again"],
          "v%d: subscribing again delivers again" % proto)

for name, pkt in [
        ("flags 0000 [MQTT-3.10.1-1]", m.unsubscribe(1, ["a"], flags=0)),
        ("no filter [MQTT-3.10.3-2]", m.unsubscribe(1, [])),
        ("packet id 0 [MQTT-2.3.1-1]", m.unsubscribe(0, ["a"]))]:
    c = b.client(client_id="viol113")
    c.send(pkt)
    closed, got = c.expect_closed(5)
    t.ok(closed and not any(p.type == m.UNSUBACK for p in got),
         "UNSUBSCRIBE with %s: connection closed, no UNSUBACK" % name)
t.done()
