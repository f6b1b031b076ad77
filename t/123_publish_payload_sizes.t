#!/usr/bin/python3
# 123: payload sizes: 0 and 1 byte, the remaining-length encoding
# boundaries (127/128, 16383/16384 bytes of packet), and about 900 KB
# (under the 1 MB max_packet_size), every byte value, at QoS 0, 1 and 2,
# delivered unchanged [MQTT-3.3.3-1] (the payload is opaque) to clients
# of 3.1.1 and 5.0.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)

TOPIC = "size/x"
# Packet overhead of a QoS > 0 PUBLISH on "size/x": 2 + 6 + 2 bytes.
HDR = 10
sizes = [0, 1, 2, 127 - HDR, 128 - HDR, 16383 - HDR, 16384 - HDR, 65536,
         900 * 1024]
subs = []
for proto in (m.V311, m.V5):
    s = b.client(port=b.ports[1], proto=proto, client_id="s123-%d" % proto,
                 timeout=15)
    s.subscribe([(TOPIC, 2)])
    subs.append((proto, s))
pub = b.client(client_id="p123", timeout=15)
for size in sizes:
    payload = bytes(i % 256 for i in range(size))
    for qos in (0, 1, 2):
        pub.publish(TOPIC, payload, qos=qos)
        for proto, s in subs:
            got = s.collect(1, 15)
            ok = len(got) == 1 and got[0].payload == payload and \
                got[0].qos == qos
            t.ok(ok, "v%d: %d-byte payload at QoS %d delivered unchanged "
                 "[MQTT-3.3.3-1]" % (proto, size, qos))
            if not ok and got:
                t.diag("got %d bytes at QoS %d" % (len(got[0].payload),
                                                    got[0].qos))

# A retained 900 KB message is stored and handed to a new subscriber.
big = os.urandom(900 * 1024)
pub.publish("size/retained", big, qos=1, retain=True)
late = b.client(client_id="late123", timeout=15)
late.subscribe([("size/retained", 1)])
got = late.collect(1, 15)
t.ok(len(got) == 1 and got[0].payload == big and got[0].retain,
     "a 900 KB retained message reaches a later subscriber intact")
pub.publish("size/retained", b"", qos=1, retain=True)
t.done()
