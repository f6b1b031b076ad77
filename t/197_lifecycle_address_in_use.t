#!/usr/bin/python3
# 197: a second comqttd on the address of a running one.  SO_REUSEPORT
# would let it bind and silently take half of the new connections; it
# must instead stop at start with a message naming the address, and the
# running broker keeps serving every client.
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import TempDir, binary, comqtt_only, free_port, run, \
    wait_port  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's listener check")
d = TempDir()
port = free_port()
conf = d.file("comqtt.yml", "workers: 2\n"
              "data_dir: %s\n"
              "admin: {enabled: false}\n"
              "listeners:\n"
              "  - {name: tcp, type: tcp, address: 127.0.0.1:%d, "
              "accept: reuseport}\n" % (os.path.join(d.path, "data"), port))
first = subprocess.Popen([binary("comqttd"), "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    t.ok(wait_port(port, timeout=15), "the first comqttd serves")
    r = run([binary("comqttd"), "-c", conf], timeout=20)
    out = r.stdout + r.stderr
    t.ok(r.returncode != 0, "a second comqttd on the same address exits "
         "non-zero (%d)" % r.returncode)
    t.ok("127.0.0.1:%d is already in use" % port in out,
         "and says which address is in use (%r)" % out.strip()[-200:])

    # Every new connection still reaches the first broker.
    sub = m.Client(port)
    sub.connect("s197")
    sub.subscribe([("t197/#", 1)])
    for i in range(8):
        p = m.Client(port)
        p.connect("p197-%d" % i)
        p.publish("t197/%d" % i, b"x", qos=1)
        p.close()
    got = sub.collect(8, 10)
    t.is_(len(got), 8, "eight new publishers all reach the first broker's "
          "subscriber")
    sub.close()
finally:
    first.terminate()
    try:
        first.wait(20)
    except subprocess.TimeoutExpired:
        first.kill()
        first.wait()
    d.remove()
t.done()
