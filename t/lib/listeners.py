"""listeners.py — helpers for the listener tests (t/3NN_*.t): brokers with
TLS, WebSocket, health and PROXY listeners, certificates made with the
openssl command, MQTT clients over TLS and over a raw WebSocket, and the
node scripts of t/js/.

Every broker keeps the two plain TCP listeners cqtest.Broker makes (one
pinned to each worker, so wait_ready() proves both workers serve); the
listeners under test take the broker's extra ports.  Every wait is bounded.
"""
import base64
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time

import mqttraw
from cqtest import SRCDIR, Broker, TempDir, run, wait_until

NODE = "/usr/bin/node"
JS = os.path.join(SRCDIR, "t", "js")
NODE_MODULES = os.path.join(SRCDIR, "node_modules")


# -- brokers ---------------------------------------------------------------

def listener_broker(t, listeners, workers=2, log_level="info", extra="",
                    env=None, start=True, files=()):
    """A broker whose config has TCP listeners a (worker 0) and b (worker
    1) on b.ports, then `listeners`: YAML flow maps (strings) in which
    {p0}, {p1}, ... stand for the extra ports and {dir} for the broker's
    directory.  b.lp is the list of those extra ports.  `files` are
    copied into the broker's directory (beside comqtt.yml, so the
    configuration can name them relatively)."""
    n = len(set(re.findall(r"\{p\d+\}", " ".join(listeners))))
    b = Broker(t, workers=workers, nports=workers, extra_ports=n,
               start=False, log_level=log_level)
    b.lp = b.extra_ports[:n]

    def subst(s):
        for i, p in enumerate(b.lp):
            s = s.replace("{p%d}" % i, str(p))
        return s.replace("{dir}", b.dir.path)
    lines = ["workers: %d" % workers,
             "log: {file: %s, level: %s}" % (b.log, log_level),
             "sys_interval: 1", "admin: {enabled: false}", "listeners:"]
    for i, p in enumerate(b.ports):
        lines.append("  - {name: %s, type: tcp, address: 127.0.0.1:%d, "
                     "accept: handoff, worker: %d}" % (chr(97 + i), p, i))
    lines += ["  - " + subst(x) for x in listeners]
    text = "\n".join(lines) + "\n" + subst(extra) + "\n"
    with open(b.conf, "w") as f:
        f.write(text)
    for path in files:
        shutil.copy(path, b.dir.path)
    b.env = env
    if start:
        start_broker(b)
    return b


def start_broker(b):
    """Start with b.env added to the environment.  wait_ready() answers
    once both workers serve; every listener was bound by the master
    before they started (a probe here would cost a rate-limit token)."""
    if b.env:
        saved = dict(os.environ)
        os.environ.update(b.env)
        try:
            b.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    else:
        b.start()
    return b


def log_lines(b, regex, since=0):
    """Lines of the broker log after byte offset since matching regex."""
    rx = re.compile(regex)
    return [ln for ln in b.log_text()[since:].splitlines() if rx.search(ln)]


def wait_log_count(b, regex, n, since=0, timeout=5.0):
    """Wait until at least n lines match; returns the lines."""
    wait_until(lambda: len(log_lines(b, regex, since)) >= n, timeout)
    return log_lines(b, regex, since)


# -- certificates ----------------------------------------------------------

def cert_dir(t):
    """A temporary directory for certificates, removed at the end."""
    d = TempDir(prefix="cqcerts-")
    t.cleanup(d.remove)
    return d.path


