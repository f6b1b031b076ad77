#!/usr/bin/python3
# 002: every manual page in man/ passes mandoc -Tlint.
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import SRCDIR, run  # noqa: E402
from tap import T  # noqa: E402

t = T()
pages = sorted(glob.glob(os.path.join(SRCDIR, "man", "*.[0-9]")))
t.ok(pages, "there are manual pages")
for p in pages:
    r = run(["mandoc", "-Tlint", "-Wwarning", p])
    t.ok(r.returncode == 0 and not r.stdout.strip(), "mandoc -Tlint %s"
         % os.path.basename(p))
    if r.stdout.strip() or r.stderr.strip():
        t.diag(r.stdout + r.stderr)
t.done()
