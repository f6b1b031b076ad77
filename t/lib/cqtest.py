"""cqtest.py — start and stop the broker under test.

Every test starts its own broker in a fresh temporary directory on free
loopback ports, and after the test checks that the broker log has no crit
or alert line and no sanitizer report.  CQ_BUILD names the build directory
(the Makefile sets it to build-asan/).

CQ_TEST_BROKER=mosquitto runs the same tests against Debian's Mosquitto
with an equivalent generated configuration: the tests were written before
comqtt's runtime and validated that way.  Tests or assertions that only
make sense for comqtt (worker processes, its config keys and log lines)
call comqtt_only() or unless_mosquitto(), which skip in that mode only.
"""
import glob
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import mqttraw

BUILD = os.environ.get("CQ_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build-asan")
SRCDIR = os.environ.get("CQ_SRCDIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")
BROKER = os.environ.get("CQ_TEST_BROKER", "comqtt")
if BROKER not in ("comqtt", "mosquitto"):
    raise SystemExit("CQ_TEST_BROKER must be comqtt or mosquitto, not %r"
                     % BROKER)
MOSQUITTO = BROKER == "mosquitto"
MOSQUITTO_BIN = os.environ.get("CQ_MOSQUITTO", "/usr/sbin/mosquitto")

BAD_LOG = re.compile(r": (crit|alert): |ERROR: AddressSanitizer|"
                     r"runtime error: |LeakSanitizer|ThreadSanitizer")

# The defaults of the generated configuration (comqtt key names).
DEFAULT_LIMITS = {
    "max_packet_size": "1M", "max_inflight": 1024,
    "max_queued_messages": 1000, "queue_overflow": "drop_oldest",
    "max_topic_levels": 128, "max_client_id_len": 256,
    "max_connections": 100000,
}
DEFAULT_MQTT = {
    "maximum_qos": 2, "retain_available": True,
    "minimum_protocol_version": 3, "allow_zero_length_client_id": True,
    # Mosquitto's default (max_topic_alias 10); comqtt's own is 65535.
    "topic_alias_maximum": 10,
}


def binary(name):
    return os.path.join(BUILD, name)


def free_ports(n=1):
    """n distinct TCP ports on 127.0.0.1 that nothing listens on now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def wait_port(port, host="127.0.0.1", timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def wait_until(cond, timeout=5.0, interval=0.05):
    """Poll cond() until it returns something true (returned) or timeout
    seconds pass (returns the last false value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def run(args, timeout=30, **kw):
    """Run a command, returning CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def raise_nofile(n):
    """Raise RLIMIT_NOFILE to at least n (up to the hard limit); returns
    the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard) if hard != resource.RLIM_INFINITY \
        else max(soft, n)
    if want != soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def comqtt_only(t, why):
    """Skip the whole test in mosquitto mode: it checks comqtt itself."""
    if MOSQUITTO:
        t.skip_all("comqtt-specific (%s); not run against mosquitto" % why)


def unless_mosquitto(t, why, n=1):
    """True when the next n assertions should run; in mosquitto mode emit
    n skips naming why (a mosquitto deviation or a comqtt-only feature)."""
    if MOSQUITTO:
        t.skip("mosquitto: " + why, n)
        return False
    return True


def size_bytes(v):
    """'1M' / '64K' / 1000 -> bytes."""
    if isinstance(v, int):
        return v
    m = re.fullmatch(r"(\d+)\s*([KMG]?)B?", str(v).strip(), re.I)
    if not m:
        raise ValueError("bad size %r" % v)
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20,
                              "G": 1 << 30}[m.group(2).upper()]


def _yaml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Quiet:
    """Enough of tap.T for the helpers' cleanups, for scripts that are not
    tests (bench/auth_run.py, bench/storage_run.py)."""

    def __init__(self):
        self.cleanups = []

    def cleanup(self, fn):
        self.cleanups.append(fn)

    def ok(self, cond, name=""):
        if not cond:
            print("warning: " + name)

    def diag(self, msg):
        print(msg)

    def close(self):
        while self.cleanups:
            self.cleanups.pop()()


def _flow(v):
    """A value as flow YAML: maps nested, strings quoted."""
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (k, _flow(x))
                                   for k, x in v.items())
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
    return _yaml(v)


