"""mqttraw.py — a small raw-packet MQTT client for the integration tests.

The tests talk to the broker with packets built byte by byte, so that they
depend on no client library and can send malformed input on purpose.  Three
layers:

  encoders   connect(), publish(), subscribe(), ... return the bytes of one
             packet for MQTT 3.1 ("MQIsdp", level 3), 3.1.1 (4) and 5.0 (5,
             with properties).  Every packet type has an encoder, including
             the ones only a server sends (connack, suback, ...), so tests
             can send them to the broker as protocol violations.
  decoder    frame() splits a byte stream into packets, decode() turns one
             into a Packet with named fields.
  Client     a blocking socket with a receive buffer: expect(type),
             expect_closed(), expect_none(), and the usual flows (connect,
             subscribe, publish with its acknowledgements, collecting
             deliveries with automatic acknowledgement).

Every wait takes a timeout; nothing here blocks without a bound.
"""
import socket
import struct
import time
from collections import deque

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
PUBREC, PUBREL, PUBCOMP = 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15

NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC",
         6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK",
         10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
         14: "DISCONNECT", 15: "AUTH"}

# Protocol levels.
V31, V311, V5 = 3, 4, 5

# MQTT 5 properties: identifier -> (name, wire type).  A type ending in '*'
# may occur more than once; its value is a list.
_BYTE, _INT2, _INT4, _VAR, _UTF8, _BIN, _PAIR = range(7)
PROPERTIES = {
    0x01: ("payload_format_indicator", _BYTE),
    0x02: ("message_expiry_interval", _INT4),
    0x03: ("content_type", _UTF8),
    0x08: ("response_topic", _UTF8),
    0x09: ("correlation_data", _BIN),
    0x0B: ("subscription_identifier", _VAR),
    0x11: ("session_expiry_interval", _INT4),
    0x12: ("assigned_client_identifier", _UTF8),
    0x13: ("server_keep_alive", _INT2),
    0x15: ("authentication_method", _UTF8),
    0x16: ("authentication_data", _BIN),
    0x17: ("request_problem_information", _BYTE),
    0x18: ("will_delay_interval", _INT4),
    0x19: ("request_response_information", _BYTE),
    0x1A: ("response_information", _UTF8),
    0x1C: ("server_reference", _UTF8),
    0x1F: ("reason_string", _UTF8),
    0x21: ("receive_maximum", _INT2),
    0x22: ("topic_alias_maximum", _INT2),
    0x23: ("topic_alias", _INT2),
    0x24: ("maximum_qos", _BYTE),
    0x25: ("retain_available", _BYTE),
    0x26: ("user_property", _PAIR),
    0x27: ("maximum_packet_size", _INT4),
    0x28: ("wildcard_subscription_available", _BYTE),
    0x29: ("subscription_identifier_available", _BYTE),
    0x2A: ("shared_subscription_available", _BYTE),
}
PROPERTY_IDS = {name: (pid, typ) for pid, (name, typ) in PROPERTIES.items()}
REPEATABLE = {"user_property", "subscription_identifier"}


class MqttError(AssertionError):
    """The broker did something a test did not expect."""


class Malformed(MqttError):
    pass


class Closed(MqttError):
    pass


class Timeout(MqttError):
    pass


# ---------------------------------------------------------------------------
# Primitive encoders.

def varint(n):
    if n < 0 or n > 268435455:
        raise ValueError("variable byte integer out of range: %d" % n)
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def u16(n):
    return struct.pack("!H", n)


def u32(n):
    return struct.pack("!I", n)


