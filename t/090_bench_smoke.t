#!/usr/bin/python3
# 090: comqtt-bench against Debian's mosquitto: every scenario with small
# numbers, over TCP, TLS and WebSocket, plus bad usage; numbered
# credentials (%u, --users) against a listener that records CONNECTs.
# Asserts delivery counts, ratios and exit codes only, never timings.
import json
import os
import signal
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw  # noqa: E402
from cqtest import TempDir, binary, free_port, run, wait_port  # noqa: E402
from tap import T  # noqa: E402

t = T()
BENCH = binary("comqtt-bench")
MOSQUITTO = "/usr/sbin/mosquitto"
if not os.path.exists(MOSQUITTO):
    t.skip_all("mosquitto is not installed")

tmp = TempDir("cqbench-")
t.cleanup(tmp.remove)
tcp, tls, ws = free_port(), free_port(), free_port()

# A certificate for the TLS listener (EC: quick to make).
r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", tmp.file("key.pem"), "-out", tmp.file("cert.pem")])
t.is_(r.returncode, 0, "openssl made a test certificate")

conf = tmp.file("mosquitto.conf", f"""user root
persistence false
log_dest file {tmp.path}/mosquitto.log
allow_anonymous true
max_queued_messages 0
listener {tcp} 127.0.0.1
listener {tls} 127.0.0.1
certfile {tmp.path}/cert.pem
keyfile {tmp.path}/key.pem
listener {ws}
protocol websockets
""")
broker = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def stop_broker():
    if broker.poll() is None:
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(10)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()


t.cleanup(stop_broker)
t.ok(wait_port(tcp) and wait_port(tls) and wait_port(ws),
     "mosquitto listens on TCP, TLS and WebSocket ports")


