"""restart.py — the state a restart must bring back, built and checked
the same way for every storage backend (t/500 LMDB, t/503 Redis).

before() builds persistent MQTT 3.1.1 and 5 sessions with subscription
options, QoS 1 and 2 messages queued for them while offline, messages in
flight without acknowledgement, an inbound QoS 2 packet id waiting for
PUBREL, retained messages (one cleared, one expiring) and a session that
expires while the broker is down; run() stops the broker (kill -9 of
every process, or SIGTERM), starts it again and checks each piece.
"""
import signal
import time

import mqttraw as m
from cqtest import Broker

# Subscription options byte: QoS | no local | retain as published | RH.
NL, RAP = 0x04, 0x08


def v5(cid, expiry=3600):
    return dict(proto=m.V5, client_id=cid, clean=False,
                props={"session_expiry_interval": expiry})


def v311(cid):
    return dict(proto=m.V311, client_id=cid, clean=False)


def before(t, b):
    """Build the state to survive; returns the in-flight messages
    (topic, packet id, payload) that check_inflight() expects again."""
    c = b.client(**v311("s311"))
    c.subscribe([("q/one", 1), ("q/two", 2)])
    c.disconnect()
    c = b.client(**v5("s5"))
    c.subscribe([("q/one", 1 | NL | RAP)],
                props={"subscription_identifier": 7})
    c.disconnect()
    c = b.client(**v5("sexp", expiry=1))
    c.subscribe([("q/one", 1)])
    c.disconnect()
    # Inflight: received, never acknowledged, then the connection drops.
    inf = b.client(port=b.ports[1], **v311("sinf"))
    inf.subscribe([("i/one", 1), ("i/two", 2)])
    pub = b.client(client_id="pub500")
    for i in range(3):
        pub.publish("i/one", b"i%d" % i, qos=1)
        pub.publish("i/two", b"j%d" % i, qos=2)
    sent = [(p.topic, p.pid, p.payload) for p in inf.collect(6, 10, ack=False)]
    inf.close()
    for i in range(5):
        pub.publish("q/one", b"%d" % i, qos=1)
        pub.publish("q/two", b"%d" % i, qos=2)
    # Inbound QoS 2 left between PUBREC and PUBREL.
    half = b.client(**v5("shalf"))
    half.send(m.publish("h/x", b"half", qos=2, pid=77, proto=m.V5))
    half.expect(m.PUBREC)
    half.close()
    pub.publish("r/keep", b"kept", qos=1, retain=True)
    pub.publish("r/gone", b"soon cleared", qos=1, retain=True)
    pub.publish("r/gone", b"", qos=1, retain=True)
    p5 = b.client(proto=m.V5, client_id="pub500-5")
    p5.publish("r/exp", b"short", qos=1, retain=True,
               props={"message_expiry_interval": 1})
    p5.disconnect()
    pub.disconnect()
    # The default batch window is 100 ms: let the last batch commit.
    time.sleep(0.6)
    return sent


def check_queue(t, what, got, topic, qos):
    t.is_([(int(p.payload), p.qos, p.dup) for p in got if p.topic == topic],
          [(i, qos, False) for i in range(5)],
          "%s: the 5 QoS %d messages queued for %s, in order, DUP 0 "
          "[MQTT-3.1.2-5] [MQTT-4.6.0-6]" % (what, qos, topic))


def check_inflight(t, b, what, sent):
    c = b.client(**v311("sinf"))
    t.ok(c.connack.session_present, "%s: the session with unacknowledged "
         "messages is back [MQTT-3.2.2-2]" % what)
    got = c.collect(6, 10, ack=True)
    t.is_([(p.topic, p.pid, p.payload, p.dup) for p in got],
          [(tp, pid, pl, True) for tp, pid, pl in sent],
          "%s: unacknowledged QoS 1/2 re-sent with DUP 1, same packet ids, "
          "in order [MQTT-4.4.0-1]" % what)
    c.drain_acks(0.3)
    c.disconnect()


