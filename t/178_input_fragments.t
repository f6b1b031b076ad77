#!/usr/bin/python3
# 178: input that arrives in pieces.  Every read lands in the worker's
# read buffer and only the unfinished end of a packet is kept by the
# connection (workers/conn.c), so the edges are: packets cut at every
# position, a small remainder carried from read to read, a large packet
# (more than the 4 KB the worker's buffer takes back) growing in the
# connection's own buffer, and several connections whose halves of
# packets interleave.  Every message must arrive intact and in order
# [MQTT-4.6.0-6] (ordered topic, QoS 1), and the broker keeps serving.
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t)
rnd = random.Random(178)

sub = b.client(client_id="s178", timeout=15)
sub.subscribe([("frag/#", 1)])


def stream(client, data, pieces, pause=0.002):
    """Send data cut into pieces of the given sizes, pausing between them
    so that each piece is a read of its own."""
    at = 0
    for n in pieces:
        client.send_raw(data[at:at + n])
        at += n
        time.sleep(pause)
    if at < len(data):
        client.send_raw(data[at:])


def expect_payloads(want, what):
    got = sub.collect(len(want), 20)
    pays = [p.payload for p in got]
    t.ok(pays == want, what)
    if pays != want:
        t.diag("got %d of %d messages" % (len(pays), len(want)))


# 1. Sixty QoS 1 PUBLISH packets as one byte stream, cut at random
#    positions from 1 byte to a few packets long.
pub = b.client(client_id="p178a", timeout=15)
pays = [b"m%03d-" % i + os.urandom(rnd.randint(0, 300)) for i in range(60)]
data = b"".join(m.publish("frag/a", p, qos=1, pid=i + 1)
                for i, p in enumerate(pays))
cuts = []
left = len(data)
while left > 0:
    n = min(left, rnd.choice((1, 2, 3, 7, 50, 333, 1000)))
    cuts.append(n)
    left -= n
stream(pub, data, cuts, pause=0.001)
acks = [pub.expect(m.PUBACK).pid for _ in pays]
t.ok(acks == list(range(1, 61)), "every PUBLISH cut at random positions "
     "is acknowledged in order")
expect_payloads(pays, "and delivered intact and in order")

# 2. The first byte alone, then the rest: the shortest remainder.
pub.send_raw(m.publish("frag/b", b"one", qos=1, pid=100)[:1])
time.sleep(0.05)
pub.send_raw(m.publish("frag/b", b"one", qos=1, pid=100)[1:])
t.ok(pub.expect(m.PUBACK).pid == 100, "a packet whose first byte came "
     "alone is completed by the next read")
expect_payloads([b"one"], "and delivered")

# 3. A 200 KB packet in 1000-byte reads: past 4 KB it grows in the
#    connection's own buffer; a small packet follows in the same read as
#    its last piece.
big = os.urandom(200 * 1024)
data = m.publish("frag/c", big, qos=1, pid=200) + \
    m.publish("frag/c", b"after", qos=1, pid=201)
stream(pub, data, [1000] * (len(data) // 1000), pause=0.0005)
acks = [pub.expect(m.PUBACK).pid for _ in range(2)]
t.ok(acks == [200, 201], "a 200 KB PUBLISH in 1000-byte pieces and the "
     "packet after it are acknowledged")
expect_payloads([big, b"after"], "both delivered intact")

# 4. Four publishers send halves of packets in turn: each read of one
#    leaves a remainder while the others use the worker's buffer.
pubs = [b.client(client_id="p178d%d" % i, timeout=15) for i in range(4)]
want = {"frag/d/%d" % i: [] for i in range(4)}
for k in range(20):
    pkts = []
    for i in range(4):
        pay = b"%d-%02d-" % (i, k) + os.urandom(rnd.randint(1, 2000))
        want["frag/d/%d" % i].append(pay)
        pkts.append(m.publish("frag/d/%d" % i, pay, qos=1, pid=k + 1))
    cuts = [rnd.randint(1, len(pk) - 1) for pk in pkts]
    for p, pk, cut in zip(pubs, pkts, cuts):
        p.send_raw(pk[:cut])
    time.sleep(0.002)
    for p, pk, cut in zip(pubs, pkts, cuts):
        p.send_raw(pk[cut:])
ok = True
for p in pubs:
    ok = ok and [p.expect(m.PUBACK).pid for _ in range(20)] == \
        list(range(1, 21))
t.ok(ok, "four publishers whose packets arrive in interleaved halves are "
     "all acknowledged in order")
got = {}
for pk in sub.collect(80, 20):
    got.setdefault(pk.topic, []).append(pk.payload)
t.ok(got == want, "and every message is delivered intact, in order per "
     "publisher")

# The broker still serves a new client.
late = b.client(client_id="late178", timeout=15)
late.subscribe([("frag/late", 0)])
pub.publish("frag/late", b"still here")
t.ok([x.payload for x in late.collect(1, 10)] == [b"still here"],
     "the broker keeps serving")
t.done()
