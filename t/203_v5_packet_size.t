#!/usr/bin/python3
# 203: the client's MQTT 5 Maximum Packet Size (3.1.2.11.4), beyond what
# 172 tests (a message too large is not delivered live):
#   [MQTT-3.1.2-24] [MQTT-3.1.2-25] a message too large is dropped as if
#     sent, and counted ($SYS publish/messages/dropped): not kept in the
#     window, not re-sent after a reconnect, and it does not block the
#     messages behind it (queued ones included, on another worker)
#   [MQTT-3.2.2-19] and the like for the acknowledgements: a Reason String
#     that would make a packet too large is left out, the packet is sent
#   the broker never sends any packet above the client's maximum
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, SysTopics, comqtt_only  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's $SYS drop counter")
b = Broker(t, workers=2, sys_interval=1)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
sys_ = SysTopics(b)
sys_.refresh(1.5)
before = sys_.number("publish/messages/dropped") or 0
MAX = 200
KW = dict(proto=m.V5, client_id="mps203", clean=False, timeout=10,
          props={"maximum_packet_size": MAX, "session_expiry_interval": 60})
c = b.client(port=P1, **KW)
c.subscribe([("mps/#", 1)])
c.disconnect()
pub = b.client(port=P0, proto=m.V5, client_id="pub203")
pub.publish("mps/a", b"small-1", qos=1)
pub.publish("mps/a", b"L" * 500, qos=1)
pub.publish("mps/a", b"small-2", qos=1)
c = b.client(port=P0, **KW)
got = c.collect(3, 3)
t.is_([p.payload for p in got], [b"small-1", b"small-2"], "queued while "
      "offline: the one too large is dropped, those around it arrive "
      "[MQTT-3.1.2-25]")
pub.publish("mps/a", b"X" * 300, qos=1)
pub.publish("mps/a", b"small-3", qos=1)
got = c.collect(2, 3)
t.is_([p.payload for p in got], [b"small-3"], "live: the same")
c.close()
c = b.client(port=P1, **KW)
t.is_(c.collect(2, 1.0), [], "nothing too large waits in the window: no "
      "re-send after a reconnect [MQTT-3.1.2-25]")
t.ok(all(len(p.raw) <= MAX for p in got), "no packet above %d bytes "
     "[MQTT-3.1.2-24]" % MAX)
t.ok(sys_.wait("publish/messages/dropped", lambda v: v >= before + 2, 6),
     "the drops are counted in $SYS publish/messages/dropped")

# Acknowledgements: the Reason String goes when it does not fit.  18
# bytes: the CONNACK fits (16 bytes here), a refusal's reason does not.
TINY = 18
tiny = b.client(port=P1, proto=m.V5, client_id="tiny203",
                props={"maximum_packet_size": TINY})
t.ok(len(tiny.connack.raw) <= TINY, "the CONNACK fits (%d bytes)"
     % len(tiny.connack.raw))
ack = tiny.publish("$SYS/no", b"x", qos=1)
t.is_((ack.rc, ack.props), (0x87, {}), "a refusing PUBACK that would be "
      "too large with its Reason String is sent without it "
      "[MQTT-3.4.2-2] (%r)" % ack)
t.ok(len(ack.raw) <= TINY, "and it fits (%d bytes)" % len(ack.raw))
a = tiny.subscribe([("a/#", 1), ("a/+x", 1)])
t.ok(a.codes[0] == 1 and a.codes[1] >= 0x80 and "reason_string" not in
     a.props and len(a.raw) <= TINY, "SUBACK with a refusal, without a "
     "Reason String that would not fit [MQTT-3.9.2-1] (%r)" % a)
c5 = b.client(port=P1, proto=m.V5)
c5.send(m.connect("too-tiny203", proto=m.V5,
                  props={"maximum_packet_size": 6}))
closed, got = c5.expect_closed(5)
t.ok(closed and got == [], "a client whose maximum is below the smallest "
     "CONNACK is closed, not left waiting (%r)" % got)
big = b.client(port=P1, proto=m.V5, client_id="big203")
ack = big.publish("$SYS/no", b"x", qos=1)
t.ok(ack.rc == 0x87 and ack.props.get("reason_string"), "with room, the "
     "Reason String is there (%r)" % ack.props)
c.disconnect(props={"session_expiry_interval": 0})
t.done()