def check_sessions(t, b, what):
    c = b.client(**v311("s311"))
    t.ok(c.connack.session_present, "%s: v3.1.1 session present "
         "[MQTT-3.2.2-2]" % what)
    got = c.collect(10, 10)
    check_queue(t, what + " v3.1.1", got, "q/one", 1)
    check_queue(t, what + " v3.1.1", got, "q/two", 2)
    c5 = b.client(**v5("s5"))
    t.ok(c5.connack.session_present, "%s: v5 session present" % what)
    got5 = c5.collect(5, 10)
    check_queue(t, what + " v5", got5, "q/one", 1)
    t.ok(got5 and all(p.props.get("subscription_identifier") == [7]
                      for p in got5),
         "%s: the subscription identifier survived [MQTT-3.3.4-3]" % what)
    # no local: its own publish does not come back; RAP keeps RETAIN.
    c5.publish("q/one", b"own", qos=1)
    pub = b.client(client_id="pub500b")
    pub.publish("q/one", b"live", qos=1, retain=True)
    live = c.collect(2, 5)
    t.is_(sorted(p.payload for p in live), [b"live", b"own"],
          "%s: the v3.1.1 subscriptions live on [MQTT-3.1.2-4]" % what)
    live5 = c5.collect(2, 2)
    t.is_([(p.payload, p.retain) for p in live5], [(b"live", True)],
          "%s: no local and retain as published survived [MQTT-3.8.3-3] "
          "[MQTT-3.3.1-12]" % what)
    pub.publish("q/one", b"", qos=1, retain=True)
    for x in (c, c5, pub):
        x.drain_acks(0.2)
        x.disconnect()
    ce = b.client(**v5("sexp"))
    t.ok(not ce.connack.session_present, "%s: the session that expired "
         "while the broker was down is gone [MQTT-3.1.2-23]" % what)
    ce.disconnect()


def check_qos2_in(t, b, what):
    c = b.client(**v5("shalf"))
    t.ok(c.connack.session_present, "%s: publisher session present" % what)
    watch = b.client(client_id="watch500")
    watch.subscribe([("h/x", 2)])
    c.send(m.publish("h/x", b"half", qos=2, pid=77, dup=True, proto=m.V5))
    rec = c.expect(m.PUBREC)
    t.is_((rec.pid, rec.rc), (77, 0), "%s: the re-sent QoS 2 PUBLISH gets "
          "PUBREC [MQTT-4.3.3-2]" % what)
    c.send(m.pubrel(77, proto=m.V5))
    comp = c.expect(m.PUBCOMP)
    t.is_((comp.pid, comp.rc), (77, 0), "%s: the stored packet id is "
          "released by PUBREL: PUBCOMP 0x00" % what)
    t.is_(watch.collect(1, 0.5), [], "%s: the message was not delivered a "
          "second time" % what)
    c.disconnect()
    watch.disconnect()


def check_retained(t, b, what):
    c = b.client(client_id="ret500")
    c.subscribe([("r/#", 1)])
    got = sorted((p.topic, p.payload) for p in c.collect(3, 2))
    t.is_(got, [("r/keep", b"kept")], "%s: the retained message is back, "
          "the cleared and the expired ones are not [MQTT-3.3.1-6] "
          "[MQTT-3.3.2-5]" % what)
    c.disconnect()


def run(t, how, config=""):
    """One round: build, stop (how: "kill -9" or "SIGTERM"), start,
    check.  config: YAML added to the broker's configuration."""
    b = Broker(t, workers=2, config=config)
    sent = before(t, b)
    t.is_(len(sent), 6, "%s: 6 messages in flight before the stop" % how)
    if how == "kill -9":
        b.kill_all()
    else:
        t.is_(b.stop(signal.SIGTERM), 0, "graceful stop: exit status 0")
    time.sleep(1.2)  # past the 1 s expiry of sexp and r/exp
    b.start()
    t.ok(b.wait_log(r"loaded [1-9]\d* session\(s\)", 5),
         "%s: comqtt-storage loaded the sessions" % how)
    check_inflight(t, b, how, sent)
    check_sessions(t, b, how)
    check_qos2_in(t, b, how)
    check_retained(t, b, how)
    b.stop()


