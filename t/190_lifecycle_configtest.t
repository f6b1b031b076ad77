#!/usr/bin/python3
# 190: comqttd -t checks a configuration and exits without serving:
# status 0 for the generated configuration; non-zero, with a message
# naming the file (or the key), for a YAML syntax error, a bad value, or
# a file that does not exist.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import Broker, binary, comqtt_only, run, wait_port  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqttd's -t option")
b = Broker(t, start=False)

r = run([binary("comqttd"), "-t", "-c", b.conf], timeout=20)
t.is_(r.returncode, 0, "-t with the generated configuration: exit 0")
if r.returncode:
    t.diag(r.stdout + r.stderr)
t.ok(not wait_port(b.port, timeout=0.5), "-t does not start serving")

bad = {
    "syntax.yml": ("workers: 2\nlisteners: [ {name: a\n", "syntax.yml"),
    "value.yml": (open(b.conf).read().replace("workers: 2",
                                              "workers: lots"), "workers"),
    "size.yml": (open(b.conf).read().replace("max_packet_size: 1M",
                                             "max_packet_size: huge"),
                 "max_packet_size"),
}
for name, (text, needle) in sorted(bad.items()):
    path = b.dir.file(name, text)
    r = run([binary("comqttd"), "-t", "-c", path], timeout=20)
    out = r.stdout + r.stderr
    t.ok(r.returncode != 0, "-t with %s: non-zero exit (%d)"
         % (name, r.returncode))
    t.ok(needle in out, "and the message names %r (%r)"
         % (needle, out.strip()[:200]))

missing = os.path.join(b.dir.path, "no-such.yml")
r = run([binary("comqttd"), "-t", "-c", missing], timeout=20)
t.ok(r.returncode != 0 and "no-such.yml" in r.stdout + r.stderr,
     "-t with a missing file: non-zero exit naming the file")
t.done()
