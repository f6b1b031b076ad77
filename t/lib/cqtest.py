"""cqtest.py — start and stop comqttd for integration tests.

Every test starts its own broker in a fresh temporary directory on free
loopback ports, and after the test checks that the broker log has no crit
or alert line and no sanitizer report.  CQ_BUILD names the build directory
(the Makefile sets it to build-asan/).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("CQ_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build-asan")
SRCDIR = os.environ.get("CQ_SRCDIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")

BAD_LOG = re.compile(r": (crit|alert): |ERROR: AddressSanitizer|"
                     r"runtime error: |LeakSanitizer")


def binary(name):
    return os.path.join(BUILD, name)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host="127.0.0.1", timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def run(args, timeout=30, **kw):
    """Run a command, returning CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


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
    """A comqttd under test.

    config: YAML text appended to the generated base config; {port} and
    {dir} are substituted.  The broker's log goes to <dir>/comqttd.log.
    """

    def __init__(self, t, config="", args=(), start=True):
        self.t = t
        self.dir = TempDir()
        self.port = free_port()
        self.log = os.path.join(self.dir.path, "comqttd.log")
        self.conf = self.dir.file("comqtt.yml", self._config(config))
        self.args = list(args)
        self.proc = None
        t.cleanup(self.stop)
        if start:
            self.start()

    def _config(self, extra):
        return extra.replace("{port}", str(self.port)) \
                    .replace("{dir}", self.dir.path)

    def start(self, wait=True):
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [binary("comqttd"), "-c", self.conf] + self.args,
            stdout=self._logf, stderr=subprocess.STDOUT, cwd=self.dir.path)
        if wait and not wait_port(self.port):
            raise RuntimeError("comqttd did not listen on %d:\n%s"
                               % (self.port, self.log_text()))
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self._logf.close()
        self.check_log()
        return rc

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def check_log(self):
        bad = [ln for ln in self.log_text().splitlines() if BAD_LOG.search(ln)]
        self.t.ok(not bad, "broker log has no crit/alert line or sanitizer report")
        for ln in bad[:20]:
            self.t.diag(ln)
