#!/usr/bin/python3
# 093: bench/compare's table logic, without starting a broker: which
# generator layouts a scenario runs with, and that a connection scenario's
# figures come from each broker's better layout while both layouts'
# connect rates are printed (README.md "Connect rate").
import contextlib
import importlib.machinery
import importlib.util
import io
import os
import sys
import types

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import T  # noqa: E402

t = T()
SRC = os.environ.get("CQ_SRCDIR") or os.path.join(os.path.dirname(__file__),
                                                  "..")
path = os.path.join(SRC, "bench", "compare")
loader = importlib.machinery.SourceFileLoader("bench_compare", path)
spec = importlib.util.spec_from_loader("bench_compare", loader)
cmp = importlib.util.module_from_spec(spec)
loader.exec_module(cmp)

SCEN = {s[0]: s for s in cmp.SCENARIOS}
ncpu = len(os.sched_getaffinity(0))
args = types.SimpleNamespace(threads=0)

# Layouts: connection scenarios on 1 thread and one per CPU; message
# scenarios on 1; --threads overrides both.
t.is_(cmp.layouts(SCEN["connrate"], args), sorted({1, ncpu}),
      "connrate runs with 1 and %d generator thread(s)" % ncpu)
for sid in ("conns10k", "conns50k", "connrate64", "lst-tls-hs",
            "lst-ws-conn"):
    t.ok(len(cmp.layouts(SCEN[sid], args)) == len({1, ncpu}),
         "%s is a connection scenario" % sid)
t.is_(cmp.layouts(SCEN["pairs10-q1"], args), [1], "pairs runs with 1")
t.is_(cmp.layouts(SCEN["connrate"], types.SimpleNamespace(threads=3)), [3],
      "--threads 3 overrides the layouts")


def kv(threads, rate, p99, complete="1"):
    return {"complete": complete, "gen_threads": str(threads),
            "connects_per_s": str(rate), "conn_lat_p99_us": str(p99),
            "broker_us_per_conn": "10"}


# comqttd is better on 2 threads, mosquitto on 1; an incomplete run does
# not count.
results = {"connrate": {
    "comqttd": [kv(1, 30000, 500), kv(2, 60000, 300), kv(1, 32000, 600),
                kv(2, 62000, 350), kv(1, 99999, 1, "0"), kv(1, 34000, 700)],
    "mosquitto": [kv(1, 45000, 400), kv(2, 40000, 900), kv(1, 47000, 450),
                  kv(2, 41000, 950), kv(1, 46000, 420), kv(2, 39000, 800)]}}

notes = []
with contextlib.redirect_stdout(io.StringIO()):
    cmp.print_table(results, ["comqttd", "mosquitto"], args, notes)
t.is_(notes, ["connect/CONNACK/disconnect, 16 connectors, comqttd: 1 of 6 "
              "runs incomplete (?)"],
      "an incomplete run of either layout is noted")

runs, best = cmp.best_layout(results["connrate"]["comqttd"],
                             "connects_per_s")
t.is_(best, 2, "comqttd's better layout is 2 threads")
t.is_(cmp.median(runs, "connects_per_s"), 61000.0,
      "its median is of that layout's runs")
runs, best = cmp.best_layout(results["connrate"]["mosquitto"],
                             "connects_per_s")
t.is_(best, 1, "mosquitto's better layout is 1 thread")
t.is_(cmp.median(runs, "conn_lat_p99_us"), 420.0,
      "other figures come from the same layout's runs")
runs, best = cmp.best_layout([kv(1, 5, 5), kv(1, 6, 6)], "connects_per_s")
t.is_((best, len(runs)), (None, 2), "one layout: all runs, no choice")
runs, best = cmp.best_layout([kv(1, 5, 5, "0"), kv(2, 6, 6, "0")],
                             "connects_per_s")
t.is_(best, None, "no complete run: no better layout")

out = io.StringIO()
with contextlib.redirect_stdout(out):
    cmp.print_table(results, ["comqttd", "mosquitto"], args, [])
lines = out.getvalue().splitlines()


def cells(prefix):
    for ln in lines:
        if prefix in ln:
            return ln.split(prefix, 1)[1].split()
    return None


t.is_(cells("connects/s, 1 gen. thread "), ["32,000", "46,000", "0.70"],
      "1-thread row: both brokers' 1-thread medians")
t.is_(cells("connects/s, 2 gen. threads"), ["61,000", "40,000", "1.52"],
      "2-thread row: both brokers' 2-thread medians")
t.is_(cells("better layout:"), ["2", "thr.", "1", "thr."],
      "the better layout is named per broker")
t.is_(cells("connects/s  "), ["61,000", "46,000", "1.33"],
      "the judged row compares each broker's better layout")
t.is_(cells("p99 handshake ms"), ["0.33", "0.42", "0.77"],
      "p99 from each broker's better layout")

# A scenario none of whose runs completed (too few descriptors) names no
# layout.
results = {"conns50k": {b: [dict(kv(1, 0, 0, "0"), bytes_per_conn="1"),
                            dict(kv(2, 0, 0, "0"), bytes_per_conn="1")]
                        for b in ("comqttd", "mosquitto")}}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    cmp.print_table(results, ["comqttd", "mosquitto"], args, [])
lines = out.getvalue().splitlines()
t.is_(cells("better layout:"), ["n/a", "n/a"], "incomplete: layout n/a")
t.is_(cells("bytes/connection"), ["n/a", "n/a", "n/a"],
      "incomplete: figures n/a")

# A message scenario prints as before: one row per figure.
results = {"pairs10-q1": {b: [{"complete": "1", "gen_threads": "1",
                               "delivered_per_s": "100",
                               "broker_us_per_msg": "1",
                               "lat_p99_us": "1000"}] for b in
                          ("comqttd", "mosquitto")}}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    cmp.print_table(results, ["comqttd", "mosquitto"], args, [])
t.ok("gen. thread" not in out.getvalue() and "msg/s delivered" in
     out.getvalue(), "message scenarios have no layout rows")
t.done()
