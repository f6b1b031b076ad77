"""authd.py — helpers for the comqtt-authd integration tests (t/4NN_auth_*).

Authd       starts `comqtt-authd -c` on a generated comqtt.yml in a temp
            dir, speaks the line protocol (AuthClient), checks its log.
AuthClient  one connection to authd's socket: handshake, requests with
            ids, raw lines, replies matched by id.
Postgres / MariaDB / Redis
            a real server started by the test on 127.0.0.1 as
            test-servers.md describes, with bounded waits; each can stop
            and start again (restart mid-test).  skip_unless_installed()
            skips a test only when the server's binaries are missing
            (`make deps` installs them).
HttpAuthServer
            a small HTTP auth service in a thread (standard library).
Every wait is bounded; every process started here is stopped by its
cleanup.
"""
import base64
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

from cqtest import BAD_LOG, TempDir, binary, free_port, run

PG_BIN = "/usr/lib/postgresql/15/bin"


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def escape(v):
    return (v.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append({"t": "\t", "n": "\n", "r": "\r",
                        "\\": "\\"}[v[i + 1]])
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def wait_for(cond, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()


def hash_password(scheme, password, key=None):
    """The stored form of a password, from `comqtt-authd --hash`."""
    args = [binary("comqtt-authd"), "--hash", str(scheme)]
    if key is not None:
        args += ["--key", key]
    r = subprocess.run(args, input=password + "\n", capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("--hash %d failed: %s" % (scheme, r.stderr))
    return r.stdout.strip()


class Reply:
    def __init__(self, line):
        self.line = line
        f = line.split("\t")
        self.cmd = f[0]
        self.id = int(f[1]) if self.cmd in ("OK", "FAIL") else None
        self.arg = unescape(f[1]) if len(f) > 1 else ""
        self.kv = {}
        for x in f[2:]:
            k, _, v = x.partition("=")
            self.kv[k] = unescape(v)

    @property
    def ok(self):
        return self.cmd == "OK"

    @property
    def code(self):
        return self.kv.get("code")

    def __repr__(self):
        return repr(self.line)


class AuthClient:
    """One protocol connection.  Greeting: VERSION and INVALIDATE."""

    def __init__(self, path, handshake=True, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.pending = {}
        self.next_id = 1
        self.version = self.invalidate = None
        if handshake:
            self.send_raw("VERSION\t1\t0\n")
            self.version = self.read_line()
            self.invalidate = self.read_line()

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def read_line(self):
        """One line from authd, or None at EOF (timeout raises)."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def at_eof(self, timeout=10.0):
        """True when authd closed the connection (after any lines)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except ConnectionResetError:
            return True  # closed with our data unread
        except socket.timeout:
            return False

    def request(self, cmd, **fields):
        """Send one request; returns its id."""
        rid = self.next_id
        self.next_id += 1
        parts = [cmd, str(rid)]
        for k, v in fields.items():
            if v is not None:
                parts.append("%s=%s" % (k, escape(v)))
        self.send_raw("\t".join(parts) + "\n")
        return rid

    def reply(self, rid):
        """The reply to rid (others that come first are kept)."""
        while rid not in self.pending:
            line = self.read_line()
            if line is None:
                raise EOFError("authd closed the connection")
            r = Reply(line)
            if r.id is None:
                self.pending.setdefault(r.cmd, []).append(r)
                continue
            self.pending[r.id] = r
        return self.pending.pop(rid)

    def auth(self, client, user, password, addr="127.0.0.1:5000",
             listener="tcp", cert=None):
        fields = {"client": client}
        if user is not None:
            fields["user"] = user
        if password is not None:
            fields["pass"] = b64(password)
        fields["addr"] = addr
        fields["listener"] = listener
        if cert is not None:
            fields["cert"] = cert
        rid = self.request("AUTH", **fields)
        return self.reply(rid)

    def acl(self, client, user, topic, access, addr=None):
        fields = {"client": client}
        if user is not None:
            fields["user"] = user
        fields["topic"] = topic
        fields["access"] = access
        if addr is not None:
            fields["addr"] = addr
        return self.reply(self.request("ACL", **fields))


class Authd:
    """comqtt-authd under test.  auth: YAML of the auth section's body
    (indented by the caller or not: it is indented here); files: extra
    files {name: text} written beside comqtt.yml."""

    def __init__(self, t, auth="", files=None, top="", start=True):
        self.t = t
        self.dir = TempDir(prefix="cqauthd-")
        os.chmod(self.dir.path, 0o755)
        self.socket = os.path.join(self.dir.path, "authd.sock")
        self.log = os.path.join(self.dir.path, "authd.log")
        for name, text in (files or {}).items():
            self.dir.file(name, text)
        self.write_config(auth, top)
        self.proc = None
        self._logf = None
        t.cleanup(self.cleanup)
        if start:
            self.start()

    def write_config(self, auth, top=""):
        body = "\n".join("  " + ln for ln in auth.strip("\n").splitlines())
        self.conf = self.dir.file("comqtt.yml", (
            "data_dir: %s\n%s\nlog:\n  level: debug\n"
            "auth:\n  enabled: true\n  socket: %s\n%s\n")
            % (self.dir.path, top, self.socket, body))

    def start(self, wait=True):
        self._ready_before = self.log_text().count("authd ready on")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [binary("comqtt-authd"), "-c", self.conf],
            stdout=self._logf, stderr=subprocess.STDOUT, cwd=self.dir.path)
        if wait and not wait_for(lambda: self.ready() or
                                 self.proc.poll() is not None, 30):
            raise RuntimeError("authd did not start:\n" + self.log_text())
        if wait and self.proc.poll() is not None:
            raise RuntimeError("authd exited %d:\n%s"
                               % (self.proc.returncode, self.log_text()))
        return self

    def ready(self):
        return self.log_text().count("authd ready on") > self._ready_before

    def client(self, **kw):
        return AuthClient(self.socket, **kw)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self, auth=None, top=""):
        """SIGHUP (after rewriting the config); waits for the log line."""
        if auth is not None:
            self.write_config(auth, top)
        n = self.log_text().count("authd: reload")
        self.signal(signal.SIGHUP)
        return wait_for(lambda: self.log_text().count("authd: reload") > n,
                        15)

    def kill(self):
        """SIGKILL, as a crash; the socket file stays behind."""
        self.proc.kill()
        self.proc.wait(15)
        self.proc = None
        self._logf.close()

    def stop(self, timeout=20):
        if self.proc is None:
            return None
        rc = stop_process(self.proc, timeout=timeout)
        self.proc = None
        self._logf.close()
        return rc

    def cleanup(self):
        rc = self.stop()
        if rc is not None:
            self.t.ok(rc == 0, "authd stopped cleanly (exit %d)" % rc)
        self.check_log()
        self.dir.remove()

    def log_text(self):
        return read_text(self.log)

    def check_log(self):
        log_problems(self.t, self.log_text(), "authd")


def read_text(path):
    """A log file's text ("" if it is not there yet)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Signal a process we started, wait (bounded), SIGKILL if it hangs.
    Returns its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def log_problems(t, text, what):
    """One assertion: no crit/alert line or sanitizer report in text."""
    bad = [ln for ln in text.splitlines() if BAD_LOG.search(ln)]
    t.ok(not bad, "%s log has no crit/alert line or sanitizer report" % what)
    for ln in bad[:20]:
        t.diag(ln)


def skip_unless_installed(t, *paths):
    missing = [p for p in paths if shutil.which(p) is None and
               not os.access(p, os.X_OK)]
    if missing:
        t.skip_all("not installed (make deps installs it): " +
                   ", ".join(missing))


def _as_root():
    return os.geteuid() == 0


class _Server:
    """What the database servers share: a temp dir, a client command."""

    def _client(self, args, text):
        r = run(args, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s\n%s" % (args[0], text,
                                                      r.stderr))
        return r.stdout

    def cleanup(self):
        self.stop()
        self.dir.remove()


class Postgres(_Server):
    """PostgreSQL 15 on 127.0.0.1:<free port>, trust auth, as test-servers.md
    says (as root: run as the postgres user)."""

    BINARIES = (PG_BIN + "/initdb", PG_BIN + "/postgres", "psql")

    def __init__(self, t):
        self.t = t
        self.dir = TempDir(prefix="cqpg-")
        os.chmod(self.dir.path, 0o755)
        self.port = free_port()
        self.data = os.path.join(self.dir.path, "data")
        self.proc = None
        if _as_root():
            shutil.chown(self.dir.path, "postgres", "postgres")
        t.cleanup(self.cleanup)
        r = run(self._as_pg([PG_BIN + "/initdb", "-D", self.data, "-U",
                             "postgres", "-A", "trust", "--no-sync", "-E",
                             "UTF8", "--locale=C.UTF-8"]), timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr)
        self.start()

    def _as_pg(self, args):
        if not _as_root():
            return args
        return ["setpriv", "--reuid=postgres", "--regid=postgres",
                "--init-groups"] + args

    def start(self):
        self.log = open(os.path.join(self.dir.path, "pg.log"), "ab")
        self.proc = subprocess.Popen(self._as_pg(
            [PG_BIN + "/postgres", "-D", self.data, "-p", str(self.port),
             "-k", self.dir.path, "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off"]), stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for(lambda: run(["pg_isready", "-q", "-h", "127.0.0.1",
                                     "-p", str(self.port)]).returncode == 0,
                        60, 0.05):
            raise RuntimeError("postgres did not start")

    def stop(self):
        if self.proc is None:
            return
        stop_process(self.proc, signal.SIGINT)  # fast shutdown
        self.proc = None
        self.log.close()

    def sql(self, text, db="postgres"):
        return self._client(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                             "-h", "127.0.0.1", "-p", str(self.port), "-U",
                             "postgres", "-d", db, "-c", text], text)


class MariaDB(_Server):
    """MariaDB on 127.0.0.1:<free port>, root with a normal password-less
    login over TCP (test-servers.md)."""

    BINARIES = ("mariadb-install-db", "mariadbd", "mariadb", "mariadb-admin")

    def __init__(self, t):
        self.t = t
        self.dir = TempDir(prefix="cqmy-")
        self.port = free_port()
        self.data = os.path.join(self.dir.path, "data")
        self.proc = None
        t.cleanup(self.cleanup)
        args = ["mariadb-install-db", "--no-defaults", "--datadir=" +
                self.data, "--auth-root-authentication-method=normal",
                "--skip-test-db"]
        if _as_root():
            args.append("--user=root")
        r = run(args, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed: " + r.stderr)
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir.path, "out.log"), "ab")
        args = ["mariadbd", "--no-defaults", "--datadir=" + self.data,
                "--socket=" + os.path.join(self.dir.path, "my.sock"),
                "--port=%d" % self.port, "--bind-address=127.0.0.1",
                "--pid-file=" + os.path.join(self.dir.path, "my.pid"),
                "--log-error=" + os.path.join(self.dir.path, "err.log"),
                "--skip-log-bin", "--innodb-buffer-pool-size=32M"]
        if _as_root():
            args.append("--user=root")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_for(lambda: run(["mariadb-admin", "--no-defaults",
                                     "-h127.0.0.1", "-P%d" % self.port,
                                     "-uroot", "ping"]).returncode == 0,
                        60, 0.05):
            raise RuntimeError("mariadbd did not start")

    def stop(self):
        if self.proc is None:
            return
        stop_process(self.proc, timeout=60)
        self.proc = None
        self.log.close()

    def sql(self, text, db=None):
        args = ["mariadb", "--no-defaults", "-h127.0.0.1",
                "-P%d" % self.port, "-uroot", "-e", text]
        if db:
            args.insert(-2, db)
        return self._client(args, text)


class Redis(_Server):
    BINARIES = ("redis-server", "redis-cli")

    def __init__(self, t):
        self.t = t
        self.dir = TempDir(prefix="cqredis-")
        self.port = free_port()
        self.proc = None
        t.cleanup(self.cleanup)
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir.path,
             "--logfile", os.path.join(self.dir.path, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: "PONG" in run(
                ["redis-cli", "-p", str(self.port), "ping"]).stdout, 30,
                0.05):
            raise RuntimeError("redis did not start")

    def stop(self):
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None

    def cmd(self, *args):
        return self._client(["redis-cli", "-p", str(self.port)] +
                            list(args), " ".join(args))


class HttpAuthServer:
    """An HTTP auth service in a thread.  handler(path, fields) returns
    (status, body); fields are the request's fields whatever the method
    and body type.  Records every request in .requests."""

    def __init__(self, t, handler):
        self.handler = handler
        self.requests = []
        self.peer_ports = set()  # one per TCP connection authd opened
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _fields(self):
                url = urllib.parse.urlsplit(self.path)
                fields = dict(urllib.parse.parse_qsl(url.query))
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                ctype = self.headers.get("Content-Type", "")
                if body and "json" in ctype:
                    fields.update(json.loads(body))
                elif body:
                    fields.update(urllib.parse.parse_qsl(body.decode()))
                return url.path, fields, ctype

            def _answer(self):
                path, fields, ctype = self._fields()
                if outer.server is None:  # stopped: a kept-alive
                    self.close_connection = True  # connection dies
                    return
                outer.requests.append((self.command, path, fields, ctype))
                outer.peer_ports.add(self.client_address[1])
                status, body = outer.handler(path, fields)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        t.cleanup(self.stop)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def refusal_logged(authd, client, code):
    pat = re.compile(r'(AUTH|ACL) refused: client "%s".*: %s'
                     % (re.escape(client), re.escape(code)))
    return wait_for(lambda: pat.search(authd.log_text()), 5)


# ---- the broker with authd (t/41N_auth_broker_*) ---------------------------

def broker_has_auth():
    """The capability check of the broker-level auth tests: comqttd asks
    authd once its workers call the client library's cache layer, i.e.
    once the comqttd binary contains cq_authc_check_auth (the call the
    worker wiring makes).  Until then these tests skip; from then on they
    must pass."""
    r = run(["nm", binary("comqttd")])
    return r.returncode == 0 and re.search(r" T cq_authc_check_auth$",
                                           r.stdout, re.M) is not None


class AuthBroker:
    """comqttd with auth enabled and a ledger; its log in <dir>/comqttd.log
    (authd, forked by the master, logs there too)."""

    def __init__(self, t, ledger, auth="", workers=2, extra=""):
        """auth: lines for the auth section; extra: top-level YAML."""
        self.t = t
        self.dir = TempDir(prefix="cqabroker-")
        self.port = free_port()
        self.socket = os.path.join(self.dir.path, "authd.sock")
        self.log = os.path.join(self.dir.path, "comqttd.log")
        self.ledger = self.dir.file("ledger.yml", ledger)
        body = "\n".join("  " + ln for ln in auth.strip("\n").splitlines())
        self.conf = self.dir.file("comqtt.yml", (
            "workers: %d\ndata_dir: %s\nlog:\n  file: %s\n  level: info\n"
            "listeners:\n  - name: tcp\n    address: \"127.0.0.1:%d\"\n"
            "auth:\n  enabled: true\n  socket: %s\n  backends: [ledger]\n"
            "  ledger:\n    file: ledger.yml\n%s\n"
            "admin:\n  enabled: false\n%s")
            % (workers, self.dir.path, self.log, self.port, self.socket,
               body, extra))
        self.proc = subprocess.Popen(
            [binary("comqttd"), "-c", self.conf], stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, cwd=self.dir.path)
        t.cleanup(self.stop)
        ok = wait_for(lambda: os.path.exists(self.socket) and
                      _port_open(self.port), 30)
        if not ok:
            raise RuntimeError("comqttd with authd did not start:\n" +
                               self.log_text())

    def log_text(self):
        return read_text(self.log)

    def authd_pid(self):
        m = re.findall(r"comqttd\[(\d+)\] authd: notice: authd ready on",
                       self.log_text())
        return int(m[-1]) if m else None

    def stop(self):
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None
        log_problems(self.t, self.log_text(), "broker")
        self.dir.remove()


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


class Mqtt:
    """A raw MQTT 3.1.1 or 5 client, enough to see CONNACK, SUBACK and
    PUBACK codes exactly."""

    def __init__(self, port, version=4):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.v = version
        self.buf = b""

    def close(self):
        self.sock.close()

    def _send(self, kind, body):
        self.sock.sendall(bytes([kind]) + _varint(len(body)) + body)

    def _props(self):
        return b"\x00" if self.v == 5 else b""

    def packet(self):
        """(type byte, body) or None at EOF."""
        while True:
            if len(self.buf) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(self.buf) and i < 5:
                    n += (self.buf[i] & 0x7F) * mult
                    mult *= 128
                    if not self.buf[i] & 0x80:
                        break
                    i += 1
                if i < len(self.buf) and len(self.buf) >= i + 1 + n:
                    p = (self.buf[0], self.buf[i + 1:i + 1 + n])
                    self.buf = self.buf[i + 1 + n:]
                    return p
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk

    def connect(self, client, user=None, password=None):
        """The CONNACK code (v3: return code, v5: reason code), or None
        if the broker closed without one."""
        flags = 0x02 | (0x80 if user is not None else 0) | \
            (0x40 if password is not None else 0)
        body = _str("MQTT") + bytes([self.v, flags]) + (30).to_bytes(2,
                                                                   "big")
        body += self._props() + _str(client)
        if user is not None:
            body += _str(user)
        if password is not None:
            body += _str(password)
        self._send(0x10, body)
        p = self.packet()
        return p[1][1] if p and p[0] == 0x20 else None

    def subscribe(self, topic, qos=1, pid=1):
        self._send(0x82, pid.to_bytes(2, "big") + self._props() +
                   _str(topic) + bytes([qos]))
        p = self.packet()
        while p and p[0] != 0x90:
            p = self.packet()
        if p is None:
            return None
        body = p[1][2:]
        if self.v == 5:
            # Skip the properties (a refusal carries a Reason String).
            n, mult, i = 0, 1, 0
            while True:
                n += (body[i] & 0x7F) * mult
                mult *= 128
                i += 1
                if not body[i - 1] & 0x80:
                    break
            body = body[i + n:]
        return body[0]

    def publish(self, topic, payload, qos=1, pid=2):
        """QoS 1: the PUBACK reason code (v3: 0), or None."""
        body = _str(topic) + (pid.to_bytes(2, "big") if qos else b"") + \
            self._props() + payload
        self._send(0x30 | (qos << 1), body)
        if not qos:
            return 0
        p = self.packet()
        while p and p[0] != 0x40:
            p = self.packet()
        if p is None:
            return None
        return p[1][2] if len(p[1]) > 2 else 0

    def message(self, timeout=3.0):
        """The next PUBLISH's (topic, payload), or None within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                p = self.packet()
                if p is None:
                    return None
                if p[0] & 0xF0 == 0x30:
                    b = p[1]
                    n = int.from_bytes(b[:2], "big")
                    topic = b[2:2 + n].decode()
                    rest = b[2 + n:]
                    if p[0] & 0x06:
                        pid = rest[:2]
                        rest = rest[2:]
                        self._send(0x40, pid)
                    if self.v == 5:
                        plen = rest[0]
                        rest = rest[1 + plen:]
                    return topic, rest
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(10)