class Certs:
    """A CA and certificates signed by it, made with the openssl command in
    directory d.  Names: <name>.crt / <name>.key."""

    serial = 0

    def __init__(self, d, ca="ca"):
        self.d = d
        self.ca = ca
        self._openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", self.path(ca + ".key"),
                       "-out", self.path(ca + ".crt"), "-days", "30",
                       "-subj", "/CN=comqtt test CA %s" % ca])

    @classmethod
    def server(cls, t):
        """A CA and its certificate "server" for localhost/127.0.0.1, in
        a directory removed at the end of the test."""
        c = cls(cert_dir(t))
        c.issue("server", "localhost")
        return c

    def tls_yaml(self, extra=""):
        """A listener's tls: map using the server certificate."""
        return "tls: {cert_file: %s, key_file: %s%s}" % (
            self.path("server.crt"), self.path("server.key"),
            ", " + extra if extra else "")

    def path(self, name):
        return os.path.join(self.d, name)

    def _openssl(self, args):
        r = run(["openssl"] + args, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (args[0], r.stderr))

    def issue(self, name, cn, not_before=-1, not_after=30, san=None,
              client=False):
        """A certificate for cn signed by the CA, valid from not_before to
        not_after days from now (both negative: expired).  Server
        certificates get SAN IP:127.0.0.1 and DNS:localhost."""
        key, csr = self.path(name + ".key"), self.path(name + ".csr")
        self._openssl(["req", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                       "-out", csr, "-subj", "/CN=%s" % cn])
        ext = self.path(name + ".ext")
        if san is None and not client:
            san = "DNS:localhost,IP:127.0.0.1"
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write("extendedKeyUsage=%s\n"
                    % ("clientAuth" if client else "serverAuth"))
            if san:
                f.write("subjectAltName=%s\n" % san)
        # 'openssl x509 -req' cannot set a start date in the past (an
        # expired certificate); 'openssl ca' can, with its own database.
        self._sign(csr, self.path(name + ".crt"), ext, not_before,
                   not_after)
        return self.path(name + ".crt"), key

    def _sign(self, csr, crt, ext, not_before, not_after):
        db = self.path("ca-db")
        os.makedirs(db, exist_ok=True)
        index = os.path.join(db, "index.txt")
        open(index, "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            Certs.serial += 1
            f.write("%012x\n" % ((int(time.time()) << 12 | Certs.serial)
                                 & 0xffffffffffff))
        conf = os.path.join(db, "ca.cnf")
        with open(conf, "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndir=%s\ndatabase=%s\n"
                    "new_certs_dir=%s\nserial=%s/serial\n"
                    "default_md=sha256\npolicy=p\nunique_subject=no\n"
                    "copy_extensions=none\n[p]\ncommonName=supplied\n"
                    % (db, index, db, db))
        now = time.time()
        fmt = "%Y%m%d%H%M%SZ"
        start = time.strftime(fmt, time.gmtime(now + not_before * 86400))
        end = time.strftime(fmt, time.gmtime(now + not_after * 86400))
        self._openssl(["ca", "-batch", "-config", conf, "-cert",
                       self.path(self.ca + ".crt"), "-keyfile",
                       self.path(self.ca + ".key"), "-in", csr, "-out", crt,
                       "-startdate", start, "-enddate", end,
                       "-extfile", ext, "-notext"])


def tls_context(ca=None, cert=None, key=None, minimum=None, maximum=None):
    """A client SSL context trusting ca (no host name check: the tests
    connect to 127.0.0.1)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if ca:
        ctx.load_verify_locations(ca)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def tls_socket(port, ctx, timeout=5.0, session=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(s, session=session)


def peer_cn(port, ca, timeout=5.0):
    """The CN of the certificate the listener on port presents."""
    with tls_socket(port, tls_context(ca), timeout) as s:
        cert = s.getpeercert()
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


# -- clients over any stream -----------------------------------------------

def StreamClient(sock, proto=mqttraw.V311, timeout=5.0):
    """mqttraw.Client over an already connected socket-like object (a TLS
    socket, a WsSocket)."""
    return mqttraw.Client(None, proto=proto, timeout=timeout, sock=sock)


def tls_client(t, port, ctx, proto=mqttraw.V311, timeout=5.0, **connect):
    c = StreamClient(tls_socket(port, ctx, timeout), proto, timeout)
    t.cleanup(c.close)
    if connect:
        c.connect(**connect)
    return c


# -- raw WebSocket ---------------------------------------------------------

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def ws_frame(op, payload=b"", fin=True, mask=True, rsv=0):
    """One client frame (masked unless mask=False)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    body = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return head + key + body


def upgrade_request(path="/mqtt", key=None, protocol="mqtt", extra="",
                    version="13", host="127.0.0.1"):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: %s" % key,
             "Sec-WebSocket-Version: %s" % version]
    if protocol:
        lines.append("Sec-WebSocket-Protocol: %s" % protocol)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def http_exchange(port, request, timeout=5.0, sock=None):
    """Send raw bytes, read the response head; (status, head text, rest of
    the bytes read, socket).  status None if the peer closed first."""
    s = sock or socket.create_connection(("127.0.0.1", port), timeout)
    s.settimeout(timeout)
    if request:
        s.sendall(request)
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    if b"\r\n\r\n" not in data:
        return None, data.decode("latin-1"), b"", s
    head, rest = data.split(b"\r\n\r\n", 1)
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    return (int(m.group(1)) if m else None), head.decode("latin-1"), rest, s


