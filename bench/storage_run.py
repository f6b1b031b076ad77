#!/usr/bin/python3
"""storage_run.py — the persistence figures of bench/STORAGE.md.

    CQ_BUILD=build bench/storage_run.py [MESSAGES] [--restart-only]

1. QoS 1 throughput to offline persistent sessions: 100 sessions (MQTT
   3.1.1, clean session 0), each subscribed at QoS 1 to its own topic and
   disconnected; one publisher sends MESSAGES (default 50,000) QoS 1
   messages round-robin over the 100 topics with 100 in flight, and the
   rate counts PUBACKs.  Every message ends in a session's queue, so each
   one is a persistent change.  Brokers: comqttd with storage.backend none,
   LMDB with persistence async and sync, Redis (a redis-server started
   here, appendonly no), and mosquitto 2.0.11 with persistence true
   (autosave on its default interval: it writes at shutdown).  After each
   run the sessions' queues are counted, so a run that lost messages says
   so.
2. Restart time with 100,000 retained messages and 10,000 persistent
   sessions (one subscription each): from the start command until both
   listeners answer CONNECT, comqttd (LMDB) against mosquitto.

The publisher is Python (t/lib/mqttraw.py): its own ceiling is measured
first against the none backend, and the figures say so when a broker is
faster than it.  Uses the release build (CQ_BUILD) and t/lib's helpers.
"""
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("CQ_BUILD", os.path.join(HERE, "..", "build"))
sys.path.insert(0, os.path.join(HERE, "..", "t", "lib"))
import mqttraw as m  # noqa: E402
from authd import Redis  # noqa: E402
from cqtest import Quiet, TempDir, binary, free_ports  # noqa: E402

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 and \
    sys.argv[1].isdigit() else 50000
SESSIONS = 100
RETAINED = 100000
RESTART_SESSIONS = 10000


class Server:
    """comqttd or mosquitto on two loopback ports in a temp dir."""

    def __init__(self, kind, storage=""):
        self.kind = kind
        self.dir = TempDir(prefix="cqbench-")
        self.ports = free_ports(2)
        self.proc = None
        if kind == "mosquitto":
            self.conf = self.dir.file("m.conf", "".join([
                "user root\npersistence true\n",
                "persistence_location %s/\n" % self.dir.path,
                "allow_anonymous true\nmax_queued_messages 0\n",
                "max_inflight_messages 0\n",
                "log_dest file %s/m.log\n" % self.dir.path] +
                ["listener %d 127.0.0.1\n" % p for p in self.ports]))
        else:
            self.conf = self.dir.file("comqtt.yml", "".join([
                "workers: 2\ndata_dir: %s/data\n" % self.dir.path,
                "log: {file: %s/comqttd.log, level: notice}\n"
                % self.dir.path,
                "limits: {max_queued_messages: 1000000, "
                "max_sessions: 100000}\nshm_size: 2G\n",
                "listeners:\n"] +
                ["  - {name: l%d, type: tcp, address: 127.0.0.1:%d, "
                 "accept: handoff, worker: %d}\n" % (i, p, i)
                 for i, p in enumerate(self.ports)] + [storage]))

    def start(self):
        """Start; returns seconds until both ports answer CONNECT."""
        cmd = (["/usr/sbin/mosquitto", "-c", self.conf]
               if self.kind == "mosquitto"
               else [binary("comqttd"), "-c", self.conf])
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     cwd=self.dir.path)
        for p in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("%s exited" % self.kind)
                try:
                    c = m.Client(p, timeout=5)
                    c.connect("probe-%d" % p)
                    c.disconnect()
                    break
                except (OSError, m.MqttError):
                    time.sleep(0.01)
        return time.monotonic() - t0

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(120)
        self.proc = None

    def remove(self):
        self.stop()
        self.dir.remove()


