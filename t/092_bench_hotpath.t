#!/usr/bin/python3
# 092: bench/hotpath against the release build (jemalloc; the sanitizer
# build has its own allocator): a short pairs run prints the workers'
# system calls and allocations per message, finds no allocation in the
# steady state (at most a few a second, from housekeeping; issue 9's "none
# in the steady state"), and leaves no uprobe behind; bad usage.  Counts
# only, never timings.
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import BUILD, SRCDIR  # noqa: E402
from tap import T  # noqa: E402

t = T()
HOTPATH = os.path.join(SRCDIR, "bench", "hotpath")
release = os.path.join(SRCDIR, "build")
if not os.access(os.path.join(release, "comqttd"), os.X_OK):
    release = BUILD
if os.geteuid() != 0:
    t.skip_all("perf tracepoints and uprobes need root")


def probes_left():
    r = subprocess.run(["perf", "probe", "-l"], capture_output=True,
                       text=True)
    return [x for x in r.stdout.splitlines() if "probe_libjemalloc" in x]


def table(out, title):
    """{row: (per second, per message)} of one of the printed tables."""
    rows, inside = {}, False
    for line in out.splitlines():
        if line.startswith(title):
            inside = True
            continue
        if inside and line.startswith("  "):
            f = line.split()
            rows[" ".join(f[:-2])] = (int(f[-2]), float(f[-1]))
        elif inside:
            break
    return rows


r = subprocess.run([HOTPATH, release, "--duration", "5", "--", "-P", "2",
                    "pairs"], capture_output=True, text=True, timeout=180)
t.is_(r.returncode, 0, "bench/hotpath -P 2 pairs: exit 0")
if r.returncode != 0:
    t.diag(r.stdout + r.stderr)
t.ok("msg/s delivered" in r.stdout, "prints the delivery rate")
sc = table(r.stdout, "system calls")
t.ok(sc.get("recvfrom", (0, 0))[0] > 0 and sc.get("sendto", (0, 0))[0] > 0,
     "the workers' recvfrom and sendto are counted: %s" %
     {k: v[0] for k, v in sc.items()})
t.ok(0 < sc.get("all", (0, 1))[1] < 1,
     "fewer system calls than messages (%s per message)" %
     sc.get("all", (0, 0))[1])
al = table(r.stdout, "allocations")
t.ok("all" in al, "allocations are counted (release build: jemalloc)")
# Before the buffers were kept while busy: ~1,600 a second here (one
# per read that ended inside a packet); housekeeping may make a few.
t.ok(al.get("all", (10 ** 9, 1))[0] <= 50,
     "no allocation per message in the steady state (%s in a second, "
     "%s per message)" % al.get("all", (None, None)))
t.is_(probes_left(), [], "no uprobe left behind")

r = subprocess.run([HOTPATH, release, "--duration", "1"],
                   capture_output=True, text=True, timeout=60)
t.is_(r.returncode, 2, "--duration 1: exit 2")
t.ok("at least 5" in r.stderr, "--duration 1: says why")
t.done()