def bench(args, port=tcp, timeout=60, expect=0):
    """Run comqtt-bench with --kv; (exit code, dict of figures, stderr)."""
    r = run([BENCH, "-p", str(port), "--kv", "--drain-timeout", "10",
             "--broker-pid", str(broker.pid)] + args, timeout=timeout)
    kv = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        kv[k] = v
    if r.returncode != expect:
        t.diag("comqtt-bench %s: exit %d\n%s%s" % (" ".join(args),
               r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    return r.returncode, kv, r.stderr


def delivered(args, expected, name, port=tcp, retained=False):
    rc, kv, _ = bench(args, port)
    t.is_(rc, 0, name + ": exit 0")
    t.is_(int(kv.get("expected", -1)), expected, name + ": expected count")
    t.is_(int(kv.get("delivered", -1)), expected, name + ": all delivered")
    t.is_((kv.get("lost"), kv.get("duplicates")), ("0", "0"),
          name + ": no loss, no duplicate")
    t.is_(kv.get("complete"), "1", name + ": complete")
    if retained:
        t.is_(int(kv.get("retained_flagged", -1)), expected,
              name + ": every copy has the RETAIN flag [MQTT-3.3.1-8]")
    return kv


# Closed loop, every QoS, message counts instead of durations.
kv = delivered(["-P", "2", "-c", "2000", "pairs"], 4000, "pairs QoS 0")
t.ok(int(kv.get("broker_pss_start_kb", -1)) > 0, "--broker-pid reports the PSS")
delivered(["-q", "1", "-c", "2000", "pairs"], 2000, "pairs QoS 1")
delivered(["-q", "2", "-V", "5", "-P", "2", "-c", "500", "pairs"], 1000,
          "pairs QoS 2, MQTT 5")
delivered(["-q", "1", "-V", "3", "-c", "300", "pairs"], 300,
          "pairs QoS 1, MQTT 3.1")
delivered(["-P", "5", "-c", "400", "fanin"], 2000, "fanin 5 -> 1")
delivered(["-S", "20", "-c", "100", "-q", "1", "fanout"], 2000,
          "fanout 1 -> 20 at QoS 1")
delivered(["-P", "3", "-S", "4", "-c", "200", "-q", "2", "mesh"], 2400,
          "mesh 3 x 4 at QoS 2")
delivered(["-n", "3", "-c", "500", "stresser"], 1500, "stresser 3 x 500")
delivered(["-q", "1", "-c", "200", "retained"], 200, "retained 200",
          retained=True)
# Open loop: a fixed rate for a short time; the ratio is what counts.
rc, kv, _ = bench(["-q", "1", "-r", "2000", "-d", "0.3", "pairs"])
t.is_(rc, 0, "open loop at 2000 msg/s: exit 0")
t.ok(int(kv.get("sent", 0)) > 0 and kv.get("delivered") == kv.get("sent"),
     "open loop: every message delivered")
t.is_(kv.get("mode"), "open", "open loop is reported as such")

# Connections.
rc, kv, _ = bench(["-n", "50", "-d", "0.3", "conns"])
t.is_(rc, 0, "conns 50: exit 0")
t.is_(kv.get("connected"), "50", "conns: 50 connections held")
rc, kv, _ = bench(["-n", "4", "-d", "0.3", "connrate"])
t.is_(rc, 0, "connrate: exit 0")
t.ok(int(kv.get("connected", 0)) > 0 and kv.get("connect_failed") == "0",
     "connrate: connects, none failed")

# TLS (verified against the generated certificate) and WebSocket.
delivered(["--tls", "--cafile", tmp.path + "/cert.pem", "-q", "1", "-c",
           "500", "pairs"], 500, "TLS pairs QoS 1", port=tls)
rc, kv, _ = bench(["--tls", "-c", "10", "pairs"], port=tls, expect=1)
t.is_(rc, 1, "TLS without the CA: exit 1")
t.ok("certificate" in kv.get("error", ""), "and the error names the "
     "certificate")
delivered(["--ws", "-q", "1", "-P", "2", "-c", "500", "pairs"], 1000,
          "WebSocket pairs QoS 1", port=ws)
delivered(["--ws", "-P", "3", "-c", "300", "fanin"], 900,
          "WebSocket fanin QoS 0", port=ws)

# JSON output is one object.
r = run([BENCH, "-p", str(tcp), "--json", "-c", "100", "pairs"], timeout=60)
try:
    obj = json.loads(r.stdout)
except ValueError:
    obj = {}
t.is_(obj.get("delivered"), 100, "--json prints one parseable object")

# Nothing listening: a clear failure, no hang.
dead = free_port()
rc, kv, _ = bench(["-c", "10", "--connect-timeout", "2", "pairs"],
                  port=dead, expect=1)
t.is_(rc, 1, "no broker: exit 1")
t.ok("refused" in kv.get("error", ""), "no broker: the error says refused")
t.is_(kv.get("complete"), "0", "no broker: reported incomplete")

# Bad usage: exit 2 with a message.
for args, what in ((["nosuch"], "unknown scenario"),
                   (["--no-such-option", "pairs"], "unknown option"),
                   (["-q", "3", "pairs"], "bad value"),
                   (["-s", "10", "pairs"], "bad value"),
                   (["-c", "abc", "pairs"], "bad value"),
                   ([], "no scenario"),
                   (["pairs", "fanin"], "one scenario"),
                   (["--cafile", "x", "pairs"], "need --tls"),
                   (["-r", "100", "conns"], "--rate")):
    r = run([BENCH] + args)
    t.is_(r.returncode, 2, "%s: exit 2" % " ".join(args or ["(none)"]))
    t.ok(what in r.stderr, "%s: says '%s'" % (" ".join(args or ["(none)"]),
                                              what))
r = run([BENCH, "--help"])
t.ok(r.returncode == 0 and "scenarios:" in r.stdout, "--help prints usage")

stop_broker()
t.is_(broker.returncode, 0, "mosquitto stopped cleanly")


class ConnectRecorder:
    """A listener that answers every MQTT 3.1.1 CONNECT with CONNACK 0 and
    records (client id, user name, password); enough for connrate."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.peers = []
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            self.peers.append(peer[0])
            with conn:
                conn.settimeout(5)
                self.one(conn)

    def one(self, conn):
        buf = b""
        try:
            while mqttraw.frame(buf) is None:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            first, body, used = mqttraw.frame(buf)
            if first >> 4 != mqttraw.CONNECT:
                return
            self.seen.append(connect_fields(body))
            conn.sendall(mqttraw.connack())
            rest = buf[used:]
            while not rest.startswith(b"\xe0"):  # DISCONNECT, then close
                chunk = conn.recv(4096)
                if not chunk:
                    return
                rest += chunk
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        self.thread.join(10)
        self.sock.close()


def connect_fields(body):
    """(client id, user name, password) of a CONNECT body (no will)."""
    flags, i = body[7], 10
    out = []
    for present in (True, flags & 0x80, flags & 0x40):
        if not present:
            out.append(None)
            continue
        n = int.from_bytes(body[i:i + 2], "big")
        out.append(body[i + 2:i + 2 + n].decode())
        i += 2 + n
    return tuple(out)


# Numbered credentials: in connrate every connect is a new client whose
# number appears in its client id, user name and password (modulo
# --users), so a broker's credential cache cannot answer.
rec = ConnectRecorder()
t.cleanup(rec.stop)
rc, kv, _ = bench(["-n", "2", "-d", "0.3", "-u", "dev%u", "--password",
                   "pw%u", "--users", "3", "connrate"], port=rec.port)
rec.stop()
t.is_(rc, 0, "connrate with %u credentials: exit 0")
ids = [cid for cid, _, _ in rec.seen]
t.ok(len(ids) > 0 and len(set(ids)) == len(ids),
     "every connect has a client id of its own (%d connects)" % len(ids))
bad = [(cid, user, pw) for cid, user, pw in rec.seen
       if (user, pw) != ("dev%d" % (int(cid.rsplit("-", 1)[1]) % 3),
                         "pw%d" % (int(cid.rsplit("-", 1)[1]) % 3))]
t.is_(bad, [], "user name and password carry the client's number "
      "modulo --users")

# connrate spreads its connects over 16 loopback source addresses: the
# client closes first and keeps each port in TIME_WAIT, so one address
# would cap any broker near 14,100 connects/s (man comqtt-bench).
for extra, want in (([], ["127.0.0.%d" % i for i in range(1, 17)]),
                    (["--source-ips", "1"], ["127.0.0.1"])):
    rec = ConnectRecorder()
    rc, kv, _ = bench(["-n", "2", "-d", "0.3"] + extra + ["connrate"],
                      port=rec.port)
    rec.stop()
    what = " ".join(extra + ["connrate"])
    t.is_(rc, 0, "%s: exit 0" % what)
    t.ok(len(rec.peers) >= 16, "%s: %d connects" % (what, len(rec.peers)))
    t.is_(sorted(set(rec.peers), key=lambda a: int(a.split(".")[3])), want,
          "%s: source addresses 127.0.0.1..%d" % (what, len(want)))

for args, what in ((["-u", "dev", "--users", "3", "connrate"],
                    "--users needs a %u"),
                   (["-u", "d%u", "--users", "0", "connrate"], "--users")):
    r = run([BENCH] + args)
    t.is_(r.returncode, 2, "%s: exit 2" % " ".join(args))
    t.ok(what in r.stderr, "%s: says '%s'" % (" ".join(args), what))
t.done()
