#!/usr/bin/python3
# 000: the binaries exist, print their version and usage, and reject
# unknown options.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import binary, run  # noqa: E402
from tap import T  # noqa: E402

t = T()
r = run([binary("comqttd"), "-v"])
t.is_(r.returncode, 0, "comqttd -v exits 0")
t.ok(r.stdout.startswith("comqttd "), "comqttd -v prints its version")
r = run([binary("comqttd"), "--no-such-option"])
t.is_(r.returncode, 1, "an unknown option exits 1")
t.ok("usage:" in r.stderr, "and prints the usage")
t.done()