def binary(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return u16(len(b)) + bytes(b)


utf8 = binary


def properties(props):
    """Encode a dict of MQTT 5 properties (names as in PROPERTIES)."""
    out = bytearray()
    for name, value in (props or {}).items():
        pid, typ = PROPERTY_IDS[name]
        values = value if name in REPEATABLE and isinstance(value, list) \
            else [value]
        for v in values:
            out += varint(pid)
            if typ == _BYTE:
                out.append(v)
            elif typ == _INT2:
                out += u16(v)
            elif typ == _INT4:
                out += u32(v)
            elif typ == _VAR:
                out += varint(v)
            elif typ == _PAIR:
                out += utf8(v[0]) + utf8(v[1])
            else:
                out += binary(v)
    return varint(len(out)) + bytes(out)


def packet(ptype, flags, body=b""):
    """A whole packet: fixed header (type, flags, remaining length) + body."""
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + bytes(body)


def _props_if(proto, props):
    return properties(props) if proto == V5 else b""


# ---------------------------------------------------------------------------
# Packet encoders.

def connect(client_id="", proto=V311, clean=True, keepalive=60, will=None,
            username=None, password=None, props=None, proto_name=None,
            flags=None):
    """CONNECT.  will: dict(topic, payload, qos=0, retain=False, props).
    proto_name defaults to MQIsdp for level 3 and MQTT otherwise; flags
    overrides the computed connect-flags byte (for malformed packets)."""
    if proto_name is None:
        proto_name = "MQIsdp" if proto == V31 else "MQTT"
    f = 0x02 if clean else 0
    payload = utf8(client_id)
    if will is not None:
        f |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain")
                                                 else 0)
        payload += _props_if(proto, will.get("props"))
        payload += utf8(will["topic"]) + binary(will.get("payload", b""))
    if username is not None:
        f |= 0x80
        payload += utf8(username)
    if password is not None:
        f |= 0x40
        payload += binary(password)
    if flags is not None:
        f = flags
    body = utf8(proto_name) + bytes([proto, f]) + u16(keepalive)
    return packet(CONNECT, 0, body + _props_if(proto, props) + payload)


def connack(rc=0, session_present=False, props=None, proto=V311):
    body = bytes([1 if session_present else 0, rc])
    return packet(CONNACK, 0, body + _props_if(proto, props))


def publish(topic, payload=b"", qos=0, retain=False, dup=False, pid=None,
            props=None, proto=V311):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = utf8(topic)
    if qos > 0:
        body += u16(pid if pid is not None else 1)
    return packet(PUBLISH, flags, body + _props_if(proto, props) + payload)


def _ack(ptype, flags, pid, rc, props, proto):
    body = u16(pid)
    if proto == V5 and (rc or props):
        body += bytes([rc or 0])
        if props:
            body += properties(props)
    return packet(ptype, flags, body)


def puback(pid, rc=0, props=None, proto=V311):
    return _ack(PUBACK, 0, pid, rc, props, proto)


def pubrec(pid, rc=0, props=None, proto=V311):
    return _ack(PUBREC, 0, pid, rc, props, proto)


def pubrel(pid, rc=0, props=None, proto=V311):
    return _ack(PUBREL, 0x02, pid, rc, props, proto)


def pubcomp(pid, rc=0, props=None, proto=V311):
    return _ack(PUBCOMP, 0, pid, rc, props, proto)


def subscribe(pid, filters, props=None, proto=V311, flags=0x02):
    """filters: list of (filter, options) or bare filter strings (QoS 0).
    options is the subscription options byte (QoS in bits 0-1; on MQTT 5
    also no-local, retain-as-published, retain handling)."""
    body = u16(pid) + _props_if(proto, props)
    for f in filters:
        name, opts = (f, 0) if isinstance(f, str) else f
        body += utf8(name) + bytes([opts])
    return packet(SUBSCRIBE, flags, body)


def suback(pid, codes, props=None, proto=V311):
    return packet(SUBACK, 0, u16(pid) + _props_if(proto, props) +
                  bytes(codes))


def unsubscribe(pid, filters, props=None, proto=V311, flags=0x02):
    body = u16(pid) + _props_if(proto, props)
    for f in filters:
        body += utf8(f)
    return packet(UNSUBSCRIBE, flags, body)


def unsuback(pid, codes=(), props=None, proto=V311):
    body = u16(pid)
    if proto == V5:
        body += properties(props) + bytes(codes)
    return packet(UNSUBACK, 0, body)


def pingreq():
    return packet(PINGREQ, 0)


def pingresp():
    return packet(PINGRESP, 0)


def disconnect(rc=0, props=None, proto=V311):
    if proto == V5 and (rc or props):
        return packet(DISCONNECT, 0, bytes([rc]) + properties(props or {}))
    return packet(DISCONNECT, 0)


def auth(rc=0, props=None):
    return packet(AUTH, 0, bytes([rc]) + properties(props or {}))


# ---------------------------------------------------------------------------
# Decoder.

class Packet:
    """One decoded packet: .type, .flags, .raw and per-type fields
    (pid, rc, codes, topic, payload, qos, retain, dup, props,
    session_present)."""

    def __init__(self, ptype, flags, raw, **fields):
        self.type = ptype
        self.flags = flags
        self.raw = raw
        self.props = {}
        self.__dict__.update(fields)

    @property
    def name(self):
        return NAMES.get(self.type, "type%d" % self.type)

    def __repr__(self):
        skip = ("type", "flags", "raw")
        fields = ", ".join("%s=%r" % (k, _short(v))
                           for k, v in self.__dict__.items()
                           if k not in skip and v not in ({}, None))
        return "<%s %s>" % (self.name, fields)


