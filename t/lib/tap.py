"""tap.py — a minimal TAP producer for the Python integration tests.

Usage:
    from tap import T
    t = T()
    t.ok(cond, "name [MQTT-3.1.2-4]")
    t.is_(got, expected, "name")
    t.skip("why", n)  # n skipped assertions (reason printed in the TAP line)
    t.done()          # prints the plan, exits non-zero on any failure

Cleanups registered with t.cleanup(fn) run in reverse order at done(),
skip_all() or on an uncaught exception, so every process a test starts is
killed even when the test dies half-way.
"""
import atexit
import signal
import sys
import traceback


class T:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self._cleanups = []
        sys.excepthook = self._excepthook
        # A script that ends without done() still stops what it started.
        atexit.register(self._run_cleanups)
        # prove kills a hung test with SIGTERM: still clean up.
        signal.signal(signal.SIGTERM, self._on_term)

    def _on_term(self, sig, frame):
        self.ok(False, "killed by signal %d" % sig)
        self._run_cleanups()
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1)

    def _excepthook(self, etype, value, tb):
        self.n += 1
        self.failed += 1
        print("not ok %d - uncaught exception: %s" % (self.n, value))
        for line in traceback.format_exception(etype, value, tb):
            for sub in line.rstrip().splitlines():
                print("# " + sub)
        self._run_cleanups()
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1)

    def cleanup(self, fn):
        """Register fn() to run at done() or on an uncaught exception."""
        self._cleanups.append(fn)

    def _run_cleanups(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report, keep cleaning
                print("# cleanup failed: %s" % e)

    def ok(self, cond, name=""):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        sys.stdout.flush()
        return bool(cond)

    def is_(self, got, expected, name=""):
        good = self.ok(got == expected, name)
        if not good:
            self.diag("     got: %r" % (got,))
            self.diag("expected: %r" % (expected,))
        return good

    def cmp_ok(self, got, op, expected, name=""):
        """ok(got <op> expected) with both values in the diagnostics."""
        ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
               ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
               "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
        good = self.ok(got is not None and ops[op](got, expected), name)
        if not good:
            self.diag("     got: %r" % (got,))
            self.diag("expected: %s %r" % (op, expected))
        return good

    def skip(self, reason, n=1):
        """Record n assertions as skipped, with the reason."""
        for _ in range(n):
            self.n += 1
            print("ok %d # skip %s" % (self.n, reason))
        sys.stdout.flush()

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def skip_all(self, reason):
        self._run_cleanups()
        print("1..0 # SKIP %s" % reason)
        sys.stdout.flush()
        sys.exit(0)

    def done(self):
        self._run_cleanups()
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.n == 0 else 0)
