#!/usr/bin/python3
# 300: a Unix-socket listener end to end: mosquitto_sub and mosquitto_pub
# --unix exchange messages through it, with TCP clients on the same
# broker (both ways); the socket file gets the configured mode; a mount
# point applies to its clients; the file goes away when the broker stops.
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import comqtt_only, run, wait_until  # noqa: E402
from listeners import listener_broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt's unix listeners")
b = listener_broker(t, [
    "{name: local, type: unix, address: {dir}/mqtt.sock, mode: 0600}",
    "{name: tenant, type: unix, address: {dir}/tenant.sock, "
    "mount_point: \"t1/\"}"])
sock = os.path.join(b.dir.path, "mqtt.sock")
tenant = os.path.join(b.dir.path, "tenant.sock")
t.ok(wait_until(lambda: os.path.exists(sock), 5), "the socket file exists")
st = os.stat(sock)
t.ok(stat.S_ISSOCK(st.st_mode), "it is a socket")
t.is_(oct(st.st_mode & 0o777), "0o600", "with mode 0600 (listeners[].mode)")


def sub(path, topic, n):
    p = subprocess.Popen(["mosquitto_sub", "--unix", path, "-t", topic,
                          "-C", str(n), "-W", "10", "-v", "-q", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    t.cleanup(lambda: p.kill() if p.poll() is None else None)
    return p


def pub(path, topic, msg):
    # Retained, so that a subscriber started after it gets it: no race
    # between the subscription and the publication.
    return run(["mosquitto_pub", "--unix", path, "-t", topic, "-m", msg,
                "-q", "1", "-r"], timeout=15)


# unix -> unix
r = pub(sock, "u/1", "over unix")
s = sub(sock, "u/#", 1)
t.is_(r.returncode, 0, "mosquitto_pub --unix succeeds")
out, err = s.communicate(timeout=15)
t.is_(out.strip(), "u/1 over unix",
      "mosquitto_sub --unix receives it")

# unix -> tcp
c = b.client(client_id="tcp-sub-300")
c.subscribe([("w/#", 1)])
r = pub(sock, "w/2", "unix to tcp")
got = c.collect(1, 5)
t.is_([(p.topic, p.payload) for p in got], [("w/2", b"unix to tcp")],
      "a TCP subscriber gets what a Unix client published")

# tcp -> unix
p = b.client(client_id="tcp-pub-300")
p.publish("v/1", b"tcp to unix", qos=1, retain=True)
s = sub(sock, "v/#", 1)
out, err = s.communicate(timeout=15)
t.is_(out.strip(), "v/1 tcp to unix",
      "a Unix subscriber gets what a TCP client published")

# mount point on a unix listener
p.publish("t1/x", b"mounted", qos=1, retain=True)
s = sub(tenant, "x", 1)
out, err = s.communicate(timeout=15)
t.is_(out.strip(), "x mounted",
      "a mounted Unix client sees t1/x as x (listeners[].mount_point)")

t.is_(b.stop(), 0, "the broker stops cleanly")
t.ok(not os.path.exists(sock), "and removes its socket file")
t.done()
