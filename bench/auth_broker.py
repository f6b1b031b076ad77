#!/usr/bin/python3
"""bench/auth_broker.py -- what authentication and ACL cost comqttd.

Usage: bench/auth_broker.py [BUILD] [--runs N] [--duration S] [--quick]
                            [--only ID,...] [--list] [--json FILE]
                            [--perf DIR]

With comqttd (BUILD/comqttd, release build, 2 workers) started fresh for
every run and comqtt-bench (BUILD/comqtt-bench) as the load:

connrate rows: connect/CONNACK/DISCONNECT, 16 connectors, with
  authentication by the ledger (1,000 users, plain passwords) and by
  PostgreSQL 15 (1,000 users, sha256 passwords, started here on 127.0.0.1
  the way the tests start it), each with the cache warm (the same
  credentials and client ids again and again) and with the cache unable to
  help (comqtt-bench -u 'bench%u' --users 1000: every connect is a new
  client id, so its cache key is new), beside comqttd with auth disabled.
publish rows: 10 publisher/subscriber pairs at QoS 0 and QoS 1 with a
  1,000-rule ledger ACL (999 rules that apply to every user, each with two
  filters that do not match the bench's topics, then the one that does),
  cache warm, against auth enabled with the allow backend and auth
  disabled.

Rows of a group alternate (reversed order in even runs); the tables give
medians.  For PostgreSQL rows the script also reports PostgreSQL's own CPU
and the queries authd made per connect (transactions committed in the
database, from pg_stat_database), which shows whether the cache answered.
--perf DIR records the workers of the publish QoS 0 ledger and auth-off
brokers with `perf record -g` (one extra run each) and prints the top of
`perf report`.

Every process started here (comqttd with its workers and authd,
PostgreSQL, perf) is stopped before the script exits; traffic stays on
127.0.0.1.  A run whose listening port turns out to be shared with a
process not started here (SO_REUSEPORT lets another broker of the same
user bind it too) is reported incomplete.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
USERS = 1000
RULES = 1000
PASSWORD = "bench"
WARM = ["-u", "bench7", "--password", PASSWORD]
COLD = ["-u", "bench%u", "--password", PASSWORD, "--users", str(USERS)]


def load_compare():
    """bench/compare as a module (its file name has no .py)."""
    loader = SourceFileLoader("compare", os.path.join(HERE, "compare"))
    mod = module_from_spec(spec_from_loader("compare", loader))
    loader.exec_module(mod)
    return mod


compare = load_compare()
sys.path[:0] = [HERE, os.path.join(ROOT, "t", "lib")]
import cqtest  # noqa: E402
from auth_run import PG_TABLES, Quiet  # noqa: E402
from authd import Mqtt, Postgres, hash_password  # noqa: E402

# (id, group, label, broker configuration, cache, comqtt-bench arguments)
CONNRATE = ["-n", "16", "connrate"]
ROWS = [
    ("conn-off", "connrate", "auth disabled", "off", "-", WARM + CONNRATE),
    ("conn-off-new", "connrate", "auth disabled", "off", "-",
     COLD + CONNRATE),
    ("conn-ledger-warm", "connrate", "ledger", "ledger", "warm",
     WARM + CONNRATE),
    ("conn-ledger-cold", "connrate", "ledger", "ledger", "cold",
     COLD + CONNRATE),
    ("conn-pg-warm", "connrate", "postgres", "postgres", "warm",
     WARM + CONNRATE),
    ("conn-pg-cold", "connrate", "postgres", "postgres", "cold",
     COLD + CONNRATE),
]
for _q in ("0", "1"):
    for _cfg, _label in (("off", "auth disabled"),
                         ("allow", "auth on, allow backend"),
                         ("ledger", "ledger, %d ACL rules" % RULES)):
        ROWS.append(("pub%s-%s" % (_q, _cfg), "publish" + _q, _label, _cfg,
                     "-" if _cfg == "off" else "warm",
                     WARM + ["-P", "10", "-q", _q, "pairs"]))


def ledger_text():
    """1,000 users; 1,000 ACL rules, the bench's own last."""
    out = ["users:\n"]
    out += ["  bench%d: {password: %s}\n" % (i, PASSWORD)
            for i in range(USERS)]
    out.append("acl:\n")
    out += ['  - {username: "*", filters: {"site/%d/+/cmd": 2, '
            '"site/%d/#": 1}}\n' % (i, i) for i in range(RULES - 1)]
    out.append('  - {username: "bench*", filters: {"cqb/#": 3}}\n')
    return "".join(out)