def _short(v):
    if isinstance(v, (bytes, bytearray)) and len(v) > 40:
        return bytes(v[:40]) + b"...(%d bytes)" % len(v)
    return v


class _Reader:
    def __init__(self, data):
        self.d = bytes(data)
        self.i = 0

    def left(self):
        return len(self.d) - self.i

    def take(self, n):
        if self.i + n > len(self.d):
            raise Malformed("packet too short")
        v = self.d[self.i:self.i + n]
        self.i += n
        return v

    def byte(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def u32(self):
        return struct.unpack("!I", self.take(4))[0]

    def varint(self):
        n, mult = 0, 1
        for _ in range(4):
            b = self.byte()
            n += (b & 0x7F) * mult
            if not b & 0x80:
                return n
            mult *= 128
        raise Malformed("variable byte integer longer than 4 bytes")

    def binary(self):
        return self.take(self.u16())

    def utf8(self):
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError as e:
            raise Malformed("bad UTF-8: %s" % e)

    def rest(self):
        return self.take(self.left())

    def props(self):
        sub = _Reader(self.take(self.varint()))
        out = {}
        while sub.left():
            pid = sub.varint()
            if pid not in PROPERTIES:
                raise Malformed("unknown property 0x%02x" % pid)
            name, typ = PROPERTIES[pid]
            v = [sub.byte, sub.u16, sub.u32, sub.varint, sub.utf8,
                 sub.binary, lambda: (sub.utf8(), sub.utf8())][typ]()
            if name in REPEATABLE:
                out.setdefault(name, []).append(v)
            else:
                out[name] = v
        return out


def frame(buf):
    """Split one packet off the front of buf.  Returns (first byte, body,
    length consumed) or None when more bytes are needed."""
    if len(buf) < 2:
        return None
    n, mult = 0, 1
    for i in range(1, 5):
        if i >= len(buf):
            return None
        b = buf[i]
        n += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            end = i + 1 + n
            if len(buf) < end:
                return None
            return buf[0], bytes(buf[i + 1:end]), end
    raise Malformed("remaining length longer than 4 bytes")


def decode(first, body, proto=V311):
    """Decode one packet received from the broker."""
    ptype, flags = first >> 4, first & 0x0F
    r = _Reader(body)
    p = Packet(ptype, flags, bytes([first]) + varint(len(body)) + body)
    v5 = proto == V5
    if ptype == CONNACK:
        p.session_present = bool(r.byte() & 1)
        p.rc = r.byte()
        if v5 and r.left():
            p.props = r.props()
    elif ptype == PUBLISH:
        p.dup, p.qos, p.retain = bool(flags & 8), (flags >> 1) & 3, \
            bool(flags & 1)
        p.topic = r.utf8()
        p.pid = r.u16() if p.qos else None
        if v5:
            p.props = r.props()
        p.payload = r.rest()
    elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        p.pid = r.u16()
        p.rc = r.byte() if r.left() else 0
        if v5 and r.left():
            p.props = r.props()
    elif ptype in (SUBACK, UNSUBACK):
        p.pid = r.u16()
        if v5:
            p.props = r.props()
        p.codes = list(r.rest())
    elif ptype in (DISCONNECT, AUTH):
        p.rc = r.byte() if r.left() else 0
        if r.left():
            p.props = r.props()
    elif ptype == CONNECT:
        p.proto_name = r.utf8()
        p.proto = r.byte()
        p.rest = r.rest()
    elif ptype in (SUBSCRIBE, UNSUBSCRIBE):
        p.pid = r.u16()
        p.rest = r.rest()
    return p


# ---------------------------------------------------------------------------
# The client.

class Client:
    """One TCP connection to the broker speaking raw MQTT.

    Packets that a flow helper receives while waiting for something else
    (a PUBLISH while waiting for a PUBACK) are kept in .pending and handed
    out first by the next receive, so nothing is lost and order is kept.
    .qos2_received holds the packet ids of QoS 2 deliveries that were
    acknowledged with PUBREC but not yet released; hand it to the next
    connection of the same session to de-duplicate re-sent deliveries the
    way a real receiver does (MQTT 4.3.3, method B)."""

    def __init__(self, port, host="127.0.0.1", proto=V311, timeout=5.0,
                 connect=False, sock=None, **connect_args):
        """A new TCP connection to host:port, or the connected socket-like
        object sock (a TLS socket, a WebSocket wrapper) when given."""
        self.proto = proto
        self.timeout = timeout
        self.buf = bytearray()
        self.pending = deque()
        self.closed = False
        self.qos2_received = set()
        self._pid = 0
        self.sock = sock
        if sock is None:
            self.sock = socket.create_connection((host, port),
                                                 timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connack = None
        if connect:
            self.connect(**connect_args)

    # -- bytes -------------------------------------------------------------
    def send_raw(self, data):
        """Send bytes as they are.  Returns False if the broker has closed
        the connection (EPIPE/ECONNRESET), True otherwise."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True
            return False

    send = send_raw

    def local_port(self):
        return self.sock.getsockname()[1]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def _fill(self, deadline):
        """Read more bytes; False on timeout, raises Closed on EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except (ConnectionResetError, ConnectionAbortedError):
            data = b""
        if not data:
            self.closed = True
            raise Closed("connection closed by the broker")
        self.buf += data
        return True

    def recv_packet(self, timeout=None):
        """The next packet, or None after timeout seconds.  Raises Closed
        when the broker closes the connection first."""
        if self.pending:
            return self.pending.popleft()
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            f = frame(self.buf)
            if f is not None:
                first, body, used = f
                del self.buf[:used]
                return decode(first, body, self.proto)
            if self.closed:
                raise Closed("connection closed by the broker")
            if not self._fill(deadline):
                return None

    # -- expectations ------------------------------------------------------
    def expect(self, ptype, timeout=None, stash=False):
        """The next packet, which must be of type ptype.  With stash=True,
        packets of other types are kept for later instead of failing."""
        tmo = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + tmo
        stashed = []
        try:
            while True:
                p = self.recv_packet(max(0.0, deadline - time.monotonic()))
                if p is None:
                    raise Timeout("no %s within %.1f s" % (NAMES[ptype], tmo))
                if p.type == ptype:
                    return p
                if not stash:
                    raise MqttError("expected %s, got %r" % (NAMES[ptype], p))
                stashed.append(p)
        finally:
            self.pending.extend(stashed)

    def expect_closed(self, timeout=5.0):
        """Wait until the broker closes the connection.  Returns (closed,
        packets received before the close)."""
        got = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                p = self.recv_packet(deadline - time.monotonic())
                if p is not None:
                    got.append(p)
        except Closed:
            return True, got
        except Malformed:
            return False, got
        return False, got

    def closed_by_disconnect(self, rc, timeout=5.0):
        """True when the broker sends DISCONNECT with reason code rc, and
        nothing else, then closes the connection within timeout.  What
        arrived is kept in .last_close for the test's message."""
        closed, got = self.expect_closed(timeout)
        self.last_close = got
        return closed and [(p.type, getattr(p, "rc", None)) for p in got] \
            == [(DISCONNECT, rc)]

    def expect_none(self, timeout=0.5):
        """Wait timeout seconds; returns the packets that arrived (the
        test usually asserts the list is empty)."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.recv_packet(deadline - time.monotonic())
            if p is not None:
                got.append(p)
        return got

    # -- flows -------------------------------------------------------------
    def next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def connect(self, client_id="", expect_rc=0, timeout=None, **kw):
        """Send CONNECT, wait for CONNACK; raise unless its return code is
        expect_rc (None accepts any).  Returns the CONNACK."""
        kw.setdefault("proto", self.proto)
        self.proto = kw["proto"]
        self.send(connect(client_id, **kw))
        ack = self.expect(CONNACK, timeout)
        if expect_rc is not None and ack.rc != expect_rc:
            raise MqttError("CONNACK return code 0x%02x, wanted 0x%02x"
                            % (ack.rc, expect_rc))
        self.connack = ack
        return ack

    def subscribe(self, filters, pid=None, props=None, timeout=None):
        """SUBSCRIBE to [(filter, qos/options)] or a single filter string
        (QoS 0); returns the SUBACK (its packet id must match)."""
        return self._request(subscribe, SUBACK, filters, pid, props, timeout)

    def unsubscribe(self, filters, pid=None, props=None, timeout=None):
        """UNSUBSCRIBE from a list of filters (or one); returns the
        UNSUBACK (its packet id must match)."""
        return self._request(unsubscribe, UNSUBACK, filters, pid, props,
                             timeout)

    def _request(self, encode, ack_type, filters, pid, props, timeout):
        if isinstance(filters, str):
            filters = [filters]
        pid = pid or self.next_pid()
        self.send(encode(pid, filters, props, self.proto))
        return self._expect_ack(ack_type, pid, timeout)

    def publish(self, topic, payload=b"", qos=0, retain=False, dup=False,
                pid=None, props=None, timeout=None):
        """PUBLISH and complete its flow (PUBACK, or PUBREC/PUBREL/PUBCOMP).
        Returns the final acknowledgement (None for QoS 0)."""
        if qos and pid is None:
            pid = self.next_pid()
        self.send(publish(topic, payload, qos, retain, dup, pid, props,
                          self.proto))
        if qos == 0:
            return None
        if qos == 1:
            return self._expect_ack(PUBACK, pid, timeout)
        rec = self._expect_ack(PUBREC, pid, timeout)
        if rec.rc >= 0x80:
            return rec
        self.send(pubrel(pid, proto=self.proto))
        return self._expect_ack(PUBCOMP, pid, timeout)

    def _expect_ack(self, ptype, pid, timeout):
        p = self.expect(ptype, timeout, stash=True)
        if p.pid != pid:
            raise MqttError("%s for packet id %d, wanted %d"
                            % (p.name, p.pid, pid))
        return p

    def publish_many(self, msgs, qos, window=100, timeout=30.0):
        """Publish [(topic, payload)] at one QoS with up to `window`
        messages in flight, completing every flow.  Bounded by timeout."""
        deadline = time.monotonic() + timeout
        inflight = {}
        it = iter(msgs)
        done = False
        while True:
            while not done and len(inflight) < window:
                m = next(it, None)
                if m is None:
                    done = True
                    break
                pid = self.next_pid() if qos else None
                self.send(publish(m[0], m[1], qos, pid=pid, proto=self.proto))
                if qos:
                    inflight[pid] = qos
            if (done and not inflight) or qos == 0 and done:
                return
            if time.monotonic() > deadline:
                raise Timeout("%d publishes still in flight" % len(inflight))
            p = self.recv_packet(deadline - time.monotonic())
            if p is None:
                continue
            if p.type == PUBACK or p.type == PUBCOMP:
                inflight.pop(p.pid, None)
            elif p.type == PUBREC:
                self.send(pubrel(p.pid, proto=self.proto))
            else:
                self.pending.append(p)
                if len(self.pending) > 100000:
                    raise MqttError("unexpected packets: %r" % self.pending[0])

    def ack(self, p):
        """Acknowledge a received PUBLISH the way a receiver does.  Returns
        False for a QoS 2 re-send already received (not to be delivered)."""
        if p.qos == 1:
            self.send(puback(p.pid, proto=self.proto))
        elif p.qos == 2:
            fresh = p.pid not in self.qos2_received
            self.qos2_received.add(p.pid)
            self.send(pubrec(p.pid, proto=self.proto))
            return fresh
        return True

    def recv_publish(self, timeout=None, ack=True):
        """The next application message, acknowledged if ack.  PUBRELs
        that arrive meanwhile are answered with PUBCOMP.  QoS 2 re-sends
        of a message already received are acknowledged and skipped.
        Returns None on timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            p = self.recv_packet(max(0.0, deadline - time.monotonic()))
            if p is None:
                return None
            if p.type == PUBREL:
                self.qos2_received.discard(p.pid)
                self.send(pubcomp(p.pid, proto=self.proto))
                continue
            if p.type != PUBLISH:
                raise MqttError("expected PUBLISH, got %r" % p)
            if not ack or self.ack(p):
                return p

    def collect(self, n, timeout=10.0, ack=True):
        """Up to n application messages within timeout (fewer on
        timeout; the test compares)."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            p = self.recv_publish(left, ack)
            if p is None:
                break
            got.append(p)
        return got

    def drain_acks(self, timeout=0.5):
        """Answer PUBRELs still due (to finish QoS 2 flows) for a while;
        returns any PUBLISH that arrived meanwhile."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.recv_publish(deadline - time.monotonic())
            if p is not None:
                got.append(p)
        return got

    def ping(self, timeout=None):
        self.send(pingreq())
        return self.expect(PINGRESP, timeout, stash=True)

    def disconnect(self, rc=0, props=None, wait=2.0):
        """Send DISCONNECT and wait (up to `wait` seconds) until the broker
        closes its end: by then it has processed the DISCONNECT, so what
        the test does next meets an offline session, not a dying one."""
        self.send(disconnect(rc, props, self.proto))
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if wait:
            self.expect_closed(wait)
        self.close()


def wait_closed_or_refused(c, timeout=5.0):
    """After a CONNECT the broker must refuse: True if it closed the
    connection without a successful CONNACK (a CONNACK with a failure code
    before the close is fine).  Returns (refused, packets)."""
    closed, got = c.expect_closed(timeout)
    ok_connack = any(p.type == CONNACK and p.rc == 0 for p in got)
    return closed and not ok_connack, got