class WsSocket:
    """A client WebSocket speaking MQTT in binary frames, with the
    socket methods mqttraw.Client uses.  Control frames the server sends
    are kept in .control (a close frame ends the stream)."""

    def __init__(self, port, path="/mqtt", protocol="mqtt", timeout=5.0,
                 sock=None, tls=None, request=None):
        """Upgrade a new connection to port (or sock), over TLS when tls
        is an SSL context; request replaces the upgrade request (raw
        bytes, possibly followed by frames)."""
        s = sock or socket.create_connection(("127.0.0.1", port), timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            s = tls.wrap_socket(s)
        self.key = base64.b64encode(os.urandom(16)).decode()
        status, head, rest, self.sock = http_exchange(
            port, request or upgrade_request(path, self.key, protocol),
            timeout, s)
        self.status, self.head = status, head
        if status != 101:
            raise mqttraw.MqttError("upgrade answered %s: %s"
                                    % (status, head))
        self.raw = bytearray(rest)
        self.data = bytearray()
        self.control = []
        self.eof = False

    def accept_ok(self):
        import hashlib
        want = base64.b64encode(hashlib.sha1(
            (self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
        ).digest()).decode()
        return ("Sec-WebSocket-Accept: %s" % want) in self.head

    # socket interface for mqttraw.Client
    def settimeout(self, v):
        self.sock.settimeout(v)

    def getsockname(self):
        return self.sock.getsockname()

    def sendall(self, data):
        self.sock.sendall(ws_frame(OP_BINARY, bytes(data)))

    def send_raw(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _parse(self):
        """Move complete frames from raw to data / control."""
        while len(self.raw) >= 2:
            b0, b1 = self.raw[0], self.raw[1]
            n, off = b1 & 0x7f, 2
            if n == 126:
                if len(self.raw) < 4:
                    return
                n, off = struct.unpack("!H", self.raw[2:4])[0], 4
            elif n == 127:
                if len(self.raw) < 10:
                    return
                n, off = struct.unpack("!Q", self.raw[2:10])[0], 10
            if b1 & 0x80:
                raise mqttraw.Malformed("server frame is masked")
            if len(self.raw) < off + n:
                return
            payload = bytes(self.raw[off:off + n])
            del self.raw[:off + n]
            op = b0 & 0x0f
            if op in (OP_BINARY, OP_CONT):
                self.data += payload
            else:
                self.control.append((op, payload))
                if op == OP_CLOSE:
                    self.eof = True

    def recv(self, n):
        while not self.data:
            self._parse()
            if self.data:
                break
            if self.eof:
                return b""
            chunk = self.sock.recv(65536)
            if not chunk:
                return b""
            self.raw += chunk
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def wait_control(self, op, timeout=5.0):
        """The payload of the first control frame of type op (None on
        timeout or when the connection ends without one)."""
        deadline = time.monotonic() + timeout
        while True:
            self._parse()
            for o, p in self.control:
                if o == op:
                    return p
            if time.monotonic() >= deadline:
                return None
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLError):
                return None
            if not chunk:
                self._parse()
                return next((p for o, p in self.control if o == op), None)
            self.raw += chunk


def close_status(payload):
    """The status code of a close frame's payload (None if absent)."""
    if payload is None or len(payload) < 2:
        return None
    return struct.unpack("!H", payload[:2])[0]


def ws_client(t, port, proto=mqttraw.V311, timeout=5.0, path="/mqtt",
              tls=None, **connect):
    ws = WsSocket(port, path=path, timeout=timeout, tls=tls)
    c = StreamClient(ws, proto, timeout)
    t.cleanup(c.close)
    if connect:
        c.connect(**connect)
    return c


def socket_closed(s, timeout=5.0):
    """True when the peer closes s within timeout (reading and dropping
    what arrives)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except OSError:
            return True
    return False


# -- node ------------------------------------------------------------------

def node(t, script, args, timeout=60):
    """Run t/js/<script> with node; returns (exit status, parsed JSON of its
    last stdout line or None, all output)."""
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    try:
        r = subprocess.run([NODE, os.path.join(JS, script)] +
                           [str(a) for a in args], capture_output=True,
                           text=True, timeout=timeout, env=env,
                           start_new_session=True)
    except subprocess.TimeoutExpired as e:
        t.diag("node %s timed out" % script)
        return None, None, str(e.stdout or "") + str(e.stderr or "")
    out = r.stdout.strip().splitlines()
    try:
        last = json.loads(out[-1]) if out else None
    except ValueError:
        last = None
    return r.returncode, last, r.stdout + r.stderr
