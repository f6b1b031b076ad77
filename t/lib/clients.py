"""clients.py — real MQTT clients for the integration tests.

Paho (python3-paho-mqtt 1.6.1) wrapped so that a test stays short and
every wait is bounded, and the mosquitto_pub / mosquitto_sub command-line
clients run with timeouts.  Raw packets (mqttraw.py) test the broker's
parsing; these test that ordinary clients of each protocol version
interoperate with it.
"""
import subprocess
import threading

import paho.mqtt.client as paho

PROTOCOLS = {3: paho.MQTTv31, 4: paho.MQTTv311, 5: paho.MQTTv5}
CLI_VERSIONS = {3: "mqttv31", 4: "mqttv311", 5: "5"}


class PahoError(AssertionError):
    pass


class Paho:
    """A paho client on its own network thread.  Received messages are
    appended to .messages (paho MQTTMessage objects)."""

    def __init__(self, t, port, client_id="", proto=4, clean=True,
                 keepalive=60, will=None, username=None, password=None,
                 timeout=5.0):
        self.t = t
        self.port = port
        self.timeout = timeout
        self.proto = proto
        self.clean = clean
        self.keepalive = keepalive
        self.messages = []
        self.cond = threading.Condition()
        self.connack = None
        self.disconnected = False
        self._acks = {}
        kw = {"protocol": PROTOCOLS[proto]}
        if proto != 5:
            kw["clean_session"] = clean
        self.c = paho.Client(client_id, **kw)
        self.c.reconnect_delay_set(1, 1)
        if will:
            self.c.will_set(will["topic"], will.get("payload"),
                            will.get("qos", 0), will.get("retain", False))
        if username is not None:
            self.c.username_pw_set(username, password)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_ack
        self.c.on_unsubscribe = self._on_ack
        self.c.on_publish = self._on_publish
        self.c.on_disconnect = self._on_disconnect
        t.cleanup(self.close)

    # callbacks (paho's network thread)
    def _on_connect(self, c, u, flags, rc, props=None):
        with self.cond:
            rc = getattr(rc, "value", rc)  # MQTT 5: a ReasonCodes object
            self.connack = (flags.get("session present", 0), int(rc))
            self.cond.notify_all()

    def _on_message(self, c, u, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def _on_ack(self, c, u, mid, *rest):
        with self.cond:
            self._acks[mid] = rest[0] if rest else None
            self.cond.notify_all()

    def _on_publish(self, c, u, mid):
        with self.cond:
            self._acks[mid] = True
            self.cond.notify_all()

    def _on_disconnect(self, c, u, rc, props=None):
        with self.cond:
            self.disconnected = True
            self.cond.notify_all()

    def _wait(self, pred, what, timeout=None):
        with self.cond:
            if not self.cond.wait_for(pred, timeout or self.timeout):
                raise PahoError("paho: no %s within %.1f s"
                                % (what, timeout or self.timeout))

    # operations
    def connect(self, expect_rc=0):
        """Connect and wait for CONNACK; returns (session present, rc)."""
        kw = {}
        if self.proto == 5:
            kw["clean_start"] = self.clean
        self.connack = None
        self.c.connect("127.0.0.1", self.port, self.keepalive, **kw)
        self.c.loop_start()
        self._wait(lambda: self.connack is not None, "CONNACK")
        if expect_rc is not None and self.connack[1] != expect_rc:
            raise PahoError("paho: CONNACK rc %d" % self.connack[1])
        return self.connack

    def subscribe(self, topic, qos=0):
        """Subscribe and wait for SUBACK; returns the granted QoS list."""
        rc, mid = self.c.subscribe(topic, qos)
        if rc != paho.MQTT_ERR_SUCCESS:
            raise PahoError("paho: subscribe failed: %d" % rc)
        self._wait(lambda: mid in self._acks, "SUBACK")
        granted = self._acks.pop(mid)
        if self.proto == 5:
            return [int(getattr(g, "value", g)) for g in granted]
        return list(granted)

    def unsubscribe(self, topic):
        rc, mid = self.c.unsubscribe(topic)
        self._wait(lambda: mid in self._acks, "UNSUBACK")
        self._acks.pop(mid)

    def publish(self, topic, payload=b"", qos=0, retain=False, wait=True):
        """Publish; with wait, until the flow completes (QoS 0: sent)."""
        info = self.c.publish(topic, payload, qos, retain)
        if wait:
            self._wait(lambda: info.mid in self._acks or info.is_published(),
                       "publish completion")
            self._acks.pop(info.mid, None)
        return info

    def wait_messages(self, n, timeout=None):
        """Wait until at least n messages arrived; returns them all (the
        test compares, so a timeout is not an error here)."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.messages) >= n,
                               timeout or self.timeout)
            return list(self.messages)

    def disconnect(self):
        self.c.disconnect()
        self._wait(lambda: self.disconnected, "disconnect")
        self.c.loop_stop()

    def close(self):
        try:
            self.c.disconnect()
        except Exception:  # noqa: BLE001 - closing what may be gone
            pass
        self.c.loop_stop()


def mosquitto_pub(port, topic, message, version=4, qos=0, retain=False,
                  client_id=None, timeout=10, extra=()):
    """Run mosquitto_pub once; returns CompletedProcess."""
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic,
            "-m", message, "-q", str(qos), "-V", CLI_VERSIONS[version]]
    if retain:
        args.append("-r")
    if client_id:
        args += ["-i", client_id]
    return subprocess.run(args + list(extra), capture_output=True,
                          text=True, timeout=timeout)


class MosquittoSub:
    """mosquitto_sub in the background, printing "topic payload" lines
    (-v) until it has -C count messages or is killed."""

    def __init__(self, t, port, topic, version=4, qos=0, count=1,
                 client_id=None, extra=()):
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t",
                topic, "-q", str(qos), "-V", CLI_VERSIONS[version], "-v",
                "-C", str(count)]
        if client_id:
            args += ["-i", client_id]
        self.proc = subprocess.Popen(args + list(extra),
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL)
        t.cleanup(self.kill)

    def wait(self, timeout=10):
        """(exit status or None, output lines)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            out, err = self.proc.communicate()
            return None, out.splitlines()
        return self.proc.returncode, out.splitlines()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

