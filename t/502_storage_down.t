#!/usr/bin/python3
# 502: comqtt-storage down.
#   killed mid-run (SIGKILL while QoS 1 messages flow to an offline
#     persistent session): the master restarts it, the changes waited in
#     the rings, and after a restart of the broker every acknowledged
#     message is there, in order [MQTT-3.1.2-5] [MQTT-4.6.0-6]
#   not consuming (stopped) until its ring is half full: QoS 1
#     publishes are refused with PUBACK 0x97 Quota exceeded, never
#     accepted and dropped [MQTT-3.3.4-1]; once it runs again they are
#     accepted again, and exactly the accepted ones survive a restart
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

QUOTA_EXCEEDED = 0x97


def killed_mid_run(t):
    b = Broker(t, workers=2)
    sub = dict(proto=m.V311, client_id="down502", clean=False)
    c = b.client(port=b.ports[1], **sub)
    c.subscribe([("k/#", 1)])
    c.disconnect()
    pub = b.client(client_id="pub502")
    pub.publish_many([("k/x", b"%d" % i) for i in range(150)], 1)
    old = b.helper_pid("storage")
    os.kill(old, signal.SIGKILL)
    pub.publish_many([("k/x", b"%d" % i) for i in range(150, 300)], 1)
    new = wait_until(lambda: (lambda p: p if p not in (None, old)
                              else None)(b.helper_pid("storage", 0)), 10)
    t.ok(new is not None, "the master restarted comqtt-storage (%s -> %s)"
         % (old, new))
    pub.publish_many([("k/x", b"%d" % i) for i in range(300, 400)], 1)
    pub.disconnect()
    time.sleep(0.6)  # the last batch window
    b.kill_all()
    b.start()
    c = b.client(**sub)
    got = [int(p.payload) for p in c.collect(400, 20)]
    t.is_(got, list(range(400)), "all 400 acknowledged messages, before, "
          "during and after the storage process's death, in order")
    c.disconnect()
    b.stop()


def publish_until_refused(c, limit):
    """QoS 1 publishes until one is refused: the accepted payloads and
    the refusing PUBACK's code."""
    accepted = []
    for i in range(limit):
        ack = c.publish("f/x", b"a%d" % i, qos=1)
        if ack.rc >= 0x80:
            return accepted, ack.rc
        accepted.append(b"a%d" % i)
    return accepted, None


def ring_full(t):
    b = Broker(t, workers=1, nports=1,
               config="storage: {ring_size: 64K}\n")
    sub = dict(proto=m.V5, client_id="full502", clean=False,
               props={"session_expiry_interval": 3600})
    c = b.client(**sub)
    c.subscribe([("f/#", 1)])
    c.disconnect()
    st = b.helper_pid("storage")
    os.kill(st, signal.SIGSTOP)

    def resume():
        try:
            os.kill(st, signal.SIGCONT)
        except ProcessLookupError:
            pass
    t.cleanup(resume)
    pub = b.client(proto=m.V5, client_id="pub502f")
    accepted, rc = publish_until_refused(pub, 3000)
    t.is_(rc, QUOTA_EXCEEDED, "with the storage ring half full, a QoS "
          "1 PUBLISH gets PUBACK 0x97 Quota exceeded (after %d accepted)"
          % len(accepted))
    t.ok(0 < len(accepted) < 3000, "some were accepted first (%d)"
         % len(accepted))
    os.kill(st, signal.SIGCONT)

    def accepted_again():
        ack = pub.publish("f/x", b"probe", qos=1)
        if ack.rc == 0:
            return True
        time.sleep(0.05)
        return False
    t.ok(wait_until(accepted_again, 10), "once comqtt-storage runs again "
         "the rings drain and publishes are accepted again")
    accepted.append(b"probe")
    more, rc2 = publish_until_refused(pub, 50)
    accepted += more
    t.is_(rc2, None, "50 more accepted")
    pub.disconnect()
    time.sleep(0.6)
    b.kill_all()
    b.start()
    c = b.client(**sub)
    got = [p.payload for p in c.collect(len(accepted) + 1, 20)]
    t.is_(got, accepted,
          "after a restart exactly the %d accepted messages are queued, in "
          "order; no refused one" % len(accepted))
    c.disconnect()
    b.stop()


t = T()
comqtt_only(t, "comqtt-storage")
killed_mid_run(t)
ring_full(t)
t.done()