class TempDir:
    def __init__(self, prefix="cqtest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def file(self, name, text=None):
        p = os.path.join(self.path, name)
        if text is not None:
            with open(p, "w") as f:
                f.write(text)
        return p

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Broker:
    """The broker under test: comqttd, or mosquitto in mosquitto mode.

    workers: comqttd worker processes; nports: listeners, listener i on
    ports[i] pinned to worker slot i % workers (handoff).  limits / mqtt:
    overrides of DEFAULT_LIMITS / DEFAULT_MQTT (comqtt key names; mapped to
    mosquitto's options where it has one).  config: YAML text appended to
    the generated comqtt config ({port}, {port2}, {dir} substituted);
    mosquitto: lines appended to the generated mosquitto config, for its
    own settings (e.g. "persistent_client_expiration 2m").  The broker's
    log goes to <dir>/comqttd.log, its stdout/stderr to <dir>/stderr.log.

    Mapping to mosquitto: max_packet_size -> max_packet_size,
    max_inflight -> max_inflight_messages, max_queued_messages ->
    max_queued_messages, max_connections -> max_connections (per
    listener), maximum_qos -> max_qos (per listener), retain_available,
    allow_zero_length_client_id -> allow_zero_length_clientid,
    sys_interval.  queue_overflow, max_topic_levels, max_client_id_len and
    minimum_protocol_version have no mosquitto equivalent; tests that
    depend on them skip those assertions in mosquitto mode.
    """

    def __init__(self, t, config="", args=(), start=True, workers=2,
                 nports=2, limits=None, mqtt=None, sys_interval=1,
                 log_level="info", mosquitto="", extra_ports=0, admin=None):
        self.t = t
        self.dir = TempDir()
        self.workers = workers
        self.ports = free_ports(nports + extra_ports + 1)
        self.admin_port = self.ports[-1]
        self.extra_ports = self.ports[nports:-1]
        self.ports = self.ports[:nports]
        self.port = self.ports[0]
        # comqtt-admin: off unless asked for (admin = {} or overrides of
        # the admin: keys); then on its own loopback port with a token.
        self.admin = None if admin is None else dict(
            {"address": "127.0.0.1:%d" % self.admin_port,
             "token": "cqtest-%d-%d" % (os.getpid(), id(self)),
             "dashboard_dir": os.path.join(SRCDIR, "share", "dashboard")},
            **admin)
        self.log = os.path.join(self.dir.path, "comqttd.log")
        self.stderr_log = os.path.join(self.dir.path, "stderr.log")
        self.limits = dict(DEFAULT_LIMITS, **(limits or {}))
        self.mqtt = dict(DEFAULT_MQTT, **(mqtt or {}))
        self.sys_interval = sys_interval
        self.log_level = log_level
        self.config_extra = config
        self.mosquitto_extra = mosquitto
        self.args = list(args)
        self.proc = None
        self._logf = None
        if MOSQUITTO:
            self.conf = self.dir.file("mosquitto.conf",
                                      self.mosquitto_config())
        else:
            self.conf = self.dir.file("comqtt.yml", self.comqtt_config())
        t.cleanup(self._remove_dir)
        t.cleanup(self.stop)
        if start:
            self.start()

    # -- configuration -----------------------------------------------------
    def _subst(self, text):
        text = text.replace("{dir}", self.dir.path)
        for i, p in enumerate(self.ports):
            text = text.replace("{port%s}" % (i + 1 if i else ""), str(p))
        return text

    def comqtt_config(self, **override):
        """The generated comqtt YAML; override replaces top-level values
        (workers, log_level, sys_interval, limits, mqtt, config)."""
        o = dict(workers=self.workers, log_level=self.log_level,
                 sys_interval=self.sys_interval, limits=self.limits,
                 mqtt=self.mqtt, config=self.config_extra)
        o.update(override)
        lines = ["workers: %d" % o["workers"],
                 "log: {file: %s, level: %s}" % (self.log, o["log_level"]),
                 "sys_interval: %d" % o["sys_interval"],
                 "data_dir: %s" % os.path.join(self.dir.path, "data")]
        if self.admin is None:
            lines.append("admin: {enabled: false}")
        else:
            lines.append("admin: " + _flow(self.admin))
        lines.append("listeners:")
        for i, p in enumerate(self.ports):
            lines.append("  - {name: %s, type: tcp, address: 127.0.0.1:%d, "
                         "accept: handoff, worker: %d}"
                         % (chr(ord("a") + i), p, i % o["workers"]))
        for key in ("limits", "mqtt"):
            lines.append("%s: {%s}" % (key, ", ".join(
                "%s: %s" % (k, _yaml(v)) for k, v in o[key].items())))
        return "\n".join(lines) + "\n" + self._subst(o["config"]) + "\n"

    def mosquitto_config(self):
        lim, mq = self.limits, self.mqtt
        lines = [
            "user root", "persistence false", "allow_anonymous true",
            "log_dest file %s" % self.log,
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
            "sys_interval %d" % self.sys_interval,
            "max_packet_size %d" % size_bytes(lim["max_packet_size"]),
            "max_inflight_messages %d" % lim["max_inflight"],
            "max_queued_messages %d" % lim["max_queued_messages"],
            "allow_zero_length_clientid %s"
            % _yaml(mq["allow_zero_length_client_id"]),
            "retain_available %s" % _yaml(mq["retain_available"]),
        ]
        for p in self.ports:
            lines.append("listener %d 127.0.0.1" % p)
            lines.append("max_connections %d" % lim["max_connections"])
            if mq["maximum_qos"] != 2:
                lines.append("max_qos %d" % mq["maximum_qos"])
        return "\n".join(lines) + "\n" + self._subst(self.mosquitto_extra) \
            + "\n"

    def rewrite_config(self, **override):
        """Rewrite the comqtt config file (for reload tests)."""
        with open(self.conf, "w") as f:
            f.write(self.comqtt_config(**override))

    # -- processes ---------------------------------------------------------
    def command(self):
        if MOSQUITTO:
            return [MOSQUITTO_BIN, "-c", self.conf]
        return [binary("comqttd"), "-c", self.conf] + self.args

    def start(self, wait=True):
        self._logf = open(self.stderr_log, "ab")
        self.proc = subprocess.Popen(
            self.command(), stdout=self._logf, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=self.dir.path,
            start_new_session=True)
        self.pid = self.proc.pid
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15.0):
        """Wait until every listener answers a CONNECT with CONNACK (so
        every worker serves)."""
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("broker exited with %s:\n%s" % (
                        self.proc.returncode, self.all_logs()[-3000:]))
                if self._probe(port):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("broker not ready on port %d:\n%s"
                                       % (port, self.all_logs()[-3000:]))
                time.sleep(0.05)

    @staticmethod
    def _probe(port):
        try:
            c = mqttraw.Client(port, timeout=2.0)
        except OSError:
            return False
        try:
            c.connect("cqtest-probe-%d" % os.getpid(), timeout=2.0)
            c.disconnect()
            return True
        except (mqttraw.MqttError, OSError):
            return False
        finally:
            c.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=10.0):
        """The exit status, or None if still running after timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stop the broker; returns its exit status.  Then checks that no
        process of its group is left and that the logs are clean."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.t.diag("broker did not stop in %d s: SIGKILL" % timeout)
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        left = wait_until(lambda: not self._group_alive(), 5.0)
        if not left:
            self.t.ok(False, "no broker process left after the master exits")
            self._kill_group()
        self.proc = None
        self._logf.close()
        self.check_log()
        return rc

    def kill_all(self, timeout=10.0):
        """SIGKILL the master and every child at once (a power cut for
        the broker's processes); the next start() runs on what was
        stored.  Returns once no process of the group is left."""
        os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(timeout)
        if not wait_until(lambda: not self._group_alive(), timeout):
            raise RuntimeError("broker processes survive SIGKILL")
        self.proc = None
        self._logf.close()

    def _group_alive(self):
        try:
            os.killpg(self.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def _kill_group(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def _remove_dir(self):
        if self.t.failed:
            self.t.diag("broker directory kept: %s" % self.dir.path)
        else:
            self.dir.remove()

    # -- comqttd's workers -------------------------------------------------
    def children(self, pid=None):
        """Pids of the master's children (workers and helpers)."""
        pid = pid or self.pid
        out = []
        for f in glob.glob("/proc/%d/task/*/children" % pid):
            try:
                with open(f) as fh:
                    out += [int(x) for x in fh.read().split()]
            except OSError:
                pass
        return sorted(set(out))

    def worker_pids(self):
        """Pids of the running workers (the master's other children,
        comqtt-storage and comqtt-authd, left out), from the master's log
        ("started worker N (pid P)") checked against its children."""
        kids = set(self.children())
        latest = {}
        for slot, pid in re.findall(r"started worker (\d+) \(pid (\d+)\)",
                                    self.log_text()):
            latest[slot] = int(pid)
        return sorted(p for p in latest.values() if p in kids)

    def _started_pid(self, name, timeout):
        """The pid of the latest "started NAME (pid P)" in the master's
        log, checked against its children; None within timeout."""
        rx = re.compile(r"started %s \(pid (\d+)\)" % re.escape(name))

        def find():
            m = rx.findall(self.log_text())
            if m and int(m[-1]) in self.children():
                return int(m[-1])
            return None
        return wait_until(find, timeout)

    def helper_pid(self, name, timeout=10.0):
        """The pid of a helper child ("storage", "authd")."""
        return self._started_pid(name, timeout)

    def worker_pid(self, slot, timeout=10.0):
        """The pid of the worker in a slot."""
        return self._started_pid("worker %d" % slot, timeout)

    def kill_worker(self, slot, sig=signal.SIGKILL, timeout=15.0):
        """Kill the worker in a slot; wait until a replacement runs and
        serves.  Returns (old pid, new pid or None)."""
        old = self.worker_pid(slot)
        if old is None:
            raise RuntimeError("no worker in slot %d" % slot)
        os.kill(old, sig)

        def replaced():
            p = self.worker_pid(slot, 0.0)
            return p if p not in (None, old) else None
        return old, wait_until(replaced, timeout)

    def port_for_worker(self, n):
        """A port whose listener hands its connections to worker slot n."""
        for i, p in enumerate(self.ports):
            if i % self.workers == n:
                return p
        raise ValueError("no listener pinned to worker %d" % n)

    def conn_owner(self, client_port):
        """The pid of the broker process holding the server end of the
        connection whose client side is 127.0.0.1:client_port."""
        inode = None
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(path) as f:
                    next(f)
                    for ln in f:
                        fl = ln.split()
                        if int(fl[2].rsplit(":", 1)[1], 16) == client_port \
                                and int(fl[1].rsplit(":", 1)[1], 16) in \
                                self.ports + self.extra_ports:
                            inode = fl[9]
            except OSError:
                pass
        if inode is None:
            return None
        target = "socket:[%s]" % inode
        for pid in [self.pid] + self.children():
            for fd in glob.glob("/proc/%d/fd/*" % pid):
                try:
                    if os.readlink(fd) == target:
                        return pid
                except OSError:
                    pass
        return None

    def check_worker(self, c, slot, what):
        """Assert that worker `slot` serves the raw client c (skipped in
        mosquitto mode, which has no workers)."""
        if unless_mosquitto(self.t, "one process, no workers"):
            owner, want = self.conn_owner(c.local_port()), \
                self.worker_pid(slot)
            self.t.ok(owner is not None and owner == want,
                      "%s is served by worker %d (pid %s, owner %s)"
                      % (what, slot, want, owner))

    # -- logs --------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def all_logs(self):
        text = ""
        for p in sorted(glob.glob(os.path.join(self.dir.path, "*.log*"))):
            with open(p, errors="replace") as f:
                text += f.read()
        return text

    def log_offset(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def wait_log(self, regex, timeout=10.0, since=0):
        """The first match of regex in the log after byte offset since,
        waiting up to timeout seconds; None if it never appears."""
        rx = re.compile(regex)

        def find():
            return rx.search(self.log_text()[since:])
        return wait_until(find, timeout)

    def check_log(self):
        bad = [ln for ln in self.all_logs().splitlines() if BAD_LOG.search(ln)]
        self.t.ok(not bad,
                  "broker log has no crit/alert line or sanitizer report")
        for ln in bad[:20]:
            self.t.diag(ln)

    # -- clients -----------------------------------------------------------
    def client(self, port=None, proto=mqttraw.V311, timeout=5.0, **connect):
        """A raw client on port (default: the first listener), closed at the
        end of the test; connected when client_id or other CONNECT fields
        are given."""
        c = mqttraw.Client(port or self.port, proto=proto, timeout=timeout)
        self.t.cleanup(c.close)
        if connect:
            c.connect(**connect)
        return c


class GoodTraffic:
    """A well-behaved publisher and subscriber exchanging numbered QoS 1
    messages in the background (publisher on the first listener,
    subscriber on the last: across workers in comqtt), so a test can show
    that hostile clients do not disturb them.  check() stops the traffic
    and asserts the subscriber saw every message, in order."""

    def __init__(self, broker, name="good", interval=0.005, limit=20000):
        import threading
        self.topic = "%s/traffic" % name
        self.sub = broker.client(port=broker.ports[-1],
                                 client_id="%s-sub" % name, timeout=10)
        self.sub.subscribe([(self.topic, 1)])
        self.pub = broker.client(port=broker.ports[0],
                                 client_id="%s-pub" % name, timeout=10)
        self.interval, self.limit = interval, limit
        self.sent, self.received, self.errors = 0, [], []
        self._stop = threading.Event()
        self._done = threading.Event()
        self._threads = [threading.Thread(target=f, daemon=True)
                         for f in (self._publish, self._subscribe)]
        for th in self._threads:
            th.start()
        broker.t.cleanup(self._halt)

    def _publish(self):
        try:
            while not self._stop.is_set() and self.sent < self.limit:
                self.pub.publish(self.topic, b"%d" % self.sent, qos=1)
                self.sent += 1
                self._stop.wait(self.interval)
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.errors.append("publisher: %r" % e)

    def _subscribe(self):
        try:
            while not self._done.is_set():
                p = self.sub.recv_publish(0.1)
                if p is not None:
                    self.received.append(int(p.payload))
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.errors.append("subscriber: %r" % e)

    def _halt(self):
        self._stop.set()
        self._done.set()
        for th in self._threads:
            th.join(10)

    def check(self, t, what, min_messages=20):
        """Stop (once at least min_messages went out, bounded), wait
        (bounded) for the last messages, assert."""
        wait_until(lambda: self.sent >= min_messages or self.errors, 10)
        self._stop.set()
        self._threads[0].join(15)
        wait_until(lambda: len(self.received) >= self.sent or self.errors,
                   10)
        self._halt()
        t.is_(self.errors, [], "%s: the good clients had no error" % what)
        t.ok(self.sent > 0 and self.received == list(range(self.sent)),
             "%s: the good subscriber saw all %d messages, in order"
             % (what, self.sent))
        if self.received != list(range(self.sent)):
            t.diag("received %d of %d" % (len(self.received), self.sent))


class SysTopics:
    """The broker's $SYS values as a dict, kept current by a raw client
    subscribed to `filt` (mosquitto's topic names, which comqtt uses)."""

    def __init__(self, broker, filt="$SYS/broker/#"):
        self.c = broker.client(client_id="sys-%d" % id(self))
        self.c.subscribe([(filt, 0)])
        self.values = {}
        self.updates = []   # (monotonic time, topic, payload, retain)

    def refresh(self, timeout=0.5):
        """Read what arrives within timeout seconds."""
        for p in self.c.collect(100000, timeout):
            v = p.payload.decode("utf-8", "replace")
            self.values[p.topic] = v
            self.updates.append((time.monotonic(), p.topic, v, p.retain))
        return self.values

    def number(self, name):
        """The leading integer of $SYS/broker/<name>, or None."""
        m = re.match(r"\s*(\d+)", self.values.get("$SYS/broker/" + name, ""))
        return int(m.group(1)) if m else None

    def wait(self, name, pred, timeout=6.0):
        """Wait until pred(number(name)) holds; returns the value (None
        if it never held)."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.number(name)
            if v is not None and pred(v):
                return v
            if time.monotonic() >= deadline:
                return None
            self.refresh(min(0.5, deadline - time.monotonic()))


class NumberedPublisher:
    """Publishes messages 0..n-1 in the background on each (topic, qos)
    in turn, completing every flow before the next; .errors collects what
    went wrong.  The payload is the decimal number.  gate(i), if given, is
    called before message i (to pace the publisher to a consumer)."""

    def __init__(self, client, topics, n, gate=None):
        import threading
        self.client, self.topics, self.n = client, topics, n
        self.gate = gate
        self.errors = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for i in range(self.n):
                if self.gate is not None:
                    self.gate(i)
                for topic, qos in self.topics:
                    self.client.publish(topic, b"%d" % i, qos=qos)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)

    def alive(self):
        return self.thread.is_alive()

    def join(self, timeout):
        self.thread.join(timeout)


def first_arrivals(seq):
    """seq without repeats, in order of first arrival."""
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def check_numbered(t, got, n):
    """got: {qos: [numbers received]} for messages 0..n-1 published in
    order.  QoS 1: none lost (repeats allowed); QoS 2: each exactly once;
    both: first arrivals in publication order [MQTT-4.6.0-6]."""
    if 1 in got:
        t.is_(sorted(set(got[1])), list(range(n)),
              "QoS 1: none of %d lost" % n)
        t.diag("QoS 1 repeats: %d" % (len(got[1]) - len(set(got[1]))))
    if 2 in got:
        t.is_(sorted(got[2]), list(range(n)), "QoS 2: all %d exactly once "
              "[MQTT-4.3.3-2]" % n)
    for q in sorted(got):
        t.is_(first_arrivals(got[q]), list(range(n)), "QoS %d: first "
              "arrivals in publication order [MQTT-4.6.0-6]" % q)