def postgres_auth(port):
    return ("backends: [postgres]\npostgres:\n  host: 127.0.0.1\n"
            "  port: %d\n  user: postgres\n  database: comqtt\n"
            "  sslmode: disable\n  password_hash: 4\n" % port)


AUTH = {
    "off": None,
    "allow": "backends: [allow]\n",
    "ledger": "backends: [ledger]\nledger:\n  file: ledger.yml\n",
    "postgres": None,  # set once PostgreSQL runs (its port)
}


def indent(text, n):
    return "".join(" " * n + ln + "\n" for ln in text.splitlines())


def ticks(pid):
    """utime + stime of one process, in clock ticks (0 if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def tree_cpu_s(root):
    return sum(ticks(p) for p in compare.proc_tree(root)) / \
        os.sysconf("SC_CLK_TCK")


def listen_inodes(port):
    """Inodes of the sockets listening on 127.0.0.1:port."""
    want = "0100007F:%04X" % port
    found = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            if x[1] == want and x[3] == "0A":
                found.add(x[9])
    return found


def owned_inodes(pids):
    found = set()
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                found.add(link[8:-1])
    return found


class AuthComqttd(compare.Comqttd):
    """comqttd with 2 workers and one auth configuration; ready once a
    CONNECT with the bench's credentials is accepted."""

    def __init__(self, build, config):
        super().__init__(build)
        self.name = "comqttd-" + config
        self.config = config
        self.profile = None  # perf.data path for the next run
        self.perf = None
        self.pg = None  # Postgres, for its CPU and query counts
        self.extra = {}

    def command(self):
        argv = super().command()
        auth = AUTH[self.config]
        with open(argv[-1], "a") as f:
            f.write("workers: 2\ndata_dir: %s\nlog:\n  file: %s\n"
                    "  level: notice\n" % (self.dir, self.log_path()))
            if auth:
                f.write("auth:\n  enabled: true\n  socket: %s\n%s" % (
                    os.path.join(self.dir, "authd.sock"), indent(auth, 2)))
        if self.config == "ledger":
            with open(os.path.join(self.dir, "ledger.yml"), "w") as f:
                f.write(LEDGER)
        return argv

    def log_path(self):
        return os.path.join(self.dir, "comqttd.log")

    def start(self):
        before = self.pg_counts()
        pid = super().start()
        if not self.accepts():
            self.stop()
            raise RuntimeError("no CONNACK 0 for the bench's credentials")
        foreign = listen_inodes(self.port) - owned_inodes(
            compare.proc_tree(pid))
        if foreign:
            self.stop()
            raise RuntimeError("127.0.0.1:%d is also listened on by a "
                               "process not started here" % self.port)
        self.extra = {"pg_before": before}
        if self.pg:
            self.extra["pg_cpu0"] = tree_cpu_s(self.pg.proc.pid)
        if self.profile:
            self.perf = subprocess.Popen(
                ["perf", "record", "-q", "-g", "-o", self.profile, "-p",
                 ",".join(map(str, self.workers()))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)  # perf attaches before the load starts
        return pid

    def stop(self):
        if self.perf is not None:
            self.perf.send_signal(signal.SIGINT)
            try:
                self.perf.wait(60)
            except subprocess.TimeoutExpired:
                self.perf.kill()
                self.perf.wait()
            self.perf = None
        if self.pg and "pg_cpu0" in self.extra:
            self.extra["pg_cpu_s"] = (tree_cpu_s(self.pg.proc.pid) -
                                      self.extra.pop("pg_cpu0"))
        super().stop()
        if self.pg and self.extra.get("pg_before") is not None:
            after = self.pg_counts(settle=True)
            if after is not None:
                self.extra["pg_queries"] = after - self.extra["pg_before"]

    def accepts(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = Mqtt(self.port)
                code = m.connect("auth-broker-probe", "bench7", PASSWORD)
                m.close()
                if code == 0:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def workers(self):
        with open(self.log_path(), errors="replace") as f:
            return [int(p) for p in re.findall(
                r"started worker \d+ \(pid (\d+)\)", f.read())]

    def pg_counts(self, settle=False):
        """Transactions committed in the comqtt database (each of authd's
        queries is one); with settle, once authd's sessions have ended
        (a backend reports its counts when it exits)."""
        if not self.pg:
            return None
        deadline = time.monotonic() + 10
        while settle and time.monotonic() < deadline and re.search(
                r"[1-9]", self.pg.sql("SELECT count(*) FROM pg_stat_activity"
                                      " WHERE datname = 'comqtt'")
                .splitlines()[2]):
            time.sleep(0.05)
        out = self.pg.sql("SELECT xact_commit FROM pg_stat_database "
                          "WHERE datname = 'comqtt'")
        return int(out.splitlines()[2])


def start_postgres(t):
    pg = Postgres(t)
    pg.sql("CREATE DATABASE comqtt")
    pg.sql(PG_TABLES + """
INSERT INTO mqtt_user (username, password) SELECT 'bench' || g, '%s'
  FROM generate_series(0, %d) g;
INSERT INTO mqtt_acl (username, topic, access) SELECT 'bench' || g,
  'cqb/#', 3 FROM generate_series(0, %d) g;
ANALYZE;""" % (hash_password(4, PASSWORD), USERS - 1, USERS - 1),
           db="comqtt")
    AUTH["postgres"] = postgres_auth(pg.port)
    return pg


def one(bench, broker, row, args, nofile):
    scen = (row[0], row[2], row[5], None, True)
    kv = compare.one_run(bench, broker, scen, args, nofile)
    extra = broker.extra
    conns = float(kv.get("connected", 0) or 0)
    if "pg_cpu_s" in extra and conns > 0:
        kv["pg_us_per_conn"] = str(extra["pg_cpu_s"] * 1e6 / conns)
    if "pg_queries" in extra and conns > 0:
        kv["queries_per_conn"] = str(extra["pg_queries"] / conns)
    broker.extra = {}
    return kv


def median(runs, key):
    return compare.median(runs, key)


def fmt(v, form, scale=1):
    return "n/a" if v is None else form.format(v * scale)


def print_connrate(results):
    print("| auth | client ids | cache | connects/s | p99 handshake ms | "
          "broker CPU us/connect | PostgreSQL CPU us/connect | "
          "queries/connect |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for row in ROWS:
        if row[1] != "connrate" or row[0] not in results:
            continue
        r = results[row[0]]
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row[2], "new per connect" if "%u" in " ".join(row[5])
            else "16, reused", row[4],
            fmt(median(r, "connects_per_s"), "{:,.0f}"),
            fmt(median(r, "conn_lat_p99_us"), "{:.2f}", 1e-3),
            fmt(median(r, "broker_us_per_conn"), "{:.0f}"),
            fmt(median(r, "pg_us_per_conn"), "{:.0f}"),
            fmt(median(r, "queries_per_conn"), "{:.3f}")))


def print_publish(results):
    print("| QoS | broker | msg/s delivered | broker CPU us/msg | "
          "msg/s vs auth disabled | msg/s vs allow |")
    print("|---|---|---:|---:|---:|---:|")
    for q in ("0", "1"):
        base = median(results.get("pub%s-off" % q, []), "delivered_per_s")
        allow = median(results.get("pub%s-allow" % q, []),
                       "delivered_per_s")
        for row in ROWS:
            if row[1] != "publish" + q or row[0] not in results:
                continue
            v = median(results[row[0]], "delivered_per_s")
            print("| %s | %s | %s | %s | %s | %s |" % (
                q, row[2], fmt(v, "{:,.0f}"),
                fmt(median(results[row[0]], "broker_us_per_msg"),
                    "{:.3f}"),
                "%.3f" % (v / base) if v and base else "n/a",
                "%.3f" % (v / allow) if v and allow else "n/a"))


def print_notes(results):
    for row in ROWS:
        runs = results.get(row[0], [])
        bad = [kv for kv in runs if kv.get("complete") != "1"]
        if bad:
            print("note: %s: %d of %d runs incomplete (%s)" % (
                row[0], len(bad), len(runs), bad[0].get("error", "?")[:200]))


def profile(bench, brokers, args, pdir, nofile):
    """One extra run of publish QoS 0 for ledger and auth-off under perf;
    prints the top of perf report for each."""
    os.makedirs(pdir, exist_ok=True)
    for rid in ("pub0-ledger", "pub0-off"):
        row = [r for r in ROWS if r[0] == rid][0]
        b = brokers[row[3]]
        data = os.path.abspath(os.path.join(pdir, rid + ".data"))
        b.profile = data
        kv = one(bench, b, row, args, nofile)
        b.profile = None
        print("\nprofile %s (%s msg/s; perf record -g on both workers; "
              "%s):" % (rid, kv.get("delivered_per_s", "?"), data))
        r = subprocess.run(
            ["perf", "report", "-i", data,
             "--no-children", "--stdio", "-g", "none", "--percent-limit",
             "0.7", "--sort", "dso,symbol"], capture_output=True, text=True,
            timeout=300)
        lines = [ln for ln in r.stdout.splitlines()
                 if ln.strip() and not ln.startswith("#")]
        print("\n".join("    " + ln for ln in lines[:30]))


def parse_args():
    p = argparse.ArgumentParser(
        description="comqttd with and without auth, with comqtt-bench")
    p.add_argument("build", nargs="?", default="build",
                   help="build directory (default: build)")
    p.add_argument("--runs", type=int, default=3,
                   help="runs per row (default 3)")
    p.add_argument("--duration", type=float, default=3.0,
                   help="seconds per run (default 3)")
    p.add_argument("--quick", action="store_true",
                   help="one run of 1 second each")
    p.add_argument("--only", help="comma-separated row ids or groups "
                   "(connrate, publish0, publish1)")
    p.add_argument("--list", action="store_true", help="list the rows")
    p.add_argument("--json", help="write every run's figures to this file")
    p.add_argument("--perf", metavar="DIR", help="also profile the "
                   "publish QoS 0 ledger and auth-off brokers' workers")
    a = p.parse_args()
    if a.quick:
        a.runs, a.duration = 1, 1.0
    if a.runs < 1 or a.duration <= 0:
        p.error("--runs and --duration must be positive")
    a.threads = 0
    return a


def chosen_rows(args):
    if not args.only:
        return ROWS
    ids = set(args.only.split(","))
    rows = [r for r in ROWS if r[0] in ids or r[1] in ids]
    unknown = ids - {r[0] for r in ROWS} - {r[1] for r in ROWS}
    if unknown:
        raise SystemExit("bench/auth_broker.py: unknown row(s): %s (see "
                         "--list)" % ", ".join(sorted(unknown)))
    return rows


def run_all(bench, brokers, rows, args, nofile):
    results = {}
    groups = []
    for r in rows:
        if r[1] not in groups:
            groups.append(r[1])
    for g in groups:
        grows = [r for r in rows if r[1] == g]
        for run in range(args.runs):
            for row in (grows if run % 2 == 0 else grows[::-1]):
                kv = one(bench, brokers[row[3]], row, args, nofile)
                results.setdefault(row[0], []).append(kv)
                compare.log("%s run %d/%d: %s" % (
                    row[0], run + 1, args.runs,
                    "ok" if kv.get("complete") == "1"
                    else "INCOMPLETE: " + kv.get("error", "?")))
    return results


def on_term(signum, frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    if args.list:
        for r in ROWS:
            print("%-18s %-9s %-26s cache %-5s comqtt-bench %s" % (
                r[0], r[1], r[2], r[4], " ".join(r[5])))
        return 0
    rows = chosen_rows(args)
    build = os.path.abspath(args.build)
    cqtest.BUILD = build  # hash_password runs BUILD/comqtt-authd
    bench = os.path.join(build, "comqtt-bench")
    for exe in (bench, os.path.join(build, "comqttd")):
        if not os.access(exe, os.X_OK):
            compare.log("bench/auth_broker.py: %s not found (make build)"
                        % exe)
            return 2
    signal.signal(signal.SIGTERM, on_term)
    nofile = compare.raise_nofile()
    t = Quiet()
    brokers = {c: AuthComqttd(build, c) for c in AUTH}
    results, notes = {}, []
    start, load0 = time.monotonic(), os.getloadavg()
    try:
        if any(r[3] == "postgres" for r in rows):
            brokers["postgres"].pg = start_postgres(t)
        results = run_all(bench, brokers, rows, args, nofile)
        load1 = os.getloadavg()
        if args.perf:
            profile(bench, brokers, args, args.perf, nofile)
    except KeyboardInterrupt:
        notes.append("interrupted")
        load1 = os.getloadavg()
    finally:
        for b in brokers.values():
            b.stop()
        t.close()
    print("\nbench/auth_broker.py: comqttd %s, 2 workers, fresh per run; "
          "comqtt-bench on the same machine; medians of %d run(s), "
          "alternating; %.0f s per run" % (build, args.runs, args.duration))
    print("machine: %d CPUs, load average (1/5/15 min) %.2f/%.2f/%.2f at "
          "start, %.2f/%.2f/%.2f at end; %.0f s in all\n" % (
              (os.cpu_count(),) + load0 + load1 +
              (time.monotonic() - start,)))
    if any(r[1] == "connrate" for r in rows):
        print_connrate(results)
        print()
    if any(r[1].startswith("publish") for r in rows):
        print_publish(results)
    print_notes(results)
    for n in notes:
        print("note: " + n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": args.runs, "duration": args.duration,
                       "results": results}, f, indent=1)
    return 0


LEDGER = ledger_text()

if __name__ == "__main__":
    sys.exit(main())