def tree_cpu(pid):
    """CPU seconds (user + system) of pid and its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                fl = f.read().rsplit(")", 1)[1].split()
            total += int(fl[11]) + int(fl[12])
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def sessions(port, n, prefix):
    for i in range(n):
        c = m.Client(port, timeout=10)
        c.connect("%s-%d" % (prefix, i), clean=False)
        c.subscribe([("bench/%s/%d" % (prefix, i), 1)])
        c.disconnect(wait=0)


def queued(port, n, prefix):
    """Messages waiting in the n sessions (drained here, QoS 1 acked)."""
    total = 0
    for i in range(n):
        c = m.Client(port, timeout=10)
        c.connect("%s-%d" % (prefix, i), clean=False)
        total += len(c.collect(10 ** 9, 0.3))
        c.disconnect(wait=0)
    return total


def throughput(kind, storage=""):
    s = Server(kind, storage)
    try:
        s.start()
        sessions(s.ports[1], SESSIONS, "q")
        pub = m.Client(s.ports[0], timeout=60)
        pub.connect("bench-pub")
        msgs = [("bench/q/%d" % (i % SESSIONS), b"x" * 64)
                for i in range(MESSAGES)]
        t0, c0 = time.monotonic(), tree_cpu(s.proc.pid)
        pub.publish_many(msgs, 1, window=100, timeout=600)
        dt = time.monotonic() - t0
        # The storage process may still be committing: let it finish.
        time.sleep(0.5)
        cpu = tree_cpu(s.proc.pid) - c0
        pub.disconnect()
        got = queued(s.ports[1], SESSIONS, "q")
        return MESSAGES / dt, cpu * 1e6 / MESSAGES, got
    finally:
        s.remove()


def populate(s):
    pub = m.Client(s.ports[0], timeout=60)
    pub.connect("bench-ret")
    for i in range(0, RETAINED, 1000):
        for j in range(i, i + 1000):
            pub.send(m.publish("ret/%d/%d" % (j // 1000, j), b"r" * 64,
                               qos=0, retain=True))
        pub.ping(60)
    pub.disconnect()
    sessions(s.ports[1], RESTART_SESSIONS, "s")


def restart(kind, storage=""):
    s = Server(kind, storage)
    try:
        s.start()
        populate(s)
        time.sleep(1)
        s.stop()
        dt = s.start()
        loaded = ""
        if kind != "mosquitto":
            with open(os.path.join(s.dir.path, "comqttd.log")) as f:
                text = f.read()
            i = text.rfind("loaded ")
            loaded = text[i:text.find("\n", i)] if i >= 0 else ""
        c = m.Client(s.ports[0], timeout=30)
        c.connect("bench-check")
        c.subscribe([("ret/0/#", 0)])
        n = len(c.collect(1000, 5))
        c.disconnect()
        return dt, n, loaded
    finally:
        s.remove()


def main():
    t = Quiet()
    rd = Redis(t)
    redis = ("storage: {backend: redis, redis: {address: \"127.0.0.1:%d\"}}"
             "\n" % rd.port)
    rows = [("comqttd, storage none", "comqttd",
             "storage: {backend: none}\n"),
            ("comqttd, LMDB async", "comqttd", ""),
            ("comqttd, LMDB sync", "comqttd",
             "storage: {persistence: sync}\n"),
            ("comqttd, Redis async", "comqttd", redis),
            ("mosquitto 2.0.11, persistence true", "mosquitto", "")]
    try:
        if "--restart-only" not in sys.argv:
            print("QoS 1 to %d offline persistent sessions, %d messages, "
                  "100 in flight:" % (SESSIONS, MESSAGES))
            for label, kind, conf in rows:
                rate, us, got = throughput(kind, conf)
                print("  %-36s %8.0f msg/s acknowledged, %5.1f us broker "
                      "CPU/msg, %d/%d queued"
                      % (label, rate, us, got, MESSAGES))
        print("Restart with %d retained messages and %d sessions:"
              % (RETAINED, RESTART_SESSIONS))
        for label, kind, conf in (rows[1], rows[4]):
            dt, n, loaded = restart(kind, conf)
            print("  %-36s %6.2f s to serve, %d/1000 retained checked"
                  % (label, dt, n))
            if loaded:
                print("    comqtt-storage: " + loaded)
    finally:
        t.close()


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    main()
