#!/usr/bin/python3
# 172: max_packet_size (64 KB here).  A packet of exactly the limit is
# accepted; one byte more and the client is disconnected, even when only
# the fixed header announcing the size has arrived (the broker does not
# wait for, or buffer, the rest).  On 5.0 the CONNACK announces the
# limit (3.2.2.3.6) and an oversize packet earns DISCONNECT 0x95 "packet
# too large", if anything; a 5.0 client's own Maximum Packet Size is
# honoured: larger messages are not sent to it [MQTT-3.1.2-24]
# [MQTT-3.1.2-25] (5.0 numbering).  A good publisher and subscriber keep
# working throughout.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, GoodTraffic, unless_mosquitto  # noqa: E402
from tap import T  # noqa: E402

t = T()
LIMIT = 64 * 1024
b = Broker(t, limits={"max_packet_size": "64K"})
good = GoodTraffic(b)
sub = b.client(port=b.ports[1], client_id="sub172", timeout=10)
sub.subscribe([("big/#", 1)])


def sized(total, proto=m.V311, topic="big/x"):
    """A QoS 0 PUBLISH of exactly `total` bytes on the wire."""
    n = total
    for _ in range(4):
        pkt = m.publish(topic, b"p" * max(0, n), proto=proto)
        n -= len(pkt) - total
    assert len(pkt) == total, (len(pkt), total)
    return pkt


for proto in (m.V311, m.V5):
    c = b.client(proto=proto, client_id="ok172-%d" % proto)
    if proto == m.V5:
        t.is_(c.connack.props.get("maximum_packet_size"), LIMIT,
              "5.0: CONNACK announces Maximum Packet Size %d" % LIMIT)
    c.send(sized(LIMIT, proto))
    c.ping(10)
    got = sub.collect(1, 10)
    t.ok(len(got) == 1 and len(got[0].raw) >= LIMIT - 8,
         "v%d: a packet of exactly %d bytes is accepted and delivered"
         % (proto, LIMIT))
    for extra in (1, 4):
        # Mosquitto compares the remaining length plus one with the limit,
        # leaving out the remaining-length bytes themselves.
        if extra == 1 and not unless_mosquitto(
                t, "2.0.11 leaves the remaining-length bytes out of the "
                "packet size and accepts up to 3 bytes more (5.0 3.2.2.3.6 "
                "counts the whole packet)", 1 + (proto == m.V5)):
            continue
        c = b.client(proto=proto, client_id="big172-%d" % proto)
        c.send(sized(LIMIT + extra, proto))
        closed, got = c.expect_closed(5)
        t.ok(closed, "v%d: %d byte(s) more: disconnected" % (proto, extra))
        if proto == m.V5:
            t.ok(all(p.type == m.DISCONNECT and p.rc == 0x95 for p in got),
                 "5.0: with DISCONNECT 0x95, if anything (%r)" % got)
    c = b.client(proto=proto, client_id="hdr172-%d" % proto)
    c.send(b"\x30" + m.varint(10 * LIMIT))
    t.ok(c.expect_closed(5)[0], "v%d: only a header announcing %d bytes: "
         "disconnected at once" % (proto, 10 * LIMIT))
t.is_(sub.collect(1, 0.5), [], "no oversize message was delivered")

# A 5.0 subscriber that accepts at most 1000-byte packets.
small = b.client(proto=m.V5, client_id="small172",
                 props={"maximum_packet_size": 1000})
small.subscribe([("mp/#", 1)])
pub = b.client(client_id="pub172")
pub.publish("mp/x", b"z" * 2000, qos=1)
pub.publish("mp/x", b"z" * 100, qos=1)
got = small.collect(1, 5) + small.collect(1, 0.3)
t.is_([len(p.payload) for p in got], [100], "5.0: a 2000-byte message is "
      "not sent to a client whose Maximum Packet Size is 1000; the 100-byte "
      "one is [MQTT-3.1.2-24] [MQTT-3.1.2-25] (5.0)")
t.ok(all(len(p.raw) <= 1000 for p in got), "no packet above its maximum")
good.check(t, "oversize packets")
t.done()
